import Distributed

/// The all-to-alls that swap rows between the ranks of an MPI job, with the contract of `ProcessGroup.exchange`:
/// given what this rank sends each rank (rank after rank) and the counts, what every rank sent this one (rank after
/// rank). Dense rows travel as floats; CSR rows as floats (their values) and 64-bit integers (lengths and columns).
public struct RowExchange {
    public var floats: ([Float], [Int]) -> [Float]
    public var integers: ([Int64], [Int]) -> [Int64]

    public init(floats: @escaping ([Float], [Int]) -> [Float], integers: @escaping ([Int64], [Int]) -> [Int64]) {
        (self.floats, self.integers) = (floats, integers)
    }

    /// Over MPI, among `group`'s ranks.
    public init(_ group: ProcessGroup) {
        self.init(floats: { group.exchange($0, counts: $1) }, integers: { group.exchange($0, counts: $1) })
    }
}

/// A `ShuffledBlockReading` whose rows `RankShareReader` can share out among the ranks of an MPI job: how a rank
/// reads part of a block, how rows travel to other ranks, and which rows are checked where.
public protocol RankShareable: ShuffledBlockReading {
    /// Rows `range` (in the epoch's numbering, within one block) as the rank that reads them holds them: checked
    /// here when `checksShares` is false, else left for `checkShare`.
    func readShared(_ range: Range<Int>) throws -> Rows
    /// Sends `parts[q]` to rank q (every rank calls it, with one part per rank) and returns the rows every rank sent
    /// this one, rank after rank.
    func exchange(_ parts: [Rows], with exchange: RowExchange) throws -> Rows
    /// Whether a rank checks the rows it trains on (`checkShare`) rather than those it reads.
    var checksShares: Bool { get }
    /// Checks rows `range` of `rows`, the file rows `fileRows` (one per row of the range), as a rank takes them to
    /// train on.
    func checkShare(_ rows: Rows, _ range: Range<Int>, fileRows: ArraySlice<Int>) throws
}

extension RankShareable {
    public var checksShares: Bool { false }
    public func checkShare(_ rows: Rows, _ range: Range<Int>, fileRows: ArraySlice<Int>) throws {}
}

/// One rank's shares of the minibatches a `ShuffledBlockReading` hands out, for the ranks of an MPI job: dense
/// rows (`ShuffledRowReader`) or the CSR features and labels of a multilabel split (`MultiLabelRowReader`). Every
/// rank walks the reader's buffers (`forEachBuffer`: the same draws, so the same global minibatches as one process);
/// once per buffer, each rank reads 1/P of the buffer's new rows (consecutive positions, one hyperslab read per
/// block they span) and the ranks swap rows in one all-to-all (`RowExchange`; CSR rows in two, values and
/// integers), so that each ends up with its share of every batch of the buffer, in batch order, plus the rows
/// carried over to the next buffer (every rank keeps those).
///
/// Per rank and buffer: reading and decompressing 1/P of the buffer, sending and receiving about 1/P of it (plus the
/// carried rows, fewer than one batch, to every rank); memory for its part of the buffer, its share of it and the
/// carried rows. Dense rows are checked (finite, and within `allowedRange`) only as share rows, by the rank that
/// trains on them, so a bad value fails that rank alone; CSR rows are checked as they are read (`readCSRRows`), by
/// the rank that reads them, which fails alone too (MPI then ends the job: `ProcessGroup.fail`).
public struct RankShareReader<Reader: RankShareable> {
    public let reader: Reader
    public let rank: Int
    public let ranks: Int
    private let exchange: RowExchange

    /// The shares of `group`'s rank, rows swapped over MPI.
    public init(_ reader: Reader, group: ProcessGroup) {
        self.init(reader, rank: group.rank, of: group.size, exchange: RowExchange(group))
    }

    /// The shares of rank `rank` of `ranks`, rows swapped by `exchange`.
    public init(_ reader: Reader, rank: Int, of ranks: Int, exchange: RowExchange) {
        precondition(ranks > 0 && (0..<ranks).contains(rank), "RankShareReader: rank \(rank) of \(ranks)")
        (self.reader, self.rank, self.ranks, self.exchange) = (reader, rank, ranks, exchange)
    }

