import CBLAS
import CLAPACKE
import DataKit
import Foundation

/// The tempered targets of annealed importance sampling with z integrated out (`AnnealedImportanceSampling`'s
/// `.collapsed` transition).
///
/// With the Laplace prior as a scale mixture, the tempered target p(z) p(x | z)^β has the τ-marginal
///   f_β(τ) = p(τ) ∫ N(z; 0, T) N(x; W z, σ² I)^β dz = p(τ) exp(g_β(τ)),
///   g_β(τ) = −(Dβ/2) log 2πσ² − ½ log det A − (β/2σ²) xᵀ A⁻¹ x,   A = (β/σ²) W T Wᵀ + I,
/// (N(·)^β = (2πσ²)^{−Dβ/2} (2πσ²/β)^{D/2} N(x; W z, (σ²/β) I), then the Gaussian integral), with g_0 = 0. A chain
/// over (τ, z) moved by `sweep` at β leaves f_β(τ) invariant, and AIS over τ weighs it by g_{β_t}(τ) − g_{β_{t−1}}(τ):
/// the same estimator of p(x), but its weights stay smooth as σ² → 0 (W T Wᵀ is invertible when H ≥ D), where
/// p(x | z)^Δβ, the weight of the plain path, becomes a spike.
extension ScaleMixtureGibbs {
    /// g_β(τ) at τ = `workspace.tau`, computed afresh (overwrites `workspace.system` and `scaledW`). O(D²H + D³).
    public func collapsedLogDensity(x: UnsafePointer<Double>, beta: Double, workspace: inout Workspace) -> Double {
        guard beta > 0 else { return 0 }
        let (d, h) = (dimension, latents)
        let scale = (beta.squareRoot()) / sigma
        w.withUnsafeBufferPointer { w in
            workspace.scaledW.withUnsafeMutableBufferPointer { scaled in
                for i in 0..<d { for j in 0..<h { scaled[i * h + j] = w[i * h + j] * workspace.tau[j].squareRoot() * scale } }
                workspace.system.withUnsafeMutableBufferPointer { a in
                    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, Int32(d), Int32(h), 1, scaled.baseAddress, Int32(h), 0,
                                a.baseAddress, Int32(d))
                    for i in 0..<d { a[i * d + i] += 1 }
                }
            }
        }
        let factored = workspace.system.withUnsafeMutableBufferPointer { a in
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "L")), Int32(d), a.baseAddress, Int32(d))
        }
        guard factored == 0 else { return -.infinity }  // A ⪰ I: only non-finite input gets here
        return collapsedLogDensityOfFactor(x: x, beta: beta, workspace: &workspace)
    }

    /// g_β(τ) from the Cholesky factor of A already in `workspace.system` (as a `sweep` at β that returned true
    /// leaves it, for the τ it drew). O(D²).
    public func collapsedLogDensityOfFactor(x: UnsafePointer<Double>, beta: Double, workspace: inout Workspace) -> Double {
        let d = dimension
        var logDeterminant = 0.0, quadratic = 0.0
        workspace.system.withUnsafeBufferPointer { l in
            workspace.right.withUnsafeMutableBufferPointer { y in
                for i in 0..<d { y[i] = x[i] }
                cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, Int32(d), l.baseAddress, Int32(d), y.baseAddress, 1)
                for i in 0..<d {
                    logDeterminant += 2 * log(l[i * d + i])
                    quadratic += y[i] * y[i]
                }
            }
        }
        let sigma2 = sigma * sigma
        return -Double(d) * beta / 2 * log(2 * Double.pi * sigma2) - logDeterminant / 2 - beta / (2 * sigma2) * quadratic
    }

    /// A draw of (τ, z) from the prior: τ_h ~ Exponential with mean 2λ_h² into `workspace.tau`, z_h | τ_h ~ N(0, τ_h).
    public func drawFromPrior(z: UnsafeMutablePointer<Double>, workspace: inout Workspace, generator: inout SeededGenerator) {
        for j in 0..<latents {
            let tau = -2 * lambda[j] * lambda[j] * log(1 - generator.uniform())
            workspace.tau[j] = max(tau, 1e-300)
            z[j] = tau.squareRoot() * generator.normal()
        }
    }
}
