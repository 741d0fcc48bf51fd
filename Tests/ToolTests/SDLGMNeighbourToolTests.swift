import DataKit
import Models
import XCTest

/// `sk-train sdlgm --neighbours` through the tools: the training rows kept in the model (only those trained on),
/// the network unchanged by it (with rows held out, the epoch kept is the best one of the blended predictions), the blend applied by sk-eval and sk-encode with their overrides, and the options
/// refused where they do not apply.
final class SDLGMNeighbourToolTests: XCTestCase {
    func testNeighbourComponentThroughTheTools() throws {
        let folder = try temporaryFolder(self)
        let (train, test) = try ToolHarness.emotionsFiles(in: folder)
        let common = ["--max-active", "6", "--seed", "1", "--epochs", "12"]
        let knn = ["--neighbours", "10", "--neighbour-weight", "0.4"]
        for (name, extra) in [("plain.h5", [String]()), ("knn.h5", knn), ("fold.h5", knn + ["--validation-fold", "2/3", "--epochs", "2"])] {
            let run = try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/" + name] + common + extra)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        XCTAssertEqual(try HDF5File.open(folder + "/fold.h5").readCSR("/model/neighbours/rows").rows, 261, "the rows trained on, not fold 2's 130")
        let file = try HDF5File.open(folder + "/knn.h5")
        XCTAssertEqual(try file.readCSR("/model/neighbours/rows").rows, 391)
        XCTAssertEqual(try file.readCSR("/model/neighbours/labels").cols, 6)
        XCTAssertEqual(try file.attribute("representation", of: "/model/neighbours"), .string("standardize"), "emotions' dense features")
        XCTAssertEqual(try file.attribute("count", of: "/model/neighbours"), .int(10))
        XCTAssertEqual(try file.attribute("weight", of: "/model/neighbours"), .double(0.4))
        XCTAssertEqual(try file.attribute("neighbours", of: "/config"), .int(10))
        try file.close()

        func report(_ model: String, _ options: [String] = []) throws -> SupervisedEvaluation {
            let eval = try ToolHarness.run("sk-eval", [folder + "/" + model, test, "--json"] + options)
            XCTAssertEqual(eval.status, 0, eval.stderr)
            return try ToolHarness.decode(SupervisedEvaluation.self, eval.stdout)
        }
        func p1(_ model: String, _ options: [String] = []) throws -> Double { try report(model, options).ranking[0].precision }
        XCTAssertEqual(try report("knn.h5").neighbours?.count, 10, "the report names the blend")
        XCTAssertEqual(try report("knn.h5", ["--neighbours", "4"]).neighbours?.count, 4)
        XCTAssertEqual(try report("knn.h5").neighbours?.weight, 0.4)
        XCTAssertNil(try report("knn.h5", ["--neighbour-weight", "0"]).neighbours, "α = 0: the network alone")
        XCTAssertNil(try report("plain.h5").neighbours)
        XCTAssertEqual(try p1("knn.h5", ["--neighbour-weight", "0"]), try p1("plain.h5"), "the same network: --neighbours changes no training step")
        let blended = try p1("knn.h5")
        let (predictor, _) = try SupervisedPredictor.read(from: try HDF5File.open(folder + "/knn.h5"))
        let rows = try MultiLabelDataset.read(from: try HDF5File.open(test)).rows(ofSplit: nil, in: test)
        XCTAssertEqual(blended, try SupervisedEvaluation.run(predictor, features: rows.features, labels: rows.labels).ranking[0].precision)
        let three = try predictor.overridingNeighbours(count: 3, weight: 1, model: "knn.h5")
        XCTAssertEqual(try p1("knn.h5", ["--neighbours", "3", "--neighbour-weight", "1"]),
                       try SupervisedEvaluation.run(three, features: rows.features, labels: rows.labels).ranking[0].precision)
        let encoded = try ToolHarness.run("sk-encode", [folder + "/knn.h5", test, "-o", folder + "/pred.h5", "--top-k", "6", "--neighbours", "5"])
        XCTAssertEqual(encoded.status, 0, encoded.stderr)

        let kept: Set = ["train.h5", "test.h5", "plain.h5", "knn.h5", "fold.h5", "pred.h5"]
        for (options, message) in [
            (["--neighbour-weight", "0.2"], "--neighbour-weight applies with --neighbours only"),
            (["--neighbours", "0"], "--neighbours"),
            (["--neighbours", "5", "--neighbour-weight", "1.5"], "--neighbour-weight takes a weight in [0, 1]"),
            (["--neighbours", "5", "--stream"], "--neighbours keeps the training rows in the model and needs them in memory"),
            (["--method", "one-vs-all", "--neighbours", "5"], "--neighbours applies to --method sdlgm only"),
            (["--mode", "unsupervised", "--neighbours", "5"], "--neighbours applies to --mode supervised only"),
        ] {
            assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5"] + options), code: 64,
                        containing: message, folder: folder, keeping: kept)
        }
        assertFails(try ToolHarness.run("sk-eval", [folder + "/plain.h5", test, "--neighbours", "3"]), code: 64,
                    containing: "need a model trained with --neighbours", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-eval", [folder + "/knn.h5", test, "--neighbour-weight", "-1"]), code: 64,
                    containing: "--neighbour-weight takes a weight in [0, 1]", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-encode", [folder + "/plain.h5", test, "-o", folder + "/y.h5", "--neighbours", "3"]), code: 64,
                    containing: "need a model trained with --neighbours", folder: folder, keeping: kept)
    }
}
