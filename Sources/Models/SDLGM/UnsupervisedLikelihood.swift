import DataKit
import Foundation

/// An importance-sampling estimate of the held-out log-likelihood log p(x) of an unsupervised SDLGM model, per row
/// (`sdlgm.md`, "Evaluation"). The model's prior is p(L) = 1/L0 on {1 … L0}, the ordered support uniform,
/// U(a_1 … a_L) = 1/(K(K−1)…(K−L+1)), and the values N(0, I) on the support.
///
/// Linear decoder, Gaussian likelihood (`isExactGivenSupport`): the values integrate out exactly,
/// p(x | S) = N(x; b, W_S W_Sᵀ + σ² I) (`LinearGaussianSupportMarginal`), so only the support is sampled. Each sample
/// is a whole ordered sequence a_1 … a_L0 from the defensive proposal q̃ (`SupportProposal`), and its weight sums the
/// level out exactly over the sequence's prefixes:
///
///   w = Σ_{L=1}^{L0} p(L) U(a_1 … a_L) p(x | {a_1 … a_L}) / q̃(a_1 … a_L),
///
/// unbiased for p(x) because E_q̃[f(a_1 … a_L)/q̃(a_1 … a_L)] = Σ_{a_1 … a_L} f for every prefix length L. It is the
/// conditional expectation, given the sequence, of the weight p(L) U p(x|S)/(q(L|x) q̃) with L drawn from the
/// encoder's q(L|x), so it never has more variance (Rao–Blackwell); the bordered Cholesky makes all L0 prefixes
/// cost about as much as the longest one alone.
///
/// MLP decoder or Bernoulli likelihood: (L, ordered support, values) are sampled from the joint defensive mixture
///   q̃(L, a, v) = (1 − ε) q(L|x) PL(a; α_S) N(v; μ_S, s_S²) + ε p(L) U(a) N(v; 0, I),
/// with weight w = p(L) U(a) N(v; 0, I) p(x | z) / q̃(L, a, v) and z the values v on the support.
///
/// Defensive mixture: a proposal of the encoder alone can put almost no mass on supports or values the posterior
/// needs, and a single such draw then dominates the average (weights without bound, infinite variance). Mixing
/// in the prior with weight ε bounds every weight by p(x | S)/ε (or p(x | z)/ε), at the cost of the fraction ε
/// of the samples. ε = 0.05 by default: it costs 5 % of the samples (prior draws rarely hit a good support
/// among C(K, L) and mostly get weights near zero).
///
/// Reports per row log p̂(x) = log (1/S) Σ_s w_s (a stochastic lower bound in expectation, by Jensen, converging
/// from below as S grows) and the effective sample size (Σ w)²/Σ w². Row n draws from its own generator
/// `SeededGenerator(seed:, stream: n)`, so results depend neither on how rows are split into blocks nor on their order.
public struct UnsupervisedLikelihood: Sendable {
    public let model: UnsupervisedSDLGM
    public let samples: Int
    public let seed: UInt64
    /// ε, the prior's share of the defensive proposal.
    public let defensiveWeight: Double
    public static let defaultDefensiveWeight = 0.05
    /// Encoder rows, and decoder samples, per forward pass.
    static let batchRows = 512
    static let sampleBatch = 256

    let linearMarginal: LinearGaussianSupportMarginal?

    /// True when p(x | S) is exact (linear decoder, Gaussian likelihood) and only the support is sampled.
    public var isExactGivenSupport: Bool { linearMarginal != nil }

    /// `integratingValuesOut: false` samples the values of a linear Gaussian model too (the general path; tests).
    public init(model: UnsupervisedSDLGM, samples: Int, seed: UInt64, defensiveWeight: Double = defaultDefensiveWeight,
                integratingValuesOut: Bool = true) {
        precondition(samples >= 1, "at least one sample")
        precondition(defensiveWeight >= 0 && defensiveWeight <= 1, "0 ≤ ε ≤ 1")
        (self.model, self.samples, self.seed, self.defensiveWeight) = (model, samples, seed, defensiveWeight)
        if integratingValuesOut && model.decoderKind == .linear && model.likelihood == .gaussian {
            let layer = model.decoder.layers[0]
            linearMarginal = LinearGaussianSupportMarginal(weight: layer.weight, bias: layer.bias,
                                                           sigma2: exp(Double(model.logNoiseVariance)))
        } else {
            linearMarginal = nil
        }
    }

