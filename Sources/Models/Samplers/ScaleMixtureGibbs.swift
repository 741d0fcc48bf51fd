import CBLAS
import CLAPACKE
import DataKit
import Foundation

/// Blocked Gibbs sampling of the ES-SC posterior p(z | x) ∝ N(x; W z, σ² I) Π_h Laplace(z_h; 0, λ_h) through the
/// Laplace prior's Gaussian scale mixture (Andrews & Mallows 1974; Park & Casella 2008): z_h | τ_h ~ N(0, τ_h),
/// τ_h ~ Exponential with mean 2λ_h². One sweep draws
///   1/τ_h | z_h ~ InverseGaussian(mean 1/(λ_h |z_h|), shape 1/λ_h²)   (Michael, Schucany & Haas 1976),
///   z | τ, x ~ N(Σ Wᵀx/σ², Σ),  Σ = (WᵀW/σ² + T⁻¹)⁻¹,  T = diag τ,
/// the Gaussian jointly over all H latents by Bhattacharya, Chakraborty & Mallick (2016) in D dimensions:
///   u ~ N(0, T), δ ~ N(0, I_D),  A w = x/σ − (W u/σ + δ) with A = W T Wᵀ/σ² + I_D,  z = u + T Wᵀ w/σ.
/// Unlike the coordinate sweep of `TemperedLaplaceGibbs`, the joint draw moves z along W's null space in one step,
/// so the chains keep mixing when σ² is small and the latents explain one another away (where coordinate chains
/// freeze: likelihood training with them drove σ² to 3e-4 on 8×8 patches, README "Held-out likelihood").
/// Cost per sweep O(D²H + D³) (the product W T Wᵀ and a D × D Cholesky factor), in double precision.
public struct ScaleMixtureGibbs: Sendable {
    public let dimension: Int
    public let latents: Int
    /// W, D × H row-major.
    let w: [Double]
    let lambda: [Double]
    let sigma: Double

    public init(model: SparseCodingModel) {
        (dimension, latents) = (model.dimension, model.latents)
        w = model.w.storage.map(Double.init)
        lambda = model.lambda.map(Double.init)
        sigma = Double(model.sigma2).squareRoot()
    }

    /// Per-thread buffers of one sweep.
    public struct Workspace {
        var scaledW: [Double]  // W diag(√τ)/σ, D × H
        var system: [Double]  // A, then its Cholesky factor, D × D
        var tau: [Double]
        var u: [Double]
        var right: [Double]  // x/σ − W u/σ − δ, then w
        var back: [Double]  // Wᵀ w

        public init(dimension d: Int, latents h: Int) {
            scaledW = [Double](repeating: 0, count: d * h)
            system = [Double](repeating: 0, count: d * d)
            tau = [Double](repeating: 0, count: h)
            u = tau
            back = tau
            right = [Double](repeating: 0, count: d)
        }
    }

    /// A draw of 1/τ from InverseGaussian(mean μ, shape s) (Michael, Schucany & Haas 1976), written without the
    /// cancellation of the textbook form when μ is large; μ = ∞ (z = 0) gives its limit, the Lévy draw s/ν².
    @inline(__always)
    static func inverseGaussian(mean mu: Double, shape s: Double, generator: inout SeededGenerator) -> Double {
        let nu = generator.normal(), y = nu * nu
        guard mu.isFinite else { return s / max(y, 1e-300) }
        let root = (mu * mu * y * y + 4 * mu * s * y).squareRoot()
        let candidate = mu - 2 * mu * mu * y / (mu * y + root)  // in (0, μ]
        return generator.uniform() * (mu + candidate) <= mu ? candidate : mu * mu / max(candidate, 1e-300)
    }

