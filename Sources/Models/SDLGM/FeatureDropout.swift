import DataKit

extension CSRMatrix {
    /// Input dropout (Srivastava et al. 2014) on the stored entries: each is dropped with probability `rate` and the
    /// others scaled by 1 / (1 − rate), so that a feature's expected input is unchanged. Row i draws one uniform per
    /// stored entry from `streams[i]`.
    func droppingEntries(rate: Double, streams: inout PointStreams) -> CSRMatrix {
        precondition(streams.count == rows, "droppingEntries: one stream per row")
        guard rate > 0 else { return self }
        let keep = Float(1 / (1 - rate))
        var indptr: [Int64] = [0], indices: [Int64] = [], values: [Float] = []
        indices.reserveCapacity(nonZeros)
        values.reserveCapacity(nonZeros)
        for i in 0..<rows {
            let row = row(i)
            var generator = streams[i]  // row i's stream, drawn from in place, then put back
            for (j, v) in zip(row.indices, row.values) where generator.uniform() >= rate {
                indices.append(j)
                // Kept within the CSR range: only a value near ±1e15 with a rate near 1 could leave it.
                values.append(max(-valueMagnitudeBound, min(valueMagnitudeBound, v * keep)))
            }
            streams[i] = generator
            indptr.append(Int64(values.count))
        }
        return try! CSRMatrix(rows: rows, cols: cols, indptr: indptr, indices: indices, values: values)  // a subset, in range
    }
}
