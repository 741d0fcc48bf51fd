import CKernels

/// A compressed-sparse-row matrix: row i's non-zeros are `values[indptr[i] ..< indptr[i + 1]]` at columns
/// `indices[…]`, sorted within each row. The same three arrays as scipy's `csr_matrix` and anndata's on-disk layout.
public struct CSRMatrix: Equatable, Sendable {
    public private(set) var rows: Int
    public private(set) var cols: Int
    public private(set) var indptr: [Int64]
    public private(set) var indices: [Int64]
    public private(set) var values: [Float]

    /// Validates and wraps the three arrays: `indptr` starts at 0, never decreases and ends at `values.count`;
    /// column indices lie in `0..<cols` and increase strictly within each row; values are finite and within
    /// ±`valueMagnitudeBound`. Every CSR group every tool reads (`readCSR`, `readCSRRows`) is checked here.
    /// Rows are named in errors counting from `firstRow` (the file row of the first, when these are a slice).
    public init(rows: Int, cols: Int, indptr: [Int64], indices: [Int64], values: [Float], firstRow: Int = 0) throws {
        func bad(_ problem: String) -> SparseKitError { .badInput(nil, "invalid CSR matrix: \(problem)") }
        guard rows >= 0, cols >= 0 else { throw bad("negative shape \(rows)×\(cols)") }
        guard indptr.count == rows + 1 else { throw bad("indptr has \(indptr.count) entries, expected \(rows + 1)") }
        guard indices.count == values.count else { throw bad("\(indices.count) indices for \(values.count) values") }
        guard indptr.first == 0, indptr.last == Int64(values.count) else {
            throw bad("indptr must run from 0 to \(values.count)")
        }
        for i in 0..<rows where indptr[i] > indptr[i + 1] { throw bad("indptr decreases at row \(firstRow + i)") }
        for i in 0..<rows {
            let (start, end) = (indptr[i], indptr[i + 1])
            var previous: Int64 = -1
            for k in Int(start)..<Int(end) {
                let j = indices[k]
                guard j >= 0, j < cols else { throw bad("row \(firstRow + i) has column \(j) outside 0..<\(cols)") }
                guard j > previous else { throw bad("row \(firstRow + i) has unsorted or duplicate column \(j)") }
                guard abs(values[k]) <= valueMagnitudeBound else {
                    let x = values[k]
                    throw bad("row \(firstRow + i) holds \(x.isNaN ? "NaN" : x.isInfinite ? "Inf" : "\(x), beyond ±\(valueMagnitudeBound),") at column \(j)")
                }
                previous = j
            }
        }
        self.rows = rows
        self.cols = cols
        self.indptr = indptr
        self.indices = indices
        self.values = values
    }

    /// The non-zeros of a dense matrix.
    public init(dense: Matrix) {
        rows = dense.rows
        cols = dense.cols
        indptr = [0]
        indices = []
        values = []
        for i in 0..<dense.rows {
            for j in 0..<dense.cols where dense[i, j] != 0 {
                indices.append(Int64(j))
                values.append(dense[i, j])
            }
            indptr.append(Int64(values.count))
        }
    }

    /// Number of stored entries.
    public var nonZeros: Int { values.count }

    /// Row `i`'s column indices and values.
    public func row(_ i: Int) -> (indices: ArraySlice<Int64>, values: ArraySlice<Float>) {
        let range = Int(indptr[i])..<Int(indptr[i + 1])
        return (indices[range], values[range])
    }

    /// The rows at `rows`, in that order (a minibatch), as a CSR matrix with the same columns.
    public func gatheringRows(_ rows: [Int]) -> CSRMatrix {
        var result = CSRMatrix(empty: rows.count, cols: cols)
        result.indptr.reserveCapacity(rows.count + 1)
        for i in rows {
            precondition(i >= 0 && i < self.rows, "gatheringRows: row \(i) out of range")
            let range = Int(indptr[i])..<Int(indptr[i + 1])
            result.indices += indices[range]
            result.values += values[range]
            result.indptr.append(Int64(result.indices.count))
        }
        return result
    }

