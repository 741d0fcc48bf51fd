import DataKit

/// A matrix of seeded normal values `shift + scale · N(0, 1)`, drawn row by row from `generator`.
public func randomMatrix(_ rows: Int, _ cols: Int, scale: Double = 1, shift: Double = 0,
                         using generator: inout SeededGenerator) -> Matrix
{
    Matrix(rows: rows, cols: cols, storage: (0..<(rows * cols)).map { _ in Float(shift + scale * generator.normal()) })
}

/// A matrix of standard-normal values from a generator seeded with `seed`.
public func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
    var generator = SeededGenerator(seed: seed)
    return randomMatrix(rows, cols, using: &generator)
}

/// A CSR matrix with the given column sets per row (sorted), stored values from `value(k)` for the k-th entry.
public func csr(_ rows: [[Int]], cols: Int, value: (Int) -> Float = { _ in 1 }) throws -> CSRMatrix {
    var indptr: [Int64] = [0], indices: [Int64] = []
    for row in rows { indices += row.sorted().map(Int64.init); indptr.append(Int64(indices.count)) }
    return try CSRMatrix(rows: rows.count, cols: cols, indptr: indptr, indices: indices, values: (0..<indices.count).map(value))
}
