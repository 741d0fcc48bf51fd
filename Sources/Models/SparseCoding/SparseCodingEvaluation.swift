import DataKit
import Foundation

/// What `sk-eval` reports for an ES-SC model on a data set (`es-sc.md`, "Evaluation").
public struct SparseCodingEvaluation: Codable, Sendable {
    public struct Estimate: Codable, Sendable {
        public var mean: Double
        public var standardError: Double
    }

    public var points: Int
    /// L(W, q) per point on these data: q fitted, σ² and λ re-estimated on them.
    public var objective: Double
    /// The ordinary ELBO per point with W, σ², λ fixed from training.
    public var heldOutELBO: Estimate
    /// Importance-sampled log p(x) per point (when asked for), its mean effective sample size, and K.
    public var logLikelihood: Estimate?
    public var meanEffectiveSampleSize: Double?
    public var samples: Int?
    public var gini: Double
    public var sigma2: Double
    public var lambdaMean: Double
    public var lambdaMin: Double
    public var lambdaMax: Double

    /// Rows fitted and estimated at a time: whole 512-row batches of `HeldOutEstimators`, so the report does not
    /// depend on how the rows are split into blocks.
    public static let blockRows = 8192

    /// Evaluates `model` on the rows of `x`; with `samples`, also the importance-sampled log-likelihood.
    public static func run(_ model: SparseCodingModel, on x: Matrix, samples: Int?, seed: UInt64) -> SparseCodingEvaluation {
        run(model, rows: x.rows, samples: samples, seed: seed, blockRows: blockRows) { x.rowSlice($0) }
    }

    /// Evaluates `model` on the rows of `data` (N × D) read block by block: memory holds one block, whatever N is.
    /// `progress(rowsDone, N)` after each block.
    public static func run(_ model: SparseCodingModel, rowsOf data: HDF5Dataset, samples: Int?, seed: UInt64,
                           blockRows: Int = blockRows, progress: (Int, Int) -> Void = { _, _ in }) throws
        -> SparseCodingEvaluation
    {
        try run(model, rows: data.shape[0], samples: samples, seed: seed, blockRows: blockRows, progress: progress) {
            try data.readFiniteRows($0)
        }
    }

    /// The evaluation over `n` rows that `block(range)` provides: per block, each q_n fitted (W, σ², λ fixed), the
    /// sums of L added up (`DiagonalEntropyObjective.Sums`, σ² and λ re-estimated from the totals), the held-out
    /// ELBO, Gini and (with `samples`) log p(x) of each row accumulated, the importance samples drawn from one
    /// generator across blocks.
    static func run(_ model: SparseCodingModel, rows n: Int, samples: Int?, seed: UInt64, blockRows: Int,
                    progress: (Int, Int) -> Void = { _, _ in }, block: (Range<Int>) throws -> Matrix) rethrows
        -> SparseCodingEvaluation
    {
        precondition(n > 0 && blockRows > 0 && blockRows % 512 == 0, "rows, in blocks of whole 512-row batches")
        let estimators = HeldOutEstimators(model: model)
        var generator = SeededGenerator(seed: seed)
        var sums: DiagonalEntropyObjective.Sums?
        var elbo = RunningMoments(), logLikelihood = RunningMoments()
        var giniSum = 0.0, essSum = 0.0
        for start in stride(from: 0, to: n, by: blockRows) {
            let rows = start..<min(n, start + blockRows)
            let x = try block(rows)
            let fitted = estimators.fitPosteriors(x)
            let blockSums = DiagonalEntropyObjective.sums(x: x, w: model.w, mu: fitted.mu, rho: fitted.rho)
            if sums == nil { sums = blockSums } else { sums!.add(blockSums) }
            for value in fitted.elbo { elbo.add(value) }
            for row in 0..<x.rows { giniSum += Sparsity.gini(fitted.mu.row(row)) }
            if let samples {
                let (logp, ess) = estimators.logLikelihood(x, mu: fitted.mu, rho: fitted.rho, samples: samples, widen: 1.5,
                                                           generator: &generator)
                for value in logp { logLikelihood.add(value) }
                essSum += ess.reduce(0, +)
            }
            progress(rows.upperBound, n)
        }
        let entropy = DiagonalEntropyObjective.terms(sums!, points: n, dimension: model.dimension,
                                                     norms: model.columnNormsSquared, weights: .one)
        var report = SparseCodingEvaluation(
            points: n, objective: entropy.value, heldOutELBO: Estimate(mean: elbo.mean, standardError: elbo.standardError),
            logLikelihood: nil, meanEffectiveSampleSize: nil, samples: nil, gini: giniSum / Double(n),
            sigma2: Double(model.sigma2), lambdaMean: model.lambda.reduce(0.0) { $0 + Double($1) } / Double(model.latents),
            lambdaMin: Double(model.lambda.min() ?? 0), lambdaMax: Double(model.lambda.max() ?? 0))
        if let samples {
            report.logLikelihood = Estimate(mean: logLikelihood.mean, standardError: logLikelihood.standardError)
            report.meanEffectiveSampleSize = essSum / Double(n)
            report.samples = samples
        }
        return report
    }

    public var text: String {
        var lines = [String(format: "points %d   objective L %.4f nats/point", points, objective),
                     String(format: "held-out ELBO %.4f ± %.4f", heldOutELBO.mean, heldOutELBO.standardError)]
        if let logLikelihood, let meanEffectiveSampleSize, let samples {
            lines.append(String(format: "log-likelihood (IS, K = %d) %.4f ± %.4f   mean ESS %.0f", samples,
                                logLikelihood.mean, logLikelihood.standardError, meanEffectiveSampleSize))
        }
        lines.append(String(format: "Gini %.4f   σ² %.6g   λ mean %.4g (min %.4g, max %.4g)", gini, sigma2, lambdaMean,
                            lambdaMin, lambdaMax))
        return lines.joined(separator: "\n")
    }
}
