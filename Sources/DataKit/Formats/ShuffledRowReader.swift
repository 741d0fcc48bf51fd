import Foundation

/// The `/data` rows of a `patches` or `whitened` file as shuffled minibatches read straight from disk
/// (`ShuffledBlockReading`): blocks by hyperslab, every value checked finite (NaN or Inf named by row) and, if
/// asked, within a range.
public struct ShuffledRowReader: ShuffledBlockReading {
    public let file: HDF5File
    public let dataset: HDF5Dataset
    public let blockRows: Int
    public let bufferBlocks: Int
    /// Values outside this range are refused as they are read (e.g. 0...1 for Bernoulli data), naming the row.
    public var allowedRange: ClosedRange<Float>?

    public var rows: Int { dataset.shape[0] }
    public var cols: Int { dataset.shape[1] }
    /// The bytes of `/data` as float32: what reading it whole would hold in memory.
    public var dataBytes: Int {
        let (elements, overflow) = rows.multipliedReportingOverflow(by: cols)
        return overflow || elements > Int.max / 4 ? Int.max : elements * MemoryLayout<Float>.size
    }

    public init(file: HDF5File, blockRows: Int = 4096, bufferBlocks: Int = 16) throws {
        precondition(blockRows > 0 && bufferBlocks > 0, "ShuffledRowReader: empty blocks or buffer")
        self.file = file
        dataset = try file.patchRows(.patches, .whitened).data
        self.blockRows = blockRows
        self.bufferBlocks = bufferBlocks
    }

    public func readBlock(_ range: Range<Int>) throws -> Matrix {
        let block = try dataset.readFiniteRows(range)
        if let allowedRange, let k = block.storage.firstIndex(where: { !allowedRange.contains($0) }) {
            throw SparseKitError.badInput(file.path, "\(dataset.path) holds \(block.storage[k]) at row \(range.lowerBound + k / cols), "
                + "outside \(allowedRange.lowerBound)...\(allowedRange.upperBound)")
        }
        return block
    }

    public static func count(_ rows: Matrix) -> Int { rows.rows }

    public static func stacking(_ parts: [Matrix]) -> Matrix {
        Matrix(rows: parts.reduce(0) { $0 + $1.rows }, cols: parts.first?.cols ?? 0, storage: parts.flatMap(\.storage))
    }

    public static func gathering(_ indices: [Int], of rows: Matrix) -> Matrix { rows.gathering(indices) }
}
