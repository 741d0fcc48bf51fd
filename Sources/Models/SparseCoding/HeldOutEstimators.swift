import CBLAS
import DataKit
import Foundation

/// Evaluation of a fitted ES-SC model on data it was not trained on (`es-sc.md`, "Evaluation"): W, σ², λ stay
/// fixed; only the posteriors q_n are fitted.
public struct HeldOutEstimators: Sendable {
    public let model: SparseCodingModel
    /// L-BFGS iterations when fitting q_n.
    public var iterations = 500
    /// Points fitted together (their ELBOs are independent; one L-BFGS over the batch).
    public var batchSize = 512

    public init(model: SparseCodingModel) { self.model = model }

    /// The ordinary ELBO of each row of `x` at its optimal diagonal q, with the fitted means and log-scales:
    ///   ELBO_n = −(D/2) log(2πσ²) − (‖x_n − W μ_n‖² + Σ_h s_nh² ‖w_h‖²)/(2σ²)
    ///            + Σ_h [−log(2λ_h) − E|z_nh|/λ_h] + Σ_h log s_nh + (H/2) log(2πe)
    public func fitPosteriors(_ x: Matrix) -> (elbo: [Double], mu: Matrix, rho: Matrix) {
        let (n, h) = (x.rows, model.latents)
        var elbo = [Double](repeating: 0, count: n)
        var mu = Matrix(rows: n, cols: h), rho = Matrix(rows: n, cols: h)
        for start in stride(from: 0, to: n, by: batchSize) {
            let rows = start..<min(n, start + batchSize)
            let xb = x.rowSlice(rows)
            let b = rows.count
            // μ = 0 and s_h = min(1, λ_h): a latent the model barely uses (tiny λ) starts near its optimum, which
            // keeps the joint problem well scaled for L-BFGS.
            var parameters = [Float](repeating: 0, count: 2 * b * h)
            for k in 0..<b { for c in 0..<h { parameters[b * h + k * h + c] = Float(log(min(1, Double(model.lambda[c])))) } }
            var perPoint = [Double](repeating: 0, count: b)
            LBFGS(history: 10, maxIterations: iterations).minimize(&parameters) { p, g in
                -pointELBOs(xb, p, gradient: &g, values: &perPoint)
            }
            var gradient = [Float](repeating: 0, count: 2 * b * h)
            _ = pointELBOs(xb, parameters, gradient: &gradient, values: &perPoint)
            for k in 0..<b {
                elbo[start + k] = perPoint[k]
                for c in 0..<h {
                    mu[start + k, c] = parameters[k * h + c]
                    rho[start + k, c] = parameters[b * h + k * h + c]
                }
            }
        }
        return (elbo, mu, rho)
    }

    /// Σ_n ELBO_n for parameters p = [μ (B×H), ρ (B×H)]; fills −∂/∂p into `gradient` (for minimisation) and each
    /// point's ELBO into `values`.
    func pointELBOs(_ x: Matrix, _ p: [Float], gradient: inout [Float], values: inout [Double]) -> Double {
        let (b, d, h) = (x.rows, x.cols, model.latents)
        let mu = Matrix(rows: b, cols: h, storage: Array(p[0..<(b * h)]))
        var residual = x
        Matrix.gemm(mu, model.w, transposeB: true, alpha: -1, beta: 1, into: &residual)  // X − M Wᵀ
        let rw = Matrix.product(residual, model.w)  // (X − M Wᵀ) W
        let norms = model.columnNormsSquared
        let sigma2 = Double(model.sigma2)
        let constant = -Double(d) / 2 * log(2 * Double.pi * sigma2) + Double(h) * 0.5 * log(2 * Double.pi * M_E)
            - model.lambda.reduce(0) { $0 + log(2 * Double($1)) }
        var total = 0.0
        for n in 0..<b {
            var squared = 0.0
            for j in 0..<d { squared += Double(residual[n, j] * residual[n, j]) }
            var value = constant - squared / (2 * sigma2)
            for c in 0..<h {
                let i = n * h + c
                let s = exp(Double(p[b * h + i]))
                let lambda = Double(model.lambda[c])
                let folded = FoldedNormal.meanAbs(Double(p[i]), s)
                value += -s * s * norms[c] / (2 * sigma2) - folded.value / lambda + log(s)
                gradient[i] = -Float(Double(rw[n, c]) / sigma2 - folded.dMu / lambda)
                gradient[b * h + i] = -Float(s * (-s * norms[c] / sigma2 - folded.dS / lambda + 1 / s))
            }
            values[n] = value
            total += value
        }
        return total
    }

