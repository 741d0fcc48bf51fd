import Foundation

/// The rows of a `multilabel` file (features and labels, of one split or of all rows) as shuffled minibatches read
/// straight from disk (`ShuffledBlockReading`): each block's rows by hyperslab from the CSR groups (their slice of
/// `indptr`, then of `indices` and `data`), or from a dense `/features` matrix, so no N × F or N × C array is ever
/// read whole. A split's rows are read run by run of consecutive file rows.
public struct MultiLabelRowReader: ShuffledBlockReading {
    /// A block or minibatch: features (CSR) and labels (CSR) of the same rows.
    public struct Rows: Sendable, Equatable {
        public var features: CSRMatrix
        public var labels: CSRMatrix

        public init(features: CSRMatrix, labels: CSRMatrix) {
            self.features = features
            self.labels = labels
        }
    }

    public let file: HDF5File
    public let blockRows: Int
    public let bufferBlocks: Int
    /// The file rows of the split, in the split's order (nil: every row).
    public let fileRows: [Int]?
    public let featureCount: Int
    public let labelCount: Int
    private let denseFeatures: HDF5Dataset?  // when /features is a dense matrix
    private let fileRowCount: Int

    public var rows: Int { fileRows?.count ?? fileRowCount }

    /// Opens `file`'s rows of split `split` (every row for nil), checking the schema as `MultiLabelDataset.read`.
    public init(file: HDF5File, split: String?, blockRows: Int = 4096, bufferBlocks: Int = 16) throws {
        _ = try file.requireKind(.multilabel)
        self.file = file
        self.blockRows = blockRows
        self.bufferBlocks = bufferBlocks
        func shape(_ group: String) throws -> [Int] {
            guard let shape = try file.attribute("shape", of: group)?.intsValue, shape.count == 2 else {
                throw SparseKitError.badInput(file.path, "\(group) has no valid 'shape' attribute")
            }
            return shape
        }
        switch file.kind(of: "/features") {
        case .group:
            let features = try shape("/features")
            (fileRowCount, featureCount, denseFeatures) = (features[0], features[1], nil)
        case .dataset:
            let dataset = try file.dataMatrixDataset("/features")
            (fileRowCount, featureCount, denseFeatures) = (dataset.shape[0], dataset.shape[1], dataset)
        default:
            throw SparseKitError.badInput(file.path, "has no /features")
        }
        guard file.kind(of: "/labels") == .group else { throw SparseKitError.badInput(file.path, "has no CSR group /labels") }
        let labels = try shape("/labels")
        guard labels[0] == fileRowCount else {
            throw SparseKitError.badInput(file.path, "/labels has \(labels[0]) rows but /features has \(fileRowCount)")
        }
        labelCount = labels[1]
        guard let split else {
            fileRows = nil
            return
        }
        let splitPath = "/splits/" + split
        guard file.kind(of: splitPath) == .dataset else {
            let known = file.kind(of: "/splits") == .group ? try file.children(of: "/splits").joined(separator: ", ") : ""
            throw SparseKitError.badInput(file.path, "has no split '\(split)' (splits: \(known.isEmpty ? "none" : known))")
        }
        fileRows = try file.splitRows(split, rowCount: fileRowCount).map { Int($0) }
    }

    /// The bytes the rows' features and labels would take in memory (float32 values, int64 indices).
    public var dataBytes: Int {
        let perStored = MemoryLayout<Float>.size + MemoryLayout<Int64>.size
        // Products of declared extents, overflow-checked (`MemoryBudget`): an overflow reads as "more than memory".
        let features = denseFeatures.map { MemoryBudget.product($0.shape + [MemoryLayout<Float>.size]) }
            ?? MemoryBudget.product([(try? file.dataset("/features/data").shape[0]) ?? 0, perStored])
        let labels = MemoryBudget.product([(try? file.dataset("/labels/data").shape[0]) ?? 0, perStored])
        let total = MemoryBudget.sum([features, labels]).flatMap { MemoryBudget.product([$0, rows]) }
        return total.map { $0 / max(1, fileRowCount) } ?? Int.max
    }

    /// Rows `range` of the epoch's numbering (positions in the split), run by run of consecutive file rows.
    public func readBlock(_ range: Range<Int>) throws -> Rows {
        Self.stacking(try fileRuns(range).map { run in
            Rows(features: try readFeatures(run), labels: try file.readCSRRows("/labels", run))
        })
    }

    /// The labels of rows `range` (positions in the split), without their features.
    public func readLabels(_ range: Range<Int>) throws -> CSRMatrix {
        CSRMatrix.stacking(try fileRuns(range).map { try file.readCSRRows("/labels", $0) })
    }

