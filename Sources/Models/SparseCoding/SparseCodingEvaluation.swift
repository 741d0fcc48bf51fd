import DataKit
import Foundation

/// What `sk-eval` reports for an ES-SC model on a data set (`es-sc.md`, "Evaluation").
public struct SparseCodingEvaluation: Codable, Sendable {
    public struct Estimate: Codable, Sendable {
        public var mean: Double
        public var standardError: Double
    }

    /// How `sk-eval --loglik` estimates log p(x) (`es-sc.md`, "Evaluation").
    public enum LikelihoodMethod: String, Codable, Sendable, CaseIterable {
        /// Annealed importance sampling with exact Gibbs sweeps (`AnnealedImportanceSampling`), the default.
        case ais
        /// Plain importance sampling with the fitted diagonal q widened 1.5× as proposal (for comparison only:
        /// on natural patches its effective sample size is a few and it falls below the ELBO).
        case `is`
    }

    /// How to estimate the log-likelihood: the method, K and T (AIS) or K samples (IS), and the seed.
    public struct LikelihoodSettings: Sendable {
        public var method: LikelihoodMethod
        /// AIS chains, or IS samples, per point.
        public var samples: Int
        /// AIS temperatures T (unused by IS).
        public var temperatures: Int
        /// AIS transitions (unused by IS).
        public var transition: AnnealedImportanceSampling.Transition
        /// AIS temperature spacing (unused by IS).
        public var schedule: AnnealedImportanceSampling.Schedule
        public var seed: UInt64
        /// Whether the report keeps every point's estimate (`PerPoint`).
        public var keepsPerPoint: Bool

        public init(method: LikelihoodMethod = .ais, samples: Int = AnnealedImportanceSampling.defaultChains,
                    temperatures: Int = AnnealedImportanceSampling.defaultTemperatures, transition: AnnealedImportanceSampling.Transition = .coordinate,
                    schedule: AnnealedImportanceSampling.Schedule = .sigmoid, seed: UInt64 = 0, keepsPerPoint: Bool = false) {
            (self.method, self.samples, self.temperatures, self.transition, self.seed) = (method, samples, temperatures, transition, seed)
            self.schedule = schedule
            self.keepsPerPoint = keepsPerPoint
        }
    }

    /// Every point's numbers, in the data's row order: held-out ELBO, log p̂(x), the variance of its chains' (or
    /// samples') log-weights and their effective sample size.
    public struct PerPoint: Codable, Sendable {
        public var heldOutELBO: [Double] = []
        public var logLikelihood: [Double] = []
        public var logWeightVariance: [Double] = []
        public var effectiveSampleSize: [Double] = []
    }

    /// The estimated held-out log-likelihood: nats per point (mean ± standard error over points) and in bits per
    /// dimension, the settings, and per-point diagnostics averaged over points.
    public struct LikelihoodReport: Codable, Sendable {
        public var method: LikelihoodMethod
        public var mean: Double
        public var standardError: Double
        /// mean / (D ln 2).
        public var bitsPerDimension: Double
        /// AIS chains or IS samples per point.
        public var samples: Int
        /// AIS temperatures (nil for IS).
        public var temperatures: Int?
        /// AIS transitions, `coordinate`, `blocked` or `collapsed` (nil for IS).
        public var transition: AnnealedImportanceSampling.Transition?
        /// AIS temperature spacing, `sigmoid` or `geometric` (nil for IS).
        public var schedule: AnnealedImportanceSampling.Schedule?
        /// Mean over points of the sample variance of the chains' (or samples') log-weights.
        public var meanLogWeightVariance: Double
        public var maxLogWeightVariance: Double
        /// Mean over points of the effective sample size (Σw)²/Σw².
        public var meanEffectiveSampleSize: Double
        public var secondsPerPoint: Double
        /// log|det M| of the data's invertible whitening matrix M, when it has one, and mean + log|det M|: nats per
        /// point of the patches before whitening (`WhiteningTransform.logAbsDeterminant`).
        public var whiteningLogAbsDeterminant: Double?
        public var pixelSpaceMean: Double?
    }

