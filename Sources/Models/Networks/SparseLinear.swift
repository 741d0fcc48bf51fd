import DataKit

/// A fully connected layer on SPARSE input, y = x W + b for a CSR batch x (B × F), never densifying x:
/// row i of y sums x_ij · (row j of W) over the stored entries only. W is stored input-major (F × out), so a
/// non-zero touches one contiguous row of W. Backward: dW_j += x_ij · dy_i for every stored x_ij (a scatter into
/// the rows the batch touches), db = Σ_rows dy. There is no dX: the input is data.
public struct SparseLinear: Sendable {
    /// F × out, input-major.
    public var weight: Matrix
    public var bias: [Float]
    public var weightGradient: Matrix
    public var biasGradient: [Float]

    public var inputs: Int { weight.rows }
    public var outputs: Int { weight.cols }

    /// Uniform weights with bound gain·√(3/fan-in), fan-in taken as `typicalNonZeros` (the stored entries of a
    /// typical row, which is what a sparse row really sums), zero bias; seeded.
    public init(inputs: Int, outputs: Int, typicalNonZeros: Int, generator: inout SeededGenerator, gain: Double = 1) {
        let bound = gain * (3.0 / Double(max(1, typicalNonZeros))).squareRoot()
        weight = Matrix(rows: inputs, cols: outputs,
                        storage: (0..<(inputs * outputs)).map { _ in Float((2 * generator.uniform() - 1) * bound) })
        bias = [Float](repeating: 0, count: outputs)
        weightGradient = Matrix(rows: inputs, cols: outputs)
        biasGradient = bias
    }

    /// A layer with the given weights (F × out, input-major) and bias (out), gradients zero.
    public init(weight: Matrix, bias: [Float]) {
        precondition(bias.count == weight.cols, "SparseLinear: one bias per output")
        self.weight = weight
        self.bias = bias
        weightGradient = Matrix(rows: weight.rows, cols: weight.cols)
        biasGradient = [Float](repeating: 0, count: bias.count)
    }

    public func forward(_ x: CSRMatrix) -> Matrix {
        precondition(x.cols == inputs, "SparseLinear: input has \(x.cols) columns, expected \(inputs)")
        var y = x.multiplied(by: weight)
        let h = outputs
        y.storage.withUnsafeMutableBufferPointer { out in
            for r in 0..<x.rows { for c in 0..<h { out[r * h + c] += bias[c] } }
        }
        return y
    }

    /// Accumulates dW and db from the batch `x` and the output gradient `dy`.
    public mutating func backward(_ x: CSRMatrix, _ dy: Matrix) {
        x.accumulateTransposedProduct(dy, into: &weightGradient)
        let h = outputs
        for i in 0..<x.rows { for c in 0..<h { biasGradient[c] += dy.storage[i * h + c] } }
    }

    public mutating func zeroGradients() {
        for i in weightGradient.storage.indices { weightGradient.storage[i] = 0 }
        for c in biasGradient.indices { biasGradient[c] = 0 }
    }
}
