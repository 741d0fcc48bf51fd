import DataKit
import Foundation

/// A fully connected layer y = x Wᵀ + b on a batch (rows of x), with its hand-written backward pass:
///   dW = dYᵀ X,  db = Σ_rows dY,  dX = dY W   (three gemm-shaped products).
public struct Linear: Sendable {
    /// out × in.
    public var weight: Matrix
    /// out.
    public var bias: [Float]
    /// Gradients, accumulated by `backward` (zero them with `zeroGradients`).
    public var weightGradient: Matrix
    public var biasGradient: [Float]

    public var inputs: Int { weight.cols }
    public var outputs: Int { weight.rows }

    /// He/Kaiming-uniform weights (bound √(6/in)·gain/√2), zero bias; seeded.
    public init(inputs: Int, outputs: Int, generator: inout SeededGenerator, gain: Double = 1) {
        let bound = gain * (3.0 / Double(inputs)).squareRoot()
        weight = Matrix(rows: outputs, cols: inputs,
                        storage: (0..<(inputs * outputs)).map { _ in Float((2 * generator.uniform() - 1) * bound) })
        bias = [Float](repeating: 0, count: outputs)
        weightGradient = Matrix(rows: outputs, cols: inputs)
        biasGradient = bias
    }

    public func forward(_ x: Matrix) -> Matrix {
        precondition(x.cols == inputs, "Linear: input has \(x.cols) columns, expected \(inputs)")
        var y = Matrix(rows: x.rows, cols: outputs)
        y.storage.withUnsafeMutableBufferPointer { out in
            for r in 0..<x.rows { for c in 0..<outputs { out[r * outputs + c] = bias[c] } }
        }
        Matrix.gemm(x, weight, transposeB: true, beta: 1, into: &y)
        return y
    }

    /// Accumulates dW, db from the input `x` and the output gradient `dy`; returns dX.
    public mutating func backward(_ x: Matrix, _ dy: Matrix) -> Matrix {
        Matrix.gemm(dy, transposeA: true, x, beta: 1, into: &weightGradient)
        for r in 0..<dy.rows { for c in 0..<outputs { biasGradient[c] += dy[r, c] } }
        return Matrix.product(dy, weight)
    }

    public mutating func zeroGradients() {
        weightGradient = Matrix(rows: outputs, cols: inputs)
        biasGradient = [Float](repeating: 0, count: outputs)
    }
}

/// Elementwise activations with their derivatives.
public enum Activation: String, Sendable, CaseIterable {
    case relu, softplus, gelu

    /// y = f(x), elementwise.
    public func forward(_ x: Matrix) -> Matrix {
        var y = x
        for i in y.storage.indices { y.storage[i] = Float(value(Double(x.storage[i]))) }
        return y
    }

    /// dX = dY ∘ f′(x).
    public func backward(_ x: Matrix, _ dy: Matrix) -> Matrix {
        var dx = dy
        for i in dx.storage.indices { dx.storage[i] *= Float(derivative(Double(x.storage[i]))) }
        return dx
    }

    @inline(__always)
    func value(_ x: Double) -> Double {
        switch self {
        case .relu: return max(x, 0)
        case .softplus: return x > 30 ? x : log1p(exp(x))  // log(1 + eˣ), without overflow
        case .gelu: return x * 0.5 * (1 + erf(x / 2.0.squareRoot()))  // x Φ(x), the exact form
        }
    }

    @inline(__always)
    func derivative(_ x: Double) -> Double {
        switch self {
        case .relu: return x > 0 ? 1 : 0
        case .softplus: return 1 / (1 + exp(-x))  // the logistic sigmoid
        case .gelu: return 0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot()
        }
    }
}

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
