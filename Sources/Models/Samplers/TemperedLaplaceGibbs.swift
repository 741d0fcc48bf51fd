import CKernels
import DataKit
import Foundation

/// Exact coordinate-wise Gibbs sampling of the tempered ES-SC posterior f_β(z) ∝ p(x | z)^β p(z) (`es-sc.md`,
/// "Evaluation"), with p(z) = Π_h Laplace(z_h; 0, λ_h) and p(x | z) = N(x; W z, σ² I).
///
/// The conditional of one coordinate given the others is a Gaussian times a Laplace factor,
///   f_β(z_h | z_−h) ∝ exp(−a z_h²/2 + b z_h − |z_h|/λ_h),  a = β ‖w_h‖²/σ²,  b = β w_hᵀ(x − W z + w_h z_h)/σ²,
/// a two-piece truncated normal drawn exactly (no step size, no rejection of moves): the positive piece is
/// N(m₊, 1/a) on (0, ∞) with m₊ = (b − 1/λ_h)/a and mass ∝ R(−u₊), u₊ = m₊√a; the negative piece N(m₋, 1/a) on
/// (−∞, 0) with m₋ = (b + 1/λ_h)/a and mass ∝ R(−u₋), u₋ = −m₋√a (R the Mills ratio; both share the factor
/// √(2π/a)/√(2π)). A systematic sweep over h = 1…H leaves f_β invariant.
///
/// Each chain keeps v = Wᵀx − G z (G = WᵀW) next to z: b = β (v_h + G_hh z_h)/σ², a move of z_h by Δ costs one
/// row of G (v −= Δ G_h·), so a sweep costs O(H²) whatever D is, and
///   log p(x | z) = −(D/2) log(2πσ²) − (‖x‖² − cᵀz − vᵀz)/(2σ²),  c = Wᵀx  (as ‖x − Wz‖² = ‖x‖² − 2cᵀz + zᵀGz).
public struct TemperedLaplaceGibbs: Sendable {
    public let latents: Int
    public let dimension: Int
    /// G = WᵀW, H × H row-major, in double precision.
    public let gram: [Double]
    /// 1/λ_h.
    public let inverseScales: [Double]
    public let sigma2: Double
    /// −(D/2) log(2πσ²).
    public let logNoiseNormalizer: Double

    public init(model: SparseCodingModel) {
        let (d, h) = (model.dimension, model.latents)
        let w = model.w.storage.map(Double.init)
        var gram = [Double](repeating: 0, count: h * h)
        for i in 0..<d {
            for r in 0..<h where w[i * h + r] != 0 {
                let wr = w[i * h + r]
                for c in 0..<h { gram[r * h + c] += wr * w[i * h + c] }
            }
        }
        self.gram = gram
        latents = h
        dimension = d
        inverseScales = model.lambda.map { 1 / Double($0) }
        sigma2 = Double(model.sigma2)
        logNoiseNormalizer = -Double(d) / 2 * log(2 * Double.pi * Double(model.sigma2))
    }

    /// A draw of z from exp(−a z²/2 + b z − r |z|) (a ≥ 0, r = 1/λ > 0); with a = 0 (β = 0, or an all-zero column,
    /// where b = 0 too) the Laplace prior itself.
    @inline(__always)
    public static func drawCoordinate(precision a: Double, linear b: Double, inverseScale r: Double,
                                      generator: inout SeededGenerator) -> Double {
        guard a > 0 else { return generator.laplace(scale: 1 / r) }
        let s = 1 / a.squareRoot()
        let uPlus = (b - r) * s, uMinus = -(b + r) * s
        if generator.uniform() < GaussianTail.millsShare(-uPlus, -uMinus) {  // −u₊ − u₋ = 2 r s > 0
            return s * (uPlus + GaussianTail.sampleAbove(-uPlus, generator: &generator))  // > 0
        }
        return -s * (uMinus + GaussianTail.sampleAbove(-uMinus, generator: &generator))  // < 0
    }

    /// One systematic sweep h = 0 … H−1 over one chain at inverse temperature β: z and v = c − G z in place.
    @inline(__always)
    public func sweep(z: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, beta: Double,
                      generator: inout SeededGenerator) {
        let h = latents
        let scale = beta / sigma2
        gram.withUnsafeBufferPointer { g in
            for c in 0..<h {
                let gcc = g[c * h + c]
                let old = z[c]
                let new = Self.drawCoordinate(precision: scale * gcc, linear: scale * (v[c] + gcc * old),
                                              inverseScale: inverseScales[c], generator: &generator)
                let delta = new - old
                z[c] = new
                sk_subtract_scaled(v, g.baseAddress! + c * h, delta, h)  // v −= δ G_c· (bit for bit as the plain loop)
            }
        }
    }

    /// v = c − G z for one chain, recomputed exactly (against rounding drift of the incremental updates).
    @inline(__always)
    public func residualCorrelation(c: UnsafePointer<Double>, z: UnsafePointer<Double>, into v: UnsafeMutablePointer<Double>) {
        let h = latents
        gram.withUnsafeBufferPointer { g in
            for r in 0..<h {
                let row = g.baseAddress! + r * h
                var dot = 0.0
                for j in 0..<h { dot += row[j] * z[j] }
                v[r] = c[r] - dot
            }
        }
    }

    /// log p(x | z) from ‖x‖², c = Wᵀx, z and v = c − G z: O(H).
    @inline(__always)
    public func logLikelihood(squaredNorm: Double, c: UnsafePointer<Double>, z: UnsafePointer<Double>,
                              v: UnsafePointer<Double>) -> Double {
        var dot = 0.0
        for j in 0..<latents { dot += (c[j] + v[j]) * z[j] }
        return logNoiseNormalizer - max(0, squaredNorm - dot) / (2 * sigma2)
    }
}
