import DataKit
import Foundation

/// Running averages per point of the ES-SC model's complete-data sufficient statistics, and the closed-form M-step
/// they give (`--objective likelihood`):
///   S_xx = ⟨‖x‖²⟩,  S_xz = ⟨x zᵀ⟩ (D × H),  S_zz = ⟨z zᵀ⟩ (H × H),  S_|z| = ⟨|z_h|⟩,
/// each updated after a minibatch as S ← (1 − γ) S + γ Ŝ_batch (stochastic approximation EM, Delyon, Lavielle &
/// Moulines 1999), with Ŝ_batch from exact posterior samples (`PosteriorSampleStatistics`). The complete-data log
/// likelihood per point, −(D/2) log 2πσ² − (S_xx − 2 tr(Wᵀ S_xz) + tr(Wᵀ W S_zz))/(2σ²) − Σ_h (log 2λ_h + S_|z|h/λ_h),
/// is maximised by
///   W = S_xz S_zz⁻¹,   σ² = (S_xx − tr(Wᵀ S_xz))/D,   λ_h = S_|z|h.
public struct CompleteDataStatistics: Sendable, Equatable {
    public var xx: Double
    /// S_xz, D × H row-major.
    public var xz: [Double]
    /// S_zz, H × H row-major.
    public var zz: [Double]
    public var absolute: [Double]
    /// Minibatches averaged so far (k, behind the step γ_k).
    public var batches: Int
    public let dimension: Int
    public let latents: Int

    public init(dimension: Int, latents: Int) {
        (self.dimension, self.latents, xx, batches) = (dimension, latents, 0, 0)
        xz = [Double](repeating: 0, count: dimension * latents)
        zz = [Double](repeating: 0, count: latents * latents)
        absolute = [Double](repeating: 0, count: latents)
    }

    /// γ_k = max(1/k, `floor`): the plain mean of the first minibatches (the first replaces the zero start), then a
    /// constant step, so that statistics gathered under older parameters fade.
    public static func step(batch k: Int, floor: Double) -> Double { max(1 / Double(k), floor) }

    /// Folds in one minibatch `x` with its samples' statistics.
    public mutating func update(_ x: Matrix, _ samples: PosteriorSampleStatistics, floor: Double) {
        batches += 1
        let gamma = Self.step(batch: batches, floor: floor), weight = gamma / Double(samples.points)
        let keep = 1 - gamma
        let xzBatch = Matrix.product(x, transposeA: true, samples.meanLatents)  // Σ_n x_n z̄_nᵀ (float; D·H sums of B)
        xx = keep * xx + weight * x.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
        for i in xz.indices { xz[i] = keep * xz[i] + weight * Double(xzBatch.storage[i]) }
        for i in zz.indices { zz[i] = keep * zz[i] + weight * samples.secondMoment[i] }
        for h in absolute.indices { absolute[h] = keep * absolute[h] + weight * samples.absoluteLatents[h] }
    }

    /// The maximisers (W unnormalised, D × H; σ²; λ), or nil when S_zz is not positive definite.
    public func maximizers() -> (w: Matrix, sigma2: Double, lambda: [Double])? {
        let (d, h) = (dimension, latents)
        var transposedXZ = [Double](repeating: 0, count: h * d)  // S_xzᵀ, H × D: the right-hand sides of S_zz Wᵀ = S_xzᵀ
        for i in 0..<d { for j in 0..<h { transposedXZ[j * d + i] = xz[i * h + j] } }
        guard let wT = DoubleLinearAlgebra.positiveDefiniteSolve(zz, n: h, transposedXZ, columns: d) else { return nil }
        var w = Matrix(rows: d, cols: h)
        var explained = 0.0  // tr(Wᵀ S_xz)
        for i in 0..<d { for j in 0..<h {
            let value = wT[j * d + i]
            w[i, j] = Float(value)
            explained += value * xz[i * h + j]
        } }
        return (w, max((xx - explained) / Double(d), 1e-12), absolute.map { max($0, 1e-12) })
    }

    /// The values as resume-state vectors (double precision, so a resumed run continues exactly).
    public var vectors: [String: [Double]] {
        ["statistics_xx": [xx], "statistics_xz": xz, "statistics_zz": zz, "statistics_absolute": absolute,
         "statistics_batches": [Double(batches)]]
    }

    public static let vectorNames = ["statistics_xx", "statistics_xz", "statistics_zz", "statistics_absolute", "statistics_batches"]

    /// Reads them back from resume-state vectors, checking the sizes.
    public init(vectors: [String: [Double]], dimension: Int, latents: Int, path: String) throws {
        self.init(dimension: dimension, latents: latents)
        guard let xx = vectors["statistics_xx"]?.first, let xz = vectors["statistics_xz"], xz.count == dimension * latents,
              let zz = vectors["statistics_zz"], zz.count == latents * latents, let absolute = vectors["statistics_absolute"],
              absolute.count == latents, let batches = vectors["statistics_batches"]?.first
        else { throw SparseKitError.badInput(path, "holds no complete-data statistics of D = \(dimension), H = \(latents) to resume") }
        (self.xx, self.xz, self.zz, self.absolute, self.batches) = (xx, xz, zz, absolute, Int(batches))
    }
}
