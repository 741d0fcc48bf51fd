import DataKit
import Distributed
import XCTest

/// What the ranks of an MPI job read (`RankShareReader`): their shares (`ProcessGroup.share`) of the very
/// minibatches one process streaming the file trains on, drawn alike, read once per buffer; a bad value fails only
/// the rank whose share holds it.
final class DistributedReadingTests: XCTestCase {
    /// A patches file whose row i holds (i, 2i, 3i), chunked and compressed (64-row chunks).
    func numberedFile(rows: Int, nanAt: Int? = nil) throws -> String {
        let path = try temporaryFolder(self) + "/numbered.h5"
        var x = Matrix(rows: rows, cols: 3, storage: (0..<rows).flatMap { i in [Float(i), Float(2 * i), Float(3 * i)] })
        if let nanAt { x[nanAt, 1] = .nan }
        let f = try HDF5File.create(path)
        try f.write(x, to: "/data", layout: DatasetLayout(chunkRows: 64, extendable: true))
        try f.writeHeader(kind: .patches, history: ["test"])
        try f.close()
        return path
    }

    /// The batches one process reads, as row numbers.
    func oneProcessBatches(_ reader: ShuffledRowReader, size: Int, seed: UInt64) throws -> ([[Int]], UInt64) {
        var generator = SeededGenerator(seed: seed)
        var read: [[Int]] = []
        try reader.forEachBatch(size: size, using: &generator) { batch, _ in
            read.append((0..<batch.rows).map { Int(batch[$0, 0]) })
            return true
        }
        return (read, generator.next())
    }

    /// For P = 1, 2, 3, 7 the ranks' shares, put side by side in rank order, are the one-process batches (several
    /// buffers, rows carried over between them, a short last batch), each row whole, and every rank draws alike.
    func testTheSharesMakeUpTheOneProcessBatches() throws {
        let file = try HDF5File.open(try numberedFile(rows: 1003))
        let reader = try ShuffledRowReader(file: file, blockRows: 64, bufferBlocks: 3)
        let (batches, nextDraw) = try oneProcessBatches(reader, size: 50, seed: 4)
        XCTAssertEqual(batches.count, 21)
        for size in [1, 2, 3, 7] {
            var assembled = [[Int]](repeating: [], count: batches.count)
            for rank in 0..<size {
                var generator = SeededGenerator(seed: 4)
                var k = 0
                try RankShareReader(reader).forEachShare(size: 50, share: { ProcessGroup.share(of: $0, rank: rank, size: size) },
                                                         using: &generator) { x, count, _ in
                    XCTAssertEqual(count, batches[k].count)
                    XCTAssertEqual(x.rows, ProcessGroup.share(of: count, rank: rank, size: size).count)
                    for i in 0..<x.rows { XCTAssertEqual([2 * x[i, 0], 3 * x[i, 0]], [x[i, 1], x[i, 2]]) }
                    assembled[k] += (0..<x.rows).map { Int(x[$0, 0]) }
                    k += 1
                    return true
                }
                XCTAssertEqual(generator.next(), nextDraw, "the same draws (P = \(size), rank \(rank))")
            }
            XCTAssertEqual(assembled, batches, "P = \(size)")
        }
        var (generator, seen) = (SeededGenerator(seed: 4), 0)
        try RankShareReader(reader).forEachShare(size: 50, share: { 0..<$0 }, using: &generator) { _, _, _ in seen += 1; return seen < 3 }
        XCTAssertEqual(seen, 3, "returning false ends the epoch")
    }

    /// A NaN fails the rank whose share holds it, naming the row, and only that rank.
    func testANaNFailsOnlyTheRankThatTrainsOnIt() throws {
        let file = try HDF5File.open(try numberedFile(rows: 300, nanAt: 217))
        let reader = try ShuffledRowReader(file: file, blockRows: 64, bufferBlocks: 2)
        var failed: [Int] = []
        for rank in 0..<2 {
            var generator = SeededGenerator(seed: 1)
            do {
                try RankShareReader(reader).forEachShare(size: 16, share: { ProcessGroup.share(of: $0, rank: rank, size: 2) },
                                                         using: &generator) { _, _, _ in true }
            } catch let error as SparseKitError {
                XCTAssertTrue("\(error)".contains("/data holds NaN at row 217"), "\(error)")
                failed.append(rank)
            }
        }
        XCTAssertEqual(failed.count, 1)
    }
}
