import DataKit
import Foundation

/// The ELBO of unsupervised SDLGM on a batch (`sdlgm.md`), per point, for one sample of the noise:
///
///   ELBO = log p(x | z) − KL(q(L|x) ‖ U{1…L0}) − Σ_l P_q(L ≥ l) KL_l − Σ_k m_k KL(N(μ_k, s_k²) ‖ N(0, 1))
///
/// with z = m ⊙ (μ + s ⊙ ε). Relaxed (training): m is the relaxed two-step mask of `SparsitySampler` and
/// P_q(L ≥ l) = Σ_{j ≥ l} softmax(α_L)_j (un-relaxed); KL_l = KL(softmax(α_S on R_l) ‖ uniform on R_l), the l-th
/// support step given the previous picks, R_l the K − l + 1 indices not yet picked, the picks being the Gumbel-top-L0
/// sequence of the same noise (a one-sample estimate of the sequence KL's chain rule; its score-function term is
/// left out). Straight-through: m is the hard mask of the same noise forward, the relaxed mask's gradient backward.
/// Hard (evaluation): L = argmax(α_L + G) ~ q(L|x), the first L picks, and the KLs of that sample, Σ_{l ≤ L} KL_l and
/// Σ_{k ∈ S} KL_k: an unbiased estimate of the discrete model's ELBO.
///
/// Gaussian: log p(x|z) = −(D/2) log(2πσ²) − ‖x − f(z)‖²/(2σ²); Bernoulli: Σ_d x_d log σ(f_d) + (1 − x_d) log σ(−f_d).
public enum UnsupervisedObjective {
    public enum Mode: Sendable { case relaxed, straightThrough, hard }

    /// Gumbel noise for the level (B × L0) and the support (B × K), standard normal ε for the values (B × K).
    public struct Noise: Sendable {
        public var level: Matrix
        public var support: Matrix
        public var values: Matrix

        public init(points: Int, maxActive: Int, latents: Int, generator: inout SeededGenerator) {
            level = Matrix(rows: points, cols: maxActive, storage: SparsitySampler.gumbel(points * maxActive, using: &generator))
            support = Matrix(rows: points, cols: latents, storage: SparsitySampler.gumbel(points * latents, using: &generator))
            values = Matrix(rows: points, cols: latents, storage: (0..<(points * latents)).map { _ in Float(generator.normal()) })
        }

        /// The noise of training: point i draws its level's, its support's and its values' noise, in that order, from
        /// `streams[i]` (`PointStreams`), so that it does not depend on the other points.
        public init(maxActive: Int, latents: Int, streams: inout PointStreams) {
            let points = streams.count
            (level, support, values) = (Matrix(rows: points, cols: maxActive), Matrix(rows: points, cols: latents),
                                        Matrix(rows: points, cols: latents))
            for i in 0..<points {
                var generator = streams[i]  // point i's stream, drawn from in place, then put back
                for (j, g) in SparsitySampler.gumbel(maxActive, using: &generator).enumerated() { level[i, j] = g }
                for (j, g) in SparsitySampler.gumbel(latents, using: &generator).enumerated() { support[i, j] = g }
                for j in 0..<latents { values[i, j] = Float(generator.normal()) }
                streams[i] = generator
            }
        }
    }

    /// Batch sums of the ELBO and its parts (divide by the batch size for means).
    public struct Terms: Sendable, Equatable {
        public var elbo = 0.0
        public var logLikelihood = 0.0
        public var levelKL = 0.0
        public var supportKL = 0.0
        public var valueKL = 0.0
        /// Σ ‖x − E[x | z]‖² (E[x | z] = f(z), or sigmoid(f(z)) for Bernoulli), and Σ of the number of active
        /// features (Σ m for relaxed masks).
        public var squaredError = 0.0
        public var active = 0.0
    }

    /// Per point, what the backward pass needs.
    struct PointState {
        var trace: SparsitySampler.Trace?
        var mask: [Float]
        var picks: [Int]
        var tailWeights: [Double]  // P_q(L ≥ l)
        var stepKL: [Double]  // KL_l
        var dSupportKL: [Double]  // Σ_l P(L ≥ l) ∂KL_l/∂α_S
        var levelProbabilities: [Double]
        var levelKL: Double
    }

