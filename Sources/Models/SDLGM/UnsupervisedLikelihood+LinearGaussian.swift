import DataKit
import Foundation

/// The exact marginal of the linear Gaussian SDLGM decoder given a support (`sdlgm.md`, "Evaluation"): with values
/// N(0, 1) on the support S and x = W z + b + noise, noise ~ N(0, σ² I),
///
///   log p(x | S) = log N(x; b, W_S W_Sᵀ + σ² I)
///                = −(D/2) log(2πσ²) − ½ log det M_S − (‖r‖² − ‖y‖²)/(2σ²),
///
/// r = x − b, M_S = I + W_Sᵀ W_S/σ² (|S| × |S|) = L Lᵀ, y = L⁻¹ W_Sᵀ r/σ: the matrix determinant lemma and Woodbury's
/// identity (σ² I + W_S W_Sᵀ)⁻¹ = σ⁻² I − σ⁻⁴ W_S M_S⁻¹ W_Sᵀ. The support grows one feature at a time (`extend`),
/// each step adding one row of the Cholesky factor L (bordered Cholesky, O(|S|²)), so the densities of all the
/// prefixes of an ordered support cost O(|S|³/3) together, from WᵀW/σ² and Wᵀr computed once. `Candidates` keeps the
/// row every other feature would add as well (O(K |S|) per step): each feature's gain, for forward selection.
///
/// Everything is in double precision: ‖r‖² and ‖y‖² nearly cancel when σ² is small, so W's products are not left
/// to single-precision BLAS, and the |S| × |S| factorization (|S| ≤ L0, tens) runs inline on a reused buffer
/// (LAPACK's single-precision `Decompositions.cholesky` would allocate per call).
struct LinearGaussianSupportMarginal: Sendable {
    let dimension: Int
    let latents: Int
    let sigma2: Double
    /// W as D × K (double), b (D), and WᵀW/σ² (K × K).
    private let weight: [Double]
    private let bias: [Double]
    private let scaledGram: [Double]
    /// −(D/2) log(2πσ²).
    private let logNormalizer: Double

    /// `weight` is the decoder's D × K matrix (its `Linear` layer: out × in), `bias` its D offsets.
    init(weight w: Matrix, bias b: [Float], sigma2: Double) {
        let (d, k) = (w.rows, w.cols)
        (dimension, latents, self.sigma2) = (d, k, sigma2)
        weight = w.storage.map(Double.init)
        bias = b.map(Double.init)
        var gram = [Double](repeating: 0, count: k * k)
        for row in 0..<d {
            for i in 0..<k {
                let wi = weight[row * k + i] / sigma2
                guard wi != 0 else { continue }
                for j in i..<k { gram[i * k + j] += wi * weight[row * k + j] }
            }
        }
        for i in 0..<k { for j in 0..<i { gram[i * k + j] = gram[j * k + i] } }
        scaledGram = gram
        logNormalizer = -Double(d) / 2 * log(2 * Double.pi * sigma2)
    }

    /// One point's Wᵀ(x − b)/σ (K values) and ‖x − b‖².
    struct Projection: Sendable {
        var scaledCorrelation: [Double]
        var residualSquared = 0.0
        init(latents: Int) { scaledCorrelation = [Double](repeating: 0, count: latents) }
    }

    /// Fills `projection` for the point x (D values).
    func project(_ x: ArraySlice<Float>, into projection: inout Projection) {
        let (d, k) = (dimension, latents)
        let sigma = sigma2.squareRoot()
        for j in 0..<k { projection.scaledCorrelation[j] = 0 }
        projection.residualSquared = 0
        for (row, value) in x.enumerated() where row < d {
            let r = Double(value) - bias[row]
            projection.residualSquared += r * r
            let scaled = r / sigma
            for j in 0..<k { projection.scaledCorrelation[j] += weight[row * k + j] * scaled }
        }
    }

    /// A support being grown: its Cholesky factor L (row-major, `capacity` × `capacity`, rows 0..<count filled),
    /// y = L⁻¹ (Wᵀr/σ)_S, log det M_S and ‖y‖².
    struct GrowingSupport: Sendable {
        let capacity: Int
        var features: [Int]
        var factor: [Double]
        var y: [Double]
        var count = 0
        var logDeterminant = 0.0
        var ySquared = 0.0

        init(capacity: Int) {
            self.capacity = capacity
            features = [Int](repeating: 0, count: capacity)
            factor = [Double](repeating: 0, count: capacity * capacity)
            y = [Double](repeating: 0, count: capacity)
        }

        /// Empties the support (the buffers are kept).
        mutating func reset() { (count, logDeterminant, ySquared) = (0, 0, 0) }
    }

