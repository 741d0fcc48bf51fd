/// One shuffling buffer of an epoch of `ShuffledBlockReading`, as positions, before any row is read: the rows
/// carried over from the previous buffer (positions 0 ..< carried), then the rows of `blocks` one block after
/// another; `order` is the buffer's shuffle. Minibatches are order[0 ..< B], order[B ..< 2B], … up to `emitted`;
/// order[emitted...] are carried over, in that order, to the start of the next buffer.
public struct ShuffledBuffer: Sendable {
    /// Rows carried over from the previous buffer, first in this one.
    public let carried: Int
    /// The blocks read after them (row ranges of the file, in the epoch's numbering), in order.
    public let blocks: [Range<Int>]
    /// The positions in their shuffled order.
    public let order: [Int]
    /// Positions handed out as minibatches: all of them in the epoch's last buffer, else whole batches only.
    public let emitted: Int

    /// The rows the buffer holds.
    public var rows: Int { order.count }
}

extension ShuffledBlockReading {
    /// An epoch's buffers, drawing from `generator` exactly as `forEachBatch` does (the blocks' shuffle first, then
    /// one shuffle per buffer, each after `body` has handled the buffer before, so `body` may draw too). Returning
    /// false from `body` ends the epoch. Reads nothing: `forEachBatch` reads each buffer's blocks, and the ranks of an
    /// MPI job read only the rows of their shares (`RankShareReader`), so that both see the same minibatches.
    public func forEachBuffer(size batchSize: Int, using generator: inout SeededGenerator,
                              _ body: (ShuffledBuffer, inout SeededGenerator) throws -> Bool) rethrows {
        precondition(batchSize > 0 && blockRows > 0 && bufferBlocks > 0, "forEachBuffer: empty batches, blocks or buffer")
        var blocks = Array(stride(from: 0, to: rows, by: blockRows))
        blocks.shuffle(using: &generator)
        var carried = 0
        for group in stride(from: 0, to: blocks.count, by: bufferBlocks) {
            let ranges = blocks[group..<min(blocks.count, group + bufferBlocks)].map { $0..<min(rows, $0 + blockRows) }
            let bufferedRows = carried + ranges.reduce(0) { $0 + $1.count }
            var order = Array(0..<bufferedRows)
            order.shuffle(using: &generator)
            let isLast = group + bufferBlocks >= blocks.count
            let emitted = isLast ? bufferedRows : bufferedRows / batchSize * batchSize
            guard try body(ShuffledBuffer(carried: carried, blocks: ranges, order: order, emitted: emitted), &generator) else { return }
            carried = bufferedRows - emitted
        }
    }
}