    /// Per row: log p̂(x) in nats, the variance of its samples' log-weights and their effective sample size.
    public struct Estimates: Sendable {
        public var logLikelihood: [Double]
        public var logWeightVariance: [Double]
        public var effectiveSampleSize: [Double]
    }

    /// The estimates for the rows of `x`, which are rows `firstRow …` of the data set (each row's random stream is
    /// fixed by the seed and its index there).
    public func estimate(_ x: Matrix, firstRow: Int = 0) -> Estimates {
        precondition(x.cols == model.dimension, "rows of dimension \(model.dimension)")
        let zeros = [Double](repeating: 0, count: x.rows)
        var result = Estimates(logLikelihood: zeros, logWeightVariance: zeros, effectiveSampleSize: zeros)
        var workspace = Workspace(model: model, samples: samples)
        for start in stride(from: 0, to: x.rows, by: Self.batchRows) {
            let batch = x.rowSlice(start..<min(x.rows, start + Self.batchRows))
            let heads = model.encoder.forward(batch).output
            for i in 0..<batch.rows {
                var generator = SeededGenerator(seed: seed, stream: UInt64(firstRow + start + i))
                workspace.proposal.load(scores: headSlice(heads, i, model.supportColumns))
                if let marginal = linearMarginal {
                    marginal.project(batch.row(i), into: &workspace.projection)
                    sampleSupports(marginal, into: &workspace, generator: &generator)
                } else {
                    sampleCodes(batch.row(i), heads: heads, row: i, into: &workspace, generator: &generator)
                }
                let summary = LogWeights(workspace.logWeights)
                result.logLikelihood[start + i] = summary.logMean
                result.logWeightVariance[start + i] = summary.variance
                result.effectiveSampleSize[start + i] = summary.effectiveSampleSize
            }
        }
        return result
    }

    /// The buffers of the estimate, allocated once per call.
    struct Workspace {
        var proposal: SupportProposal
        var projection: LinearGaussianSupportMarginal.Projection
        var support: LinearGaussianSupportMarginal.GrowingSupport
        var logWeights: [Double]
        /// log q(L | x) and its cumulative distribution, L = 1 … L0 (the general path).
        var logLevel: [Double]
        var levelCDF: [Double]

        init(model: UnsupervisedSDLGM, samples: Int) {
            proposal = SupportProposal(latents: model.latents, capacity: model.maxActive)
            projection = .init(latents: model.latents)
            support = .init(capacity: model.maxActive)
            logWeights = [Double](repeating: 0, count: samples)
            logLevel = [Double](repeating: 0, count: model.maxActive)
            levelCDF = logLevel
        }
    }

    /// The linear Gaussian path: `samples` ordered sequences of L0 features, each weight summed over its prefixes.
    private func sampleSupports(_ marginal: LinearGaussianSupportMarginal, into workspace: inout Workspace,
                                generator: inout SeededGenerator) {
        let l0 = model.maxActive
        let logLevelPrior = -log(Double(l0))
        let (logEncoderShare, logPriorShare) = (log1p(-defensiveWeight), log(defensiveWeight))
        for s in 0..<samples {
            let fromPrior = generator.uniform() < defensiveWeight
            workspace.proposal.draw(l0, fromPrior: fromPrior, generator: &generator)
            workspace.support.reset()
            var logWeight = -Double.infinity
            for l in 0..<l0 {
                let logDensity = marginal.extend(&workspace.support, with: workspace.proposal.sequence[l],
                                                 projection: workspace.projection)
                let logUniform = workspace.proposal.logUniformPrefix[l + 1]
                let logProposal = logAddExp(logEncoderShare + workspace.proposal.logPlackettLucePrefix[l + 1],
                                            logPriorShare + logUniform)
                logWeight = logAddExp(logWeight, logLevelPrior + logUniform + logDensity - logProposal)
            }
            workspace.logWeights[s] = logWeight
        }
    }

    /// The columns `columns` of row `i` of the encoder's output.
    func headSlice(_ heads: Matrix, _ i: Int, _ columns: Range<Int>) -> ArraySlice<Float> {
        let base = i * heads.cols
        return heads.storage[(base + columns.lowerBound)..<(base + columns.upperBound)]
    }
}