    /// One sweep (τ | z, then z | τ, x) of one point's chain: `z` (H) in place, `x` the point (D). At inverse
    /// temperature β < 1 it leaves the tempered posterior p(z) p(x | z)^β invariant instead (the noise variance σ²/β;
    /// β = 0 draws from the prior), for annealed importance sampling. Returns whether z was drawn through the joint
    /// Gaussian (so that `workspace` holds that draw's τ and the Cholesky factor of A).
    @discardableResult
    public func sweep(x: UnsafePointer<Double>, z: UnsafeMutablePointer<Double>, beta: Double = 1, workspace: inout Workspace,
                      generator: inout SeededGenerator) -> Bool {
        let (d, h) = (dimension, latents)
        guard beta > 0 else {
            for j in 0..<h { z[j] = generator.laplace(scale: lambda[j]) }
            return false
        }
        drawScales(z: z, workspace: &workspace, generator: &generator)
        let sigma = self.sigma / beta.squareRoot()
        return w.withUnsafeBufferPointer { w -> Bool in
            workspace.scaledW.withUnsafeMutableBufferPointer { scaled in
                workspace.tau.withUnsafeBufferPointer { tau in
                    for i in 0..<d { for j in 0..<h { scaled[i * h + j] = w[i * h + j] * tau[j].squareRoot() / sigma } }
                }
                workspace.system.withUnsafeMutableBufferPointer { a in
                    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, Int32(d), Int32(h), 1, scaled.baseAddress, Int32(h), 0,
                                a.baseAddress, Int32(d))
                    for i in 0..<d { a[i * d + i] += 1 }
                }
            }
            for j in 0..<h { workspace.u[j] = workspace.tau[j].squareRoot() * generator.normal() }
            for i in 0..<d { workspace.right[i] = x[i] / sigma - generator.normal() }
            workspace.u.withUnsafeBufferPointer { u in
                workspace.right.withUnsafeMutableBufferPointer { r in  // r −= W u/σ
                    cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(d), Int32(h), -1 / sigma, w.baseAddress, Int32(h), u.baseAddress, 1, 1,
                                r.baseAddress, 1)
                }
            }
            let solved = workspace.system.withUnsafeMutableBufferPointer { a in
                workspace.right.withUnsafeMutableBufferPointer { r in
                    LAPACKE_dposv(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "L")), Int32(d), 1, a.baseAddress, Int32(d), r.baseAddress, 1)
                }
            }
            guard solved == 0 else { return false }  // A ⪰ I is positive definite; a failure would mean non-finite input: keep z
            workspace.right.withUnsafeBufferPointer { r in
                workspace.back.withUnsafeMutableBufferPointer { back in  // Wᵀ w
                    cblas_dgemv(CblasRowMajor, CblasTrans, Int32(d), Int32(h), 1, w.baseAddress, Int32(h), r.baseAddress, 1, 0,
                                back.baseAddress, 1)
                }
            }
            for j in 0..<h { z[j] = workspace.u[j] + workspace.tau[j] * workspace.back[j] / sigma }
            return true
        }
    }

    /// τ | z into `workspace.tau`: 1/τ_h | z_h ~ InverseGaussian(mean 1/(λ_h |z_h|), shape 1/λ_h²).
    public func drawScales(z: UnsafePointer<Double>, workspace: inout Workspace, generator: inout SeededGenerator) {
        for j in 0..<latents {
            let mean = 1 / (lambda[j] * abs(z[j]))
            let precision = Self.inverseGaussian(mean: mean, shape: 1 / (lambda[j] * lambda[j]), generator: &generator)
            workspace.tau[j] = 1 / max(precision, 1e-300)
        }
    }

    /// ‖x − W z‖² for one point.
    public func squaredResidual(x: UnsafePointer<Double>, z: UnsafePointer<Double>) -> Double {
        let (d, h) = (dimension, latents)
        var total = 0.0
        w.withUnsafeBufferPointer { w in
            for i in 0..<d {
                var dot = 0.0
                for j in 0..<h { dot += w[i * h + j] * z[j] }
                let e = x[i] - dot
                total += e * e
            }
        }
        return total
    }
}
