import DataKit
import Foundation
import Models
import XCTest

/// Issue 16's workflow as a user runs it: train and test converted to separate files (`sk-convert --like`), one
/// default split rule for every tool (`DefaultSplit`), propensities from the model alone, top-K predictions
/// (`sk-encode --top-k`, `--export xc`) and metrics at any k, equal to pyxclib's.
final class MultiLabelWorkflowToolTests: XCTestCase {
    func fixture(_ name: String) -> String { ToolHarness.fixture("multilabel/" + name) }

    /// A small supervised model's options (medical: 45 labels).
    let network = ["--max-active", "3", "--hidden", "16", "--epochs", "3", "--batch-size", "32", "--learning-rate", "0.003", "--seed", "1"]

    func run(_ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ToolHarness.Result {
        let result = try ToolHarness.run(tool, arguments)
        XCTAssertEqual(result.status, 0, "\(tool) \(arguments): \(result.stderr)", file: file, line: line)
        return result
    }

    func report(_ result: ToolHarness.Result) throws -> SupervisedEvaluation {
        try ToolHarness.decode(SupervisedEvaluation.self, result.stdout)
    }

    /// Train and test as separate files: the training file is read whole, the test file converted `--like` it (no
    /// XML needed) is evaluated whole with the propensities the model stores, and every number equals the same
    /// steps on one file with splits (trained on 'train', evaluated on 'test' by default).
    func testSeparateFilesGiveTheSameModelAndMetricsAsSplits() throws {
        let folder = try temporaryFolder(self)
        let (train, test, both) = (folder + "/train.h5", folder + "/test.h5", folder + "/both.h5")
        _ = try run("sk-convert", [fixture("medical-train.arff"), "--format", "arff", "--xml", fixture("medical.xml"), "-o", train])
        _ = try run("sk-convert", [fixture("medical-test.arff"), "--format", "arff", "--like", train, "-o", test])
        _ = try run("sk-convert", [fixture("medical-train.arff"), fixture("medical-test.arff"), "--format", "arff", "--xml",
                                   fixture("medical.xml"), "-o", both])
        let (trainFile, testFile) = (try HDF5File.open(train), try HDF5File.open(test))
        XCTAssertEqual(try testFile.readStrings("/label_names"), try trainFile.readStrings("/label_names"))
        XCTAssertEqual(try testFile.readStrings("/feature_names"), try trainFile.readStrings("/feature_names"))

        let separate = try run("sk-train", ["sdlgm", train, "-o", folder + "/m1.h5", "--json"] + network)
        let split = try run("sk-train", ["sdlgm", both, "-o", folder + "/m2.h5", "--json"] + network)
        XCTAssertTrue(separate.stdout.contains("\"points\":333") || separate.stdout.contains("\"points\" : 333"), separate.stdout)
        XCTAssertEqual(try HDF5File.open(folder + "/m1.h5").attribute("training_points"), .int(333), "every row of the training file")
        XCTAssertEqual(try HDF5File.open(folder + "/m2.h5").attribute("training_points"), .int(333), "the 'train' split")

        let ks = ["--k", "1,2,3,5,10"]
        let fromFiles = try report(try run("sk-eval", [folder + "/m1.h5", test, "--json"] + ks))
        let fromSplits = try report(try run("sk-eval", [folder + "/m2.h5", both, "--json"] + ks))
        XCTAssertEqual(fromFiles.points, 645, "every row of the test file")
        XCTAssertEqual(fromSplits.points, 645, "the 'test' split")
        XCTAssertEqual(fromFiles.ranking.map(\.k), [1, 2, 3, 5, 10])
        XCTAssertEqual(fromFiles.ranking, fromSplits.ranking)
        XCTAssertNotNil(fromFiles.ranking[0].propensityNDCG)
        XCTAssertTrue(fromFiles.propensitySource.contains("stored in the model (N = 333"), fromFiles.propensitySource)
        // The text report shows every k.
        let text = try run("sk-eval", [folder + "/m1.h5", test, "--k", "2,7"]).stdout
        XCTAssertTrue(text.contains("\n  2  ") && text.contains("\n  7  ") && text.contains("propensities: the training label counts"), text)
        // sk-encode reads the test file whole, and the 'test' split of the file with splits.
        _ = try run("sk-encode", [folder + "/m1.h5", test, "-o", folder + "/c1.h5"])
        _ = try run("sk-encode", [folder + "/m2.h5", both, "-o", folder + "/c2.h5"])
        XCTAssertEqual(try HDF5File.open(folder + "/c1.h5").readCSR("/codes"), try HDF5File.open(folder + "/c2.h5").readCSR("/codes"))
        XCTAssertEqual(try HDF5File.open(folder + "/c2.h5").attribute("split"), .string("test"))
    }

    /// A file whose splits include neither 'train' nor 'test' is refused by the tool that needs one (64, asking for
    /// --split); `--split all` and a named split read what they say.
    func testDefaultSplitRuleRefusesFilesWithOtherSplits() throws {
        let folder = try temporaryFolder(self)
        let data = folder + "/ab.h5"
        _ = try run("sk-convert", [fixture("medical-train.arff"), fixture("medical-test.arff"), "--format", "arff", "--xml",
                                   fixture("medical.xml"), "--split-names", "a,b", "-o", data])
        let kept: Set<String> = ["ab.h5"]
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", data, "-o", folder + "/m.h5"] + network), code: 64,
                    containing: "ab.h5: has splits a, b but none named 'train'; choose the rows with --split NAME, or --split all",
                    folder: folder, keeping: kept)
        _ = try run("sk-train", ["sdlgm", data, "-o", folder + "/m.h5", "--split", "a"] + network)
        assertFails(try ToolHarness.run("sk-eval", [folder + "/m.h5", data]), code: 64, containing: "none named 'test'", folder: folder,
                    keeping: kept.union(["m.h5"]))
        assertFails(try ToolHarness.run("sk-encode", [folder + "/m.h5", data, "-o", folder + "/c.h5"]), code: 64,
                    containing: "none named 'test'", folder: folder, keeping: kept.union(["m.h5"]))
        XCTAssertEqual(try report(try run("sk-eval", [folder + "/m.h5", data, "--split", "all", "--json"])).points, 978)
        XCTAssertEqual(try report(try run("sk-eval", [folder + "/m.h5", data, "--split", "b", "--json"])).points, 645)
    }

