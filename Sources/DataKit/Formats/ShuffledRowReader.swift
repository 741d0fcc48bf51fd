import Foundation

/// Minibatches of a `patches` or `whitened` file's `/data` rows read straight from disk, for training on files larger
/// than memory: each epoch visits the dataset's blocks of `blockRows` consecutive rows in a shuffled order, reads
/// `bufferBlocks` of them at a time by hyperslab, shuffles the rows within that buffer, and hands out minibatches
/// from it. At most `bufferBlocks × blockRows + batchSize` rows are in memory, whatever the file's size; every row is
/// visited once per epoch. Every value read is checked finite (NaN or Inf named by row).
public struct ShuffledRowReader {
    public let file: HDF5File
    public let dataset: HDF5Dataset
    /// Rows per block: a multiple of the file's chunk rows reads whole chunks.
    public let blockRows: Int
    /// Blocks read into the shuffling buffer at a time.
    public let bufferBlocks: Int
    /// Values outside this range are refused as they are read (e.g. 0...1 for Bernoulli data), naming the row.
    public var allowedRange: ClosedRange<Float>?

    public var rows: Int { dataset.shape[0] }
    public var cols: Int { dataset.shape[1] }
    /// The bytes of `/data` as float32: what reading it whole would hold in memory.
    public var dataBytes: Int { rows * cols * MemoryLayout<Float>.size }
    /// Whether reading `/data` whole would take more than half of the machine's memory: the trainers' cue to stream.
    public var exceedsHalfOfMemory: Bool { dataBytes > Int(ProcessInfo.processInfo.physicalMemory / 2) }

    public init(file: HDF5File, blockRows: Int = 4096, bufferBlocks: Int = 16) throws {
        precondition(blockRows > 0 && bufferBlocks > 0, "ShuffledRowReader: empty blocks or buffer")
        _ = try file.requireKind(.patches, .whitened)
        self.file = file
        dataset = try file.dataMatrixDataset()
        self.blockRows = blockRows
        self.bufferBlocks = bufferBlocks
    }

    /// One epoch: `body` gets every row once, in minibatches of `batchSize` rows (the last one smaller), in an order
    /// drawn from `generator`, which `body` may draw from too. Returning false from `body` ends the epoch early.
    public func forEachBatch(size batchSize: Int, using generator: inout SeededGenerator,
                             _ body: (Matrix, inout SeededGenerator) throws -> Bool) throws {
        precondition(batchSize > 0, "forEachBatch: empty batches")
        let d = cols
        var blocks = Array(stride(from: 0, to: rows, by: blockRows))
        blocks.shuffle(using: &generator)
        var pending: [Float] = []  // rows carried over to the next buffer, so that batches stay full
        pending.reserveCapacity((bufferBlocks * blockRows + batchSize) * d)
        for group in stride(from: 0, to: blocks.count, by: bufferBlocks) {
            var buffer = pending
            for start in blocks[group..<min(blocks.count, group + bufferBlocks)] {
                let count = min(blockRows, rows - start), offset = buffer.count
                buffer.append(contentsOf: repeatElement(0, count: count * d))
                try buffer.withUnsafeMutableBufferPointer { all in
                    let block = UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + count * d)])
                    try dataset.readRows(start, count: count, into: block)
                    try requireFinite(UnsafeBufferPointer(block), rowLength: d, firstRow: start, file: file.path, dataset: dataset.path)
                    if let range = allowedRange, let k = block.firstIndex(where: { !range.contains($0) }) {
                        throw SparseKitError.badInput(file.path, "\(dataset.path) holds \(block[k]) at row \(start + k / d), "
                            + "outside \(range.lowerBound)...\(range.upperBound)")
                    }
                }
            }
            let bufferedRows = buffer.count / d
            var order = Array(0..<bufferedRows)
            order.shuffle(using: &generator)
            let isLast = group + bufferBlocks >= blocks.count
            let emitted = isLast ? bufferedRows : bufferedRows / batchSize * batchSize
            let matrix = Matrix(rows: bufferedRows, cols: d, storage: buffer)
            for first in stride(from: 0, to: emitted, by: batchSize) {
                guard try body(matrix.gathering(Array(order[first..<min(emitted, first + batchSize)])), &generator) else { return }
            }
            pending = matrix.gathering(Array(order[emitted...])).storage
        }
    }
}