    /// One epoch: `body` gets this rank's rows (`ProcessGroup.share`) of every minibatch `reader.forEachBatch` would
    /// yield, in that minibatch's order, with the minibatch's size. Returning false from `body` ends the epoch (on
    /// every rank alike: each buffer's exchange needs them all).
    public func forEachShare(size batchSize: Int, using generator: inout SeededGenerator,
                             _ body: (Reader.Rows, Int, inout SeededGenerator) throws -> Bool) throws {
        var carried: Reader.Rows?  // the rows carried over to the next buffer, in their order there
        var carriedRows: [Int] = []  // their numbers in the epoch (file rows of a dense reader)
        try reader.forEachBuffer(size: batchSize, using: &generator) { plan, generator in
            let layout = BufferLayout(plan, batchSize: batchSize, ranks: ranks)
            let numbers = carriedRows + plan.blocks.flatMap { $0 }
            let newRows = plan.rows - plan.carried
            func read(by source: Int) -> Range<Int> { ProcessGroup.share(of: newRows, rank: source, size: ranks).shifted(by: plan.carried) }
            func isKept(_ p: Int) -> Bool { layout.owner[p] == rank || layout.owner[p] < 0 }

            // Read this rank's part of the new rows; sort them by the ranks that need them (every rank: a carried row).
            var pieces: [Reader.Rows] = []
            let mine = read(by: rank)
            var position = plan.carried
            for block in plan.blocks {
                defer { position += block.count }
                let lower = max(position, mine.lowerBound), upper = min(position + block.count, mine.upperBound)
                guard lower < upper else { continue }
                pieces.append(try reader.readShared((block.lowerBound + lower - position)..<(block.lowerBound + upper - position)))
            }
            let part = Reader.stacking(pieces)
            var outgoing = [[Int]](repeating: [], count: ranks)
            for (i, p) in mine.enumerated() {
                if layout.owner[p] >= 0 {
                    outgoing[layout.owner[p]].append(i)
                } else {
                    for q in 0..<ranks { outgoing[q].append(i) }
                }
            }
            let received = try reader.exchange(outgoing.map { Reader.gathering($0, of: part) }, with: exchange)

            // Place the rows this rank keeps: its shares, batch after batch, then the rows carried over. `held` holds
            // the carried rows (positions 0 ..< carried) and then those received, source after source.
            let held = Reader.stacking((carried.map { [$0] } ?? []) + [received])
            let shareSlots = layout.shareRows[rank]
            var rowOfSlot = [Int](repeating: -1, count: shareSlots + layout.leftover)
            var next = 0
            func place(_ p: Int) {
                rowOfSlot[layout.owner[p] == rank ? layout.slot[p] : shareSlots + layout.slot[p]] = next
            }
            for p in 0..<plan.carried {
                if isKept(p) { place(p) }
                next += 1
            }
            for source in 0..<ranks {
                for p in read(by: source) where isKept(p) {
                    place(p)
                    next += 1
                }
            }
            precondition(next == Reader.count(held) && !rowOfSlot.contains(-1),
                         "RankShareReader: the exchange returned \(Reader.count(held) - plan.carried) rows, not \(next - plan.carried)")
            let kept = Reader.gathering(rowOfSlot, of: held)
            if reader.checksShares {
                var fileRows = [Int](repeating: 0, count: shareSlots)
                for p in 0..<plan.rows where layout.owner[p] == rank { fileRows[layout.slot[p]] = numbers[p] }
                try reader.checkShare(kept, 0..<shareSlots, fileRows: fileRows[...])
            }
            var first = 0
            for count in layout.batchSizes {
                let rows = ProcessGroup.share(of: count, rank: rank, size: ranks).count
                defer { first += rows }
                guard try body(Reader.gathering(Array(first..<(first + rows)), of: kept), count, &generator) else { return false }
            }
            carriedRows = plan.order[plan.emitted...].map { numbers[$0] }
            carried = Reader.gathering(Array(shareSlots..<(shareSlots + layout.leftover)), of: kept)
            return true
        }
    }
}