    /// The ELBO terms of the batch x for `noise` (sums, and the ELBO of each point); with `accumulateGradients`,
    /// adds the gradients of −(Σ ELBO_β)/B to the encoder's and decoder's layers and returns ∂/∂log σ², where
    /// ELBO_β = log p(x|z) − β (all three KLs): β = `klWeight` < 1 warms training up (the terms are reported at β = 1).
    @discardableResult
    public static func evaluate(_ model: inout UnsupervisedSDLGM, _ x: Matrix, noise: Noise, mode: Mode,
                                levelTemperature: Double = 1, supportTemperature: Double = 1, klWeight: Double = 1,
                                accumulateGradients: Bool = false)
        -> (terms: Terms, pointELBOs: [Double], gradLogNoiseVariance: Double)
    {
        let (b, k, l0, d) = (x.rows, model.latents, model.maxActive, model.dimension)
        let sampler = SparsitySampler(maxActive: l0, features: k, levelTemperature: levelTemperature,
                                      supportTemperature: supportTemperature)
        let (heads, encoderCache) = model.encoder.forward(x)
        var z = Matrix(rows: b, cols: k)
        var terms = Terms()
        var states: [PointState] = []
        states.reserveCapacity(b)
        var pointELBOs = [Double](repeating: 0, count: b)
        for i in 0..<b {
            let row = heads.row(i), base = row.startIndex
            let levelLogits = row[(base + model.levelColumns.lowerBound)..<(base + model.levelColumns.upperBound)]
            let scores = row[(base + model.supportColumns.lowerBound)..<(base + model.supportColumns.upperBound)]
            let (levelNoise, supportNoise) = (noise.level.row(i), noise.support.row(i))
            let hard = sampler.hard(levelLogits: levelLogits, supportScores: scores, levelNoise: levelNoise, supportNoise: supportNoise)
            let picks = SparsitySampler.topIndices(zip(scores, supportNoise).map { Double($0) + Double($1) }, l0)
            let q = SparsitySampler.softmax(levelLogits.map(Double.init))
            let levelKL = q.reduce(0) { $0 + ($1 > 0 ? $1 * log($1 * Double(l0)) : 0) }
            var tail = [Double](repeating: 0, count: l0)
            var running = 0.0
            for l in stride(from: l0 - 1, through: 0, by: -1) { running += q[l]; tail[l] = running }
            let weights = mode == .hard ? (0..<l0).map { $0 < hard.level ? 1.0 : 0 } : tail
            let support = supportSteps(scores, picks: picks, weights: weights)
            var trace: SparsitySampler.Trace?
            var mask = [Float](repeating: 0, count: k)
            if mode == .hard || mode == .straightThrough {
                for j in hard.support { mask[j] = 1 }
            }
            if mode != .hard {
                trace = sampler.relaxed(levelLogits: levelLogits, supportScores: scores, levelNoise: levelNoise, supportNoise: supportNoise)
                if mode == .relaxed { mask = trace!.mask.map(Float.init) }
            }
            var valueKL = 0.0
            for j in 0..<k where mask[j] != 0 {
                let mu = Double(heads[i, model.meanColumns.lowerBound + j])
                let s = scale(heads[i, model.scaleColumns.lowerBound + j])
                valueKL += Double(mask[j]) * (0.5 * (mu * mu + s * s - 1) - log(s))
                z[i, j] = mask[j] * Float(mu + s * Double(noise.values[i, j]))
            }
            terms.levelKL += levelKL
            pointELBOs[i] = -levelKL - support.value - valueKL
            terms.supportKL += support.value
            terms.valueKL += valueKL
            terms.active += mask.reduce(0) { $0 + Double($1) }
            states.append(PointState(trace: trace, mask: mask, picks: picks, tailWeights: tail, stepKL: support.steps,
                                     dSupportKL: support.gradient, levelProbabilities: q, levelKL: levelKL))
        }
        let (output, decoderCache) = model.decoder.forward(z)
        let sigma2 = exp(Double(model.logNoiseVariance))
        var gradOutput = Matrix(rows: b, cols: d)
        for i in 0..<b {
            var logLikelihood = 0.0
            for j in 0..<d {
                let (target, f) = (Double(x[i, j]), Double(output[i, j]))
                switch model.likelihood {
                case .gaussian:
                    terms.squaredError += (target - f) * (target - f)
                    logLikelihood -= (target - f) * (target - f) / (2 * sigma2)
                    gradOutput[i, j] = Float(-(target - f) / sigma2 / Double(b))
                case .bernoulli:
                    // x log σ(f) + (1 − x) log σ(−f) = x f − log(1 + e^f), computed stably
                    let mean = 1 / (1 + exp(-f))
                    terms.squaredError += (target - mean) * (target - mean)
                    logLikelihood += target * f - (max(f, 0) + log1p(exp(-abs(f))))
                    gradOutput[i, j] = Float((mean - target) / Double(b))
                }
            }
            if model.likelihood == .gaussian { logLikelihood -= Double(d) / 2 * log(2 * Double.pi * sigma2) }
            terms.logLikelihood += logLikelihood
            pointELBOs[i] += logLikelihood
        }
        terms.elbo = terms.logLikelihood - terms.levelKL - terms.supportKL - terms.valueKL
        guard accumulateGradients else { return (terms, pointELBOs, 0) }
        let gradLogNoiseVariance = model.likelihood == .gaussian
            ? (Double(b * d) / 2 - terms.squaredError / (2 * sigma2)) / Double(b) : 0

        let gradZ = model.decoder.backward(decoderCache, gradOutput)
        let klScale = klWeight / Double(b)
        var gradHeads = Matrix(rows: b, cols: heads.cols)
        for i in 0..<b {
            let state = states[i]
            var gradMask = [Double](repeating: 0, count: k)
            for j in 0..<k {
                let mu = Double(heads[i, model.meanColumns.lowerBound + j])
                let u = heads[i, model.scaleColumns.lowerBound + j]
                let s = scale(u), e = Double(noise.values[i, j]), m = Double(state.mask[j])
                let dz = Double(gradZ[i, j])
                let kl = 0.5 * (mu * mu + s * s - 1) - log(s)
                gradMask[j] = dz * (mu + s * e) + klScale * kl
                gradHeads[i, model.meanColumns.lowerBound + j] = Float(dz * m + klScale * m * mu)
                let dS = dz * m * e + klScale * m * (s - 1 / s)
                gradHeads[i, model.scaleColumns.lowerBound + j] = Float(dS / (1 + exp(-Double(u))))  // softplus′ = sigmoid
            }
            var dLevel = [Double](repeating: 0, count: l0), dScores = state.dSupportKL.map { $0 * klScale }
            if let trace = state.trace {
                let through = sampler.backward(trace, gradMask: gradMask)
                for j in 0..<l0 { dLevel[j] += through.levelLogits[j] }
                for j in 0..<k { dScores[j] += through.supportScores[j] }
            }
            // KL(q(L) ‖ U): ∂/∂α_L,j = q_j (log(q_j L0) − KL); Σ_l P(L ≥ l) KL_l: ∂/∂q_j = Σ_{l ≤ j} KL_l.
            let q = state.levelProbabilities
            var prefix = 0.0
            var dq = [Double](repeating: 0, count: l0)
            for j in 0..<l0 { prefix += state.stepKL[j]; dq[j] = prefix }
            let inner = zip(dq, q).reduce(0) { $0 + $1.0 * $1.1 }
            for j in 0..<l0 {
                let levelTerm = q[j] > 0 ? q[j] * (log(q[j] * Double(l0)) - state.levelKL) : 0
                dLevel[j] += klScale * (levelTerm + q[j] * (dq[j] - inner))
            }
            for j in 0..<l0 { gradHeads[i, model.levelColumns.lowerBound + j] = Float(dLevel[j]) }
            for j in 0..<k { gradHeads[i, model.supportColumns.lowerBound + j] = Float(dScores[j]) }
        }
        model.encoder.backward(encoderCache, gradHeads)
        return (terms, pointELBOs, gradLogNoiseVariance)
    }