    /// `--like`: LIBSVM and XC test files line up with the training file, and indices or headers beyond its counts
    /// are refused naming the file (65); a test file converted alone is refused by sk-eval with a pointer to --like.
    func testLikeLinesUpTestFilesAndRefusesWhatDoesNotFit() throws {
        let folder = try temporaryFolder(self)
        func write(_ name: String, _ text: String) throws -> String {
            let path = folder + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let trainText = try write("train.svm", "0,3 1:1 5:2\n1 2:1\n2,3 3:1 4:1\n0 1:1\n")  // F = 6 (0-based), C = 4
        let testText = try write("test.svm", "0 1:1\n3 2:1\n")  // alone: F = 3, C = 4
        let train = folder + "/train.h5"
        _ = try run("sk-convert", [trainText, "--format", "libsvm", "--zero-based", "-o", train])
        _ = try run("sk-convert", [testText, "--format", "libsvm", "--zero-based", "--like", train, "-o", folder + "/test.h5"])
        let test = try MultiLabelDataset.read(from: try HDF5File.open(folder + "/test.h5"))
        XCTAssertEqual([test.features.cols, test.labels.cols, test.pointCount], [6, 4, 2])
        XCTAssertTrue(try HDF5File.open(folder + "/test.h5").history().last!.contains("--like"))

        var kept: Set<String> = ["train.svm", "test.svm", "train.h5", "test.h5"]
        let wide = try write("wide.svm", "0 1:1\n1 6:1\n")
        kept.insert("wide.svm")
        assertFails(try ToolHarness.run("sk-convert", [wide, "--format", "libsvm", "--zero-based", "--like", train, "-o", folder + "/w.h5"]),
                    code: 65, containing: "wide.svm: line 2: feature index 6 is not below the feature count 6 of \(train) (--like)",
                    folder: folder, keeping: kept)
        let labels = try write("labels.svm", "4 1:1\n")
        kept.insert("labels.svm")
        assertFails(try ToolHarness.run("sk-convert", [labels, "--format", "libsvm", "--zero-based", "--like", train, "-o", folder + "/w.h5"]),
                    code: 65, containing: "labels.svm: line 1: label index 4 is not below the label count 4 of \(train) (--like)",
                    folder: folder, keeping: kept)
        let xc = try write("test.xc", "1 7 4\n0 1:1\n")
        kept.insert("test.xc")
        assertFails(try ToolHarness.run("sk-convert", [xc, "--format", "xc", "--like", train, "-o", folder + "/w.h5"]), code: 65,
                    containing: "test.xc: header declares 7 features and 4 labels, but \(train) (--like) has 6 and 4",
                    folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-convert", [testText, "--format", "libsvm", "--zero-based", "--like", train, "--features", "6",
                                                       "-o", folder + "/w.h5"]),
                    code: 64, containing: "--features applies only with --format libsvm and without --like", folder: folder, keeping: kept)
        // An ARFF file with an attribute the training file does not have.
        let arffTrain = folder + "/tiny.h5"
        _ = try run("sk-convert", [fixture("tiny.arff"), "--format", "arff", "--xml", fixture("tiny.xml"), "-o", arffTrain])
        kept.insert("tiny.h5")
        let renamed = try write("renamed.arff", try String(contentsOfFile: fixture("tiny.arff"), encoding: .utf8)
            .replacingOccurrences(of: "@attribute f4 numeric", with: "@attribute f5 numeric"))
        kept.insert("renamed.arff")
        assertFails(try ToolHarness.run("sk-convert", [renamed, "--format", "arff", "--like", arffTrain, "-o", folder + "/w.h5"]), code: 65,
                    containing: "renamed.arff: attribute 'f5' is neither a feature nor a label of \(arffTrain) (--like)",
                    folder: folder, keeping: kept)

