import DataKit
import Models
import XCTest

/// sk-convert → sk-train sdlgm → sk-eval on a real Mulan dataset, as a user chains them.
final class SDLGMToolTests: XCTestCase {
    func testSupervisedPipelineOnMedical() throws {
        let folder = try temporaryFolder(self)
        let data = folder + "/medical.h5"
        func fixture(_ name: String) -> String { ToolHarness.fixture("multilabel/" + name) }
        XCTAssertEqual(try ToolHarness.run("sk-convert", [fixture("medical-train.arff"), fixture("medical-test.arff"),
                                                          "--format", "arff", "--xml", fixture("medical.xml"), "-o", data]).status, 0)
        var precision: [String: Double] = [:]
        for method in ["sdlgm", "one-vs-all", "most-frequent"] {
            let model = folder + "/\(method).h5"
            let train = try ToolHarness.run("sk-train", ["sdlgm", data, "-o", model, "--method", method, "--max-active", "3",
                                                         "--hidden", "32", "--epochs", "15", "--batch-size", "32",
                                                         "--learning-rate", "0.003", "--seed", "1"])
            XCTAssertEqual(train.status, 0, train.stderr)
            let file = try HDF5File.open(model)
            XCTAssertEqual(try file.fileKind(), .model)
            XCTAssertEqual(try file.attribute("model"), .string("sdlgm"))
            XCTAssertEqual(try file.attribute("max_active"), .int(3))
            let eval = try ToolHarness.run("sk-eval", [model, data, "--split", "test", "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
            let report = try JSONDecoder().decode(MultiLabelEvaluation.self, from: Data(eval.stdout.utf8))
            XCTAssertEqual(report.points, 645, "medical's test split")
            XCTAssertEqual(report.ranking.map(\.k), [1, 3, 5])
            precision[method] = report.ranking[0].precision
        }
        XCTAssertGreaterThan(precision["sdlgm"]!, precision["most-frequent"]! + 0.1, "\(precision)")
        XCTAssertGreaterThan(precision["one-vs-all"]!, precision["most-frequent"]! + 0.1, "\(precision)")
        let text = try ToolHarness.run("sk-eval", [folder + "/sdlgm.h5", data])
        XCTAssertTrue(text.stdout.contains("P@k") && text.stdout.contains("micro-F1"), text.stdout)

        // sk-encode: the hard codes, at most L0 labels per row, scores as values.
        let encode = try ToolHarness.run("sk-encode", [folder + "/sdlgm.h5", data, "-o", folder + "/codes.h5", "--split", "test"])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        let codesFile = try HDF5File.open(folder + "/codes.h5")
        XCTAssertEqual(try codesFile.fileKind(), .codes)
        let codes = try codesFile.readCSR("/codes")
        XCTAssertEqual(codes.rows, 645)
        XCTAssertTrue((0..<codes.rows).allSatisfy { (1...3).contains(codes.row($0).indices.count) }, "1 ≤ L̂ ≤ L0 = 3 labels per row")

        let kept: Set = ["medical.h5", "sdlgm.h5", "one-vs-all.h5", "most-frequent.h5", "codes.h5"]
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/x.h5", "--mode", "unsupervised"]), code: 64,
                    containing: "--mode unsupervised is not available yet", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/x.h5", "--split", "validation"]), code: 65,
                    containing: "has no split 'validation' (splits: ", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-eval", [folder + "/sdlgm.h5", ToolHarness.fixture("broken/good-4x4.h5")]), code: 65,
                    containing: "is not a 'multilabel' file", folder: folder, keeping: kept)
    }
}