    public var points: Int
    /// L(W, q) per point on these data: q fitted, σ² and λ re-estimated on them.
    public var objective: Double
    /// The ordinary ELBO per point with W, σ², λ fixed from training.
    public var heldOutELBO: Estimate
    /// log p(x) per point, when asked for.
    public var logLikelihood: LikelihoodReport?
    /// Each point's estimates, when asked for (`LikelihoodSettings.keepsPerPoint`).
    public var perPoint: PerPoint?
    public var gini: Double
    public var sigma2: Double
    public var lambdaMean: Double
    public var lambdaMin: Double
    public var lambdaMax: Double

    /// Rows fitted and estimated at a time: whole 512-row batches of `HeldOutEstimators`, so the report does not
    /// depend on how the rows are split into blocks.
    public static let blockRows = 8192

    /// Evaluates `model` on the rows of `x`; with `likelihood`, also the log-likelihood.
    public static func run(_ model: SparseCodingModel, on x: Matrix, likelihood: LikelihoodSettings?) -> SparseCodingEvaluation {
        run(model, rows: x.rows, likelihood: likelihood, blockRows: blockRows) { x.rowSlice($0) }
    }

    /// Evaluates `model` on the rows of `data` (N × D) read block by block: memory holds one block, whatever N is.
    /// `progress(rowsDone, N)` after each block.
    public static func run(_ model: SparseCodingModel, rowsOf data: HDF5Dataset, likelihood: LikelihoodSettings?,
                           blockRows: Int = blockRows, progress: (Int, Int) -> Void = { _, _ in }) throws
        -> SparseCodingEvaluation
    {
        try run(model, rows: data.shape[0], likelihood: likelihood, blockRows: blockRows, progress: progress) {
            try data.readFiniteRows($0)
        }
    }

    /// The evaluation over `n` rows that `block(range)` provides: per block, each q_n fitted (W, σ², λ fixed), the
    /// sums of L added up (`DiagonalEntropyObjective.Sums`, σ² and λ re-estimated from the totals), the held-out
    /// ELBO, Gini and (with `likelihood`) log p(x) of each row accumulated. AIS draws each row's chains from the
    /// row's own stream, IS from one generator across blocks, so neither depends on the block size.
    static func run(_ model: SparseCodingModel, rows n: Int, likelihood: LikelihoodSettings?, blockRows: Int,
                    progress: (Int, Int) -> Void = { _, _ in }, block: (Range<Int>) throws -> Matrix) rethrows
        -> SparseCodingEvaluation
    {
        precondition(n > 0 && blockRows > 0 && blockRows % 512 == 0, "rows, in blocks of whole 512-row batches")
        let estimators = HeldOutEstimators(model: model)
        let ais = likelihood.map { AnnealedImportanceSampling(model: model, temperatures: $0.temperatures, chains: $0.samples,
                                                                     transition: $0.transition, schedule: $0.schedule) }
        var generator = SeededGenerator(seed: likelihood?.seed ?? 0)
        var sums: DiagonalEntropyObjective.Sums?
        var elbo = RunningMoments(), logLikelihood = RunningMoments()
        var giniSum = 0.0, essSum = 0.0, varianceSum = 0.0, varianceMax = 0.0, likelihoodSeconds = 0.0
        var perPoint = likelihood?.keepsPerPoint == true ? PerPoint() : nil
        for start in stride(from: 0, to: n, by: blockRows) {
            let rows = start..<min(n, start + blockRows)
            let x = try block(rows)
            let fitted = estimators.fitPosteriors(x)
            let blockSums = DiagonalEntropyObjective.sums(x: x, w: model.w, mu: fitted.mu, rho: fitted.rho)
            if sums == nil { sums = blockSums } else { sums!.add(blockSums) }
            for value in fitted.elbo { elbo.add(value) }
            for row in 0..<x.rows { giniSum += Sparsity.gini(fitted.mu.row(row)) }
            if let likelihood {
                let started = Date()
                let estimates: [AnnealedImportanceSampling.PointEstimate]
                switch likelihood.method {
                case .ais:
                    estimates = ais!.forward(x, firstRow: start, seed: likelihood.seed)
                case .is:
                    estimates = estimators.importanceSampled(x, mu: fitted.mu, rho: fitted.rho, samples: likelihood.samples,
                                                             widen: 1.5, generator: &generator)
                }
                likelihoodSeconds += Date().timeIntervalSince(started)
                perPoint?.heldOutELBO += fitted.elbo
                perPoint?.logLikelihood += estimates.map(\.logLikelihood)
                perPoint?.logWeightVariance += estimates.map(\.logWeightVariance)
                perPoint?.effectiveSampleSize += estimates.map(\.effectiveSampleSize)
                for estimate in estimates {
                    logLikelihood.add(estimate.logLikelihood)
                    essSum += estimate.effectiveSampleSize
                    varianceSum += estimate.logWeightVariance
                    varianceMax = max(varianceMax, estimate.logWeightVariance)
                }
            }
            progress(rows.upperBound, n)
        }
        let entropy = DiagonalEntropyObjective.terms(sums!, points: n, dimension: model.dimension,
                                                     norms: model.columnNormsSquared, weights: .one)
        var report = SparseCodingEvaluation(
            points: n, objective: entropy.value, heldOutELBO: Estimate(mean: elbo.mean, standardError: elbo.standardError),
            logLikelihood: nil, perPoint: perPoint, gini: giniSum / Double(n),
            sigma2: Double(model.sigma2), lambdaMean: model.lambda.reduce(0.0) { $0 + Double($1) } / Double(model.latents),
            lambdaMin: Double(model.lambda.min() ?? 0), lambdaMax: Double(model.lambda.max() ?? 0))
        if let likelihood {
            report.logLikelihood = LikelihoodReport(
                method: likelihood.method, mean: logLikelihood.mean, standardError: logLikelihood.standardError,
                bitsPerDimension: DensityUnits.bitsPerDimension(natsPerPoint: logLikelihood.mean, dimension: model.dimension),
                samples: likelihood.samples,
                temperatures: likelihood.method == .ais ? likelihood.temperatures : nil,
                transition: likelihood.method == .ais ? likelihood.transition : nil,
                schedule: likelihood.method == .ais ? likelihood.schedule : nil,
                meanLogWeightVariance: varianceSum / Double(n), maxLogWeightVariance: varianceMax,
                meanEffectiveSampleSize: essSum / Double(n), secondsPerPoint: likelihoodSeconds / Double(n))
        }
        return report
    }