        // Converted alone, the test file has its own counts: sk-eval and sk-encode say how to fix it.
        _ = try run("sk-convert", [testText, "--format", "libsvm", "--zero-based", "-o", folder + "/alone.h5"])
        kept.insert("alone.h5")
        let ova = try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/ova.h5", "--method", "one-vs-all", "--epochs", "1"])
        XCTAssertEqual(ova.status, 0, ova.stderr)
        kept.insert("ova.h5")
        assertFails(try ToolHarness.run("sk-eval", [folder + "/ova.h5", folder + "/alone.h5"]), code: 65,
                    containing: "alone.h5: has 3 features and 4 labels, but \(folder)/ova.h5 was trained on 6 features and 4 labels",
                    folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-encode", [folder + "/ova.h5", folder + "/alone.h5", "-o", folder + "/c.h5"]), code: 65,
                    containing: "was trained on 6 features and 4 labels; convert it with sk-convert ... --like TRAIN.h5", folder: folder,
                    keeping: kept)
    }

    /// `sk-encode --top-k`: /predictions holds each row's K best labels with their scores (CSR by label index), the
    /// metrics computed from them equal sk-eval's, `--export xc` writes the same as an XC score file; and the metrics
    /// equal those of an independent implementation of pyxclib's formulas (propensities from the training file's
    /// labels) where numpy and scipy exist.
    func testTopKPredictionsAndMetricsEqualPyxclibs() throws {
        let folder = try temporaryFolder(self)
        let (train, test, model) = (folder + "/train.h5", folder + "/test.h5", folder + "/m.h5")
        _ = try run("sk-convert", [fixture("medical-train.arff"), "--format", "arff", "--xml", fixture("medical.xml"), "-o", train])
        _ = try run("sk-convert", [fixture("medical-test.arff"), "--format", "arff", "--like", train, "-o", test])
        _ = try run("sk-train", ["sdlgm", train, "-o", model] + network)
        let k = 5
        _ = try run("sk-encode", [model, test, "-o", folder + "/pred.h5", "--top-k", String(k)])
        let file = try HDF5File.open(folder + "/pred.h5")
        let predictions = try file.readCSR("/predictions")
        let truth = try MultiLabelDataset.read(from: try HDF5File.open(test)).labels
        XCTAssertEqual([predictions.rows, predictions.cols], [645, 45])
        XCTAssertEqual(try file.attribute("top_k"), .int(k))
        XCTAssertEqual(try file.readCSR("/codes").rows, 645, "the predicted sets stay beside them")
        var ranked: [Int32] = []
        for i in 0..<predictions.rows {
            let (labels, scores) = predictions.row(i)
            XCTAssertEqual(labels.count, k)
            XCTAssertEqual(Array(labels), labels.sorted(), "stored by label index")
            ranked += zip(labels, scores).sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.map { Int32($0.0) }
        }
        let ks = Array(1...k)
        let fromPredictions = RankingMetrics.evaluate(TopKRanking(k: k, indices: ranked), truth: truth, ks: ks)
        let evaluated = try report(try run("sk-eval", [model, test, "--json", "--k", ks.map(String.init).joined(separator: ",")]))
        XCTAssertEqual(fromPredictions.map(\.precision), evaluated.ranking.map(\.precision))
        XCTAssertEqual(fromPredictions.map(\.ndcg), evaluated.ranking.map(\.ndcg))

        // --export xc: the same predictions as text, best first; '-o -' writes them to standard output.
        _ = try run("sk-encode", [model, test, "-o", folder + "/pred.txt", "--top-k", String(k), "--export", "xc"])
        let lines = try String(contentsOfFile: folder + "/pred.txt", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.first, "645 45")
        XCTAssertEqual(lines.count, 647, "a header, 645 rows and the final newline")
        for i in 0..<predictions.rows {
            let pairs = lines[i + 1].split(separator: " ").map { $0.split(separator: ":") }
            XCTAssertEqual(pairs.map { Int32($0[0])! }, Array(ranked[(i * k)..<((i + 1) * k)]), "row \(i) best first")
            XCTAssertEqual(pairs.map { Float($0[1])! }.sorted(), predictions.row(i).values.sorted(), "row \(i): the stored scores")
        }
        let stdout = try run("sk-encode", [model, test, "-o", "-", "--top-k", String(k), "--export", "xc"]).stdout
        XCTAssertEqual(stdout, try String(contentsOfFile: folder + "/pred.txt", encoding: .utf8))
        XCTAssertTrue(try HDF5File.open(folder + "/pred.h5").exists("/codes"))

        // pyxclib's formulas on the predictions (unranked labels score below every ranked one; every k ≤ K), with
        // the propensities from the training file's labels: equal to sk-eval's, which never read that file.
        let trainingLabels = try MultiLabelDataset.read(from: try HDF5File.open(train)).labels
        let dense = (0..<predictions.rows).map { i -> [Double] in
            var row = [Double](repeating: -1e30, count: predictions.cols)
            for (label, score) in zip(predictions.row(i).indices, predictions.row(i).values) { row[Int(label)] = Double(score) }
            return row
        }
        func sets(_ m: CSRMatrix) -> [[Int]] { (0..<m.rows).map { m.row($0).indices.map { Int($0) } } }
        guard let reference = try PyxclibReference.metrics(scores: dense, truth: sets(truth), training: sets(trainingLabels),
                                                           labels: predictions.cols, ks: ks) else {
            throw XCTSkip("python3 with numpy and scipy is not installed; sk-eval not cross-checked against pyxclib's formulas")
        }
        for (ours, theirs) in zip(evaluated.ranking, reference.metrics) {
            for (key, value) in [("precision", ours.precision), ("ndcg", ours.ndcg), ("propensityPrecision", ours.propensityPrecision!),
                                 ("propensityNDCG", ours.propensityNDCG!)] {
                XCTAssertEqual(value, theirs[key]!, accuracy: 1e-9, "\(key)@\(ours.k)")
            }
        }
    }

    /// Options that do not apply are refused (64): --top-k for models without labels, --export without --top-k,
    /// --propensity-split for a model that stores its training counts; a model written before it stored them takes
    /// the propensities from the data file's 'train' split or --propensity-split, and says so.
    func testPredictionAndPropensityOptionsWhereTheyApply() throws {
        let folder = try temporaryFolder(self)
        let data = folder + "/both.h5"
        _ = try run("sk-convert", [fixture("medical-train.arff"), fixture("medical-test.arff"), "--format", "arff", "--xml",
                                   fixture("medical.xml"), "-o", data])
        let model = folder + "/m.h5"
        _ = try run("sk-train", ["sdlgm", data, "-o", model, "--method", "most-frequent"])
        let embed = folder + "/embed.h5"
        _ = try run("sk-train", ["sdlgm", data, "-o", embed, "--mode", "unsupervised", "--likelihood", "bernoulli", "--latents", "4",
                                 "--max-active", "2", "--hidden", "8", "--epochs", "1"])
        let kept: Set<String> = ["both.h5", "m.h5", "embed.h5"]
        assertFails(try ToolHarness.run("sk-encode", [embed, data, "-o", folder + "/c.h5", "--top-k", "3"]), code: 64,
                    containing: "--top-k applies only to supervised SDLGM models", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-encode", [model, data, "-o", folder + "/c.txt", "--export", "xc"]), code: 64,
                    containing: "--export applies only with --top-k K", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-encode", [model, data, "-o", folder + "/c.h5", "--top-k", "0"]), code: 64,
                    containing: "--top-k must be between 1 and", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-eval", [model, data, "--k", "0,3"]), code: 64, containing: "--k", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-eval", [embed, data, "--k", "3"]), code: 64,
                    containing: "--k applies only to supervised SDLGM models", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-eval", [model, data, "--propensity-split", "train"]), code: 64,
                    containing: "--propensity-split applies only to supervised models written before SparseKit stored the training label counts",
                    folder: folder, keeping: kept)

        // A model as written before training_points existed.
        var (predictor, maxActive) = try SupervisedPredictor.read(from: try HDF5File.open(model))
        predictor.trainingPoints = nil
        let old = folder + "/old.h5"
        let file = try HDF5File.create(old)
        try predictor.write(to: file, maxActive: maxActive)
        try file.writeHeader(kind: .model, history: [])
        try file.close()
        let stored = try report(try run("sk-eval", [model, data, "--json"]))
        let fromSplit = try report(try run("sk-eval", [old, data, "--json"]))
        XCTAssertEqual(fromSplit.ranking, stored.ranking, "the 'train' split's labels are the training labels")
        XCTAssertTrue(fromSplit.propensitySource.contains("split 'train'") && fromSplit.propensitySource.contains("predates"),
                      fromSplit.propensitySource)
        let fromTest = try report(try run("sk-eval", [old, data, "--json", "--propensity-split", "test"]))
        XCTAssertNotEqual(fromTest.ranking[2].propensityNDCG, stored.ranking[2].propensityNDCG)
        let test = folder + "/test.h5"
        _ = try run("sk-convert", [fixture("medical-test.arff"), "--format", "arff", "--like", data, "-o", test])
        let none = try run("sk-eval", [old, test])
        XCTAssertTrue(none.stdout.contains("propensities: none: the model predates stored training label counts"), none.stdout)
    }
}