    /// The rows of `parts` one after another (all with the same columns).
    public static func stacking(_ parts: [CSRMatrix]) -> CSRMatrix {
        var result = CSRMatrix(empty: parts.reduce(0) { $0 + $1.rows }, cols: parts.first?.cols ?? 0)
        for part in parts {
            precondition(part.cols == result.cols, "stacking: \(part.cols) columns among \(result.cols)")
            let offset = Int64(result.indices.count)
            result.indptr += part.indptr.dropFirst().map { $0 + offset }
            result.indices += part.indices
            result.values += part.values
        }
        return result
    }

    /// No rows yet: `rows` is set, `indptr` holds the leading 0 (for builders that append rows).
    private init(empty rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        indptr = [0]
        indices = []
        values = []
    }

    /// The dense equivalent.
    public func dense() -> Matrix {
        var m = Matrix(rows: rows, cols: cols)
        for i in 0..<rows {
            for k in Int(indptr[i])..<Int(indptr[i + 1]) { m[i, Int(indices[k])] = values[k] }
        }
        return m
    }

    /// The transpose, as a CSR matrix (cols × rows; that is, `self` in compressed-column form). Entries of each
    /// result row come in increasing original row order. A counting sort: O(nonZeros + cols).
    public func transposed() -> CSRMatrix {
        var counts = [Int64](repeating: 0, count: cols + 1)
        for j in indices { counts[Int(j) + 1] += 1 }
        for j in 0..<cols { counts[j + 1] += counts[j] }
        var result = CSRMatrix(empty: cols, cols: rows)
        result.indptr = counts
        result.indices = [Int64](repeating: 0, count: nonZeros)
        result.values = [Float](repeating: 0, count: nonZeros)
        var next = counts
        for i in 0..<rows {
            for k in Int(indptr[i])..<Int(indptr[i + 1]) {
                let slot = Int(next[Int(indices[k])])
                next[Int(indices[k])] += 1
                result.indices[slot] = Int64(i)
                result.values[slot] = values[k]
            }
        }
        return result
    }

    /// The product `self · w` with a dense `w` (cols × H), touching only the stored entries: for each non-zero
    /// x_ij, row i of the result gains x_ij · (row j of w). Taken column by column of `self`, so each row of `w` is
    /// read once per call however many rows use it (the result, rows × H, is the part that stays in cache).
    public func multiplied(by w: Matrix) -> Matrix {
        precondition(w.rows == cols, "multiplied(by:): \(rows)×\(cols) times \(w.rows)×\(w.cols)")
        var out = Matrix(rows: rows, cols: w.cols)
        let byColumn = transposed(), h = w.cols
        w.storage.withUnsafeBufferPointer { w in
            out.storage.withUnsafeMutableBufferPointer { out in
                for j in 0..<cols {
                    for k in Int(byColumn.indptr[j])..<Int(byColumn.indptr[j + 1]) {
                        Self.addScaled(byColumn.values[k], w.baseAddress! + j * h,
                                       to: out.baseAddress! + Int(byColumn.indices[k]) * h, count: h)
                    }
                }
            }
        }
        return out
    }

    /// `into += selfᵀ · dy` for a dense `dy` (rows × H) and `into` (cols × H): row j of `into` gains
    /// x_ij · (row i of dy) for every stored x_ij, one row j at a time (the gradient of a sparse layer's weight).
    public func accumulateTransposedProduct(_ dy: Matrix, into: inout Matrix) {
        precondition(dy.rows == rows && into.rows == cols && into.cols == dy.cols,
                     "accumulateTransposedProduct: (\(rows)×\(cols))ᵀ times \(dy.rows)×\(dy.cols) into \(into.rows)×\(into.cols)")
        let byColumn = transposed(), h = dy.cols
        into.storage.withUnsafeMutableBufferPointer { into in
            for j in 0..<cols { byColumn.addRowProduct(j, dy, into: into.baseAddress! + j * h) }
        }
    }

    /// `into[0..<H] += (self · dense)[r]`, that is Σ_k self[r, j_k] · (row j_k of `dense`) over row r's stored
    /// entries, in their order.
    private func addRowProduct(_ r: Int, _ dense: Matrix, into: UnsafeMutablePointer<Float>) {
        let h = dense.cols
        dense.storage.withUnsafeBufferPointer { source in
            for k in Int(indptr[r])..<Int(indptr[r + 1]) {
                Self.addScaled(values[k], source.baseAddress! + Int(indices[k]) * h, to: into, count: h)
            }
        }
    }

