/// The order in which `ShuffledBlockReading.forEachBatch` visits rows, without reading any: its minibatches as row
/// numbers. Drawing the same numbers from the generator as a reader of the same shape (`rows`, `blockRows`,
/// `bufferBlocks`), it yields the very minibatches that reader would, so that the ranks of an MPI job can each read
/// only their share of every global minibatch (`ScatteredRowReader`) and still train on the one-process batches.
public struct RowSchedule: ShuffledBlockReading {
    public let rows: Int
    public let blockRows: Int
    public let bufferBlocks: Int

    /// The schedule of `reader`'s epochs.
    public init<R: ShuffledBlockReading>(of reader: R) {
        (rows, blockRows, bufferBlocks) = (reader.rows, reader.blockRows, reader.bufferBlocks)
    }

    /// Row numbers take no memory worth counting.
    public var dataBytes: Int { 0 }

    public func readBlock(_ range: Range<Int>) throws -> [Int] { Array(range) }

    public static func count(_ rows: [Int]) -> Int { rows.count }

    public static func stacking(_ parts: [[Int]]) -> [Int] { parts.flatMap { $0 } }

    public static func gathering(_ indices: [Int], of rows: [Int]) -> [Int] { indices.map { rows[$0] } }
}
