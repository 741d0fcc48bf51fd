import DataKit
import XCTest

final class MultiLabelRowReaderTests: XCTestCase {
    /// A small multilabel file: row i has features {i mod 7, 7 + i mod 5} with value i and labels {i mod 3} (none
    /// when i mod 10 = 0); split "odd" holds the odd rows in reverse (runs of one row), "head" rows 0..<60.
    func dataset(rows n: Int) throws -> MultiLabelDataset {
        var features = Matrix(rows: n, cols: 12), labels = Matrix(rows: n, cols: 3)
        for i in 0..<n {
            features[i, i % 7] = Float(i + 1)
            features[i, 7 + i % 5] = Float(i + 1)
            if i % 10 != 0 { labels[i, i % 3] = 1 }
        }
        return MultiLabelDataset(features: CSRMatrix(dense: features), labels: CSRMatrix(dense: labels),
                                 splits: [.init(name: "odd", rows: (0..<n).filter { $0 % 2 == 1 }.reversed().map(Int64.init)),
                                          .init(name: "head", rows: (0..<60).map(Int64.init))],
                                 sourceFormat: "test")
    }

    func write(_ data: MultiLabelDataset, dense: Bool) throws -> HDF5File {
        let path = try temporaryFolder(self) + "/ml.h5"
        let f = try HDF5File.create(path)
        try data.write(to: f, denseFeatures: dense, history: ["test"])
        try f.close()
        return try HDF5File.open(path)
    }

    /// Every row of the split once per epoch, features and labels together and intact, from CSR and from dense
    /// features alike; the label-only and feature-count reads agree with the rows.
    func testEverySplitRowOncePerEpoch() throws {
        let data = try dataset(rows: 203)
        for dense in [false, true] {
            let file = try write(data, dense: dense)
            for split in [nil, "odd", "head"] {
                let reader = try MultiLabelRowReader(file: file, split: split, blockRows: 16, bufferBlocks: 3)
                let expected = try data.rows(ofSplit: split, in: nil)
                XCTAssertEqual([reader.rows, reader.featureCount, reader.labelCount], [expected.features.rows, 12, 3])
                var seen: [Int] = []
                var g = SeededGenerator(seed: 3)
                try reader.forEachBatch(size: 10, using: &g) { batch, _ in
                    XCTAssertEqual(batch.features.rows, batch.labels.rows)
                    for r in 0..<batch.features.rows {
                        let row = Int(batch.features.row(r).values.first!) - 1  // the value names the row
                        XCTAssertEqual(Array(batch.features.row(r).indices), [Int64(row % 7), Int64(7 + row % 5)])
                        XCTAssertEqual(Array(batch.labels.row(r).indices), row % 10 == 0 ? [] : [Int64(row % 3)])
                        seen.append(row)
                    }
                    return true
                }
                let rows = split.map { name in data.splits.first { $0.name == name }!.rows.map { Int($0) } } ?? Array(0..<203)
                XCTAssertEqual(seen.sorted(), rows.sorted(), "split \(split ?? "all"), dense \(dense)")
                XCTAssertEqual(try reader.readLabels(0..<reader.rows), expected.labels)
                XCTAssertEqual(try reader.featureCounts(0..<reader.rows), [Int](repeating: 2, count: reader.rows))
            }
        }
    }

    func testRowRangesOfCSRGroupsAndBadSplits() throws {
        let data = try dataset(rows: 50)
        let file = try write(data, dense: false)
        XCTAssertEqual(try file.readCSRRows("/features", 13..<29), data.features.gatheringRows(Array(13..<29)))
        XCTAssertEqual(try file.readCSRRows("/labels", 50..<50).rows, 0)
        XCTAssertEqual(CSRMatrix.stacking([data.labels.gatheringRows([3, 4]), data.labels.gatheringRows([9])]),
                       data.labels.gatheringRows([3, 4, 9]))
        assertThrows(.badInput, containing: "/features has 50 rows, not 40..<51") { _ = try file.readCSRRows("/features", 40..<51) }
        assertThrows(.badInput, containing: "has no split 'test' (splits: head, odd)") {
            _ = try MultiLabelRowReader(file: file, split: "test")
        }
    }
}
