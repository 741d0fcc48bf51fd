import DataKit
import Foundation

extension UnsupervisedLikelihood {
    /// The general path (MLP decoder or Bernoulli likelihood) for one point x: `samples` draws of (L, a_1 … a_L, v)
    /// from q̃(L, a, v) = (1 − ε) q(L|x) PL(a; α_S) N(v; μ_S, s_S²) + ε p(L) U(a) N(v; 0, I), decoded
    /// `sampleBatch` at a time, with log-weight log[p(L) U(a) N(v; 0, I)] + log p(x | z) − log q̃(L, a, v).
    func sampleCodes(_ x: ArraySlice<Float>, heads: Matrix, row: Int, into workspace: inout Workspace,
                     generator: inout SeededGenerator) {
        let (k, l0) = (model.latents, model.maxActive)
        let levelLogits = headSlice(heads, row, model.levelColumns)
        let top = Double(levelLogits.max()!)
        let logNormalizer = top + log(levelLogits.reduce(0.0) { $0 + exp(Double($1) - top) })
        var cumulative = 0.0
        for (l, logit) in levelLogits.enumerated() {
            workspace.logLevel[l] = Double(logit) - logNormalizer
            cumulative += exp(workspace.logLevel[l])
            workspace.levelCDF[l] = cumulative
        }
        let means = headSlice(heads, row, model.meanColumns), scales = headSlice(heads, row, model.scaleColumns)
        let logLevelPrior = -log(Double(l0))
        let (logEncoderShare, logPriorShare) = (log1p(-defensiveWeight), log(defensiveWeight))
        let halfLogTwoPi = 0.5 * log(2 * Double.pi)
        for start in stride(from: 0, to: samples, by: Self.sampleBatch) {
            let count = min(Self.sampleBatch, samples - start)
            var z = Matrix(rows: count, cols: k)
            for r in 0..<count {
                let fromPrior = generator.uniform() < defensiveWeight
                let level = fromPrior ? 1 + generator.below(l0) : drawLevel(workspace.levelCDF, &generator)
                workspace.proposal.draw(level, fromPrior: fromPrior, generator: &generator)
                var logPrior = logLevelPrior + workspace.proposal.logUniformPrefix[level]
                var logEncoder = workspace.logLevel[level - 1] + workspace.proposal.logPlackettLucePrefix[level]
                for l in 0..<level {
                    let a = workspace.proposal.sequence[l]
                    let mu = Double(means[means.startIndex + a])
                    let s = UnsupervisedObjective.scale(scales[scales.startIndex + a])
                    let e = generator.normal()
                    let v = fromPrior ? e : mu + s * e
                    let standardized = (v - mu) / s
                    logPrior += -0.5 * v * v - halfLogTwoPi
                    logEncoder += -0.5 * standardized * standardized - log(s) - halfLogTwoPi
                    z[r, a] = Float(v)
                }
                workspace.logWeights[start + r] = logPrior - logAddExp(logEncoderShare + logEncoder, logPriorShare + logPrior)
            }
            let output = model.decode(z)
            for r in 0..<count { workspace.logWeights[start + r] += logLikelihood(x, given: output.row(r)) }
        }
    }

    /// L ∈ 1 … L0 from q(L | x) by its cumulative distribution.
    private func drawLevel(_ cdf: [Double], _ generator: inout SeededGenerator) -> Int {
        let u = generator.uniform() * cdf[cdf.count - 1]
        for (l, bound) in cdf.enumerated() where u < bound { return l + 1 }
        return cdf.count
    }

    /// log p(x | z) from the decoder's output f = f_θ(z): Gaussian −(D/2) log(2πσ²) − ‖x − f‖²/(2σ²), Bernoulli
    /// Σ_d x_d f_d − log(1 + e^{f_d}) (computed stably), as in `UnsupervisedObjective`.
    func logLikelihood(_ x: ArraySlice<Float>, given f: ArraySlice<Float>) -> Double {
        var value = 0.0
        switch model.likelihood {
        case .gaussian:
            let sigma2 = exp(Double(model.logNoiseVariance))
            for (target, fit) in zip(x, f) { value += (Double(target) - Double(fit)) * (Double(target) - Double(fit)) }
            return -Double(x.count) / 2 * log(2 * Double.pi * sigma2) - value / (2 * sigma2)
        case .bernoulli:
            for (target, fit) in zip(x, f) {
                let logit = Double(fit)
                value += Double(target) * logit - (max(logit, 0) + log1p(exp(-abs(logit))))
            }
            return value
        }
    }
}
