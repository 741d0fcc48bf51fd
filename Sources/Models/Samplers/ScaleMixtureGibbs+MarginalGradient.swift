import CBLAS
import CLAPACKE
import DataKit
import Foundation

/// The gradient of log p(x) for `--objective likelihood --m-step adam`, Rao-Blackwellized over z.
///
/// In the scale-mixture form of the Laplace prior, z integrates out in closed form:
///   p(x) = ∫ N(x; 0, C_τ) Π_h Exponential(τ_h; mean 2λ_h²) dτ,   C_τ = W T Wᵀ + σ² I,  T = diag τ,
/// so by Fisher's identity ∇ log p(x) = E_{τ|x}[∇ log N(x; 0, C_τ) + ∇ Σ_h log Exponential(τ_h; 2λ_h²)], and at a
/// posterior draw of τ (the one a `ScaleMixtureGibbs` sweep holds) the bracket is an unbiased estimate. With
/// r = C⁻¹x and M = r rᵀ − C⁻¹:
///   ∂/∂W = M W T,   ∂/∂log σ² = (σ²/2) tr M,   ∂/∂log λ_h = τ_h/λ_h² − 2.
/// Unlike the z-level estimate E[(x − W z) zᵀ]/σ² (`PosteriorSampleStatistics.gradient`), whose Monte Carlo error
/// grows like 1/σ, these stay finite as σ² → 0 (C_τ tends to W T Wᵀ, invertible when H ≥ D and all τ_h > 0), which
/// is where the closed-form M-step of EM stops moving W (Petersen, Winther & Hansen 2005).
public struct MarginalGradient: Sendable, Equatable {
    /// ∂/∂W, D × H row-major (W as the sampler holds it).
    public var w: [Double]
    public var logSigma2: Double
    public var logLambda: [Double]

    public init(dimension d: Int, latents h: Int) {
        w = [Double](repeating: 0, count: d * h)
        logSigma2 = 0
        logLambda = [Double](repeating: 0, count: h)
    }

    /// Adds `other` (another slice's sum).
    public mutating func merge(_ other: MarginalGradient) {
        for i in w.indices { w[i] += other.w[i] }
        logSigma2 += other.logSigma2
        for j in logLambda.indices { logLambda[j] += other.logLambda[j] }
    }

    /// The same scaled by `factor` (a sum over points into their mean).
    public func scaled(by factor: Double) -> MarginalGradient {
        var result = self
        for i in result.w.indices { result.w[i] *= factor }
        result.logSigma2 *= factor
        for j in result.logLambda.indices { result.logLambda[j] *= factor }
        return result
    }
}

extension ScaleMixtureGibbs {
    /// Adds `weight` × the gradient estimate at τ (`workspace.tau`) for the point `x` to `gradient`. Uses the
    /// Cholesky factor of A = W T Wᵀ/σ² + I that the last `sweep` at β = 1 left in `workspace.system` (C = σ² A), and
    /// overwrites it and `workspace.scaledW`. O(D²H + D³), double precision.
    public func addMarginalGradient(x: UnsafePointer<Double>, workspace: inout Workspace, weight: Double,
                                    into gradient: inout MarginalGradient)
    {
        let (d, h) = (dimension, latents)
        let sigma2 = sigma * sigma
        let inverted = workspace.system.withUnsafeMutableBufferPointer { a in
            LAPACKE_dpotri(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "L")), Int32(d), a.baseAddress, Int32(d))
        }
        guard inverted == 0 else { return }
        var trace = 0.0, squaredNorm = 0.0
        workspace.system.withUnsafeMutableBufferPointer { m in
            // C⁻¹ = A⁻¹/σ², lower triangle; r = C⁻¹ x into workspace.right
            for i in 0..<d { for j in 0...i { m[i * d + j] /= sigma2 } }
            workspace.right.withUnsafeMutableBufferPointer { r in
                cblas_dsymv(CblasRowMajor, CblasLower, Int32(d), 1, m.baseAddress, Int32(d), x, 1, 0, r.baseAddress, 1)
                for i in 0..<d {
                    trace += m[i * d + i]
                    squaredNorm += r[i] * r[i]
                    for j in 0...i { m[i * d + j] = r[i] * r[j] - m[i * d + j] }  // M = r rᵀ − C⁻¹
                }
            }
        }
        w.withUnsafeBufferPointer { w in
            workspace.scaledW.withUnsafeMutableBufferPointer { wt in
                workspace.tau.withUnsafeBufferPointer { tau in
                    for i in 0..<d { for j in 0..<h { wt[i * h + j] = w[i * h + j] * tau[j] } }  // W T
                }
                workspace.system.withUnsafeBufferPointer { m in
                    gradient.w.withUnsafeMutableBufferPointer { g in  // += weight · M (W T)
                        cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, Int32(d), Int32(h), weight, m.baseAddress, Int32(d),
                                    wt.baseAddress, Int32(h), 1, g.baseAddress, Int32(h))
                    }
                }
            }
        }
        gradient.logSigma2 += weight * sigma2 / 2 * (squaredNorm - trace)
        for j in 0..<h { gradient.logLambda[j] += weight * (workspace.tau[j] / (lambda[j] * lambda[j]) - 2) }
    }
}
