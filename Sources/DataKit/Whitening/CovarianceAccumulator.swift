/// Accumulates the mean and covariance C = (1/N) Σ (x − mean)(x − mean)ᵀ of rows seen chunk by chunk.
///
/// Each chunk is centred on a fixed shift (the first chunk's mean, close to the final mean, so nothing cancels),
/// its scatter is formed by `ssyrk` in single precision, and the chunk sums are accumulated in double precision:
/// single-precision speed in the hot loop, double-precision accuracy however large N grows.
public struct CovarianceAccumulator {
    public let dimension: Int
    public private(set) var count = 0
    private var shift: [Float] = []
    private var sum: [Double]
    private var scatter: [Double]
    private var centred = Matrix(rows: 0, cols: 0)
    private var partial: Matrix

    public init(dimension: Int) {
        self.dimension = dimension
        sum = [Double](repeating: 0, count: dimension)
        scatter = [Double](repeating: 0, count: dimension * dimension)
        partial = Matrix(rows: dimension, cols: dimension)
    }

    /// Adds the rows of `chunk` (N_chunk × D).
    public mutating func add(_ chunk: Matrix) {
        precondition(chunk.cols == dimension, "chunk has \(chunk.cols) columns, expected \(dimension)")
        guard chunk.rows > 0 else { return }
        let d = dimension
        if shift.isEmpty { shift = ColumnStatistics.means(chunk).map { Float($0) } }
        centred = chunk
        centred.storage.withUnsafeMutableBufferPointer { c in
            for r in 0..<chunk.rows { for j in 0..<d { c[r * d + j] -= shift[j] } }
        }
        for (j, s) in ColumnStatistics.sums(centred).enumerated() { sum[j] += s }
        Matrix.gram(centred, into: &partial)
        for i in 0..<(d * d) { scatter[i] += Double(partial.storage[i]) }
        count += chunk.rows
    }

    /// The mean and the covariance (row-major D × D, symmetric) of all rows added.
    public func result() -> (mean: [Double], covariance: [Double]) {
        let n = Double(count)
        let offset = sum.map { $0 / n }
        let mean = zip(shift, offset).map { Double($0) + $1 }
        var covariance = scatter
        for i in 0..<dimension {
            for j in 0..<dimension { covariance[i * dimension + j] = scatter[i * dimension + j] / n - offset[i] * offset[j] }
        }
        return (mean, covariance)
    }
}

/// Column sums and means of a matrix, accumulated in double precision.
public enum ColumnStatistics {
    public static func sums(_ m: Matrix) -> [Double] {
        var sums = [Double](repeating: 0, count: m.cols)
        m.storage.withUnsafeBufferPointer { s in
            for r in 0..<m.rows { for j in 0..<m.cols { sums[j] += Double(s[r * m.cols + j]) } }
        }
        return sums
    }

    public static func means(_ m: Matrix) -> [Double] {
        sums(m).map { $0 / Double(max(m.rows, 1)) }
    }
}
