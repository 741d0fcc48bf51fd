import DataKit
import Foundation

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