    /// An importance-sampling estimate of log p(x_n) per row, with proposal N(μ_n, (widen · s_n)²):
    /// log p(x) ≈ log (1/K) Σ_k p(x, z_k)/q(z_k); also each point's effective sample size (Σw)²/Σw².
    public func logLikelihood(_ x: Matrix, mu: Matrix, rho: Matrix, samples: Int, widen: Double = 1, seed: UInt64)
        -> (logp: [Double], effectiveSampleSize: [Double])
    {
        var generator = SeededGenerator(seed: seed)
        let estimates = importanceSampled(x, mu: mu, rho: rho, samples: samples, widen: widen, generator: &generator)
        return (estimates.map(\.logLikelihood), estimates.map(\.effectiveSampleSize))
    }

    /// Importance sampling drawing from `generator`, which goes on from there: the rows of a data set estimated
    /// block by block with one generator get the estimates of all rows at once. Per row: log of the mean weight,
    /// the log-weights' variance and the effective sample size.
    public func importanceSampled(_ x: Matrix, mu: Matrix, rho: Matrix, samples: Int, widen: Double = 1,
                                  generator: inout SeededGenerator) -> [AnnealedImportanceSampling.PointEstimate]
    {
        let (n, d, h) = (x.rows, x.cols, model.latents)
        let sigma2 = Double(model.sigma2)
        let lambda = model.lambda.map(Double.init)
        let logNormalizer = -Double(d) / 2 * log(2 * Double.pi * sigma2) - lambda.reduce(0) { $0 + log(2 * $1) }
        var estimates: [AnnealedImportanceSampling.PointEstimate] = []
        let block = min(samples, 4096)
        var z = Matrix(rows: block, cols: h)
        var reconstruction = Matrix(rows: block, cols: d)
        var logWeights = [Double](repeating: 0, count: samples)
        for point in 0..<n {
            let s = (0..<h).map { widen * exp(Double(rho[point, $0])) }
            let logQConstant = -Double(h) / 2 * log(2 * Double.pi) - s.reduce(0) { $0 + log($1) }
            for start in stride(from: 0, to: samples, by: block) {
                let k = min(block, samples - start)
                var logQ = [Double](repeating: logQConstant, count: k)
                var logPrior = [Double](repeating: 0, count: k)
                for r in 0..<k {
                    for c in 0..<h {
                        let e = generator.normal()
                        let value = Double(mu[point, c]) + s[c] * e
                        z[r, c] = Float(value)
                        logQ[r] -= e * e / 2
                        logPrior[r] -= abs(value) / lambda[c]
                    }
                }
                Matrix.gemm(z, model.w, transposeB: true, into: &reconstruction)  // Z Wᵀ
                for r in 0..<k {
                    var squared = 0.0
                    for j in 0..<d {
                        let e = Double(x[point, j]) - Double(reconstruction[r, j])
                        squared += e * e
                    }
                    logWeights[start + r] = logNormalizer - squared / (2 * sigma2) + logPrior[r] - logQ[r]
                }
            }
            let summary = LogWeights(logWeights)
            estimates.append(.init(logLikelihood: summary.logMean, logWeightVariance: summary.variance,
                                   effectiveSampleSize: summary.effectiveSampleSize))
        }
        return estimates
    }
}

/// Mean and standard error of a sample.
public func meanAndStandardError(_ values: [Double]) -> (mean: Double, standardError: Double) {
    var moments = RunningMoments()
    for value in values { moments.add(value) }
    return (moments.mean, moments.standardError)
}
