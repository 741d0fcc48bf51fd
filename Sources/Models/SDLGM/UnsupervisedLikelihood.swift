import DataKit
import Foundation

/// An importance-sampling estimate of the held-out log-likelihood log p(x) of an unsupervised SDLGM model, per row
/// (`sdlgm.md`, "Evaluation"). The model's prior is p(L) = 1/L0 on {1 … L0}, the ordered support uniform,
/// U(a_1 … a_L) = 1/(K(K−1)…(K−L+1)), and the values N(0, I) on the support.
///
/// Linear decoder, Gaussian likelihood (`isExactGivenSupport`): the values integrate out exactly,
/// p(x | S) = N(x; b, W_S W_Sᵀ + σ² I) (`LinearGaussianSupportMarginal`), so only the support is sampled. Each sample
/// is a whole ordered sequence a_1 … a_L0 from the mixture proposal
///
///   q̃ = (1 − ε − η) PL(α_S(x)) + η PL(g(x)) + ε U        (each a `SupportProposal`),
///
/// the encoder's Plackett–Luce distribution, a greedy one and the prior, and its weight sums the level out exactly
/// over the sequence's prefixes:
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
/// The greedy component (η = 0.5 by default) finds the supports the encoder misses: per point, forward selection
/// adds L0 features, each the one with the largest exact gain in log p(x | S) (`LinearGaussianSupportMarginal
/// .Candidates`), and g gives the r-th of them the score −0.25 r and every other feature −12. Plackett–Luce on g
/// spreads the selected set over all its orders, as the target does (p(x | S) and U do not depend on the order);
/// drawing each next feature by the gains themselves proposes a set in one order only and measured log n! low. On
/// 16×16 patches (K = 256, L0 = 5) it raised the estimate from 1,000 samples by 7.6 nats/patch (4.0 above the
/// encoder-and-prior mixture's at 100,000) and cut the patches with ESS below 2 from 37 of 200 to 6.
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
    /// η, the greedy component's share (linear Gaussian models; the encoder gets 1 − ε − η).
    public let greedyWeight: Double
    public static let defaultGreedyWeight = 0.5
    /// Encoder rows, and decoder samples, per forward pass.
    static let batchRows = 512
    static let sampleBatch = 256

    let linearMarginal: LinearGaussianSupportMarginal?

    /// True when p(x | S) is exact (linear decoder, Gaussian likelihood) and only the support is sampled.
    public var isExactGivenSupport: Bool { linearMarginal != nil }

    /// `integratingValuesOut: false` samples the values of a linear Gaussian model too (the general path; tests).
    public init(model: UnsupervisedSDLGM, samples: Int, seed: UInt64, defensiveWeight: Double = defaultDefensiveWeight,
                greedyWeight: Double = defaultGreedyWeight, integratingValuesOut: Bool = true) {
        precondition(samples >= 1, "at least one sample")
        precondition(defensiveWeight >= 0 && greedyWeight >= 0 && defensiveWeight + greedyWeight <= 1, "ε, η ≥ 0, ε + η ≤ 1")
        (self.model, self.samples, self.seed, self.defensiveWeight) = (model, samples, seed, defensiveWeight)
        self.greedyWeight = greedyWeight
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
        /// The greedy component: Plackett–Luce on scores from forward selection (`loadGreedyScores`).
        var greedy: SupportProposal
        var greedyScores: [Float]
        var projection: LinearGaussianSupportMarginal.Projection
        var support: LinearGaussianSupportMarginal.GrowingSupport
        var candidates: LinearGaussianSupportMarginal.Candidates
        var gains: [Double]
        var logWeights: [Double]
        /// log q(L | x) and its cumulative distribution, L = 1 … L0 (the general path).
        var logLevel: [Double]
        var levelCDF: [Double]

        init(model: UnsupervisedSDLGM, samples: Int) {
            proposal = SupportProposal(latents: model.latents, capacity: model.maxActive)
            greedy = proposal
            greedyScores = [Float](repeating: 0, count: model.latents)
            projection = .init(latents: model.latents)
            support = .init(capacity: model.maxActive)
            candidates = .init(latents: model.latents, capacity: model.maxActive)
            gains = [Double](repeating: 0, count: model.latents)
            logWeights = [Double](repeating: 0, count: samples)
            logLevel = [Double](repeating: 0, count: model.maxActive)
            levelCDF = logLevel
        }
    }

    /// The greedy component's scores for one point: forward selection adds L0 features, each the one whose exact
    /// gain in log p(x | S) is largest; the r-th gets score −`greedyRankStep` · r, every other feature
    /// −`greedyOutsideScore`. A Plackett–Luce distribution on them spreads each set over its orders as the target
    /// does, where drawing by the gains themselves proposes one order only.
    static let greedyRankStep: Float = 0.25
    static let greedyOutsideScore: Float = 12

    private func loadGreedyScores(_ marginal: LinearGaussianSupportMarginal, into workspace: inout Workspace) {
        marginal.start(&workspace.candidates, projection: workspace.projection)
        for j in workspace.greedyScores.indices { workspace.greedyScores[j] = -Self.greedyOutsideScore }
        for rank in 0..<model.maxActive {
            marginal.gains(workspace.candidates, into: &workspace.gains)
            var best = 0
            for j in workspace.gains.indices where workspace.gains[j] > workspace.gains[best] { best = j }
            workspace.greedyScores[best] = -Self.greedyRankStep * Float(rank)
            marginal.append(best, to: &workspace.candidates)
        }
        workspace.greedy.load(scores: workspace.greedyScores[...])
    }

    /// The linear Gaussian path: `samples` ordered sequences of L0 features, each from one component of the mixture
    /// (encoder, greedy or prior), each weight summed over its prefixes with the whole mixture's prefix probability.
    private func sampleSupports(_ marginal: LinearGaussianSupportMarginal, into workspace: inout Workspace,
                                generator: inout SeededGenerator) {
        let l0 = model.maxActive
        let logLevelPrior = -log(Double(l0))
        let logShares = (encoder: log(max(0, 1 - defensiveWeight - greedyWeight)), greedy: log(greedyWeight),
                         prior: log(defensiveWeight))
        if greedyWeight > 0 { loadGreedyScores(marginal, into: &workspace) }
        for s in 0..<samples {
            let u = generator.uniform()
            let fromPrior = u < defensiveWeight, fromGreedy = !fromPrior && u < defensiveWeight + greedyWeight
            if fromGreedy {
                workspace.greedy.draw(l0, fromPrior: false, generator: &generator)
                workspace.proposal.adopt(workspace.greedy.sequence[0..<l0])
            } else {
                workspace.proposal.draw(l0, fromPrior: fromPrior, generator: &generator)
                if greedyWeight > 0 { workspace.greedy.adopt(workspace.proposal.sequence[0..<l0]) }
            }
            workspace.support.reset()
            var logWeight = -Double.infinity
            for l in 0..<l0 {
                let logDensity = marginal.extend(&workspace.support, with: workspace.proposal.sequence[l],
                                                 projection: workspace.projection)
                let n = l + 1, logUniform = workspace.proposal.logUniformPrefix[n]
                var logProposal = logAddExp(logShares.encoder + workspace.proposal.logPlackettLucePrefix[n],
                                            logShares.prior + logUniform)
                if greedyWeight > 0 {
                    logProposal = logAddExp(logProposal, logShares.greedy + workspace.greedy.logPlackettLucePrefix[n])
                }
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
