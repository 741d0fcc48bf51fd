import DataKit
import XCTest

final class ShuffledRowReaderTests: XCTestCase {
    /// A patches file whose row i holds (i, 2i, 3i), so every batch row names its source row.
    func numberedFile(rows: Int, poison: Int? = nil) throws -> String {
        let path = try temporaryFolder(self) + "/numbered.h5"
        var x = Matrix(rows: rows, cols: 3, storage: (0..<rows).flatMap { i in [Float(i), Float(2 * i), Float(3 * i)] })
        if let poison { x[poison, 1] = .nan }
        let f = try HDF5File.create(path)
        try f.write(x, to: "/data")
        try f.writeHeader(kind: .patches, history: ["test"])
        try f.close()
        return path
    }

    /// Every row once per epoch, rows intact, full batches but the last, blocks mixed within a batch; the same seed
    /// gives the same order, the next epoch another one.
    func testEveryRowOncePerEpochInShuffledFullBatches() throws {
        let reader = try ShuffledRowReader(file: try HDF5File.open(try numberedFile(rows: 1003)), blockRows: 64, bufferBlocks: 3)
        XCTAssertEqual([reader.rows, reader.cols, reader.dataBytes], [1003, 3, 1003 * 12])
        func epoch(_ generator: inout SeededGenerator) throws -> [[Int]] {
            var batches: [[Int]] = []
            try reader.forEachBatch(size: 50, using: &generator) { batch, _ in
                for i in 0..<batch.rows { XCTAssertEqual([batch[i, 1], batch[i, 2]], [2 * batch[i, 0], 3 * batch[i, 0]]) }
                batches.append((0..<batch.rows).map { Int(batch[$0, 0]) })
                return true
            }
            return batches
        }
        var g = SeededGenerator(seed: 1)
        let first = try epoch(&g), second = try epoch(&g)
        for batches in [first, second] {
            XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<1003))
            XCTAssertEqual(batches.dropLast().map(\.count), [Int](repeating: 50, count: 20))
            XCTAssertEqual(batches.last!.count, 3)
            XCTAssertGreaterThan(Set(batches[0].map { $0 / 64 }).count, 1, "a batch mixes the blocks in its buffer")
        }
        XCTAssertNotEqual(first, second, "each epoch draws a new order")
        var again = SeededGenerator(seed: 1)
        XCTAssertEqual(try epoch(&again), first, "same seed, same order")
        var stopped = 0
        try reader.forEachBatch(size: 10, using: &g) { _, _ in stopped += 1; return stopped < 4 }
        XCTAssertEqual(stopped, 4, "returning false ends the epoch")
    }

    func testNonFiniteValuesAndWrongKindsAreNamed() throws {
        let reader = try ShuffledRowReader(file: try HDF5File.open(try numberedFile(rows: 300, poison: 217)), blockRows: 32)
        var g = SeededGenerator(seed: 2)
        assertThrows(.badInput, containing: "/data holds NaN at row 217") { try reader.forEachBatch(size: 16, using: &g) { _, _ in true } }
        let path = try temporaryFolder(self) + "/model.h5"
        let f = try HDF5File.create(path)
        try f.writeHeader(kind: .model, history: [])
        try f.close()
        assertThrows(.badInput, containing: "is a 'model' file; expected patches or whitened") {
            _ = try ShuffledRowReader(file: try HDF5File.open(path))
        }
    }
}
