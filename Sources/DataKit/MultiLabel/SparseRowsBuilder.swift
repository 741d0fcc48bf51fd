/// Accumulates CSR rows one entry at a time (the three growing arrays of the output, nothing else), checking that
/// indices arrive sorted and unique within a row, or sorting and merging them when asked.
public struct SparseRowsBuilder: Sendable {
    public private(set) var indptr: [Int64] = [0]
    public private(set) var indices: [Int64] = []
    public private(set) var values: [Float] = []
    /// Largest index seen plus one (the inferred column count).
    public private(set) var inferredColumns = 0

    /// What to do when a row's indices are unsorted or repeated.
    public enum Disorder: Sendable { case reject, sortAndSum, sortAndKeepOne }
    private let disorder: Disorder

    public init(disorder: Disorder = .reject) { self.disorder = disorder }

    public var rowCount: Int { indptr.count - 1 }

    /// Reserves room for `entries` entries. Pages never written are never resident, so an upper bound costs no
    /// memory, while growing by doubling would briefly hold the old and the new arrays (three times the data).
    public mutating func reserve(entries: Int) {
        indices.reserveCapacity(entries)
        values.reserveCapacity(entries)
    }
    private var rowStart: Int { Int(indptr[indptr.count - 1]) }

    public mutating func append(_ index: Int, _ value: Float) {
        indices.append(Int64(index))
        values.append(value)
        if index >= inferredColumns { inferredColumns = index + 1 }
    }

    /// Closes the current row. Returns a description of the disorder if the row was unsorted and `.reject` is set.
    public mutating func endRow() -> String? {
        let start = rowStart
        var sorted = true
        if indices.count - start > 1 {
            for k in (start + 1)..<indices.count where indices[k] <= indices[k - 1] {
                sorted = false
                break
            }
        }
        if !sorted {
            switch disorder {
            case .reject:
                let k = ((start + 1)..<indices.count).first { indices[$0] <= indices[$0 - 1] }!
                let problem = indices[k] == indices[k - 1] ? "index \(indices[k]) appears twice"
                    : "indices are not increasing (\(indices[k - 1]) then \(indices[k]))"
                return problem + " (use --sort-indices to sort and merge)"
            case .sortAndSum, .sortAndKeepOne:
                mergeRow(from: start, sum: disorder == .sortAndSum)
            }
        }
        indptr.append(Int64(indices.count))
        return nil
    }

    private mutating func mergeRow(from start: Int, sum: Bool) {
        let entries = zip(indices[start...], values[start...]).sorted { $0.0 < $1.0 }
        indices.removeSubrange(start...)
        values.removeSubrange(start...)
        for (index, value) in entries {
            if let last = indices.last, indices.count > start, last == index {
                if sum { values[values.count - 1] += value }
            } else {
                indices.append(index)
                values.append(value)
            }
        }
    }

    /// The finished matrix with `columns` columns (at least the inferred count).
    public func matrix(columns: Int) throws -> CSRMatrix {
        try CSRMatrix(rows: rowCount, cols: columns, indptr: indptr, indices: indices, values: values)
    }
}
