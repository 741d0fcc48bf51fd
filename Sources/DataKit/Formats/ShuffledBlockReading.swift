import Foundation

/// Rows read from disk in blocks and handed out as shuffled minibatches, for training on files larger than memory:
/// each epoch visits the blocks of `blockRows` consecutive rows in a shuffled order, reads `bufferBlocks` of them at a
/// time, shuffles the rows within that buffer, and hands out minibatches from it. At most
/// `bufferBlocks × blockRows + batchSize` rows are in memory, whatever the file's size; every row is visited once
/// per epoch. Conformers say how to read a block and how to stack and pick rows of what they read.
public protocol ShuffledBlockReading {
    /// A block of rows, and a minibatch.
    associatedtype Rows
    /// The rows an epoch visits.
    var rows: Int { get }
    /// Rows per block: a multiple of the file's chunk rows reads whole chunks.
    var blockRows: Int { get }
    /// Blocks read into the shuffling buffer at a time.
    var bufferBlocks: Int { get }
    /// The bytes the rows would take if read whole.
    var dataBytes: Int { get }
    /// Reads rows `range` (in the epoch's row numbering), checking them.
    func readBlock(_ range: Range<Int>) throws -> Rows
    /// How many rows `rows` holds.
    static func count(_ rows: Rows) -> Int
    /// The rows of `parts` one after another.
    static func stacking(_ parts: [Rows]) -> Rows
    /// The rows at `indices` of `rows`, in that order.
    static func gathering(_ indices: [Int], of rows: Rows) -> Rows
}

extension ShuffledBlockReading {
    /// Whether reading the rows whole would take more than half of the machine's memory: the trainers' cue to stream.
    public var exceedsHalfOfMemory: Bool { dataBytes > Int(ProcessInfo.processInfo.physicalMemory / 2) }

    /// One epoch: `body` gets every row once, in minibatches of `batchSize` rows (the last one smaller), in an order
    /// drawn from `generator`, which `body` may draw from too. Returning false from `body` ends the epoch early.
    public func forEachBatch(size batchSize: Int, using generator: inout SeededGenerator,
                             _ body: (Rows, inout SeededGenerator) throws -> Bool) throws {
        var pending: [Rows] = []  // rows carried over to the next buffer, so that batches stay full
        try forEachBuffer(size: batchSize, using: &generator) { plan, generator in
            let buffer = Self.stacking(pending + (try plan.blocks.map { try readBlock($0) }))
            for first in stride(from: 0, to: plan.emitted, by: batchSize) {
                guard try body(Self.gathering(Array(plan.order[first..<min(plan.emitted, first + batchSize)]), of: buffer), &generator) else {
                    return false
                }
            }
            pending = [Self.gathering(Array(plan.order[plan.emitted...]), of: buffer)]
            return true
        }
    }
}
