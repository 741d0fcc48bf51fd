import ArgumentParser
import DataKit
import Models
import ToolSupport

@main
struct EncodeCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-encode",
        abstract: "Encode every row of a data file with a trained model.",
        discussion: """
            For ES-SC models: the posterior q_n = N(μ_n, diag(s_n²)) of every row, fitted with W, σ², λ fixed
            (or, for a model with an amortized encoder, the encoder's output), written as /codes (μ, N × H) and
            /codes_std (s, N × H) in a 'codes' file. The rows are read, encoded and written 8,192 at a time, so
            memory stays bounded however large the data file is.

            For unsupervised SDLGM models: the evaluation code of every row (L̂ = argmax q(L | x), the top-L̂ support
            scores, values μ; at most L0 non-zeros per row) as a CSR group /codes [N, K].

            For supervised SDLGM models on a 'multilabel' file: the hard code of every row, its predicted label
            set (the top L̂ = argmax p(L | x) labels, so at most L0 per row), as a CSR group /codes [N, C] whose
            values are the label scores.

            Examples:
              sk-encode model.h5 heldout-white.h5 -o codes.h5
              sk-encode sdlgm.h5 bibtex.h5 -o codes.h5 --split test
            """,
        version: SparseKit.version)

    @Argument(help: "A model file.")
    var model: String

    @Argument(help: "A 'patches' or 'whitened' file (ES-SC), or a 'multilabel' file (SDLGM).")
    var data: String

    @Option(help: "The split to encode (SDLGM; 'all' for every row).")
    var split = "all"

    @Option(name: .shortAndLong, help: "The codes file to write.")
    var output: String

    @OptionGroup var common: CommonOptions

    func run() throws {
        try ToolRunner.requireDistinct(output: output, inputs: [model, data])
        let atomic = try AtomicOutput(path: output)
        let modelFile = try HDF5File.open(model)
        if try UnsupervisedSDLGM.isUnsupervised(modelFile) { return try encodeUnsupervised(modelFile, atomic) }
        if try modelFile.attribute("model")?.stringValue == "sdlgm" { return try encodeMultiLabel(modelFile, atomic) }
        let sc = try SparseCodingModel.read(from: modelFile)
        let rows = try ModelInput.matchingDataset(data, model: model, modelFile: modelFile, dimension: sc.dimension)
        let codes = PosteriorCodes(model: sc, encoder: try GaussianEncoder.read(from: modelFile, dimension: sc.dimension,
                                                                                latents: sc.latents))
        let progress = ProgressReporter(quiet: common.quiet)
        try atomic.commit { path in
            let file = try HDF5File.create(path)
            try codes.encode(rowsOf: rows, into: file) { progress.report("encoding rows", $0, $1) }
            progress.finish()
            try file.setAttribute("model_file", .string(model))
            try file.writeHeader(kind: .codes, history: try HDF5File.open(data).history()
                + [ToolRunner.provenance("sk-encode", inputs: [model, data])])
            try file.close()
        }
        let n = rows.shape[0]
        try common.finish(Result(output: output, points: n, latents: sc.latents),
                          line: "sk-encode: \(n) rows encoded with \(sc.latents) latents to \(output)")
    }

    func encodeUnsupervised(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
        let rows = try ModelInput.denseRowBlocks(data, split: split == "all" ? nil : split, model: model,
                                                 modelFile: modelFile, dimension: sdlgm.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        let nonZeros = try writeSparseCodes(maxActive: sdlgm.maxActive, atomic) { file in
            defer { progress.finish() }
            return try sdlgm.writeCodes(rows: rows.count, into: file, groupPath: "/codes",
                                        progress: { progress.report("encoding rows", $0, $1) }, block: rows.read)
        }
        try common.finish(Result(output: output, points: rows.count, latents: sdlgm.latents),
                          line: "sk-encode: \(rows.count) rows encoded with at most \(sdlgm.maxActive) of \(sdlgm.latents) "
                              + "features (\(nonZeros) non-zeros) to \(output)")
    }

    /// Writes a codes file whose CSR group `/codes` `writeCodes` fills; returns what it returns.
    func writeSparseCodes<T>(maxActive: Int, _ atomic: AtomicOutput, _ writeCodes: (HDF5File) throws -> T) throws -> T {
        try atomic.commit { path in
            let file = try HDF5File.create(path)
            let result = try writeCodes(file)
            try file.setAttribute("model_file", .string(model))
            try file.setAttribute("max_active", .int(maxActive))
            try file.writeHeader(kind: .codes, history: try HDF5File.open(data).history()
                + [ToolRunner.provenance("sk-encode", inputs: [model, data])])
            try file.close()
            return result
        }
    }

    func encodeMultiLabel(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let (predictor, maxActive) = try MultiLabelPredictor.read(from: modelFile)
        let dataFile = try HDF5File.open(data)
        guard try dataFile.fileKind() == .multilabel else {
            throw SparseKitError.badInput(data, "is not a 'multilabel' file; SDLGM models encode multilabel files")
        }
        let (x, _) = try MultiLabelDataset.read(from: dataFile).rows(ofSplit: split == "all" ? nil : split, in: data)
        guard x.cols == predictor.network?.input.inputs ?? x.cols else {
            throw SparseKitError.badInput(data, "has \(x.cols) features; \(model) expects \(predictor.network!.input.inputs)")
        }
        let codes = try predictor.codes(x)
        try writeSparseCodes(maxActive: maxActive, atomic) { try $0.write(codes, to: "/codes") }
        try common.finish(Result(output: output, points: codes.rows, latents: codes.cols),
                          line: "sk-encode: \(x.rows) rows encoded as predicted label sets of "
                              + "\(predictor.labelFrequencies.count) labels (\(codes.nonZeros) non-zeros) to \(output)")
    }

    struct Result: Encodable {
        var output: String
        var points: Int
        var latents: Int
    }
}

import Foundation
