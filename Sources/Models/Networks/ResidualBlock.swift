import DataKit

/// A residual block x + L₂(f(L₁(x))) (the reference encoder's: width → hidden → width).
public struct ResidualBlock: Sendable {
    public var first: Linear
    public var second: Linear
    public var activation: Activation

    public init(width: Int, hidden: Int, activation: Activation = .gelu, generator: inout SeededGenerator) {
        first = Linear(inputs: width, outputs: hidden, generator: &generator)
        second = Linear(inputs: hidden, outputs: width, generator: &generator, gain: 0.5)
        self.activation = activation
    }

    /// What the backward pass needs from the forward pass.
    public struct Cache: Sendable {
        var x: Matrix
        var preActivation: Matrix
        var hidden: Matrix
    }

    public func forward(_ x: Matrix) -> (Matrix, Cache) {
        let a = first.forward(x)
        let h = activation.forward(a)
        var y = second.forward(h)
        for i in y.storage.indices { y.storage[i] += x.storage[i] }
        return (y, Cache(x: x, preActivation: a, hidden: h))
    }

    /// Accumulates the layers' gradients; returns dX = dY + (the branch's dX).
    public mutating func backward(_ cache: Cache, _ dy: Matrix) -> Matrix {
        let dh = second.backward(cache.hidden, dy)
        let da = activation.backward(cache.preActivation, dh)
        var dx = first.backward(cache.x, da)
        for i in dx.storage.indices { dx.storage[i] += dy.storage[i] }
        return dx
    }
}
