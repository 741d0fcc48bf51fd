import ArgumentParser
import DataKit
import Models
import ToolSupport

@main
struct EvalCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-eval",
        abstract: "Evaluate a model on data: objective, held-out ELBO, log-likelihood, sparsity.",
        discussion: """
            For ES-SC models: W, σ² and λ stay fixed from training and q is fitted per point. Reports the entropy
            objective on the data, the held-out ELBO (mean ± standard error), with --loglik the importance-sampled
            log-likelihood (proposal: the fitted q widened 1.5×; K samples per point; mean ESS), the Gini
            coefficient of the posterior means, and σ², λ. A model file with only /model/W, /model/lambda and
            /model/sigma2 is enough.

            Examples:
              sk-eval model.h5 heldout-white.h5
              sk-eval model.h5 heldout-white.h5 --loglik --samples 1000 --json | jq .logLikelihood
            """,
        version: SparseKit.version)

    @Argument(help: "A model file.")
    var model: String

    @Argument(help: "A 'patches' or 'whitened' file, prepared as the training data were.")
    var data: String

    @Flag(help: "Also estimate the log-likelihood by importance sampling.")
    var loglik = false

    @Option(help: "Importance samples per point (with --loglik).")
    var samples = 1000

    @Option(help: "Seed of the importance samples.")
    var seed: UInt64 = 0

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
    }

    func run() throws {
        let modelFile = try HDF5File.open(model)
        let sc = try SparseCodingModel.read(from: modelFile)
        let x = try ModelInput.matching(data, model: model, modelFile: modelFile, dimension: sc.dimension)
        let report = SparseCodingEvaluation.run(sc, on: x, samples: loglik ? samples : nil, seed: seed)
        if common.json { try ToolRunner.printJSON(report) } else { print(report.text) }
    }
}
