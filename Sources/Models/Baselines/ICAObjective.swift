import DataKit
import Foundation

/// The negative ICA log-likelihood per point, with unit Laplace scales, as a function of the unmixing matrix R of
/// already-whitened rows z_n (N × D), y_n = R z_n:
///
///     F(R) = (1/N) Σ_n Σ_h ρ_δ(y_nh) − log|det R| + D log 2,
///     ∂F/∂R = (1/N) Ψᵀ Z − R⁻ᵀ = G R⁻ᵀ,   G = (1/N) Ψᵀ Y − I   (the relative gradient),   Ψ_nh = ρ'_δ(y_nh),
///
/// with ρ_δ(s) = √(s² + δ²) − δ, a smoothed |s| (0 ≤ |s| − ρ_δ(s) ≤ δ). With unit scales R's row norms absorb the
/// sources' scales (at δ → 0 the optimum has (1/N) Σ_n |y_nh| = 1, the closed-form ML scale). G is the gradient
/// with respect to E of F((I + E) R) at E = 0, and `curvature` the Hessian approximation of Picard (Ablin, Cardoso &
/// Gramfort 2018): h_ij = (1/N) Σ_n ρ''_δ(y_ni) y_nj², so that the Hessian's 2 × 2 block on (E_ij, E_ji) is about
/// [[h_ij, 1], [1, h_ji]]. Every product over the data is one `sgemm` on reused N × D buffers; log|det R| comes
/// from an LU in double precision.
struct ICAObjective {
    let z: Matrix
    /// δ of ρ_δ.
    var smoothing: Double
    /// Y = Z Rᵀ of the last `loss` call; then Y² in `relativeGradient`.
    private var sources: Matrix
    /// Ψ, then ρ''(Y).
    private var scores: Matrix
    private var unmixing: Matrix

    init(whitened z: Matrix, smoothing: Double) {
        self.z = z
        self.smoothing = smoothing
        sources = Matrix(rows: z.rows, cols: z.cols)
        scores = Matrix(rows: z.rows, cols: z.cols)
        unmixing = Matrix(rows: z.cols, cols: z.cols)
    }

    var dimension: Int { z.cols }

    /// F(R) for R (D × D, row-major); +∞ when R is singular. Keeps Y = Z Rᵀ for `relativeGradient`.
    mutating func loss(_ r: [Double]) -> Double {
        let d = dimension
        guard let (_, logDeterminant) = DoubleLinearAlgebra.inverseAndLogAbsDeterminant(r, n: d) else { return .infinity }
        for i in r.indices { unmixing.storage[i] = Float(r[i]) }
        Matrix.gemm(z, unmixing, transposeB: true, into: &sources)
        let delta = smoothing, delta2 = Float(smoothing * smoothing)
        var total = 0.0
        sources.storage.withUnsafeBufferPointer { y in
            for i in y.indices { total += Double((y[i] * y[i] + delta2).squareRoot()) }
        }
        return total / Double(z.rows) - delta * Double(d) - logDeterminant + Double(d) * log(2)
    }

    /// G and h (`curvature`, D × D) at the R of the last `loss` call; overwrites the kept Y.
    mutating func relativeGradient() -> (gradient: [Double], curvature: [Double]) {
        let d = dimension, n = Float(z.rows)
        let delta2 = Float(smoothing * smoothing)
        sources.storage.withUnsafeBufferPointer { y in
            scores.storage.withUnsafeMutableBufferPointer { psi in
                for i in y.indices { psi[i] = y[i] / (y[i] * y[i] + delta2).squareRoot() }
            }
        }
        var product = Matrix(rows: d, cols: d)
        Matrix.gemm(scores, transposeA: true, sources, alpha: 1 / n, into: &product)
        var gradient = product.storage.map(Double.init)
        for i in 0..<d { gradient[i * d + i] -= 1 }
        sources.storage.withUnsafeMutableBufferPointer { y in
            scores.storage.withUnsafeMutableBufferPointer { second in
                for i in y.indices {
                    let q = y[i] * y[i] + delta2
                    second[i] = delta2 / (q * q.squareRoot())  // ρ''_δ(y) = δ² / (y² + δ²)^{3/2}
                    y[i] *= y[i]
                }
            }
        }
        Matrix.gemm(scores, transposeA: true, sources, alpha: 1 / n, into: &product)
        return (gradient, product.storage.map(Double.init))
    }

    /// F(R) and ∂F/∂R = G R⁻ᵀ, for checking the relative gradient against finite differences.
    mutating func evaluate(_ r: [Double], gradient: inout [Double]) -> Double {
        let d = dimension
        let value = loss(r)
        guard value.isFinite, let (inverse, _) = DoubleLinearAlgebra.inverseAndLogAbsDeterminant(r, n: d) else { return value }
        let g = relativeGradient().gradient
        for i in 0..<d {
            for j in 0..<d { gradient[i * d + j] = (0..<d).reduce(0.0) { $0 + g[i * d + $1] * inverse[j * d + $1] } }
        }
        return value
    }
}
