/// One rank's shares of the minibatches a `ShuffledRowReader` hands out, for the ranks of an MPI job: each rank
/// walks the reader's buffers (`forEachBuffer`: the same draws, so the same global minibatches as one process),
/// and, once per buffer, reads the buffer's blocks with one hyperslab read each, keeping only the rows of its own
/// shares (plus the few rows carried over to the next buffer); its share of every batch is then a slice of memory.
///
/// Memory: one block, the rank's shares of one buffer (about 1/P of it) and up to one batch carried over. Reading:
/// every block of the file once per epoch on every rank (the rows of a share are spread over every block of its
/// buffer, so reading only them would touch every chunk all the same). Only share rows are checked (finite, and within
/// `allowedRange`), so a bad value fails the rank that trains on it.
public struct RankShareReader {
    public let reader: ShuffledRowReader

    public init(_ reader: ShuffledRowReader) { self.reader = reader }

    /// One epoch: `body` gets this rank's rows of every minibatch `reader.forEachBatch(size:using:)` would yield,
    /// in that minibatch's order, with the minibatch's size; `share(count)` says which positions of a minibatch of
    /// `count` rows are this rank's (`ProcessGroup.share(of:)`). Returning false from `body` ends the epoch.
    public func forEachShare(size batchSize: Int, share: (Int) -> Range<Int>, using generator: inout SeededGenerator,
                             _ body: (Matrix, Int, inout SeededGenerator) throws -> Bool) throws {
        let cols = reader.cols
        var carriedRows: [Int] = []  // file rows carried over to the next buffer, and their values row after row
        var carriedValues: [Float] = []
        var block = [Float](repeating: 0, count: reader.blockRows * cols)
        try reader.forEachBuffer(size: batchSize, using: &generator) { plan, generator in
            // Slots in `kept`: this rank's share of each batch, batch after batch, then the rows carried over.
            var slot = [Int](repeating: -1, count: plan.rows)
            var batches: [(slots: Range<Int>, count: Int)] = []
            var next = 0
            for first in stride(from: 0, to: plan.emitted, by: batchSize) {
                let count = min(plan.emitted, first + batchSize) - first
                let mine = share(count)
                for k in mine { slot[plan.order[first + k]] = next; next += 1 }
                batches.append((next - mine.count..<next, count))
            }
            let shareSlots = next
            for position in plan.order[plan.emitted...] { slot[position] = next; next += 1 }
            var kept = [Float](repeating: 0, count: next * cols)
            try kept.withUnsafeMutableBufferPointer { kept in
                /// Copies the row at buffer `position` (file row `row`) to its slot, checking it if a share holds it.
                func place(_ values: UnsafeBufferPointer<Float>, position: Int, row: Int) throws {
                    let s = slot[position]
                    guard s >= 0 else { return }
                    if s < shareSlots { try check(values, row: row) }
                    _ = UnsafeMutableBufferPointer(rebasing: kept[(s * cols)..<((s + 1) * cols)]).initialize(from: values)
                }
                try carriedValues.withUnsafeBufferPointer { carried in
                    for p in carriedRows.indices {
                        try place(UnsafeBufferPointer(rebasing: carried[(p * cols)..<((p + 1) * cols)]), position: p, row: carriedRows[p])
                    }
                }
                var position = plan.carried
                for range in plan.blocks {
                    defer { position += range.count }
                    guard slot[position..<(position + range.count)].contains(where: { $0 >= 0 }) else { continue }
                    try block.withUnsafeMutableBufferPointer { block in
                        try reader.dataset.readRows(range.lowerBound, count: range.count, into: block)
                        for i in 0..<range.count {
                            try place(UnsafeBufferPointer(rebasing: block[(i * cols)..<((i + 1) * cols)]), position: position + i,
                                      row: range.lowerBound + i)
                        }
                    }
                }
            }
            for batch in batches {
                let rows = Matrix(rows: batch.slots.count, cols: cols,
                                  storage: Array(kept[(batch.slots.lowerBound * cols)..<(batch.slots.upperBound * cols)]))
                guard try body(rows, batch.count, &generator) else { return false }
            }
            let fileRows = carriedRows + plan.blocks.flatMap { $0 }
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
