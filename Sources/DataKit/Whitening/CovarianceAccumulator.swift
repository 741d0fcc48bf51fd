import CBLAS

/// Accumulates the mean and covariance C = (1/N) Σ (x − mean)(x − mean)ᵀ of rows seen chunk by chunk.
///
/// Each chunk is centred on a fixed shift (the first chunk's mean, close to the final mean, so nothing cancels) and
/// its scatter is accumulated by `dsyrk` in double precision. A float32 scatter per chunk would leave errors of about
/// 1e-7 relative in C, which whitening magnifies by 1/√(e + ε) along the weakest directions; BLAS is a few percent of
/// whitening's time, so double precision costs little.
public struct CovarianceAccumulator {
    public let dimension: Int
    public private(set) var count = 0
    private var shift: [Float] = []
    private var sum: [Double]
    private var scatter: [Double]
    private var centred: [Double] = []

    public init(dimension: Int) {
        self.dimension = dimension
        sum = [Double](repeating: 0, count: dimension)
        scatter = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Adds the rows of `chunk` (N_chunk × D).
    public mutating func add(_ chunk: Matrix) {
        precondition(chunk.cols == dimension, "chunk has \(chunk.cols) columns, expected \(dimension)")
        guard chunk.rows > 0 else { return }
        let d = dimension
        if shift.isEmpty { shift = ColumnStatistics.means(chunk).map { Float($0) } }
        centred.removeAll(keepingCapacity: true)
        centred.reserveCapacity(chunk.rows * d)
        chunk.storage.withUnsafeBufferPointer { x in
            for r in 0..<chunk.rows {
                for j in 0..<d {
                    let c = Double(x[r * d + j] - shift[j])
                    centred.append(c)
                    sum[j] += c
                }
            }
        }
        centred.withUnsafeBufferPointer { c in
            scatter.withUnsafeMutableBufferPointer { s in
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(chunk.rows), 1, c.baseAddress,
                            Int32(d), 1, s.baseAddress, Int32(d))
            }
        }
        count += chunk.rows
    }

    /// The mean and the covariance (row-major D × D, symmetric) of all rows added.
    public func result() -> (mean: [Double], covariance: [Double]) {
        let n = Double(count)
        let offset = sum.map { $0 / n }
        let mean = zip(shift, offset).map { Double($0) + $1 }
        var covariance = scatter
        for i in 0..<dimension {
            for j in 0..<dimension {
                // dsyrk filled the upper triangle; mirror it.
                let s = i <= j ? scatter[i * dimension + j] : scatter[j * dimension + i]
                covariance[i * dimension + j] = s / n - offset[i] * offset[j]
            }
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