    /// The stored features of rows `range` (positions in the split): their count per row, read from `indptr`
    /// alone for CSR features.
    public func featureCounts(_ range: Range<Int>) throws -> [Int] {
        try fileRuns(range).flatMap { run -> [Int] in
            guard denseFeatures == nil else {
                let features = try readFeatures(run)
                return (0..<features.rows).map { features.row($0).indices.count }
            }
            let pointers = try file.dataset("/features/indptr").readRows(run.lowerBound, count: run.count + 1, as: Int64.self)
            return (0..<run.count).map { Int(pointers[$0 + 1] - pointers[$0]) }
        }
    }

    private func readFeatures(_ run: Range<Int>) throws -> CSRMatrix {
        guard let denseFeatures else { return try file.readCSRRows("/features", run) }
        return CSRMatrix(dense: try denseFeatures.readFiniteRows(run))
    }

    /// The file rows of positions `range`, as runs of consecutive rows in the split's order.
    private func fileRuns(_ range: Range<Int>) -> [Range<Int>] {
        guard let fileRows, !range.isEmpty else { return [range] }
        var runs: [Range<Int>] = []
        for row in fileRows[range] {
            if let last = runs.last, last.upperBound == row {
                runs[runs.count - 1] = last.lowerBound..<(row + 1)
            } else {
                runs.append(row..<(row + 1))
            }
        }
        return runs
    }

    public static func count(_ rows: Rows) -> Int { rows.features.rows }

    public static func stacking(_ parts: [Rows]) -> Rows {
        Rows(features: CSRMatrix.stacking(parts.map(\.features)), labels: CSRMatrix.stacking(parts.map(\.labels)))
    }

    public static func gathering(_ indices: [Int], of rows: Rows) -> Rows {
        Rows(features: rows.features.gatheringRows(indices), labels: rows.labels.gatheringRows(indices))
    }
}

extension MultiLabelRowReader: RankShareable {
    /// Reads and checks rows `range` (`readBlock`: every CSR row is checked as `readCSRRows` reads it, a dense
    /// feature row as it is read), on the rank that reads them.
    public func readShared(_ range: Range<Int>) throws -> Rows { try readBlock(range) }

    /// The rows travel as two all-to-alls: the integers of each part (its row count, each row's feature and label
    /// counts, then the feature and the label columns) and its values (features', then labels').
    public func exchange(_ parts: [Rows], with exchange: RowExchange) throws -> Rows {
        var (integers, integerCounts, values, valueCounts) = ([Int64](), [Int](), [Float](), [Int]())
        for part in parts {
            let (x, y) = (part.features, part.labels)
            let before = (integers.count, values.count)
            integers.append(Int64(x.rows))
            for i in 0..<x.rows { integers += [x.indptr[i + 1] - x.indptr[i], y.indptr[i + 1] - y.indptr[i]] }
            integers += x.indices
            integers += y.indices
            values += x.values
            values += y.values
            integerCounts.append(integers.count - before.0)
            valueCounts.append(values.count - before.1)
        }
        let (receivedIntegers, receivedValues) = (exchange.integers(integers, integerCounts), exchange.floats(values, valueCounts))
        var received: [Rows] = []
        var (i, v) = (0, 0)  // the next integer and value
        func take<T>(_ array: [T], _ count: Int64, at k: inout Int) -> [T] {
            defer { k += Int(count) }
            return Array(array[k..<(k + Int(count))])
        }
        while i < receivedIntegers.count {
            let rows = Int(receivedIntegers[i])
            var (featurePointers, labelPointers): ([Int64], [Int64]) = ([0], [0])
            for r in 0..<rows {
                featurePointers.append(featurePointers.last! + receivedIntegers[i + 1 + 2 * r])
                labelPointers.append(labelPointers.last! + receivedIntegers[i + 2 + 2 * r])
            }
            i += 1 + 2 * rows
            let (featureColumns, labelColumns) = (take(receivedIntegers, featurePointers.last!, at: &i), take(receivedIntegers, labelPointers.last!, at: &i))
            let (featureValues, labelValues) = (take(receivedValues, featurePointers.last!, at: &v), take(receivedValues, labelPointers.last!, at: &v))
            received.append(Rows(
                features: try CSRMatrix(rows: rows, cols: featureCount, indptr: featurePointers, indices: featureColumns, values: featureValues),
                labels: try CSRMatrix(rows: rows, cols: labelCount, indptr: labelPointers, indices: labelColumns, values: labelValues)))
        }
        precondition(v == receivedValues.count, "RankShareReader: the exchange returned \(receivedValues.count) values, not \(v)")
        return Self.stacking(received)
    }
}
