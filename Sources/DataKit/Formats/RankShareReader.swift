import Distributed

/// One rank's shares of the minibatches a `ShuffledRowReader` hands out, for the ranks of an MPI job. Every rank
/// walks the reader's buffers (`forEachBuffer`: the same draws, so the same global minibatches as one process);
/// once per buffer, each rank reads 1/P of the buffer's new rows (consecutive positions, one hyperslab read per
/// block they span) and the ranks swap rows in one all-to-all (`ProcessGroup.exchange`), so that each ends up with
/// its share of every batch of the buffer, in batch order, plus the rows carried over to the next buffer (every
/// rank keeps those). A share of a batch is then a slice of memory.
///
/// Per rank and buffer: reading and decompressing 1/P of the buffer, sending and receiving about 1/P of it (plus the
/// carried rows, fewer than one batch, to every rank); memory for one block, its share of the buffer and the
/// carried rows. Only share rows are checked (finite, and within `allowedRange`), by the rank that trains on them, so
/// a bad value fails that rank alone.
public struct RankShareReader {
    public let reader: ShuffledRowReader
    public let rank: Int
    public let ranks: Int
    private let exchange: ([Float], [Int]) -> [Float]

    /// The shares of `group`'s rank, rows swapped over MPI.
    public init(_ reader: ShuffledRowReader, group: ProcessGroup) {
        self.init(reader, rank: group.rank, of: group.size, exchange: group.exchange)
    }

    /// The shares of rank `rank` of `ranks`, rows swapped by `exchange` (the contract of `ProcessGroup.exchange`).
    public init(_ reader: ShuffledRowReader, rank: Int, of ranks: Int, exchange: @escaping ([Float], [Int]) -> [Float]) {
        precondition(ranks > 0 && (0..<ranks).contains(rank), "RankShareReader: rank \(rank) of \(ranks)")
        (self.reader, self.rank, self.ranks, self.exchange) = (reader, rank, ranks, exchange)
    }

    /// One epoch: `body` gets this rank's rows (`ProcessGroup.share`) of every minibatch `reader.forEachBatch` would
    /// yield, in that minibatch's order, with the minibatch's size. Returning false from `body` ends the epoch (on
    /// every rank alike: each buffer's exchange needs them all).
    public func forEachShare(size batchSize: Int, using generator: inout SeededGenerator,
                             _ body: (Matrix, Int, inout SeededGenerator) throws -> Bool) throws {
        let cols = reader.cols
        var carriedRows: [Int] = []  // file rows carried over to the next buffer, and their values row after row
        var carriedValues: [Float] = []
        var piece = [Float](repeating: 0, count: reader.blockRows * cols)
        try reader.forEachBuffer(size: batchSize, using: &generator) { plan, generator in
            let layout = BufferLayout(plan, batchSize: batchSize, ranks: ranks)
            let fileRows = carriedRows + plan.blocks.flatMap { $0 }
            let newRows = plan.rows - plan.carried
            func read(by source: Int) -> Range<Int> { ProcessGroup.share(of: newRows, rank: source, size: ranks).shifted(by: plan.carried) }

            // Read this rank's part of the new rows; sort them by the ranks that need them (every rank: a carried row).
            var outgoing = [[Float]](repeating: [], count: ranks)
            let mine = read(by: rank)
            var position = plan.carried
            for block in plan.blocks {
                defer { position += block.count }
                let lower = max(position, mine.lowerBound), upper = min(position + block.count, mine.upperBound)
                guard lower < upper else { continue }
                try piece.withUnsafeMutableBufferPointer { piece in
                    try reader.dataset.readRows(block.lowerBound + lower - position, count: upper - lower, into: piece)
                    for p in lower..<upper {
                        let row = UnsafeBufferPointer(rebasing: piece[((p - lower) * cols)..<((p - lower + 1) * cols)])
                        if layout.owner[p] >= 0 {
                            outgoing[layout.owner[p]].append(contentsOf: row)
                        } else {
                            for q in 0..<ranks { outgoing[q].append(contentsOf: row) }
                        }
                    }
                }
            }
            let received = exchange(outgoing.flatMap { $0 }, outgoing.map(\.count))

            // Place the rows this rank keeps: its shares, batch after batch, then the rows carried over.
            let shareSlots = layout.shareRows[rank]
            var kept = [Float](repeating: 0, count: (shareSlots + layout.leftover) * cols)
            try kept.withUnsafeMutableBufferPointer { kept in
                func place(_ values: UnsafeBufferPointer<Float>, position p: Int) throws {
                    let s = layout.owner[p] == rank ? layout.slot[p] : shareSlots + layout.slot[p]
                    if s < shareSlots { try check(values, row: fileRows[p]) }
                    _ = UnsafeMutableBufferPointer(rebasing: kept[(s * cols)..<((s + 1) * cols)]).initialize(from: values)
                }
                func isKept(_ p: Int) -> Bool { layout.owner[p] == rank || layout.owner[p] < 0 }
                try carriedValues.withUnsafeBufferPointer { carried in
                    for p in 0..<plan.carried where isKept(p) {
                        try place(UnsafeBufferPointer(rebasing: carried[(p * cols)..<((p + 1) * cols)]), position: p)
                    }
                }
                try received.withUnsafeBufferPointer { received in
                    var next = 0
                    for source in 0..<ranks {
                        for p in read(by: source) where isKept(p) {
                            try place(UnsafeBufferPointer(rebasing: received[(next * cols)..<((next + 1) * cols)]), position: p)
                            next += 1
                        }
                    }
                    precondition(next * cols == received.count, "RankShareReader: the exchange returned \(received.count / cols) rows, not \(next)")
                }
            }
            var first = 0
            for count in layout.batchSizes {
                let rows = ProcessGroup.share(of: count, rank: rank, size: ranks).count
                defer { first += rows }
                guard try body(Matrix(rows: rows, cols: cols, storage: Array(kept[(first * cols)..<((first + rows) * cols)])), count,
                               &generator) else { return false }
            }
            carriedRows = plan.order[plan.emitted...].map { fileRows[$0] }
            carriedValues = Array(kept[(shareSlots * cols)...])
            return true
        }
    }

    /// Refuses a row that is not finite (naming its row), or outside the reader's `allowedRange`.
    private func check(_ values: UnsafeBufferPointer<Float>, row: Int) throws {
        try requireFinite(values, rowLength: values.count, firstRow: row, file: reader.file.path, dataset: reader.dataset.path)
        if let range = reader.allowedRange, let x = values.first(where: { !range.contains($0) }) {
            throw SparseKitError.badInput(reader.file.path, "\(reader.dataset.path) holds \(x) at row \(row), "
                + "outside \(range.lowerBound)...\(range.upperBound)")
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