    /// target[0..<count] += x · source[0..<count], through CKernels' dispatched loop (AVX-512F, AVX or the baseline,
    /// the same bits on each: multiply, then add).
    @inline(__always)
    private static func addScaled(_ x: Float, _ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        sk_add_scaled(target, source, x, count)
    }
}

extension HDF5File {
    /// Writes `matrix` as an anndata CSR group: `data` float32, `indices` and `indptr` int64, attributes
    /// `encoding-type` = csr_matrix, `encoding-version` = 0.1.0, `shape` = [rows, cols] (`formats.md`).
    public func write(_ matrix: CSRMatrix, to groupPath: String) throws {
        try remove(groupPath)
        try createGroup(groupPath)
        try write(matrix.values, shape: [matrix.nonZeros], to: groupPath + "/data")
        try write(matrix.indices, shape: [matrix.nonZeros], to: groupPath + "/indices")
        try write(matrix.indptr, shape: [matrix.rows + 1], to: groupPath + "/indptr")
        try setCSRAttributes(groupPath, rows: matrix.rows, cols: matrix.cols)
    }

    /// The attributes that make the group at `groupPath` an anndata CSR matrix of `rows` × `cols`.
    func setCSRAttributes(_ groupPath: String, rows: Int, cols: Int) throws {
        try setAttribute("encoding-type", .string("csr_matrix"), on: groupPath)
        try setAttribute("encoding-version", .string("0.1.0"), on: groupPath)
        try setAttribute("shape", .ints([rows, cols]), on: groupPath)
    }

    /// Reads and validates the CSR group at `groupPath`, naming the file and group in any error.
    public func readCSR(_ groupPath: String) throws -> CSRMatrix {
        let shape = try csrShape(groupPath)
        return try namingGroup(groupPath) {
            try CSRMatrix(rows: shape.rows, cols: shape.cols, indptr: try read(groupPath + "/indptr", as: Int64.self).values,
                          indices: try read(groupPath + "/indices", as: Int64.self).values,
                          values: try read(groupPath + "/data", as: Float.self).values)
        }
    }

    /// Reads and validates rows `range` of the CSR group at `groupPath` by hyperslab (its slice of `indptr`, then
    /// of `indices` and `data`), without reading the rest.
    public func readCSRRows(_ groupPath: String, _ range: Range<Int>) throws -> CSRMatrix {
        let shape = try csrShape(groupPath)
        guard range.lowerBound >= 0, range.upperBound <= shape.rows else {
            throw SparseKitError.badInput(path, "\(groupPath) has \(shape.rows) rows, not \(range)")
        }
        return try namingGroup(groupPath) {
            let pointers = try dataset(groupPath + "/indptr").readRows(range.lowerBound, count: range.count + 1, as: Int64.self)
            let (first, count) = (Int(pointers[0]), Int(pointers[range.count] - pointers[0]))
            guard first >= 0, count >= 0 else { throw SparseKitError.badInput(nil, "indptr decreases near row \(range.lowerBound)") }
            return try CSRMatrix(rows: range.count, cols: shape.cols, indptr: pointers.map { $0 - pointers[0] },
                                 indices: try dataset(groupPath + "/indices").readRows(first, count: count, as: Int64.self),
                                 values: try dataset(groupPath + "/data").readRows(first, count: count, as: Float.self),
                                 firstRow: range.lowerBound)
        }
    }

    /// The shape of the CSR group at `groupPath`, after checking its encoding.
    private func csrShape(_ groupPath: String) throws -> (rows: Int, cols: Int) {
        guard kind(of: groupPath) == .group else { throw SparseKitError.badInput(path, "has no CSR group \(groupPath)") }
        guard try attribute("encoding-type", of: groupPath)?.stringValue == "csr_matrix" else {
            throw SparseKitError.badInput(path, "\(groupPath) is not a CSR group (encoding-type is not csr_matrix)")
        }
        guard let shape = try attribute("shape", of: groupPath)?.intsValue, shape.count == 2 else {
            throw SparseKitError.badInput(path, "\(groupPath) has no valid 'shape' attribute")
        }
        return (shape[0], shape[1])
    }

    /// Runs `body`, naming this file and the group in an error that names no file.
    private func namingGroup<T>(_ groupPath: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SparseKitError where error.file == nil {
            throw SparseKitError.badInput(path, "\(groupPath): \(error.problem)")
        }
    }
}
