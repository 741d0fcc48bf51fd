import DataKit
import Foundation
import Models
import XCTest

/// `sk-train sdlgm --ensemble M` through the tools: one member is the single model, M members score as the mean of
/// the probabilities of M single models trained with the seeds that follow, and the options it cannot be combined with
/// are refused by name.
final class SDLGMEnsembleToolTests: XCTestCase {
    /// Trains `model` with `options` and returns the scores sk-encode writes for every label of every test row (C × N dense).
    func scores(_ train: String, _ test: String, _ model: String, _ options: [String]) throws -> [[Float]] {
        let run = try ToolHarness.run("sk-train", ["sdlgm", train, "-o", model, "--epochs", "3", "--quiet"] + options)
        XCTAssertEqual(run.status, 0, run.stderr)
        let encoded = try ToolHarness.run("sk-encode", [model, test, "-o", model + ".pred.h5", "--top-k", "6", "--quiet"])
        XCTAssertEqual(encoded.status, 0, encoded.stderr)
        let predictions = try HDF5File.open(model + ".pred.h5").readCSR("/predictions")
        return (0..<predictions.rows).map { i in
            var row = [Float](repeating: .nan, count: predictions.cols)
            let r = predictions.row(i)
            for (j, value) in zip(r.indices, r.values) { row[Int(j)] = value }
            return row
        }
    }

    func testOneMemberIsTheSingleModel() throws {
        let folder = try temporaryFolder(self)
        let (train, test) = try ToolHarness.emotionsFiles(in: folder)
        let single = try scores(train, test, folder + "/single.h5", ["--seed", "3"])
        let one = try scores(train, test, folder + "/one.h5", ["--seed", "3", "--ensemble", "1"])
        XCTAssertEqual(one, single, "--ensemble 1 writes the single model")
        XCTAssertNil(try HDF5File.open(folder + "/one.h5").attribute("ensemble_members"))
    }

    /// Member m is the single model of seed s + m − 1, and the ensemble's scores are log of the members' mean
    /// softmax (sdlgm) or the logit of their mean sigmoid (one-vs-all), computed here in Double from the singles' scores.
    func testTwoMembersAverageTheTwoSeedsProbabilities() throws {
        let folder = try temporaryFolder(self)
        let (train, test) = try ToolHarness.emotionsFiles(in: folder)
        for method in ["sdlgm", "one-vs-all"] {
            let options = ["--method", method]
            let (a, b) = (try scores(train, test, folder + "/\(method)-5.h5", options + ["--seed", "5"]),
                          try scores(train, test, folder + "/\(method)-6.h5", options + ["--seed", "6"]))
            let ensemble = try scores(train, test, folder + "/\(method)-e.h5", options + ["--seed", "5", "--ensemble", "2"])
            for i in a.indices {
                let (x, y) = (a[i].map(Double.init), b[i].map(Double.init))
                let expected: [Double]
                if method == "sdlgm" {
                    func softmax(_ h: [Double]) -> [Double] { let e = h.map { exp($0 - h.max()!) }; return e.map { $0 / e.reduce(0, +) } }
                    expected = zip(softmax(x), softmax(y)).map { log(($0 + $1) / 2) }
                } else {
                    func sigmoid(_ s: Double) -> Double { 1 / (1 + exp(-s)) }
                    expected = zip(x, y).map { let p = (sigmoid($0) + sigmoid($1)) / 2; return log(p / (1 - p)) }
                }
                for j in expected.indices {
                    XCTAssertEqual(Double(ensemble[i][j]), expected[j], accuracy: 1e-4 * max(1, abs(expected[j])), "\(method) row \(i) label \(j)")
                }
            }
            let file = try HDF5File.open(folder + "/\(method)-e.h5")
            XCTAssertEqual(try file.attribute("ensemble_members"), .int(2))
            XCTAssertEqual(try file.attribute("ensemble_members", of: "/config"), .int(2))
            XCTAssertEqual(try file.read("/history/member", as: Int64.self).0, [1, 1, 1, 2, 2, 2])
            let eval = try ToolHarness.run("sk-eval", [folder + "/\(method)-e.h5", test, "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
        }
    }

    func testRefusals() throws {
        let folder = try temporaryFolder(self)
        let (train, _) = try ToolHarness.emotionsFiles(in: folder)
        let ensemble = folder + "/e.h5"
        XCTAssertEqual(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", ensemble, "--epochs", "1", "--ensemble", "2", "--quiet"]).status, 0)
        let kept: Set = ["train.h5", "test.h5", "e.h5"]
        for (options, message) in [
            (["--resume", ensemble], "--ensemble cannot be combined with --resume"),
            (["--validation", "0.2"], "--ensemble cannot be combined with --validation"),
            (["--validation-fold", "1/5"], "--ensemble cannot be combined with --validation-fold"),
            (["--method", "most-frequent"], "--ensemble does not apply to --method most-frequent"),
            (["--mode", "unsupervised"], "--ensemble applies to --mode supervised only"),
            (["--ensemble", "0"], "--ensemble must be between"),
        ] {
            let arguments = ["sdlgm", train, "-o", folder + "/x.h5"] + (options.contains("--ensemble") ? [] : ["--ensemble", "2"])
            assertFails(try ToolHarness.run("sk-train", arguments + options), code: 64, containing: message, folder: folder, keeping: kept)
        }
        // A single run cannot continue an ensemble's file either.
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", train, "-o", folder + "/x.h5", "--resume", ensemble, "--epochs", "1"]),
                    code: 65, containing: "is an ensemble of 2 models", folder: folder, keeping: kept)
    }
}
