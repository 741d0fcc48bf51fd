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
            // Each method takes the options that apply to it (sk-train refuses the others).
            let network = ["--epochs", "15", "--batch-size", "32", "--learning-rate", "0.003", "--seed", "1"]
            let options = ["sdlgm": ["--max-active", "3", "--hidden", "32"] + network, "one-vs-all": network, "most-frequent": []][method]!
            let train = try ToolHarness.run("sk-train", ["sdlgm", data, "-o", model, "--method", method] + options)
            XCTAssertEqual(train.status, 0, train.stderr)
            let file = try HDF5File.open(model)
            XCTAssertEqual(try file.fileKind(), .model)
            XCTAssertEqual(try file.attribute("model"), .string("sdlgm"))
            XCTAssertEqual(try file.attribute("max_active"), .int(method == "sdlgm" ? 3 : 10), "L0, the default where it does not apply")
            let eval = try ToolHarness.run("sk-eval", [model, data, "--split", "test", "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
            let report = try ToolHarness.decode(SupervisedEvaluation.self, eval.stdout)
            XCTAssertEqual(report.points, 645, "medical's test split")
            XCTAssertEqual(report.ranking.map(\.k), [1, 3, 5])
            precision[method] = report.ranking[0].precision
        }
        XCTAssertGreaterThan(precision["sdlgm"]!, precision["most-frequent"]! + 0.1, "\(precision)")
        XCTAssertGreaterThan(precision["one-vs-all"]!, precision["most-frequent"]! + 0.1, "\(precision)")
        // --stream: the same training from minibatches read from disk learns as well.
        let streamed = try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/streamed.h5", "--max-active", "3",
                                                        "--hidden", "32", "--epochs", "15", "--batch-size", "32",
                                                        "--learning-rate", "0.003", "--seed", "1", "--stream"])
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        XCTAssertEqual(try HDF5File.open(folder + "/streamed.h5").attribute("streamed", of: "/config"), .int(1))
        let streamedEval = try ToolHarness.run("sk-eval", [folder + "/streamed.h5", data, "--split", "test", "--json"])
        let streamedPrecision = try ToolHarness.decode(SupervisedEvaluation.self, streamedEval.stdout).ranking[0].precision
        XCTAssertEqual(streamedPrecision, precision["sdlgm"]!, accuracy: 0.05)
        XCTAssertGreaterThan(streamedPrecision, precision["most-frequent"]! + 0.1)

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

        // --resume: the network continues, epochs numbered on.
        let resumed = try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/more.h5", "--max-active", "3", "--hidden", "32",
                                                       "--epochs", "2", "--batch-size", "32", "--resume", folder + "/sdlgm.h5"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let history = try HDF5File.open(folder + "/more.h5").read("/history/objective", as: Double.self).0
        XCTAssertEqual(history.count, 17)
        XCTAssertGreaterThan(history[15], history[0], "the resumed epochs continue from the trained loss, not from scratch")

        let kept: Set = ["medical.h5", "sdlgm.h5", "one-vs-all.h5", "most-frequent.h5", "codes.h5", "more.h5", "streamed.h5"]
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/x.h5", "--max-active", "3", "--hidden", "16",
                                                     "--resume", folder + "/sdlgm.h5"]), code: 65,
                    containing: "resume with the same", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/x.h5", "--mode", "unsupervised",
                                                     "--latents", "5", "--max-active", "6"]), code: 64,
                    containing: "--max-active (L0) must be at most --latents (K)", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/x.h5", "--split", "validation"]), code: 65,
                    containing: "has no split 'validation' (splits: ", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-eval", [folder + "/sdlgm.h5", ToolHarness.fixture("broken/good-4x4.h5")]), code: 65,
                    containing: "is not a 'multilabel' file", folder: folder, keeping: kept)
    }

    /// Emotions' 72 dense audio features (the data set the first defaults failed on): the automatic scaling
    /// standardizes them, the default length gives its 391 training points 1000 Adam steps, --validation stops early
    /// and keeps the best epoch, and sk-eval applies the stored scaling.
    func testDenseFeaturesSmallDataAndEarlyStopping() throws {
        let folder = try temporaryFolder(self)
        let (train, test) = try ToolHarness.emotionsFiles(in: folder)
        func precision(_ model: String) throws -> Double {
            let eval = try ToolHarness.run("sk-eval", [model, test, "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
            return try ToolHarness.decode(SupervisedEvaluation.self, eval.stdout).ranking[0].precision
        }
        let sdlgm = try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/sdlgm.h5", "--max-active", "6", "--seed", "1",
                                                     "--validation", "0.2", "--patience", "20"])
        XCTAssertEqual(sdlgm.status, 0, sdlgm.stderr)
        XCTAssertTrue(sdlgm.stderr.contains("validation P@1 = "), sdlgm.stderr)
        let model = try HDF5File.open(folder + "/sdlgm.h5")
        XCTAssertEqual(try model.attribute("feature_scaling"), .string("standardize"))
        XCTAssertEqual(try model.attribute("feature_scaling", of: "/config"), .string("standardize"))
        XCTAssertEqual(try model.attribute("validation_points", of: "/config"), .int(78), "20% of 391")
        XCTAssertEqual(try model.attribute("training_points"), .int(313))
        let validation = try model.read("/history/validation_precision", as: Double.self).0
        guard case .int(let best)? = try model.attribute("best_epoch", of: "/config") else { return XCTFail("no best_epoch") }
        XCTAssertEqual(validation[best - 1], validation.max()!)
        XCTAssertLessThan(validation.count, 500, "stopped early (at most 4 minibatches of 313 points: 250 epochs by default)")
        XCTAssertEqual(validation.count - best, 20, "patience 20")
        XCTAssertGreaterThan(try precision(folder + "/sdlgm.h5"), 0.65, "P@1 on emotions' test split (0.51 with 20 epochs of raw features)")

        let kept: Set = ["train.h5", "test.h5", "sdlgm.h5"]
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--patience", "3"]), code: 64,
                    containing: "--patience applies with --validation or --validation-fold only", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--epochs", "3", "--steps", "30"]), code: 64,
                    containing: "give --epochs or --steps, not both", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--validation", "1.5"]), code: 64,
                    containing: "--validation takes the fraction", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--validation", "0.2", "--stream"]), code: 64,
                    containing: "does not combine with --stream", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--resume", folder + "/sdlgm.h5",
                                                     "--max-active", "6", "--scale", "max-abs"]), code: 65,
                    containing: "was trained with --scale standardize", folder: folder, keeping: kept)
    }

    /// sk-synth bars → sk-train sdlgm --mode unsupervised → sk-eval → sk-encode → sk-inspect --tiles, --resume; and
    /// a Bernoulli model of medical's binary word features.
    func testUnsupervisedPipeline() throws {
        let folder = try temporaryFolder(self)
        let (bars, model) = (folder + "/bars.h5", folder + "/embed.h5")
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "400", "--seed", "1"]).status, 0)
        let train = try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", model, "--mode", "unsupervised", "--latents", "10",
                                                     "--max-active", "3", "--hidden", "32", "--epochs", "6", "--batch-size", "50",
                                                     "--learning-rate", "0.003", "--seed", "1", "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let file = try HDF5File.open(model)
        XCTAssertEqual(try file.attribute("mode"), .string("unsupervised"))
        XCTAssertEqual(try file.attribute("max_active"), .int(3))
        XCTAssertEqual(try file.attribute("latents"), .int(10))
        XCTAssertEqual(try file.attribute("decoder"), .string("linear"))
        XCTAssertEqual(try file.read("/history/objective", as: Double.self).0.count, 6)
        XCTAssertEqual(try file.readMatrix("/model/decoder/layer0/weight").cols, 10)

        let eval = try ToolHarness.run("sk-eval", [model, bars, "--json", "--elbo-samples", "3"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try ToolHarness.decode(UnsupervisedEvaluation.self, eval.stdout)
        XCTAssertEqual(report.points, 400)
        XCTAssertEqual(report.activeCounts.count, 4, "counts of 0 … L0 active features")
        XCTAssertEqual(report.activeCounts.reduce(0, +), 400)
        XCTAssertTrue(report.heldOutELBO.mean.isFinite)
        XCTAssertLessThan(report.reconstructionError, report.dataVariance)

        let encode = try ToolHarness.run("sk-encode", [model, bars, "-o", folder + "/codes.h5"])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        let codes = try HDF5File.open(folder + "/codes.h5").readCSR("/codes")
        XCTAssertEqual(codes.rows, 400)
        XCTAssertEqual(codes.cols, 10)
        XCTAssertTrue((0..<codes.rows).allSatisfy { (1...3).contains(codes.row($0).indices.count) }, "1 ≤ L̂ ≤ L0 = 3 per row")
        XCTAssertEqual(try ToolHarness.run("sk-inspect", [model, "--tiles", "-o", folder + "/fields.png"]).status, 0)

        let resumed = try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", folder + "/more.h5", "--mode", "unsupervised",
                                                       "--latents", "10", "--max-active", "3", "--hidden", "32", "--epochs", "2",
                                                       "--resume", model])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try HDF5File.open(folder + "/more.h5").read("/history/objective", as: Double.self).0.count, 8)

        let kept: Set = ["bars.h5", "embed.h5", "codes.h5", "fields.png", "more.h5"]
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", folder + "/x.h5", "--mode", "unsupervised",
                                                     "--latents", "10", "--max-active", "3", "--resume", model, "--decoder", "mlp"]),
                    code: 65, containing: "resume with the same", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", folder + "/x.h5", "--mode", "unsupervised",
                                                     "--likelihood", "bernoulli"]),
                    code: 65, containing: "Bernoulli data must lie in [0, 1]", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", folder + "/x.h5", "--mode", "unsupervised", "--tau", "1"]),
                    code: 64, containing: "The value '1' is invalid for '--tau", folder: folder, keeping: kept)

        // From disk: the same model file, marked streamed; a value outside [0, 1] is named by row as it is read.
        let streamed = try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", folder + "/streamed.h5", "--mode", "unsupervised",
                                                        "--latents", "10", "--max-active", "3", "--hidden", "32", "--epochs", "2",
                                                        "--stream", "--seed", "1"])
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        XCTAssertEqual(try HDF5File.open(folder + "/streamed.h5").attribute("streamed", of: "/config"), .int(1))
        XCTAssertEqual(try ToolHarness.run("sk-eval", [folder + "/streamed.h5", bars]).status, 0)
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", folder + "/x.h5", "--mode", "unsupervised",
                                                     "--likelihood", "bernoulli", "--stream"]),
                    code: 65, containing: "/data holds -", folder: folder, keeping: kept.union(["streamed.h5"]))
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", bars, "-o", folder + "/x.h5", "--stream"]),
                    code: 65, containing: "is a 'patches' file; expected multilabel", folder: folder, keeping: kept.union(["streamed.h5"]))

        // Binary word features as Bernoulli data: train on medical's train split, evaluate on its test split.
        let medical = folder + "/medical.h5"
        func fixture(_ name: String) -> String { ToolHarness.fixture("multilabel/" + name) }
        XCTAssertEqual(try ToolHarness.run("sk-convert", [fixture("medical-train.arff"), fixture("medical-test.arff"),
                                                          "--format", "arff", "--xml", fixture("medical.xml"), "-o", medical]).status, 0)
        let words = try ToolHarness.run("sk-train", ["sdlgm", medical, "-o", folder + "/words.h5", "--mode", "unsupervised",
                                                     "--likelihood", "bernoulli", "--decoder", "mlp", "--latents", "20",
                                                     "--max-active", "4", "--hidden", "32", "--epochs", "3", "--seed", "1"])
        XCTAssertEqual(words.status, 0, words.stderr)
        let wordsEval = try ToolHarness.run("sk-eval", [folder + "/words.h5", medical, "--split", "test", "--json", "--elbo-samples", "2"])
        XCTAssertEqual(wordsEval.status, 0, wordsEval.stderr)
        let wordsReport = try ToolHarness.decode(UnsupervisedEvaluation.self, wordsEval.stdout)
        XCTAssertEqual(wordsReport.points, 645)
        XCTAssertNil(wordsReport.sigma2)
        assertFails(try ToolHarness.run("sk-inspect", [folder + "/words.h5", "--tiles", "-o", folder + "/x.png"]), code: 65,
                    containing: "has an MLP decoder", folder: folder, keeping: kept.union(["medical.h5", "words.h5", "streamed.h5"]))
    }
}
