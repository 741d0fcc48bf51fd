import DataKit
import Models
import XCTest

/// `sk-train sdlgm --wide` and `--validation-fold` through the tools: the wide path stored in the model and applied
/// by sk-eval and sk-encode, the fold held out, and the options refused where they do not apply.
final class SDLGMWideToolTests: XCTestCase {
    func testWidePathAndValidationFold() throws {
        let folder = try temporaryFolder(self)
        let (train, test) = try ToolHarness.emotionsFiles(in: folder)
        let model = folder + "/wide.h5"
        let run = try ToolHarness.run("sk-train", ["sdlgm", train, "-o", model, "--max-active", "6", "--seed", "1", "--wide",
                                                   "--wide-learning-rate", "0.002", "--validation-fold", "2/3", "--epochs", "100"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let file = try HDF5File.open(model)
        XCTAssertEqual(try file.readMatrix("/model/wide/weight").rows, 72, "F × C input-major")
        XCTAssertEqual(try file.readMatrix("/model/wide/weight").cols, 6)
        XCTAssertEqual(try file.attribute("validation_fold", of: "/config"), .string("2/3"))
        XCTAssertEqual(try file.attribute("wide", of: "/config"), .int(1))
        XCTAssertEqual(try file.attribute("validation_points", of: "/config"), .int(130), "rows 130..<260 of 391")
        XCTAssertEqual(try file.attribute("training_points"), .int(261))
        try file.close()

        // sk-eval and sk-encode score with the wide path: the same P@1 as the predictor read in the test.
        let eval = try ToolHarness.run("sk-eval", [model, test, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let reported = try ToolHarness.decode(SupervisedEvaluation.self, eval.stdout).ranking[0].precision
        let (predictor, _) = try SupervisedPredictor.read(from: try HDF5File.open(model))
        XCTAssertNotNil(predictor.network?.wide)
        let rows = try MultiLabelDataset.read(from: try HDF5File.open(test)).rows(ofSplit: nil, in: test)
        let expected = try SupervisedEvaluation.run(predictor, features: rows.features, labels: rows.labels).ranking[0].precision
        XCTAssertEqual(reported, expected)
        XCTAssertGreaterThan(reported, 0.6)
        let encoded = try ToolHarness.run("sk-encode", [model, test, "-o", folder + "/pred.h5", "--top-k", "3"])
        XCTAssertEqual(encoded.status, 0, encoded.stderr)

        let kept: Set = ["train.h5", "test.h5", "wide.h5", "pred.h5"]
        for (options, message) in [
            (["--method", "one-vs-all", "--wide"], "--wide applies to --method sdlgm only"),
            (["--wide-learning-rate", "0.01"], "--wide-learning-rate applies with --wide only"),
            (["--wide", "--wide-learning-rate", "0"], "--wide-learning-rate must be positive"),
            (["--validation", "0.2", "--validation-fold", "1/5"], "give --validation or --validation-fold, not both"),
            (["--validation-fold", "6/5"], "--validation-fold takes I/K"),
            (["--validation-fold", "1/5", "--stream"], "--validation-fold needs the training rows in memory"),
            (["--mode", "unsupervised", "--wide"], "--wide applies to --mode supervised only"),
        ] {
            assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5"] + options), code: 64,
                        containing: message, folder: folder, keeping: kept)
        }
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--validation-fold", "two"]), code: 64,
                    containing: "--validation-fold", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--resume", model, "--max-active", "6",
                                                     "--validation-fold", "2/3", "--epochs", "1"]), code: 65,
                    containing: "--wide", folder: folder, keeping: kept)
    }
}
