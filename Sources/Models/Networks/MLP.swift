import DataKit

/// Linear layers with an activation between them and none after the last: x ↦ A_n(σ(… σ(A_1 x))), with the
/// hand-written backward pass of its layers.
public struct MLP: Sendable {
    public var layers: [Linear]
    public var activation: Activation

    /// Layers sizes[0] → sizes[1] → … → sizes.last; the last layer's initial weights scaled by `lastGain`.
    public init(sizes: [Int], activation: Activation = .relu, lastGain: Double = 1, generator: inout SeededGenerator) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 >= 1 }, "MLP: at least an input and an output size")
        self.activation = activation
        layers = (1..<sizes.count).map { k in
            Linear(inputs: sizes[k - 1], outputs: sizes[k], generator: &generator, gain: k == sizes.count - 1 ? lastGain : 1)
        }
    }

    public init(layers: [Linear], activation: Activation = .relu) {
        precondition(!layers.isEmpty && zip(layers, layers.dropFirst()).allSatisfy { $0.outputs == $1.inputs },
                     "MLP: each layer's inputs must match the previous layer's outputs")
        self.layers = layers
        self.activation = activation
    }

    public var inputs: Int { layers[0].inputs }
    public var outputs: Int { layers[layers.count - 1].outputs }

    /// The input of every layer and the pre-activation of every hidden layer.
    public struct Cache: Sendable {
        var inputs: [Matrix] = []
        var preActivations: [Matrix] = []
    }

    public func forward(_ x: Matrix) -> (output: Matrix, cache: Cache) {
        var cache = Cache()
        var current = x
        for (k, layer) in layers.enumerated() {
            cache.inputs.append(current)
            current = layer.forward(current)
            if k < layers.count - 1 {
                cache.preActivations.append(current)
                current = activation.forward(current)
            }
        }
        return (current, cache)
    }

    /// Accumulates every layer's gradient from ∂/∂output; returns ∂/∂input.
    @discardableResult
    public mutating func backward(_ cache: Cache, _ gradOutput: Matrix) -> Matrix {
        var d = gradOutput
        for k in layers.indices.reversed() {
            if k < layers.count - 1 { d = activation.backward(cache.preActivations[k], d) }
            d = layers[k].backward(cache.inputs[k], d)
        }
        return d
    }

    public mutating func zeroGradients() { layers.zeroGradients() }
}

extension Array where Element == Linear {
    /// Every weight and bias, layer by layer, as one buffer (for Adam), and back.
    public var parameters: [Float] {
        get { flatMap { $0.weight.storage + $0.bias } }
        set { scatter(newValue, into: \.weight, \.bias) }
    }

    /// How many weights and biases there are.
    public var parameterCount: Int { reduce(0) { $0 + $1.weight.storage.count + $1.bias.count } }

    /// The accumulated gradients in the order of `parameters`, and back.
    public var gradients: [Float] {
        get { flatMap { $0.weightGradient.storage + $0.biasGradient } }
        set {
            precondition(newValue.count == parameterCount, "gradients: one per weight and bias")
            scatter(newValue, into: \.weightGradient, \.biasGradient)
        }
    }

    /// Splits `values` layer by layer into each layer's `weight` and `bias` buffers (the layout of `parameters`).
    private mutating func scatter(_ values: [Float], into weight: WritableKeyPath<Linear, Matrix>, _ bias: WritableKeyPath<Linear, [Float]>) {
        var offset = 0
        for k in indices {
            let (w, b) = (self[k][keyPath: weight].storage.count, self[k][keyPath: bias].count)
            self[k][keyPath: weight].storage = [Float](values[offset..<(offset + w)])
            self[k][keyPath: bias] = [Float](values[(offset + w)..<(offset + w + b)])
            offset += w + b
        }
    }

    public mutating func zeroGradients() { for k in indices { self[k].zeroGradients() } }

    /// Adam updates of every weight and bias in place (after `adam.beginStep`), the layers' pieces starting at
    /// `offset` in the optimizer's vector, in the order of `parameters`; advances `offset` past them.
    public mutating func step(_ adam: inout Adam, offset: inout Int) {
        for k in indices {
            adam.update(&self[k].weight.storage, self[k].weightGradient.storage, offset: offset)
            offset += self[k].weight.storage.count
            adam.update(&self[k].bias, self[k].biasGradient, offset: offset)
            offset += self[k].bias.count
        }
    }
}