extension RankShareReader where Reader == ShuffledRowReader {
    /// The shares of rank `rank` of `ranks`, dense rows swapped by `exchange` (the contract of `ProcessGroup.exchange`).
    public init(_ reader: ShuffledRowReader, rank: Int, of ranks: Int, exchange: @escaping ([Float], [Int]) -> [Float]) {
        self.init(reader, rank: rank, of: ranks, exchange: RowExchange(floats: exchange, integers: { _, _ in
            preconditionFailure("RankShareReader: dense rows travel as floats only")
        }))
    }
}

extension ShuffledRowReader: RankShareable {
    /// Reads without checking: only the rows a rank trains on are checked, by that rank (`checkShare`).
    public func readShared(_ range: Range<Int>) throws -> Matrix {
        var rows = Matrix(rows: range.count, cols: cols)
        try rows.storage.withUnsafeMutableBufferPointer { try dataset.readRows(range.lowerBound, count: range.count, into: $0) }
        return rows
    }

    public func exchange(_ parts: [Matrix], with exchange: RowExchange) throws -> Matrix {
        let values = exchange.floats(parts.flatMap(\.storage), parts.map(\.storage.count))
        precondition(values.count % cols == 0, "RankShareReader: the exchange returned a part of a row")
        return Matrix(rows: values.count / cols, cols: cols, storage: values)
    }

    public var checksShares: Bool { true }

    /// Refuses a row that is not finite (naming its row), or outside `allowedRange`.
    public func checkShare(_ rows: Matrix, _ range: Range<Int>, fileRows: ArraySlice<Int>) throws {
        try rows.storage.withUnsafeBufferPointer { storage in
            for (i, row) in zip(range, fileRows) {
                let values = UnsafeBufferPointer(rebasing: storage[(i * cols)..<((i + 1) * cols)])
                try requireFinite(values, rowLength: cols, firstRow: row, file: file.path, dataset: dataset.path)
                if let allowedRange, let x = values.first(where: { !allowedRange.contains($0) }) {
                    throw SparseKitError.badInput(file.path, "\(dataset.path) holds \(x) at row \(row), "
                        + "outside \(allowedRange.lowerBound)...\(allowedRange.upperBound)")
                }
            }
        }
    }
}

/// Who keeps each position of a shuffling buffer, and where: `owner[p]` is the rank whose share of a batch holds
/// it and `slot[p]` its row among that rank's share rows (batch after batch); a position carried over to the next
/// buffer has owner −1 and `slot` its place among the carried rows (every rank keeps them, after its share rows).
struct BufferLayout {
    var owner: [Int]
    var slot: [Int]
    /// Each rank's share rows in the buffer.
    var shareRows: [Int]
    /// The rows carried over.
    let leftover: Int
    /// The sizes of the buffer's batches.
    var batchSizes: [Int] = []

    init(_ plan: ShuffledBuffer, batchSize: Int, ranks: Int) {
        (owner, slot) = ([Int](repeating: -1, count: plan.rows), [Int](repeating: 0, count: plan.rows))
        shareRows = [Int](repeating: 0, count: ranks)
        leftover = plan.rows - plan.emitted
        for first in stride(from: 0, to: plan.emitted, by: batchSize) {
            let count = min(plan.emitted, first + batchSize) - first
            batchSizes.append(count)
            for q in 0..<ranks {
                for k in ProcessGroup.share(of: count, rank: q, size: ranks) {
                    (owner[plan.order[first + k]], slot[plan.order[first + k]]) = (q, shareRows[q])
                    shareRows[q] += 1
                }
            }
        }
        for (j, p) in plan.order[plan.emitted...].enumerated() { slot[p] = j }
    }
}

extension Range where Bound == Int {
    /// The range moved by `offset`.
    func shifted(by offset: Int) -> Range<Int> { (lowerBound + offset)..<(upperBound + offset) }
}