    public var text: String {
        var lines = [String(format: "points %d   objective L %.4f nats/point", points, objective),
                     String(format: "held-out ELBO %.4f ± %.4f", heldOutELBO.mean, heldOutELBO.standardError)]
        if let l = logLikelihood {
            let choices = AnnealedImportanceSampling.describe(l.transition ?? .coordinate, l.schedule ?? .sigmoid)
            let settings = l.method == .ais ? "AIS, T = \(l.temperatures ?? 0), K = \(l.samples)\(choices)" : "IS, K = \(l.samples)"
            lines.append(String(format: "log-likelihood (%@) %.4f ± %.4f nats/point = %.5f bits/dim", settings, l.mean,
                                l.standardError, l.bitsPerDimension))
            lines.append(String(format: "  log-weight variance per point: mean %.3g, max %.3g   mean ESS %.1f   %.3f s/point",
                                l.meanLogWeightVariance, l.maxLogWeightVariance, l.meanEffectiveSampleSize, l.secondsPerPoint))
            if l.method == .ais && l.meanLogWeightVariance > 1 {
                let smallNoise = l.transition == .collapsed ? "" : "; for a model with a very small σ² (trained by "
                    + "--objective likelihood), --transition collapsed --schedule geometric"
                lines.append("  warning: the chains' log-weights vary by more than 1 nat² per point: AIS is likely biased low; "
                             + "raise --temperatures (and --chains), and check with --bdmc" + smallNoise)
            }
            if l.mean < heldOutELBO.mean {
                lines.append(String(format: "  warning: the estimate lies %.2f nats below the held-out ELBO, an exact lower bound: "
                                    + "the estimator has not converged; trust the ELBO, or raise "
                                    + (l.method == .ais ? "--temperatures" : "--samples"), heldOutELBO.mean - l.mean))
            }
            if let offset = l.whiteningLogAbsDeterminant, let pixel = l.pixelSpaceMean {
                lines.append(String(format: "  before whitening (+ log|det M| = %.4f): %.4f nats/point", offset, pixel))
            }
        }
        lines.append(String(format: "Gini %.4f   σ² %.6g   λ mean %.4g (min %.4g, max %.4g)", gini, sigma2, lambdaMean,
                            lambdaMin, lambdaMax))
        return lines.joined(separator: "\n")
    }
}
