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

    @Argument(help: "A 'patches' or 'whitened' file (its /data rows are the data points).")
    var input: String

    @Option(name: .shortAndLong, help: "The model file to write.")
    var output: String

    @Option(help: "The density: gaussian, laplace or ica.")
    var model: BaselineDensity.Kind

    @Option(help: "L-BFGS iterations at most per smoothing stage (ica).")
    var iterations = 300

    @Option(help: "0: start ICA at the whitening; another seed starts it at a random rotation (ica).")
    var seed: UInt64 = 0

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
    }

    /// The ICA fit these options ask for.
    var icaFit: ICAFit {
        var fit = ICAFit()
        (fit.iterations, fit.seed) = (iterations, seed)
        return fit
    }

    /// What --json prints.
    struct Summary: Encodable {
        var model: BaselineDensity.Kind
        var points: Int
        var dimension: Int
        /// Mean training log-likelihood, nats per point (exact).
        var trainingLogLikelihood: Double
        var trainingBitsPerDimension: Double
        var seconds: Double
        var stages: [ICAFit.Stage]?
        var output: String
    }

    func run() throws {
        try ToolRunner.requireDistinct(output: output, inputs: [input])
        let atomic = try AtomicOutput(path: output)
        let data = try HDF5File.open(input)
        let x = try data.readDataMatrix()
        let clock = Date()
        var stages: [ICAFit.Stage]?
        let density: BaselineDensity
        do {
            switch model {
            case .gaussian: density = .gaussian(try GaussianDensity.fit(x))
            case .laplace: density = .laplace(try LaplaceDensity.fit(x))
            case .ica:
                let (ica, fitted) = try icaFit.fit(x) { stage in
                    ProgressReporter.note(String(format: "δ = %g: %d L-BFGS iterations (%@), training log-likelihood %.4f nats/point (%.1f s)",
                                                 stage.smoothing, stage.iterations, stage.stop, stage.logLikelihood, stage.seconds),
                                          quiet: common.quiet || common.json)
                }
                (density, stages) = (.ica(ica), fitted)
            }
        } catch let error as SparseKitError where error.file == nil && error.kind == .badInput {
            throw SparseKitError.badInput(input, error.problem)
        }
        let seconds = Date().timeIntervalSince(clock)
        let training = BaselineEvaluation.run(density, on: x).logLikelihood.mean
        let history = stages?.map { (logLikelihood: $0.logLikelihood, seconds: $0.seconds) } ?? [(training, seconds)]
        var configuration: [String: HDF5AttributeValue] = ["model": .string(model.rawValue)]
        switch density {
        case .gaussian(let gaussian): configuration["ridge"] = .double(gaussian.ridge)
        case .laplace: break
        case .ica:
            configuration["iterations"] = .int(iterations)
            configuration["seed"] = .int(Int(bitPattern: UInt(seed)))
            configuration["smoothings"] = .doubles(icaFit.smoothings)
        }
        try atomic.commit { path in
            let file = try HDF5File.create(path)
            try density.write(to: file, configuration: configuration, history: history,
                              provenance: try data.history() + [ToolRunner.provenance("sk-train baseline", inputs: [input])])
            if data.kind(of: WhiteningTransform.group) == .group { try file.copy(WhiteningTransform.group, from: data) }
            try PatchGeometry.read(from: data)?.write(to: file)
            try file.close()
        }
        if let stages, stages.count < icaFit.smoothings.count {
            throw SparseKitError.interrupted(output, "interrupted; the ICA model after \(stages.count) of \(icaFit.smoothings.count) smoothing stages is written here")
        }
        let summary = Summary(model: model, points: x.rows, dimension: x.cols, trainingLogLikelihood: training,
                              trainingBitsPerDimension: DensityUnits.bitsPerDimension(natsPerPoint: training, dimension: x.cols),
                              seconds: seconds, stages: stages, output: output)
        try common.finish(summary, line: String(format: "sk-train baseline: %@, training log-likelihood %.4f nats/point (%.5f bits/dimension) in %.1f s; model in %@",
                                                model.rawValue, training, summary.trainingBitsPerDimension, seconds, output))
    }
}
