import DataKit
import Foundation

/// The complete-data sufficient statistics of an ES-SC minibatch under exact posterior samples: every point's
/// Gibbs chain (`ScaleMixtureGibbs`: blocked, through the prior's Gaussian scale mixture) takes S sweeps from its
/// current state, and each statistic is averaged over the S states the sweeps reach, then summed over the batch's B points:
///   z̄_n = (1/S) Σ_s z_n^(s),   Σ_zz = Σ_n (1/S) Σ_s z_n^(s) z_n^(s)ᵀ,
///   Σ_|z| = Σ_n (1/S) Σ_s |z_n^(s)|  (per latent).
/// By Fisher's identity ∇_W log p(x) = E_{p(z|x)}[∇_W log p(x, z)] = E[(x − W z) zᵀ]/σ², so
///   (1/(Bσ²)) (Σ_n x_n z̄_nᵀ − W Σ_zz)   (`gradient`)
/// is an unbiased estimate of the batch's mean ∇_W log p(x) once the chains have reached their posteriors
/// (`CompleteDataStatistics` turns the same sums into the M-step).
///
/// Each point draws from its own stream (`SeededGenerator(seed:stream:)` with its row in the batch) and the sums are
/// formed over a fixed number of slices of the batch in slice order, so the result depends neither on the number
/// of cores nor on how the points are spread over them.
public struct PosteriorSampleStatistics: Sendable {
    /// z̄: the chains' mean states over the S sweeps, B × H.
    public var meanLatents: Matrix
    /// Σ_zz, H × H, row-major.
    public var secondMoment: [Double]
    /// Σ_|z|, per latent.
    public var absoluteLatents: [Double]
    /// B.
    public var points: Int
    /// The batch's mean Rao-Blackwellized ∇ log p(x) (`MarginalGradient`) at the τ of every sweep, when asked for.
    public var marginalGradient: MarginalGradient?

    /// Moves each row of `chains` (B × H, the points' current states) by `sweeps` Gibbs sweeps of p(z | x_n) under
    /// `model` and returns the statistics of the states visited; `chains` ends at the last states. With
    /// `marginalGradient`, also the mean over points and sweeps of ∇ log p(x) Rao-Blackwellized at each sweep's τ.
    public static func sample(_ x: Matrix, chains: inout Matrix, model: SparseCodingModel, sweeps: Int, seed: UInt64,
                              marginalGradient: Bool = false) -> PosteriorSampleStatistics
    {
        precondition(x.rows == chains.rows && x.cols == model.dimension && chains.cols == model.latents && sweeps >= 1)
        let (b, h) = (x.rows, model.latents)
        let sampler = ScaleMixtureGibbs(model: model)
        let slices = min(b, sliceCount)
        let gradientShape = marginalGradient ? (x.cols, h) : nil
        var parts = [Part](repeating: Part(latents: h), count: slices)
        var mean = Matrix(rows: b, cols: h)
        chains.storage.withUnsafeMutableBufferPointer { chainSlots in
            mean.storage.withUnsafeMutableBufferPointer { meanSlots in
                parts.withUnsafeMutableBufferPointer { partSlots in
                    nonisolated(unsafe) let (chainSlots, meanSlots, partSlots) = (chainSlots, meanSlots, partSlots)
                    DispatchQueue.concurrentPerform(iterations: slices) { slice in
                        var part = Part(latents: h, gradient: gradientShape)
                        var workspace = ScaleMixtureGibbs.Workspace(dimension: x.cols, latents: h)
                        var z = [Double](repeating: 0, count: h), xRow = [Double](repeating: 0, count: x.cols)
                        let weight = 1 / Double(sweeps)
                        for point in (b * slice / slices)..<(b * (slice + 1) / slices) {
                            var generator = SeededGenerator(seed: seed, stream: UInt64(point))
                            for j in 0..<h { z[j] = Double(chainSlots[point * h + j]) }
                            for i in 0..<x.cols { xRow[i] = Double(x[point, i]) }
                            for _ in 0..<sweeps {
                                let joint = sampler.sweep(x: xRow, z: &z, workspace: &workspace, generator: &generator)
                                if joint, part.gradient != nil {
                                    sampler.addMarginalGradient(x: xRow, workspace: &workspace, weight: weight, into: &part.gradient!)
                                }
                                part.add(z: z, weight: weight, meanSlot: meanSlots.baseAddress! + point * h)
                            }
                            for j in 0..<h { chainSlots[point * h + j] = Float(z[j]) }
                        }
                        partSlots[slice] = part
                    }
                }
            }
        }
        var total = Part(latents: h, gradient: gradientShape)
        for part in parts { total.merge(part) }
        for r in 0..<h { for col in 0..<r { total.secondMoment[r * h + col] = total.secondMoment[col * h + r] } }  // mirror
        return PosteriorSampleStatistics(meanLatents: mean, secondMoment: total.secondMoment, absoluteLatents: total.absoluteLatents,
                                         points: b, marginalGradient: total.gradient?.scaled(by: 1 / Double(b)))
    }

    /// The batch's mean ∇_W log p(x) estimate (1/(Bσ²)) (Xᵀ Z̄ − W Σ_zz), D × H row-major, at `w` and `sigma2`
    /// (those the chains were sampled under).
    public func gradient(_ x: Matrix, w: Matrix, sigma2: Double) -> [Float] {
        var gradient = Matrix.product(x, transposeA: true, meanLatents)  // Σ_n x_n z̄_nᵀ
        let moment = Matrix(rows: w.cols, cols: w.cols, storage: secondMoment.map(Float.init))
        Matrix.gemm(w, moment, alpha: -1, beta: 1, into: &gradient)
        let scale = Float(1 / (Double(points) * sigma2))
        return gradient.storage.map { $0 * scale }
    }

    /// Points are spread over this many slices, each summed on its own: more than the cores of any machine this
    /// runs on, so every core is busy, and fixed, so the sums' rounding does not depend on the machine.
    static let sliceCount = 16

    /// One slice's sums.
    struct Part {
        var secondMoment: [Double]
        var absoluteLatents: [Double]
        var gradient: MarginalGradient?

        init(latents h: Int, gradient shape: (dimension: Int, latents: Int)? = nil) {
            secondMoment = [Double](repeating: 0, count: h * h)
            absoluteLatents = [Double](repeating: 0, count: h)
            gradient = shape.map { MarginalGradient(dimension: $0.dimension, latents: $0.latents) }
        }

        /// Adds one state's z zᵀ (upper triangle), |z| and z to the point's mean, each weighted by 1/S.
        mutating func add(z: [Double], weight: Double, meanSlot: UnsafeMutablePointer<Float>) {
            let h = z.count
            secondMoment.withUnsafeMutableBufferPointer { m in
                for r in 0..<h where z[r] != 0 {
                    let zr = weight * z[r]
                    for col in r..<h { m[r * h + col] += zr * z[col] }
                }
            }
            for j in 0..<h {
                absoluteLatents[j] += weight * abs(z[j])
                meanSlot[j] += Float(weight * z[j])
            }
        }

        mutating func merge(_ other: Part) {
            for i in secondMoment.indices { secondMoment[i] += other.secondMoment[i] }
            for j in absoluteLatents.indices { absoluteLatents[j] += other.absoluteLatents[j] }
            if let other = other.gradient { gradient?.merge(other) }
        }
    }
}
