import DataKit

/// A CSR matrix with the given column sets per row (sorted), stored values from `value(k)` for the k-th entry.
func csr(_ rows: [[Int]], cols: Int, value: (Int) -> Float = { _ in 1 }) throws -> CSRMatrix {
    var indptr: [Int64] = [0], indices: [Int64] = []
    for row in rows { indices += row.sorted().map(Int64.init); indptr.append(Int64(indices.count)) }
    return try CSRMatrix(rows: rows.count, cols: cols, indptr: indptr, indices: indices, values: (0..<indices.count).map(value))
}
