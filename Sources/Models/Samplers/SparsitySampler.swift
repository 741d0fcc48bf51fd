import DataKit
import Foundation

/// The two-step sampler of SDLGM (`sdlgm.md`): a sparsity level L ∈ {1, …, L0} and a support of L of K features.
///
/// Relaxed and reparameterized, for one point with level logits α_L (L0) and support scores α_S (K), given Gumbel
/// noise G (L0) and G′ (K) and temperatures τ₁, τ₂:
///   1. ℓ̃ = softmax((α_L + G)/τ₁)                                      (relaxed one-hot of L)
///   2. r⁰ = α_S + G′;  for l = 1 … L0:  a_l = softmax(r^{l−1}/τ₂),  r^l = r^{l−1} + log max(1 − a_l, ε)
///                                                                       (relaxed top-L0 without replacement)
///   3. c_l = Σ_{j ≥ l} ℓ̃_j  (relaxed P(L ≥ l)),  m = min(1, Σ_l c_l a_l)  ∈ [0, 1]^K.
/// `backward` carries ∂/∂m back to ∂/∂α_L and ∂/∂α_S with the noise held fixed. The straight-through variant
/// takes the hard code of the same noise forward (`hard`: L = argmax ℓ̃, support = the L first sequential argmaxes
/// of r) and the relaxed mask's gradient backward. At a finite τ₂, perturbed scores closer than about τ₂ share a step's
/// mass; a pair removed only in part can then let a third index into the relaxed support (the hard code never does).
///
/// This is the per-point reference form (the training loop will batch it into flat buffers).
public struct SparsitySampler: Sendable {
    public let maxActive: Int
    public let features: Int
    public var levelTemperature: Double
    public var supportTemperature: Double
    public static let epsilon = 1e-7

    public init(maxActive: Int, features: Int, levelTemperature: Double = 1, supportTemperature: Double = 1) {
        precondition(maxActive >= 1 && maxActive <= features, "1 ≤ L0 ≤ K")
        self.maxActive = maxActive
        self.features = features
        self.levelTemperature = levelTemperature
        self.supportTemperature = supportTemperature
    }

    /// Everything the backward pass needs for one point.
    public struct Trace: Sendable {
        public var level: [Double]  // ℓ̃
        public var steps: [[Double]]  // a_1 … a_L0
        public var keep: [Double]  // c_1 … c_L0
        public var mask: [Double]  // m (relaxed)
        var saturated: [Bool]  // Σ_l c_l a_l ≥ 1 (the min clips)
    }

    /// The relaxed mask for logits and noise of one point.
    public func relaxed(levelLogits: ArraySlice<Float>, supportScores: ArraySlice<Float>,
                        levelNoise: ArraySlice<Float>, supportNoise: ArraySlice<Float>) -> Trace {
        let (l0, k) = (maxActive, features)
        let level = Self.softmax(zip(levelLogits, levelNoise).map { (Double($0) + Double($1)) / levelTemperature })
        var r = zip(supportScores, supportNoise).map { Double($0) + Double($1) }
        var steps: [[Double]] = []
        for _ in 0..<l0 {
            let a = Self.softmax(r.map { $0 / supportTemperature })
            for j in 0..<k { r[j] += log(max(1 - a[j], Self.epsilon)) }
            steps.append(a)
        }
        var keep = [Double](repeating: 0, count: l0)
        var tail = 0.0
        for l in stride(from: l0 - 1, through: 0, by: -1) { tail += level[l]; keep[l] = tail }
        var raw = [Double](repeating: 0, count: k)
        for l in 0..<l0 { for j in 0..<k { raw[j] += keep[l] * steps[l][j] } }
        return Trace(level: level, steps: steps, keep: keep, mask: raw.map { min(1, $0) }, saturated: raw.map { $0 >= 1 })
    }

    /// ∂/∂α_L and ∂/∂α_S from ∂/∂m, through the relaxed sample of `trace` (noise fixed).
    public func backward(_ trace: Trace, gradMask: [Double]) -> (levelLogits: [Double], supportScores: [Double]) {
        let (l0, k) = (maxActive, features)
        let dRaw = (0..<k).map { trace.saturated[$0] ? 0 : gradMask[$0] }
        var dKeep = [Double](repeating: 0, count: l0)
        var dr = [Double](repeating: 0, count: k)  // ∂/∂r^l, from l = L0 down
        for l in stride(from: l0 - 1, through: 0, by: -1) {
            let a = trace.steps[l]
            var da = [Double](repeating: 0, count: k)
            for j in 0..<k {
                dKeep[l] += dRaw[j] * a[j]
                da[j] = trace.keep[l] * dRaw[j] + (1 - a[j] > Self.epsilon ? -dr[j] / (1 - a[j]) : 0)
            }
            // r^{l−1} reaches r^l directly and through a_l = softmax(r^{l−1}/τ₂).
            let inner = zip(da, a).reduce(0.0) { $0 + $1.0 * $1.1 }
            for j in 0..<k { dr[j] += a[j] * (da[j] - inner) / supportTemperature }
        }
        // c_l = Σ_{j ≥ l} ℓ̃_j, so ∂/∂ℓ̃_j = Σ_{l ≤ j} ∂/∂c_l; then through the softmax.
        var dLevel = [Double](repeating: 0, count: l0)
        var running = 0.0
        for j in 0..<l0 { running += dKeep[j]; dLevel[j] = running }
        let inner = zip(dLevel, trace.level).reduce(0.0) { $0 + $1.0 * $1.1 }
        let dLogits = (0..<l0).map { trace.level[$0] * (dLevel[$0] - inner) / levelTemperature }
        return (dLogits, dr)
    }

    /// The hard code of the same noise: L = argmax ℓ̃ (1-based), the support the L first sequential argmaxes of
    /// α_S + G′ (Gumbel-top-L: L distinct indices drawn without replacement from softmax(α_S)).
    public func hard(levelLogits: ArraySlice<Float>, supportScores: ArraySlice<Float>,
                     levelNoise: ArraySlice<Float>, supportNoise: ArraySlice<Float>) -> (level: Int, support: [Int]) {
        let perturbed = zip(levelLogits, levelNoise).map { Double($0) + Double($1) }
        let level = perturbed.indices.max { perturbed[$0] < perturbed[$1] }! + 1
        let scores = zip(supportScores, supportNoise).map { Double($0) + Double($1) }
        return (level, Self.topIndices(scores, level))
    }

    /// The evaluation code (no noise): L̂ = argmax q(L | x), support = the top-L̂ support scores.
    public func mode(levelLogits: ArraySlice<Float>, supportScores: ArraySlice<Float>) -> (level: Int, support: [Int]) {
        let level = levelLogits.indices.max { levelLogits[$0] < levelLogits[$1] }! - levelLogits.startIndex + 1
        return (level, Self.topIndices(supportScores.map(Double.init), level))
    }

    /// Indices of the `count` largest values, largest first (ties to the lower index).
    static func topIndices(_ values: [Double], _ count: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(count))
    }

    /// Standard Gumbel(0, 1) noise, −log(−log U), U uniform on (0, 1).
    public static func gumbel(_ count: Int, using generator: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in Float(-log(-log(generator.uniformOpen()))) }
    }

    static func softmax(_ x: [Double]) -> [Double] {
        let top = x.max() ?? 0
        let e = x.map { exp($0 - top) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }
}
