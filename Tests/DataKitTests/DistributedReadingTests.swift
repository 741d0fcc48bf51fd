import DataKit
import Distributed
import XCTest

/// What the ranks of an MPI job read: the one-process minibatches as row numbers (`RowSchedule`), their shares
/// (`ProcessGroup.share`), and those rows read from the file (`ScatteredRowReader`).
final class DistributedReadingTests: XCTestCase {
    /// A patches file whose row i holds (i, 2i, 3i), chunked and compressed (64-row chunks).
    func numberedFile(rows: Int) throws -> String {
        let path = try temporaryFolder(self) + "/numbered.h5"
        let x = Matrix(rows: rows, cols: 3, storage: (0..<rows).flatMap { i in [Float(i), Float(2 * i), Float(3 * i)] })
        let f = try HDF5File.create(path)
        try f.write(x, to: "/data", layout: DatasetLayout(chunkRows: 64, extendable: true))
        try f.writeHeader(kind: .patches, history: ["test"])
        try f.close()
        return path
    }

    /// The schedule draws what the reader draws and yields its batches; each share, read by row number, holds those
    /// rows in that order, and the shares of P ranks make up the batch.
    func testTheScheduleAndTheSharesGiveTheReadersBatches() throws {
        let file = try HDF5File.open(try numberedFile(rows: 1003))
        let reader = try ShuffledRowReader(file: file, blockRows: 64, bufferBlocks: 3)
        let rows = try ScatteredRowReader(file: file, cacheBytes: 1 << 20)
        var (g1, g2) = (SeededGenerator(seed: 4), SeededGenerator(seed: 4))
        var read: [[Int]] = [], scheduled: [[Int]] = []
        try reader.forEachBatch(size: 50, using: &g1) { batch, _ in
            read.append((0..<batch.rows).map { Int(batch[$0, 0]) })
            return true
        }
        try RowSchedule(of: reader).forEachBatch(size: 50, using: &g2) { batch, _ in
            scheduled.append(batch)
            for size in [1, 2, 3, 7] {
                var pieces: [Int] = []
                for rank in 0..<size {
                    let share = Array(batch[ProcessGroup.share(of: batch.count, rank: rank, size: size)])
                    let x = try rows.read(share)
                    XCTAssertEqual(x.rows, share.count)
                    for i in 0..<x.rows { XCTAssertEqual([x[i, 0], x[i, 1], x[i, 2]], [Float(share[i]), Float(2 * share[i]), Float(3 * share[i])]) }
                    pieces += share
                }
                XCTAssertEqual(pieces, batch, "P = \(size)")
            }
            return true
        }
        XCTAssertEqual(scheduled, read)
        XCTAssertEqual(g1.next(), g2.next(), "the same draws")
        XCTAssertEqual(try rows.read([]).rows, 0)
    }
}
