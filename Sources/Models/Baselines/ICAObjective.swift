import DataKit
import Foundation

/// The negative ICA log-likelihood per point, with unit Laplace scales, as a function of the unmixing matrix R of
/// already-whitened rows z_n (N × D):
///
///     F(R) = (1/N) Σ_n Σ_h ρ_δ((R z_n)_h) − log|det R| + D log 2,
///     ∂F/∂R = (1/N) Ψᵀ Z − R⁻ᵀ,   Ψ_nh = ρ'_δ((R z_n)_h),
///
/// with ρ_δ(s) = √(s² + δ²) − δ, a smoothed |s| (0 ≤ |s| − ρ_δ(s) ≤ δ; δ = 0 is |s| itself with ρ' = sign). With
/// unit scales b_h = 1 the row norms of R absorb the sources' scales: at δ = 0, ∂F/∂(scale of row h) = 0 gives
/// (1/N) Σ_n |s_nh| = 1, the closed-form ML scale. Both products are one `sgemm` each over a reused N × D buffer;
/// log|det R| and R⁻ᵀ come from an LU in double precision.
struct ICAObjective {
    let z: Matrix
    /// δ of ρ_δ.
    var smoothing: Double
    /// S = Z Rᵀ, then Ψ in place.
    private var scores: Matrix
    private var gradientMatrix: Matrix

    init(whitened z: Matrix, smoothing: Double) {
        self.z = z
        self.smoothing = smoothing
        scores = Matrix(rows: z.rows, cols: z.cols)
        gradientMatrix = Matrix(rows: z.cols, cols: z.cols)
    }

    /// F(R) for R (D × D, row-major) and its gradient; +∞ when R is singular.
    mutating func evaluate(_ r: [Float], gradient: inout [Float]) -> Double {
        let d = z.cols
        let unmixing = Matrix(rows: d, cols: d, storage: r)
        guard let (inverse, logDeterminant) = DoubleLinearAlgebra.inverseAndLogAbsDeterminant(r.map(Double.init), n: d) else {
            return .infinity
        }
        Matrix.gemm(z, unmixing, transposeB: true, into: &scores)
        let delta = smoothing
        var total = 0.0
        scores.storage.withUnsafeMutableBufferPointer { s in
            if delta == 0 {
                for i in s.indices {
                    let v = s[i]
                    total += Double(abs(v))
                    s[i] = v > 0 ? 1 : (v < 0 ? -1 : 0)
                }
            } else {
                let delta2 = Float(delta * delta)
                for i in s.indices {
                    let v = s[i]
                    let root = (v * v + delta2).squareRoot()
                    total += Double(root)
                    s[i] = v / root
                }
                total -= delta * Double(s.count)
            }
        }
        let n = Double(z.rows)
        Matrix.gemm(scores, transposeA: true, z, alpha: Float(1 / n), into: &gradientMatrix)
        for i in 0..<d { for j in 0..<d { gradient[i * d + j] = gradientMatrix.storage[i * d + j] - Float(inverse[j * d + i]) } }
        return total / n - logDeterminant + Double(d) * log(2)
    }
}
