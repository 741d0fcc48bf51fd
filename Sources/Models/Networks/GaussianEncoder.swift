import DataKit
import Foundation

/// The amortized posterior of ES-SC (`es-sc.md`, "Posterior families", `amortized`): an encoder x ↦ (μ, s) of a
/// diagonal Gaussian q(z | x), the reference's architecture:
///   h₀ = Linear(D → 2D)(x),  h = two residual blocks (2D → 3D → 2D, ReLU),
///   μ = Linear(2D → H)(h),   s = softplus(Linear(2D → H)(h)) + 10⁻³.
/// With a rank r > 0 (`amortized-lowrank`), a third head gives the factor U (H × r) of Σ = diag(s²) + U Uᵀ, as the
/// r·H values of Uᵀ row by row: U = Linear(2D → r·H)(h).
/// The backward pass takes ∂/∂μ, ∂/∂s (and ∂/∂U) and accumulates every layer's gradient.
public struct GaussianEncoder: Sendable {
    public var input: Linear
    public var blocks: [ResidualBlock]
    public var meanHead: Linear
    public var scaleHead: Linear
    /// The low-rank factor head (rank > 0 only).
    public var factorHead: Linear?
    /// The floor of s.
    public static let minimumScale: Float = 1e-3

    public init(dimension: Int, latents: Int, rank: Int = 0, generator: inout SeededGenerator) {
        input = Linear(inputs: dimension, outputs: 2 * dimension, generator: &generator)
        blocks = (0..<2).map { _ in ResidualBlock(width: 2 * dimension, hidden: 3 * dimension, activation: .relu, generator: &generator) }
        meanHead = Linear(inputs: 2 * dimension, outputs: latents, generator: &generator, gain: 0.5)
        scaleHead = Linear(inputs: 2 * dimension, outputs: latents, generator: &generator, gain: 0.5)
        if rank > 0 { factorHead = Linear(inputs: 2 * dimension, outputs: rank * latents, generator: &generator, gain: 0.1) }
    }

    /// r of Σ = diag(s²) + U Uᵀ (0: diagonal).
    public var rank: Int { (factorHead?.outputs ?? 0) / latents }

    public var dimension: Int { input.inputs }
    public var latents: Int { meanHead.outputs }

    /// What the backward pass needs.
    public struct Cache: Sendable {
        var x: Matrix
        var blockCaches: [ResidualBlock.Cache]
        var features: Matrix
        var scalePreActivation: Matrix
    }

    /// What the encoder gives for a batch: μ and s (B × H), and the factors (B × r·H, rows Uᵀ) when rank > 0.
    public struct Output: Sendable {
        public var mu: Matrix
        public var scale: Matrix
        public var factors: Matrix?
    }

    /// The posterior parameters of the rows of `x`.
    public func forward(_ x: Matrix) -> (output: Output, cache: Cache) {
        var h = input.forward(x)
        var caches: [ResidualBlock.Cache] = []
        for block in blocks {
            let (y, cache) = block.forward(h)
            caches.append(cache)
            h = y
        }
        let a = scaleHead.forward(h)
        var s = Activation.softplus.forward(a)
        for i in s.storage.indices { s.storage[i] += Self.minimumScale }
        let output = Output(mu: meanHead.forward(h), scale: s, factors: factorHead?.forward(h))
        return (output, Cache(x: x, blockCaches: caches, features: h, scalePreActivation: a))
    }

    /// μ and the marginal standard deviations s_h = √(Σ_hh) of every row of `x`, `batchSize` rows at a time.
    public func encode(_ x: Matrix, batchSize: Int = 512) -> (mu: Matrix, scale: Matrix) {
        var mu = Matrix(rows: x.rows, cols: latents), scale = mu
        let (h, r) = (latents, rank)
        for start in stride(from: 0, to: x.rows, by: max(1, batchSize)) {
            let rows = Array(start..<min(x.rows, start + batchSize))
            var (output, _) = forward(x.gathering(rows))
            if let factors = output.factors {  // s_h² = t_h² + ‖U[h, :]‖²
                for p in 0..<rows.count { for c in 0..<h {
                    var v = Double(output.scale[p, c]) * Double(output.scale[p, c])
                    for a in 0..<r { v += Double(factors[p, a * h + c]) * Double(factors[p, a * h + c]) }
                    output.scale[p, c] = Float(v.squareRoot())
                } }
            }
            mu.scattering(output.mu, to: rows)
            scale.scattering(output.scale, to: rows)
        }
        return (mu, scale)
    }

    /// Accumulates the gradients of every layer from ∂/∂μ, ∂/∂s (B × H each) and ∂/∂factors (rank > 0).
    public mutating func backward(_ cache: Cache, gradMu: Matrix, gradScale: Matrix, gradFactors: Matrix? = nil) {
        var dh = meanHead.backward(cache.features, gradMu)
        let da = Activation.softplus.backward(cache.scalePreActivation, gradScale)
        let fromScale = scaleHead.backward(cache.features, da)
        for i in dh.storage.indices { dh.storage[i] += fromScale.storage[i] }
        if let gradFactors, factorHead != nil {
            let fromFactors = factorHead!.backward(cache.features, gradFactors)
            for i in dh.storage.indices { dh.storage[i] += fromFactors.storage[i] }
        }
        for k in blocks.indices.reversed() { dh = blocks[k].backward(cache.blockCaches[k], dh) }
        _ = input.backward(cache.x, dh)
    }

    /// Every layer, in a fixed order (for flattening, zeroing and storage).
    var layers: [Linear] {
        get { [input] + blocks.flatMap { [$0.first, $0.second] } + [meanHead, scaleHead] + (factorHead.map { [$0] } ?? []) }
        set {
            input = newValue[0]
            for k in blocks.indices { (blocks[k].first, blocks[k].second) = (newValue[1 + 2 * k], newValue[2 + 2 * k]) }
            let heads = 1 + 2 * blocks.count
            (meanHead, scaleHead) = (newValue[heads], newValue[heads + 1])
            if factorHead != nil { factorHead = newValue[heads + 2] }
        }
    }

    /// Names of the layers, as stored under `/model/encoder/`.
    var layerNames: [String] {
        ["input", "block0/first", "block0/second", "block1/first", "block1/second", "mean", "scale"] + (factorHead == nil ? [] : ["factors"])
    }

    /// All weights and biases as one buffer (the optimizer's view), and back.
    public var parameters: [Float] {
        get { layers.flatMap { $0.weight.storage + $0.bias } }
        set {
            var offset = 0
            layers = layers.map { layer in
                var layer = layer
                let w = layer.weight.storage.count, b = layer.bias.count
                layer.weight.storage = Array(newValue[offset..<(offset + w)])
                layer.bias = Array(newValue[(offset + w)..<(offset + w + b)])
                offset += w + b
                return layer
            }
        }
    }

    /// The accumulated gradients, in the order of `parameters`.
    public var gradients: [Float] { layers.flatMap { $0.weightGradient.storage + $0.biasGradient } }

    public mutating func zeroGradients() {
        layers = layers.map { var layer = $0; layer.zeroGradients(); return layer }
    }
}
