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
            /codes_std (s, N × H) in a 'codes' file.

            Example:
              sk-encode model.h5 heldout-white.h5 -o codes.h5
            """,
        version: SparseKit.version)

    @Argument(help: "A model file.")
    var model: String

    @Argument(help: "A 'patches' or 'whitened' file.")
    var data: String

    @Option(name: .shortAndLong, help: "The codes file to write.")
    var output: String

    @OptionGroup var common: CommonOptions

    func run() throws {
        try ToolRunner.requireDistinct(output: output, inputs: [model, data])
        let atomic = try AtomicOutput(path: output)
        let modelFile = try HDF5File.open(model)
        let sc = try SparseCodingModel.read(from: modelFile)
        let x = try ModelInput.matching(data, model: model, modelFile: modelFile, dimension: sc.dimension)
        let mu: Matrix, std: Matrix
        if let encoder = try GaussianEncoder.read(from: modelFile, dimension: sc.dimension, latents: sc.latents) {
            (mu, std) = encoder.encode(x)  // amortized: the trained encoder's q(z | x)
        } else {
            let fitted = HeldOutEstimators(model: sc).fitPosteriors(x)
            (mu, std) = (fitted.mu, Matrix(rows: x.rows, cols: sc.latents, storage: fitted.rho.storage.map { Foundation.exp($0) }))
        }
        try atomic.commit { path in
            let file = try HDF5File.create(path)
            try file.write(mu, to: "/codes")
            try file.write(std, to: "/codes_std")
            try file.setAttribute("model_file", .string(model))
            try file.writeHeader(kind: .codes, history: try HDF5File.open(data).history()
                + [ToolRunner.provenance("sk-encode", inputs: [model, data])])
            try file.close()
        }
        try common.finish(Result(output: output, points: x.rows, latents: sc.latents),
                          line: "sk-encode: \(x.rows) rows encoded with \(sc.latents) latents to \(output)")
    }

    struct Result: Encodable {
        var output: String
        var points: Int
        var latents: Int
    }
}

import Foundation
