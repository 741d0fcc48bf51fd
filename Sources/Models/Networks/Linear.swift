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

    /// A layer with the given weights (out × in) and bias (out), gradients zero.
    public init(weight: Matrix, bias: [Float]) {
        precondition(bias.count == weight.rows, "Linear: one bias per output")
        self.weight = weight
        self.bias = bias
        weightGradient = Matrix(rows: weight.rows, cols: weight.cols)
        biasGradient = [Float](repeating: 0, count: bias.count)
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

    /// Multiplies the accumulated gradients by `factor`.
    public mutating func scaleGradients(by factor: Float) {
        for i in weightGradient.storage.indices { weightGradient.storage[i] *= factor }
        for i in biasGradient.indices { biasGradient[i] *= factor }
    }

    public mutating func zeroGradients() {
        weightGradient = Matrix(rows: outputs, cols: inputs)
        biasGradient = [Float](repeating: 0, count: outputs)
    }
}