    /// s = softplus(u) + 10⁻³.
    @inline(__always)
    static func scale(_ u: Float) -> Double {
        let v = Double(u)
        return (v > 30 ? v : log1p(exp(v))) + Double(UnsupervisedSDLGM.minimumScale)
    }

    /// Σ_l w_l KL_l with KL_l = Σ_{j ∈ R_l} q_j log q_j + log |R_l|, q = softmax(α_S on R_l), R_l the indices not
    /// among picks[0..<l]; also each KL_l and ∂/∂α_S of the weighted sum.
    static func supportSteps(_ scores: ArraySlice<Float>, picks: [Int], weights: [Double])
        -> (value: Double, steps: [Double], gradient: [Double])
    {
        let k = scores.count, base = scores.startIndex
        var removed = [Bool](repeating: false, count: k)
        var steps = [Double](repeating: 0, count: picks.count), gradient = [Double](repeating: 0, count: k)
        var q = [Double](repeating: 0, count: k)
        var value = 0.0
        for l in picks.indices {
            var top = -Double.infinity
            for j in 0..<k where !removed[j] { top = max(top, Double(scores[base + j])) }
            var total = 0.0
            for j in 0..<k where !removed[j] { q[j] = exp(Double(scores[base + j]) - top); total += q[j] }
            var negativeEntropy = 0.0
            for j in 0..<k where !removed[j] {
                q[j] /= total
                if q[j] > 0 { negativeEntropy += q[j] * log(q[j]) }
            }
            steps[l] = negativeEntropy + log(Double(k - l))
            value += weights[l] * steps[l]
            if weights[l] != 0 {
                for j in 0..<k where !removed[j] && q[j] > 0 { gradient[j] += weights[l] * q[j] * (log(q[j]) - negativeEntropy) }
            }
            removed[picks[l]] = true
        }
        return (value, steps, gradient)
    }
}
