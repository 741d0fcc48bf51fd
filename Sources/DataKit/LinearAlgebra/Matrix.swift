/// A dense row-major matrix of `Float` over one contiguous buffer: element (i, j) is `storage[i * cols + j]`.
///
/// The layout matches HDF5 datasets and C BLAS with `CblasRowMajor`, so rows read from a file, BLAS calls and
/// writes back all work on the same buffer without copies.
public struct Matrix: Equatable, Sendable {
    public private(set) var rows: Int
    public private(set) var cols: Int
    /// The elements, row after row.
    public var storage: [Float]

    /// A `rows × cols` matrix with every element `value`.
    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        storage = [Float](repeating: value, count: rows * cols)
    }

    /// Wraps `storage` (row-major, `rows * cols` elements) without copying.
    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(storage.count == rows * cols, "storage holds \(storage.count) elements, not \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// The `n × n` identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.storage[i * n + i] = 1 }
        return m
    }

    public subscript(row: Int, col: Int) -> Float {
        get { storage[row * cols + col] }
        set { storage[row * cols + col] = newValue }
    }

    /// Row `i` as a slice of the storage.
    public func row(_ i: Int) -> ArraySlice<Float> { storage[i * cols ..< (i + 1) * cols] }

    /// The rows `range` as a new matrix.
    public func rowSlice(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, storage: Array(storage[range.lowerBound * cols ..< range.upperBound * cols]))
    }

    /// −A.
    public var negated: Matrix { Matrix(rows: rows, cols: cols, storage: storage.map { -$0 }) }

    /// The rows at `indices`, in that order (a minibatch).
    public func gathering(_ indices: [Int]) -> Matrix {
        var result = Matrix(rows: indices.count, cols: cols)
        storage.withUnsafeBufferPointer { src in
            result.storage.withUnsafeMutableBufferPointer { dst in
                for (k, row) in indices.enumerated() {
                    precondition(row >= 0 && row < rows, "gathering: row \(row) out of range")
                    (dst.baseAddress! + k * cols).update(from: src.baseAddress! + row * cols, count: cols)
                }
            }
        }
        return result
    }

    /// Writes the rows of `batch` back to the rows at `indices` (the inverse of `gathering`).
    public mutating func scattering(_ batch: Matrix, to indices: [Int]) {
        precondition(batch.rows == indices.count && batch.cols == cols, "scattering: shape mismatch")
        let cols = self.cols, rows = self.rows
        batch.storage.withUnsafeBufferPointer { src in
            storage.withUnsafeMutableBufferPointer { dst in
                for (k, row) in indices.enumerated() {
                    precondition(row >= 0 && row < rows, "scattering: row \(row) out of range")
                    (dst.baseAddress! + row * cols).update(from: src.baseAddress! + k * cols, count: cols)
                }
            }
        }
    }

    /// The transpose, as a new row-major matrix.
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        storage.withUnsafeBufferPointer { src in
            t.storage.withUnsafeMutableBufferPointer { dst in
                for i in 0..<rows { for j in 0..<cols { dst[j * rows + i] = src[i * cols + j] } }
            }
        }
        return t
    }

    /// Σ_r a_rc² for every column c, accumulated in double precision.
    public func columnSquaredNorms() -> [Double] {
        var norms = [Double](repeating: 0, count: cols)
        storage.withUnsafeBufferPointer { a in
            norms.withUnsafeMutableBufferPointer { norms in
                for r in 0..<rows { for c in 0..<cols { norms[c] += Double(a[r * cols + c]) * Double(a[r * cols + c]) } }
            }
        }
        return norms
    }

    /// Whether every element is finite (no NaN, no ±Inf).
    public var isFinite: Bool { storage.allFinite }

    /// The largest absolute elementwise difference to `other` (same shape).
    public func maxAbsDifference(_ other: Matrix) -> Float {
        precondition(rows == other.rows && cols == other.cols, "shapes differ")
        var m: Float = 0
        for (a, b) in zip(storage, other.storage) { m = Swift.max(m, abs(a - b)) }
        return m
    }
}

extension Array where Element == Float {
    /// Whether every element is finite (no NaN, no ±Inf).
    public var allFinite: Bool {
        withUnsafeBufferPointer { buffer in
            // NaN and ±Inf are the values whose exponent bits are all ones.
            for x in buffer where x.bitPattern & 0x7F80_0000 == 0x7F80_0000 { return false }
            return true
        }
    }
}
