import DataKit
import XCTest

final class MultiLabelFormatTests: XCTestCase {
    let tinyFeatures: [[Int: Float]] = [[0: 0.5, 3: 1.25], [1: 2, 4: -0.125], [:], [0: 0.001, 2: 3.5, 4: 7]]
    let tinyLabels: [Set<Int>] = [[0, 2], [], [1], [0, 1, 2]]

    func job(_ inputs: [String], _ format: ConvertJob.Format, configure: (inout ConvertJob) -> Void = { _ in }) -> ConvertJob {
        var job = ConvertJob(inputs: inputs, output: "/dev/null", format: format)
        configure(&job)
        return job
    }

    func assertTiny(_ d: MultiLabelDataset, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual([d.features.rows, d.features.cols, d.labels.cols], [4, 5, 3], file: file, line: line)
        for i in 0..<4 {
            let (fi, fv) = d.features.row(i)
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: zip(fi.map(Int.init), fv)), tinyFeatures[i], file: file, line: line)
            XCTAssertEqual(Set(d.labels.row(i).indices.map(Int.init)), tinyLabels[i], file: file, line: line)
        }
        XCTAssertTrue(d.labels.values.allSatisfy { $0 == 1 }, file: file, line: line)
    }

    func testTheSameDataInEveryFormatConvertsIdentically() throws {
        let xc = try job([Fixtures.path("multilabel/tiny.xc")], .xc).read()
        let svm = try job([Fixtures.path("multilabel/tiny-one-based.svm")], .libsvm) { $0.oneBased = true }.read()
        let arff = try job([Fixtures.path("multilabel/tiny.arff")], .arff) { $0.xml = Fixtures.path("multilabel/tiny.xml") }.read()
        let dense = try job([Fixtures.path("multilabel/tiny-dense-crlf.arff")], .arff) {
            $0.xml = Fixtures.path("multilabel/tiny.xml")
        }.read()
        for d in [xc, svm, arff, dense] { assertTiny(d) }
        XCTAssertEqual(xc.features, arff.features)
        XCTAssertEqual(svm.labels, dense.labels)
        XCTAssertEqual(arff.labelNames, ["lab A", "lab_b", "lab_c"], "XML order; nested labels flattened")
        XCTAssertEqual(arff.featureNames, ["f0", "f 1", "f2", "f3", "f4"], "quoted names unquoted")
    }

    /// The published statistics of the Mulan datasets (points, features, labels, label cardinality).
    func testMulanDatasetsHaveTheirPublishedStatistics() throws {
        func convert(_ name: String, folder: String) throws -> MultiLabelDataset {
            try job(["\(folder)/\(name)-train.arff", "\(folder)/\(name)-test.arff"], .arff) { $0.xml = "\(folder)/\(name).xml" }.read()
        }
        let fixtures = Fixtures.path("multilabel")
        for (name, n, f, c, cardinality, train) in [("emotions", 593, 72, 6, 1.869, 391), ("medical", 978, 1449, 45, 1.245, 333)] {
            let d = try convert(name, folder: fixtures)
            XCTAssertEqual([d.pointCount, d.features.cols, d.labels.cols], [n, f, c], name)
            XCTAssertEqual(Double(d.labels.nonZeros) / Double(n), cardinality, accuracy: 1e-3, name)  // published to 3 decimals
            XCTAssertEqual(d.splits.map(\.name), ["train", "test"])
            XCTAssertEqual(d.splits[0].rows.count, train)
        }
        let shared = Fixtures.root.deletingLastPathComponent().appendingPathComponent("shared/data/multilabel/bibtex").path
        guard FileManager.default.fileExists(atPath: shared) else {
            throw XCTSkip("../shared/data/multilabel/bibtex is absent; bibtex statistics not checked")
        }
        let bibtex = try convert("bibtex", folder: shared)
        XCTAssertEqual([bibtex.pointCount, bibtex.features.cols, bibtex.labels.cols], [7395, 1836, 159])
        XCTAssertEqual(Double(bibtex.labels.nonZeros) / 7395, 2.402, accuracy: 1e-3)
        XCTAssertEqual(bibtex.splits.map { $0.rows.count }, [4880, 2515])
    }

    func testMEKALabelCountInTheRelation() throws {
        let folder = try temporaryFolder(self)
        // The tiny dataset with its labels first (-C 3) and last (-C -3), in MEKA's convention.
        let first = """
            @relation 'tiny: -C 3'
            @attribute A {0,1}
            @attribute B {0,1}
            @attribute C {0,1}
            @attribute f0 numeric
            @attribute f1 numeric
            @attribute f2 numeric
            @attribute f3 numeric
            @attribute f4 numeric
            @data
            1,0,1,0.5,0,0,1.25,0
            0,0,0,0,2,0,0,-0.125
            0,1,0,0,0,0,0,0
            1,1,1,0.001,0,3.5,0,7
            """
        _ = FileManager.default.createFile(atPath: folder + "/first.arff", contents: Data(first.utf8))
        let last = """
            @relation "tiny: -C -3"
            @attribute f0 numeric
            @attribute f1 numeric
            @attribute f2 numeric
            @attribute f3 numeric
            @attribute f4 numeric
            @attribute A {0,1}
            @attribute B {0,1}
            @attribute C {0,1}
            @data
            {0 0.5,3 1.25,5 1,7 1}
            {1 2,4 -0.125}
            {6 1}
            {0 0.001,2 3.5,4 7,5 1,6 1,7 1}
            """
        _ = FileManager.default.createFile(atPath: folder + "/last.arff", contents: Data(last.utf8))
        for name in ["first", "last"] {
            let d = try job([folder + "/\(name).arff"], .arff).read()
            assertTiny(d)
            XCTAssertEqual(d.labelNames, ["A", "B", "C"], name)
        }
        // Neither an XML nor a MEKA relation: a usage error saying what to give.
        _ = FileManager.default.createFile(atPath: folder + "/plain.arff", contents: Data("@relation x\n@attribute a numeric\n@data\n1\n".utf8))
        assertThrows(.usage, containing: "give --xml") { _ = try job([folder + "/plain.arff"], .arff).read() }
    }

    /// Writes `text` to a file and expects conversion to fail with `fragment` (file name and line number included).
    func assertRejects(_ text: String, _ format: ConvertJob.Format, _ fragment: String, file: StaticString = #filePath,
                       line: UInt = #line, configure: (inout ConvertJob) -> Void = { _ in }) throws
    {
        let path = try temporaryFolder(self) + "/bad." + format.rawValue
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        assertThrows(.badInput, containing: "bad.\(format.rawValue): " + fragment, file: file, line: line) {
            _ = try job([path], format, configure: configure).read()
        }
    }

    func testMalformedXCAndLIBSVMLinesNameTheirLine() throws {
        try assertRejects("2 5 3\n0 1:0.5\n1 2-0.5\n", .xc, "line 3: bad feature 'f:v' (no ':' after 2)")
        try assertRejects("2 5 3\n0 1:0.5\n1 7:0.5\n", .xc, "line 3: feature index 7 is not below the feature count 5")
        try assertRejects("1 5 3\n0 1:abc\n", .xc, "line 2: feature 1 has a non-numeric value")
        try assertRejects("1 5 3\n0 1:nan\n", .xc, "line 2: feature 1 has a non-numeric value")
        try assertRejects("1 5 3\n0 1:1e99\n", .xc, "line 2: feature 1 has a non-finite value")
        try assertRejects("1 5\n0 1:0.5\n", .xc, "line 1: header must be three numbers 'N F C', found 2")
        try assertRejects("1 5 3\n3 1:0.5\n", .xc, "line 2: label index 3 is not below the label count 3")
        try assertRejects("1 5 3\n0 3:1 1:2\n", .xc, "line 2: features: indices are not increasing (3 then 1)")
        try assertRejects("1 5 3\n0 1:1 1:2\n", .xc, "line 2: features: index 1 appears twice")
        try assertRejects("1 5 3\n0,x 1:1\n", .xc, "line 2: bad label list")
        try assertRejects("3 5 3\n0 1:1\n1 2:1\n", .xc, "header declares 3 points but the file holds 2 (truncated?)")
        try assertRejects("1 5 3\n0 1:1\n1 2:1\n", .xc, "line 3: more points than the header's 1")
        try assertRejects("", .xc, "is empty")
        try assertRejects("0 0:1\n", .libsvm, "line 1: feature index 0 is below the base 1") { $0.oneBased = true }
        try assertRejects("0 1:1\n1 9:1\n", .libsvm, "line 2: feature index 9 is not below the feature count 5") {
            $0.featureCount = 5
        }
        try assertRejects("", .libsvm, "holds no points (empty file)")
    }

    func testSortIndicesSortsAndSums() throws {
        let path = try temporaryFolder(self) + "/unsorted.xc"
        _ = FileManager.default.createFile(atPath: path, contents: Data("1 5 3\n2,0,2 3:1 1:2 3:0.5\n".utf8))
        let d = try job([path], .xc) { $0.sortIndices = true }.read()
        XCTAssertEqual(d.features.dense().storage, [0, 2, 0, 1.5, 0])
        XCTAssertEqual(Array(d.labels.row(0).indices), [0, 2])
    }

    func testLIBSVMDimensionsAreInferredOrGiven() throws {
        let path = Fixtures.path("multilabel/tiny-one-based.svm")
        let given = try job([path], .libsvm) { $0.oneBased = true; $0.featureCount = 9; $0.labelCount = 4 }.read()
        XCTAssertEqual([given.features.cols, given.labels.cols], [9, 4])
        let zeroBased = try job([path], .libsvm).read()
        XCTAssertEqual(zeroBased.features.cols, 6, "read as zero-based, index 5 is the sixth feature")
    }

    func testMalformedARFF() throws {
        let header = "@relation r\n@attribute a numeric\n@attribute 'l 1' {0,1}\n@attribute l2 {0,1}\n@data\n"
        let xml = try temporaryFolder(self) + "/labels.xml"
        _ = FileManager.default.createFile(atPath: xml, contents: Data("<labels><label name=\"l 1\"></label><label name=\"l2\"/></labels>".utf8))
        let withXML: (inout ConvertJob) -> Void = { $0.xml = xml }
        try assertRejects(header + "1,0,1\n2,1\n", .arff, "line 7: row has 2 values, the header declares 3", configure: withXML)
        try assertRejects(header + "1,0,1,5\n", .arff, "line 6: row has more than the 3 values", configure: withXML)
        try assertRejects(header + "x,0,1\n", .arff, "line 6: 'a' has non-numeric value 'x'", configure: withXML)
        try assertRejects(header + "?,0,1\n", .arff, "line 6: missing value '?' for 'a'", configure: withXML)
        try assertRejects(header + "1,2,1\n", .arff, "line 6: 'l 1' has value 2.0, not one of {0,1}", configure: withXML)
        try assertRejects(header + "{0 1,2 1\n", .arff, "line 6: sparse row has no closing '}' (truncated?)", configure: withXML)
        try assertRejects(header + "{2 1,0 1}\n", .arff, "line 6: sparse indices are not increasing (2 then 0)", configure: withXML)
        try assertRejects(header + "{7 1}\n", .arff, "line 6: attribute index 7 is out of range (3 attributes)", configure: withXML)
        try assertRejects("@relation r\n@attribute a string\n@data\n", .arff, "line 2: attribute 'a' has type 'string'",
                          configure: withXML)
        try assertRejects("@relation r\n@attribute a numeric\n", .arff, "ends before @data (truncated?)", configure: withXML)
        try assertRejects(header, .arff, "holds no data rows", configure: withXML)
        let missingLabel = try temporaryFolder(self) + "/other.xml"
        _ = FileManager.default.createFile(atPath: missingLabel, contents: Data("<labels><label name=\"l3\"></label></labels>".utf8))
        try assertRejects(header + "1,0,1\n", .arff, "label 'l3' from \(missingLabel) is not an attribute of the data") {
            $0.xml = missingLabel
        }
        // '?' as 0 when asked.
        let path = try temporaryFolder(self) + "/missing.arff"
        _ = FileManager.default.createFile(atPath: path, contents: Data((header + "?,1,0\n").utf8))
        let d = try job([path], .arff) { $0.xml = xml; $0.missing = .zero }.read()
        XCTAssertEqual(d.features.nonZeros, 0)
        XCTAssertEqual(Array(d.labels.row(0).indices), [0])
    }

    func testExportAndReimportIsLossless() throws {
        let folder = try temporaryFolder(self)
        // Awkward values: many digits, tiny and huge magnitudes, negative zero excluded (not stored in CSR).
        var g = SeededGenerator(seed: 2)
        var text = "50 1000 20\n"
        for _ in 0..<50 {
            let labels = Set((0..<g.below(4)).map { _ in g.below(20) }).sorted()
            let features = Set((0..<g.below(30)).map { _ in g.below(1000) }).sorted()
            text += labels.map(String.init).joined(separator: ",")
            for (k, f) in features.enumerated() {
                let value = Float(g.normal()) * [1e-7, 1, 1e6][g.below(3)]
                text += (k == 0 && labels.isEmpty ? "" : " ") + "\(f):\(value)"
            }
            text += "\n"
        }
        _ = FileManager.default.createFile(atPath: folder + "/a.xc", contents: Data(text.utf8))
        let original = try job([folder + "/a.xc"], .xc).read()
        for (format, oneBased) in [(TextExport.Format.xc, false), (.libsvm, false), (.libsvm, true)] {
            let path = folder + "/b.\(format.rawValue)"
            try TextExport.write(original, format: format, oneBased: oneBased, to: path)
            let again = try job([path], format == .xc ? .xc : .libsvm) {
                $0.oneBased = oneBased; $0.featureCount = 1000; $0.labelCount = 20
            }.read()
            XCTAssertEqual(again.features, original.features, "\(format) one-based \(oneBased)")
            XCTAssertEqual(again.labels, original.labels)
        }
    }

    func testSplitFilesAndHDF5RoundTrip() throws {
        let folder = try temporaryFolder(self)
        _ = FileManager.default.createFile(atPath: folder + "/x_trSplit.txt", contents: Data("1 2\n3 4\n".utf8))
        let d = try job([Fixtures.path("multilabel/tiny.xc")], .xc) {
            $0.splitFiles = [folder + "/x_trSplit.txt"]; $0.splitColumn = 2
        }.read()
        XCTAssertEqual(d.splits, [.init(name: "train", rows: [1, 3])])
        let path = folder + "/d.h5"
        do {
            let f = try HDF5File.create(path)
            try d.write(to: f, history: ["test"])
            try f.close()
        }
        XCTAssertTrue(try MultiLabelDataset.read(from: try HDF5File.open(path)) == d, "HDF5 round trip")
        assertThrows(.badInput, containing: "--split-column 3 does not exist") {
            _ = try job([Fixtures.path("multilabel/tiny.xc")], .xc) { $0.splitFiles = [folder + "/x_trSplit.txt"]; $0.splitColumn = 3 }.read()
        }
    }
}

import Foundation