    /// Adds `feature` to the support and returns log N(x; b, W_S W_Sᵀ + σ² I) for the grown S:
    /// row l of L from M's new row (M_lj = δ_lj + (WᵀW)_{a_l a_j}/σ²), then y_l by forward substitution.
    @inline(__always)
    func extend(_ support: inout GrowingSupport, with feature: Int, projection: Projection) -> Double {
        let (k, l, n) = (latents, support.count, support.capacity)
        precondition(l < n, "the support is full")
        support.features[l] = feature
        var diagonal = 1 + scaledGram[feature * k + feature]
        var yl = projection.scaledCorrelation[feature]
        support.factor.withUnsafeMutableBufferPointer { f in
            for j in 0..<l {
                var value = scaledGram[feature * k + support.features[j]]
                for m in 0..<j { value -= f[l * n + m] * f[j * n + m] }
                value /= f[j * n + j]
                f[l * n + j] = value
                diagonal -= value * value
                yl -= value * support.y[j]
            }
            // M_S is I plus a positive semidefinite matrix, so the pivot stays ≥ 1 up to rounding.
            f[l * n + l] = max(diagonal, 1e-12).squareRoot()
            yl /= f[l * n + l]
        }
        support.y[l] = yl
        support.count += 1
        support.logDeterminant += log(support.factor[l * n + l] * support.factor[l * n + l])
        support.ySquared += yl * yl
        return logNormalizer - 0.5 * support.logDeterminant
            - (projection.residualSquared - support.ySquared) / (2 * sigma2)
    }

    /// A support being grown one feature at a time, and what every other feature would add to it (`sdlgm.md`,
    /// "Evaluation"). Row l of the Cholesky factor L of M_S belongs to the l-th feature drawn; for each feature k not
    /// in S the state keeps the row L would get if k came next, c_k = L⁻¹ M_{S,k}, its pivot squared
    /// d_k = M_kk − ‖c_k‖² (≥ 1: M is I plus a positive semidefinite matrix) and e_k = (Wᵀr/σ)_k − c_kᵀ y, so that
    ///
    ///   log p(x | S ∪ {k}) − log p(x | S) = −½ log d_k + e_k² / (2σ² d_k)      (the gain of k),
    ///
    /// from the determinant lemma (log det M grows by log d_k) and y's new entry e_k/√d_k. Adding a feature a costs
    /// O(K |S|): each c_k gets the entry (M_ka − c_kᵀ c_a)/√d_a, and d_k, e_k lose its square and its product
    /// with y's new entry (bordered Cholesky, for every candidate at once).
    struct Candidates: Sendable {
        let latents: Int
        let capacity: Int
        /// c_k for every feature, row-major K × capacity (entries 0..<count filled).
        var rows: [Double]
        var pivots: [Double]
        var residuals: [Double]
        var taken: [Bool]
        var count = 0

        init(latents: Int, capacity: Int) {
            (self.latents, self.capacity) = (latents, capacity)
            rows = [Double](repeating: 0, count: latents * capacity)
            pivots = [Double](repeating: 0, count: latents)
            residuals = pivots
            taken = [Bool](repeating: false, count: latents)
        }
    }

    /// log N(x; b, σ² I): the density given the empty support.
    func emptyLogDensity(_ projection: Projection) -> Double {
        logNormalizer - projection.residualSquared / (2 * sigma2)
    }

    /// Empties the support of `candidates` for the point of `projection` (the buffers are kept).
    func start(_ candidates: inout Candidates, projection: Projection) {
        let k = latents
        candidates.count = 0
        for j in 0..<k {
            candidates.pivots[j] = 1 + scaledGram[j * k + j]
            candidates.residuals[j] = projection.scaledCorrelation[j]
            candidates.taken[j] = false
        }
    }

    /// Fills `gains[k]` with the gain of every feature k not in the support (−∞ for those in it).
    func gains(_ candidates: Candidates, into gains: inout [Double]) {
        for j in 0..<latents {
            guard !candidates.taken[j] else { gains[j] = -.infinity; continue }
            let pivot = max(candidates.pivots[j], 1e-12)
            let residual = candidates.residuals[j]
            gains[j] = -0.5 * log(pivot) + residual * residual / (2 * sigma2 * pivot)
        }
    }

    /// Adds `feature` (not in the support yet) and returns its gain, log p(x | S ∪ {feature}) − log p(x | S).
    @discardableResult
    func append(_ feature: Int, to candidates: inout Candidates) -> Double {
        let (k, l, n) = (latents, candidates.count, candidates.capacity)
        precondition(l < n && !candidates.taken[feature], "a new feature, and room for it")
        let pivotSquared = max(candidates.pivots[feature], 1e-12)
        let pivot = pivotSquared.squareRoot()
        let yNew = candidates.residuals[feature] / pivot
        candidates.taken[feature] = true
        candidates.rows.withUnsafeMutableBufferPointer { rows in
            let added = feature * n
            for j in 0..<k where !candidates.taken[j] {
                var value = scaledGram[j * k + feature]
                for m in 0..<l { value -= rows[j * n + m] * rows[added + m] }
                value /= pivot
                rows[j * n + l] = value
                candidates.pivots[j] -= value * value
                candidates.residuals[j] -= value * yNew
            }
        }
        candidates.count += 1
        return -0.5 * log(pivotSquared) + yNew * yNew / (2 * sigma2)
    }

    /// log N(x; b, W_S W_Sᵀ + σ² I) for one point and one support (an unordered set: the order does not matter).
    func logDensity(_ x: ArraySlice<Float>, support: [Int]) -> Double {
        var projection = Projection(latents: latents)
        project(x, into: &projection)
        var growing = GrowingSupport(capacity: max(support.count, 1))
        var value = emptyLogDensity(projection)  // S = ∅: N(x; b, σ² I)
        for feature in support { value = extend(&growing, with: feature, projection: projection) }
        return value
    }
}
