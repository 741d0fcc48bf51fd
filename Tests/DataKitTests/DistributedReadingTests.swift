import DataKit
import Distributed
import XCTest

/// What the ranks of an MPI job read (`RankShareReader`, run here by P threads swapping rows in process): their
/// shares (`ProcessGroup.share`) of the very minibatches one process streaming the file trains on, drawn alike; a
/// bad value fails only the rank whose share holds it.
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

    /// Every rank's shares of one epoch, as row numbers per batch, with the batches' sizes and the generator's next
    /// draw; or the rank's error.
    func shares(_ path: String, blockRows: Int, bufferBlocks: Int, batchSize: Int, ranks: Int, seed: UInt64)
        -> [Result<(rows: [[Int]], sizes: [Int], next: UInt64), Error>]
    {
        let job = InProcessExchange(ranks: ranks)
        return job.run { rank in
            let reader = try ShuffledRowReader(file: try HDF5File.open(path), blockRows: blockRows, bufferBlocks: bufferBlocks)
            var generator = SeededGenerator(seed: seed)
            var (rows, sizes): ([[Int]], [Int]) = ([], [])
            try RankShareReader(reader, rank: rank, of: ranks, exchange: { job.exchange(rank: rank, $0, $1) })
                .forEachShare(size: batchSize, using: &generator) { x, count, _ in
                    for i in 0..<x.rows where [x[i, 1], x[i, 2]] != [2 * x[i, 0], 3 * x[i, 0]] { throw SparseKitError.usage("row \(i) torn") }
                    rows.append((0..<x.rows).map { Int(x[$0, 0]) })
                    sizes.append(count)
                    return true
                }
            return (rows, sizes, generator.next())
        }
    }

    /// For P = 1, 2, 3, 7 the ranks' shares, put side by side in rank order, are the one-process batches (several
    /// buffers, rows carried over between them, a short last batch), each row whole, and every rank draws alike.
    func testTheSharesMakeUpTheOneProcessBatches() throws {
        let path = try numberedFile(rows: 1003)
        let reader = try ShuffledRowReader(file: try HDF5File.open(path), blockRows: 64, bufferBlocks: 3)
        var generator = SeededGenerator(seed: 4)
        var batches: [[Int]] = []
        try reader.forEachBatch(size: 50, using: &generator) { batch, _ in
            batches.append((0..<batch.rows).map { Int(batch[$0, 0]) })
            return true
        }
        let nextDraw = generator.next()
        XCTAssertEqual(batches.count, 21)
        for ranks in [1, 2, 3, 7] {
            var assembled = [[Int]](repeating: [], count: batches.count)
            for (rank, result) in shares(path, blockRows: 64, bufferBlocks: 3, batchSize: 50, ranks: ranks, seed: 4).enumerated() {
                let share = try result.get()
                XCTAssertEqual(share.sizes, batches.map(\.count))
                XCTAssertEqual(share.next, nextDraw, "the same draws (P = \(ranks), rank \(rank))")
                for k in batches.indices {
                    XCTAssertEqual(share.rows[k].count, ProcessGroup.share(of: batches[k].count, rank: rank, size: ranks).count)
                    assembled[k] += share.rows[k]
                }
            }
            XCTAssertEqual(assembled, batches, "P = \(ranks)")
        }
        var seen = 0
        try RankShareReader(reader, rank: 0, of: 1, exchange: { values, _ in values }).forEachShare(size: 50, using: &generator) { _, _, _ in
            seen += 1
            return seen < 3
        }
        XCTAssertEqual(seen, 3, "returning false ends the epoch")
    }

    /// A NaN fails the rank whose share holds it, naming the row, and only that rank (one buffer, so that the other
    /// rank does not wait for it in a second exchange).
    func testANaNFailsOnlyTheRankThatTrainsOnIt() throws {
        let path = try numberedFile(rows: 300, nanAt: 217)
        let results = shares(path, blockRows: 64, bufferBlocks: 8, batchSize: 16, ranks: 2, seed: 1)
        var failed = 0
        for case .failure(let error) in results {
            XCTAssertTrue("\(error)".contains("/data holds NaN at row 217"), "\(error)")
            failed += 1
        }
        XCTAssertEqual(failed, 1)
    }

    /// A multilabel file of `rows` rows: row i has features {i mod 7, 7 + i mod 5} with value i + 1 and label
    /// {i mod 3} (none when i mod 10 = 0); split "odd" holds the odd rows in reverse.
    func multilabelFile(rows n: Int, denseFeatures: Bool) throws -> String {
        var features = Matrix(rows: n, cols: 12), labels = Matrix(rows: n, cols: 3)
        for i in 0..<n {
            features[i, i % 7] = Float(i + 1)
            features[i, 7 + i % 5] = Float(i + 1)
            if i % 10 != 0 { labels[i, i % 3] = 1 }
        }
        let data = MultiLabelDataset(features: CSRMatrix(dense: features), labels: CSRMatrix(dense: labels),
                                     splits: [.init(name: "odd", rows: (0..<n).filter { $0 % 2 == 1 }.reversed().map(Int64.init))],
                                     sourceFormat: "test")
        let path = try temporaryFolder(self) + "/multilabel.h5"
        let f = try HDF5File.create(path)
        try data.write(to: f, denseFeatures: denseFeatures, history: ["test"])
        try f.close()
        return path
    }

    /// CSR rows (`MultiLabelRowReader`, features and labels): for P = 1, 2, 3 every rank's rows of every batch are
    /// the one-process batch's rows of its share (`ProcessGroup.share`), features and labels alike, and every rank
    /// draws alike. Buffers of 48 rows and batches of 10 or 7 carry rows over, so batches straddle buffers; the last
    /// batch of the odd split is 1 row (empty shares); CSR and dense stored features.
    func testCSRSharesAreTheOneProcessRowsOfEachShare() throws {
        for denseFeatures in [false, true] {
            let path = try multilabelFile(rows: 203, denseFeatures: denseFeatures)
            for (split, batchSize) in [(nil, 10), ("odd", 10), ("odd", 7)] as [(String?, Int)] {
                let reader = try MultiLabelRowReader(file: try HDF5File.open(path), split: split, blockRows: 16, bufferBlocks: 3)
                var generator = SeededGenerator(seed: 5)
                var batches: [MultiLabelRowReader.Rows] = []
                try reader.forEachBatch(size: batchSize, using: &generator) { batch, _ in
                    batches.append(batch)
                    return true
                }
                let nextDraw = generator.next()
                let label = "split \(split ?? "all"), batches of \(batchSize), dense features \(denseFeatures)"
                XCTAssertEqual(batches.count, (reader.rows + batchSize - 1) / batchSize, label)
                for ranks in [1, 2, 3] {
                    let job = InProcessExchange(ranks: ranks)
                    let results = job.run { rank in
                        let reader = try MultiLabelRowReader(file: try HDF5File.open(path), split: split, blockRows: 16, bufferBlocks: 3)
                        var generator = SeededGenerator(seed: 5)
                        var shares: [(rows: MultiLabelRowReader.Rows, size: Int)] = []
                        try RankShareReader(reader, rank: rank, of: ranks, exchange: job.rowExchange(rank: rank))
                            .forEachShare(size: batchSize, using: &generator) { rows, size, _ in
                                shares.append((rows, size))
                                return true
                            }
                        return (shares, generator.next())
                    }
                    for (rank, result) in results.enumerated() {
                        let (shares, next) = try result.get()
                        XCTAssertEqual(next, nextDraw, "the same draws: \(label), P = \(ranks), rank \(rank)")
                        XCTAssertEqual(shares.map(\.size), batches.map(\.features.rows), label)
                        for (k, batch) in batches.enumerated() where k < shares.count {
                            let share = ProcessGroup.share(of: batch.features.rows, rank: rank, size: ranks)
                            XCTAssertEqual(shares[k].rows, MultiLabelRowReader.gathering(Array(share), of: batch),
                                           "\(label), P = \(ranks), rank \(rank), batch \(k)")
                        }
                    }
                }
            }
        }
    }
}
