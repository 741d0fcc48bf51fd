import ArgumentParser
import DataKit
import Foundation
import Models
import ToolSupport

extension BaselineDensity.Kind: ExpressibleByArgument {}

/// `sk-train baseline`: the exact density baselines sparse models are compared with (`es-sc.md`, "Evaluation").
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Fit a baseline density: full-covariance Gaussian, independent Laplace, or complete ICA with Laplace sources.",
        discussion: """
            Maximum-likelihood fits whose held-out log-likelihood sk-eval computes exactly, in the same units as \
            every other model (nats per point of the data given, e.g. whitened patches).

            gaussian: mean and covariance C = (1/N) Σ (x − mean)(x − mean)ᵀ in double precision; log-density by \
            Cholesky (a tiny ridge only if C is singular, recorded as /config ridge).

            laplace: per dimension, location = median, scale = mean absolute deviation from the median.

            ica: x = mean + A s with independent Laplace sources s_h of scale b_h. The unmixing B = A⁻¹ by L-BFGS \
            on the whitened data (started at the whitening, or at a random rotation for --seed ≠ 0) through \
            smoothings δ = 0.1, 0.01, 0.001 of |s| (at most --iterations each), then b_h = mean |s_h|. Every \
            reported log-likelihood uses the exact |s|. Ctrl-C stops after the current stage and writes that model.

            The model file holds /model/mean and the model's parameters (float64), the exact training \
            log-likelihood per stage in /history/objective, and the input's /whitening.

            Examples:
              sk-train baseline white.h5 -o gaussian.h5 --model gaussian
              sk-train baseline white.h5 -o ica.h5 --model ica --iterations 300 --json
              sk-eval ica.h5 heldout-white.h5
            """)

    @Argument(help: "A 'patches' or 'whitened' file (its /data rows are the data points).", completion: .file(extensions: ["h5"]))
    var input: String

    @Option(name: .shortAndLong, help: "The model file to write.", completion: .file(extensions: ["h5"]))
    var output: String

    @Option(help: "The density: gaussian, laplace or ica.")
    var model: BaselineDensity.Kind

    @Option(parsing: .unconditional, help: "L-BFGS iterations at most per smoothing stage (ica; default 300).")
    var iterations: Int?

    @Option(parsing: .unconditional, help: "0: start ICA at the whitening; another seed starts it at a random rotation (ica; default 0).")
    var seed: UInt64?

    @OptionGroup var common: CommonOptions

    /// The trainer these options describe.
    var trainer: BaselineTrainer {
        var trainer = BaselineTrainer(model: model)
        (trainer.ica.iterations, trainer.ica.seed) = (iterations ?? trainer.ica.iterations, seed ?? 0)
        return trainer
    }

    func validate() throws {
        guard (iterations ?? 1) >= 1 else { throw ValidationError("--iterations must be at least 1") }
        if model != .ica, let option = [("iterations", iterations != nil), ("seed", seed != nil)].first(where: \.1)?.0 {
            throw ValidationError("--\(option) applies to --model ica only")
        }
    }

    /// The keys --json adds for a baseline (`TrainingSummary`).
    struct Details: Encodable {
        var points: Int
        var dimension: Int
        /// Mean training log-likelihood, nats per point (exact).
        var trainingLogLikelihood: Double
        var trainingBitsPerDimension: Double
    }

    func run() throws {
        try OutputPath.requireDistinct(output: output, inputs: [input])
        let job = TrainingJob(trainer, tool: "sk-train baseline", input: input, output: output, resume: nil, seedGiven: seed != nil,
                              quiet: common.quiet || common.json) { record, _ in
            record.stage.map { String(format: "δ = %g: %d L-BFGS iterations (%@), training log-likelihood %.4f nats/point (%.1f s)",
                                      $0.smoothing, $0.iterations, $0.stop, $0.logLikelihood, $0.seconds) }
        }
        let fitted = try job.run()
        let (training, dimension) = (fitted.history.last!.logLikelihood, fitted.model.dimension)
        let seconds = fitted.history.map(\.seconds).reduce(0, +)
        let bits = DensityUnits.bitsPerDimension(natsPerPoint: training, dimension: dimension)
        let summary = TrainingSummary(
            output: output, modelKind: model.rawValue, epochs: fitted.history.count, objectiveName: "log_likelihood",
            objectiveDirection: .maximize, finalObjective: training, seconds: seconds, history: fitted.history,
            details: Details(points: fitted.points, dimension: dimension, trainingLogLikelihood: training,
                             trainingBitsPerDimension: bits))
        try common.finish(summary, line: String(format: "sk-train baseline: %@, training log-likelihood %.4f nats/point (%.5f bits/dimension) in %.1f s; model in %@",
                                                model.rawValue, training, bits, seconds, output))
    }
}
