import DataKit
import Foundation
import XCTest

/// The pieces of issue 16's workflow that live in DataKit: the default split rule, the schema `--like` takes from a
/// converted file, conversion against it, and the XC score-file export.
final class MultiLabelWorkflowTests: XCTestCase {
    func testDefaultSplitRule() throws {
        XCTAssertNil(try DefaultSplit.train.split(among: [], in: "x.h5"), "no splits: every row")
        XCTAssertEqual(try DefaultSplit.train.split(among: ["test", "train"], in: "x.h5"), "train")
        XCTAssertEqual(try DefaultSplit.test.split(among: ["test", "train"], in: "x.h5"), "test")
        assertThrows(.usage, containing: "x.h5: has splits a, b but none named 'test'; choose the rows with --split NAME, or --split all") {
            _ = try DefaultSplit.test.split(among: ["a", "b"], in: "x.h5")
        }
    }

    /// A file converted tiny.arff's way, written with its names and splits.
    func converted(_ folder: String) throws -> String {
        var job = ConvertJob(inputs: [Fixtures.path("multilabel/tiny.arff")], output: folder + "/tiny.h5", format: .arff)
        job.xml = Fixtures.path("multilabel/tiny.xml")
        _ = try job.run()
        return folder + "/tiny.h5"
    }

    func testSchemaAndDefaultSplitOfAConvertedFile() throws {
        let folder = try temporaryFolder(self)
        let path = try converted(folder)
        let schema = try MultiLabelSchema.read(path: path)
        XCTAssertEqual([schema.featureCount, schema.labelCount], [5, 3])
        XCTAssertEqual(schema.labelNames, ["lab A", "lab_b", "lab_c"])
        XCTAssertEqual(schema.featureNames, ["f0", "f 1", "f2", "f3", "f4"])
        XCTAssertNil(try DefaultSplit.train.split(in: try HDF5File.open(path)), "converted alone: no splits")
    }

    /// An ARFF file converted `--like` a training file: labels found by the training file's names without the XML,
    /// features by name (in another order here), the training file's counts and names kept.
    func testARFFConvertedLikeATrainingFileMapsAttributesByName() throws {
        let folder = try temporaryFolder(self)
        let train = try MultiLabelSchema.read(path: try converted(folder))
        let original = try String(contentsOfFile: Fixtures.path("multilabel/tiny.arff"), encoding: .utf8)
        // f0 and "f3" swap places: sparse indices 0 and 3 swap with them.
        let swapped = folder + "/swapped.arff"
        try original.replacingOccurrences(of: "@attribute f0 numeric", with: "@attribute TMP numeric")
            .replacingOccurrences(of: "@attribute \"f3\" numeric", with: "@attribute f0 numeric")
            .replacingOccurrences(of: "@attribute TMP numeric", with: "@attribute \"f3\" numeric")
            .replacingOccurrences(of: "{0 0.5,3 1.25,6 1,7 1}", with: "{0 1.25,3 0.5,6 1,7 1}")
            .write(toFile: swapped, atomically: true, encoding: .utf8)
        var job = ConvertJob(inputs: [swapped], output: folder + "/out.h5", format: .arff)
        job.like = train
        let data = try job.read()
        XCTAssertEqual(data.labelNames, train.labelNames)
        XCTAssertEqual(data.featureNames, train.featureNames)
        let row = data.features.row(0)
        XCTAssertEqual(Array(row.indices), [0, 3])
        XCTAssertEqual(Array(row.values), [0.5, 1.25], "f0 = 0.5 and f3 = 1.25 as in the training file's columns")

        job.xml = Fixtures.path("multilabel/tiny.xml")
        XCTAssertEqual(try job.read().labels, data.labels, "an XML naming the same labels changes nothing")
        var other = train
        other.labelNames = ["lab A", "lab_b", "lab_d"]
        job.like = other
        assertThrows(.badInput, containing: "tiny.xml: names other labels than") { _ = try job.read() }
        job.xml = nil
        assertThrows(.badInput, containing: "swapped.arff: label 'lab_d' from") { _ = try job.read() }
    }

    func testLibSVMConvertedLikeATrainingFileTakesItsCounts() throws {
        let folder = try temporaryFolder(self)
        let path = folder + "/t.svm"
        try "0 1:1\n".write(toFile: path, atomically: true, encoding: .utf8)
        var job = ConvertJob(inputs: [path], output: folder + "/t.h5", format: .libsvm)
        job.like = MultiLabelSchema(path: "train.h5", featureCount: 9, labelCount: 4, featureNames: nil, labelNames: ["a", "b", "c", "d"])
        let data = try job.read()
        XCTAssertEqual([data.features.cols, data.labels.cols], [9, 4])
        XCTAssertEqual(data.labelNames, ["a", "b", "c", "d"])
        job.like?.featureCount = 1
        assertThrows(.badInput, containing: "t.svm: line 1: feature index 1 is not below the feature count 1 of train.h5 (--like)") {
            _ = try job.read()
        }
    }

    /// The XC score file: header N C, each row's label:score pairs best first (ties by label), empty rows empty.
    func testScoresExportAsXCScoreFile() throws {
        let folder = try temporaryFolder(self)
        let scores = try CSRMatrix(rows: 3, cols: 5, indptr: [0, 3, 3, 5], indices: [0, 2, 4, 1, 3], values: [0.25, 1.5, 0.25, -1, 2])
        try TextExport.writeScores(scores, to: folder + "/s.txt")
        XCTAssertEqual(try String(contentsOfFile: folder + "/s.txt", encoding: .utf8), "3 5\n2:1.5 0:0.25 4:0.25\n\n3:2 1:-1\n")
    }
}
