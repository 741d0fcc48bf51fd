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

    /// Evaluates `model` on the rows of `x`; with `samples`, also the importance-sampled log-likelihood.
    public static func run(_ model: SparseCodingModel, on x: Matrix, samples: Int?, seed: UInt64) -> SparseCodingEvaluation {
        let estimators = HeldOutEstimators(model: model)
        let (elbo, mu, rho) = estimators.fitPosteriors(x)
        let entropy = DiagonalEntropyObjective.terms(x: x, w: model.w, mu: mu, rho: rho)
        let heldOut = meanAndStandardError(elbo)
        var report = SparseCodingEvaluation(
            points: x.rows, objective: entropy.value, heldOutELBO: Estimate(mean: heldOut.mean, standardError: heldOut.standardError),
            logLikelihood: nil, meanEffectiveSampleSize: nil, samples: nil, gini: Sparsity.meanGini(mu),
            sigma2: Double(model.sigma2), lambdaMean: model.lambda.reduce(0.0) { $0 + Double($1) } / Double(model.latents),
            lambdaMin: Double(model.lambda.min() ?? 0), lambdaMax: Double(model.lambda.max() ?? 0))
        if let samples {
            let (logp, ess) = estimators.logLikelihood(x, mu: mu, rho: rho, samples: samples, widen: 1.5, seed: seed)
            let estimate = meanAndStandardError(logp)
            report.logLikelihood = Estimate(mean: estimate.mean, standardError: estimate.standardError)
            report.meanEffectiveSampleSize = ess.reduce(0, +) / Double(ess.count)
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
