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

    @Option(help: "The split to encode, or 'all' for every row (SDLGM on a 'multilabel' file; default all).")
    var split: SplitSelection?

    @Option(name: .shortAndLong, help: "The codes file to write.")
    var output: String

    @OptionGroup var common: CommonOptions

    func run() throws {
        try OutputPath.requireDistinct(output: output, inputs: [model, data])
        let atomic = try AtomicOutput(path: output)
        let modelFile = try HDF5File.open(model)
        let kind = try ModelKind.read(from: modelFile)
        try OptionRule.refuseInapplicable(try optionRules(for: kind), context: "\(model) is a model of kind \(kind)")
        switch kind {
        case .sparseCoding: try encodeSparseCoding(modelFile, atomic)
        case .unsupervisedSDLGM: try encodeUnsupervised(modelFile, atomic)
        case .supervisedSDLGM: try encodeMultiLabel(modelFile, atomic)
        case .baseline(let kind):
            throw SparseKitError(.usage, file: model, "is a \(kind) baseline density, which has no latent codes; "
                + "sk-encode encodes with es-sc and sdlgm models")
        }
    }

    /// The options that apply to one kind of model only: `--split` chooses rows of a 'multilabel' file, which only
    /// SDLGM models encode.
    func optionRules(for kind: ModelKind) throws -> [OptionRule] {
        let sdlgm = kind == .supervisedSDLGM || kind == .unsupervisedSDLGM
        return [OptionRule("--split", given: split != nil, applies: try sdlgm && ModelInput.isMultiLabel(data),
                           "to SDLGM models on a 'multilabel' file")]
    }

    /// Writes the codes file through `atomic` (`CodesFile`), `writeCodes` filling in the codes; returns what it returns.
    func writeCodes<T>(maxActive: Int? = nil, _ atomic: AtomicOutput, _ writeCodes: (HDF5File) throws -> T) throws -> T {
        try CodesFile.write(to: atomic, model: model, data: data, maxActive: maxActive,
                            provenance: ToolRunner.provenance("sk-encode", inputs: [model, data]), codes: writeCodes)
    }

    func encodeSparseCoding(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let sc = try SparseCodingModel.read(from: modelFile)
        let rows = try ModelInput.matchingDataset(data, model: model, modelFile: modelFile, dimension: sc.dimension)
        let codes = PosteriorCodes(model: sc, encoder: try GaussianEncoder.read(from: modelFile, dimension: sc.dimension,
                                                                                latents: sc.latents))
        let progress = ProgressReporter(quiet: common.quiet)
        try writeCodes(atomic) { file in
            defer { progress.finish() }
            try codes.encode(rowsOf: rows, into: file) { progress.report("encoding rows", $0, $1) }
        }
        let n = rows.shape[0]
        try common.finish(Result(output: output, points: n, latents: sc.latents),
                          line: "sk-encode: \(n) rows encoded with \(sc.latents) latents to \(output)")
    }

    func encodeUnsupervised(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
        let rows = try ModelInput.denseRowBlocks(data, split: split?.name, model: model,
                                                 modelFile: modelFile, dimension: sdlgm.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        let nonZeros = try writeCodes(maxActive: sdlgm.maxActive, atomic) { file in
            defer { progress.finish() }
            return try sdlgm.writeCodes(rows: rows.count, into: file, groupPath: "/codes",
                                        progress: { progress.report("encoding rows", $0, $1) }, block: rows.read)
        }
        try common.finish(Result(output: output, points: rows.count, latents: sdlgm.latents),
                          line: "sk-encode: \(rows.count) rows encoded with at most \(sdlgm.maxActive) of \(sdlgm.latents) "
                              + "features (\(nonZeros) non-zeros) to \(output)")
    }

    func encodeMultiLabel(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let (predictor, maxActive) = try SupervisedPredictor.read(from: modelFile)
        let dataFile = try HDF5File.open(data)
        guard try dataFile.fileKind() == .multilabel else {
            throw SparseKitError.badInput(data, "is not a 'multilabel' file; SDLGM models encode multilabel files")
        }
        let (x, _) = try MultiLabelDataset.read(from: dataFile).rows(ofSplit: split?.name, in: data)
        guard x.cols == predictor.network?.input.inputs ?? x.cols else {
            throw SparseKitError.badInput(data, "has \(x.cols) features; \(model) expects \(predictor.network!.input.inputs)")
        }
        let codes = try predictor.codes(x)
        try writeCodes(maxActive: maxActive, atomic) { try $0.write(codes, to: "/codes") }
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
