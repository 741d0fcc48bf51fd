/// Per-patch preprocessing applied before whitening (and, from the stored transform, to held-out data).
public struct PatchFilter: Sendable, Equatable {
    /// Difference-of-Gaussians σ1, σ2 in pixels: each channel becomes G(σ1) ∗ x − G(σ2) ∗ x, with Gaussian kernels
    /// truncated at 4σ and reflecting borders (`scipy.ndimage.gaussian_filter(x, σ, mode="reflect", truncate=4)`).
    /// σ = 0 is the identity.
    public var dog: (Double, Double)?
    /// Subtract each patch's own mean (over all its values) after filtering.
    public var removePatchMean: Bool

    public init(dog: (Double, Double)? = nil, removePatchMean: Bool = false) {
        self.dog = dog
        self.removePatchMean = removePatchMean
    }

    public static func == (a: PatchFilter, b: PatchFilter) -> Bool {
        a.removePatchMean == b.removePatchMean && a.dog?.0 == b.dog?.0 && a.dog?.1 == b.dog?.1
    }

    public var isIdentity: Bool { dog == nil && !removePatchMean }

    /// The σ a difference of Gaussians may have, in pixels: 0 (the identity) to far wider than any patch, so that the
    /// kernel (radius 4σ) stays a small array.
    public static let sigmas: ClosedRange<Double> = 0...1000

    /// Refuses a difference of Gaussians that would make every patch of `geometry` zero (σ1 = σ2, including 0,0) or
    /// whose σ exceeds the patch's longer side: beyond it G(σ) ∗ x is close to the patch's mean, and the kernel (radius
    /// 4σ) only costs time (`--dog 1e6,2e6` ran for minutes on 8 × 8 patches).
    public func validate(for geometry: PatchGeometry?) throws {
        guard let (s1, s2) = dog else { return }
        guard s1 != s2 else {
            throw SparseKitError.usage("--dog \(s1),\(s2) has equal sigmas: G(σ)∗x − G(σ)∗x is zero for every patch")
        }
        guard let geometry else { return }  // `apply` refuses a DoG without geometry
        let limit = Double(max(geometry.height, geometry.width))
        guard max(s1, s2) <= limit else {
            throw SparseKitError.usage("--dog \(s1),\(s2) has a sigma beyond \(Int(limit)) pixels, the longer side of the "
                + "\(geometry.height)×\(geometry.width) patches (a Gaussian that wide only averages the patch)")
        }
    }

    /// The normalised 1-D Gaussian kernel of `sigma`, radius ⌊4σ + 0.5⌋ (as scipy builds it).
    public static func gaussianKernel(sigma: Double) -> [Float] {
        guard sigma > 0 else { return [1] }
        let radius = Int(4 * sigma + 0.5)
        let weights = (-radius...radius).map { i in Foundation.exp(-0.5 * Double(i * i) / (sigma * sigma)) }
        let total = weights.reduce(0, +)
        return weights.map { Float($0 / total) }
    }

    /// Index `i` reflected into `0..<n` (… c b a | a b c … d | d c …), repeating for kernels wider than the patch.
    @inline(__always)
    static func reflect(_ i: Int, _ n: Int) -> Int {
        let period = 2 * n
        var k = i % period
        if k < 0 { k += period }
        return k < n ? k : period - 1 - k
    }

    /// Blurs one patch with the separable `kernel`, channel by channel.
    static func blur(_ patch: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
                     _ g: PatchGeometry, _ kernel: [Float])
    {
        let radius = kernel.count / 2
        let (h, w, c) = (g.height, g.width, g.channels)
        for y in 0..<h {  // along rows
            for x in 0..<w {
                for ch in 0..<c {
                    var acc: Float = 0
                    for (k, weight) in kernel.enumerated() { acc += weight * patch[(y * w + reflect(x + k - radius, w)) * c + ch] }
                    scratch[(y * w + x) * c + ch] = acc
                }
            }
        }
        for y in 0..<h {  // along columns
            for x in 0..<w {
                for ch in 0..<c {
                    var acc: Float = 0
                    for (k, weight) in kernel.enumerated() { acc += weight * scratch[(reflect(y + k - radius, h) * w + x) * c + ch] }
                    out[(y * w + x) * c + ch] = acc
                }
            }
        }
    }

    /// Applies the filter to every row of `batch` (rows are patches of `geometry`).
    public func apply(to batch: inout Matrix, geometry: PatchGeometry?) throws {
        guard !isIdentity else { return }
        let d = batch.cols
        if let (s1, s2) = dog {
            guard let geometry, geometry.dimension == d else {
                throw SparseKitError.usage("--dog needs patch geometry (patch_height, patch_width, channels) matching the data")
            }
            let k1 = PatchFilter.gaussianKernel(sigma: s1), k2 = PatchFilter.gaussianKernel(sigma: s2)
            var a = [Float](repeating: 0, count: d), b = a, scratch = a
            batch.storage.withUnsafeMutableBufferPointer { rows in
                a.withUnsafeMutableBufferPointer { a in
                    b.withUnsafeMutableBufferPointer { b in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            for r in 0..<batch.rows {
                                let patch = rows.baseAddress! + r * d
                                PatchFilter.blur(patch, a.baseAddress!, scratch.baseAddress!, geometry, k1)
                                PatchFilter.blur(patch, b.baseAddress!, scratch.baseAddress!, geometry, k2)
                                for j in 0..<d { patch[j] = a[j] - b[j] }
                            }
                        }
                    }
                }
            }
        }
        if removePatchMean {
            batch.storage.withUnsafeMutableBufferPointer { rows in
                for r in 0..<batch.rows {
                    var sum = 0.0
                    for j in 0..<d { sum += Double(rows[r * d + j]) }
                    let mean = Float(sum / Double(d))
                    for j in 0..<d { rows[r * d + j] -= mean }
                }
            }
        }
    }
}

import Foundation
