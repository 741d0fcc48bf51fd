import DataKit
import Foundation
import XCTest

/// `sk-train` as a user meets the training contract: --resume continues exactly, options that do not apply are
/// refused by name, and output or data errors come before the first epoch.
final class TrainingContractToolTests: XCTestCase {
    /// The case, smaller: 4 epochs and 1 resumed write the model 5 epochs write (before, the resumed V
    /// restarted at unit norm and L fell from −13.6 to −78).
    func testResumeWritesTheModelStraightTrainingWrites() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5"
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "500", "--seed", "1"]).status, 0)
        let common = ["sc", bars, "--latents", "10", "--batch-size", "100", "--iterations", "30", "--seed", "3", "--quiet"]
        XCTAssertEqual(try ToolHarness.run("sk-train", common + ["-o", folder + "/a.h5", "--epochs", "4"]).status, 0)
        let resumed = try ToolHarness.run("sk-train", common + ["-o", folder + "/a.h5", "--epochs", "1", "--resume", folder + "/a.h5"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try ToolHarness.run("sk-train", common + ["-o", folder + "/b.h5", "--epochs", "5"]).status, 0)
        let (a, b) = (try HDF5File.open(folder + "/a.h5"), try HDF5File.open(folder + "/b.h5"))
        for name in ["/model/W", "/model/lambda", "/model/sigma2", "/training/v"] {
            XCTAssertEqual(try a.read(name, as: Float.self).values, try b.read(name, as: Float.self).values, name)
        }
        XCTAssertEqual(try a.read("/history/objective", as: Double.self).values, try b.read("/history/objective", as: Double.self).values)
        assertFails(try ToolHarness.run("sk-train", common + ["-o", folder + "/c.h5", "--epochs", "1", "--resume", folder + "/a.h5",
                                                              "--seed", "4"]),
                    code: 64, containing: "--seed 4 differs from the seed 3", folder: folder, keeping: ["bars.h5", "a.h5", "b.h5"])
    }

    /// Each option that means nothing for the chosen configuration is refused (exit 64, the option named), before
    /// any file is read.
    func testInapplicableOptionsAreRefused() throws {
        let folder = try temporaryFolder(self)
        let sc = ["sc", folder + "/missing.h5", "-o", folder + "/m.h5", "--latents", "4"]
        let scCases: [([String], String)] = [
            (["--rank", "2"], "--rank applies to --posterior amortized-lowrank only"),
            (["--samples", "2"], "--samples applies to --objective elbo-mc or likelihood only"),
            (["--penalty", "0.2"], "--penalty applies to --objective map-l1 only"),
            (["--scheme", "full-batch", "--batch-size", "10"], "--batch-size does not apply to --scheme full-batch"),
            (["--scheme", "full-batch", "--warm-start"], "--warm-start applies to --scheme em"),
            (["--scheme", "full-batch", "--learning-rate", "0.1"], "--learning-rate does not apply to --scheme full-batch"),
            (["--posterior", "amortized", "--scheme", "adam", "--iterations", "5"], "--iterations does not apply to --scheme adam"),
            (["--posterior", "amortized", "--scheme", "adam", "--lbfgs-history", "5"], "--lbfgs-history applies to"),
            (["--objective", "map-l1", "--anneal-prior", "4:2"], "--anneal-prior applies to --objective entropy only"),
            (["--posterior", "full"], "--posterior full trains with --scheme full-batch"),
        ]
        let sdlgm = ["sdlgm", folder + "/missing.h5", "-o", folder + "/m.h5"]
        let sdlgmCases: [([String], String)] = [
            (["--latents", "5"], "--latents applies to --mode unsupervised only"),
            (["--decoder", "mlp"], "--decoder applies to --mode unsupervised only"),
            (["--tau", "1:0.5"], "--tau applies to --mode unsupervised only"),
            (["--method", "one-vs-all", "--hidden", "8"], "--hidden applies to --method sdlgm only"),
            (["--method", "one-vs-all", "--max-active", "3"], "--max-active applies to --method sdlgm only"),
            (["--method", "one-vs-all", "--label-smoothing", "0.1"], "--label-smoothing applies to --method sdlgm only"),
            (["--label-smoothing", "1"], "--label-smoothing takes a weight in [0, 1)"),
            (["--mode", "unsupervised", "--label-smoothing", "0.1"], "--label-smoothing applies to --mode supervised only"),
            (["--method", "most-frequent", "--epochs", "3"], "--epochs does not apply to --method most-frequent"),
            (["--mode", "unsupervised", "--method", "sdlgm"], "--method applies to --mode supervised only"),
        ] + [["--likelihood", "bernoulli"], ["--samples", "2"], ["--straight-through"], ["--kl-warmup", "2"]].map {
            ($0, "\($0[0]) applies to --mode unsupervised only")
        } + [["--batch-size", "8"], ["--learning-rate", "0.1"], ["--seed", "2"], ["--resume", "m.h5"], ["--stream"]].map {
            (["--method", "most-frequent"] + $0, "\($0[0]) does not apply to --method most-frequent")
        }
        for (arguments, fragment) in scCases.map({ (sc + $0.0, $0.1) }) + sdlgmCases.map({ (sdlgm + $0.0, $0.1) }) {
            assertFails(try ToolHarness.run("sk-train", arguments), code: 64, containing: fragment, folder: folder)
        }
        for value in [["--anneal-prior", "10,,2"], ["--anneal-prior", "10,0.5"], ["--scheme", "sgd"]] {
            assertFails(try ToolHarness.run("sk-train", sc + value), code: 64, containing: value[0], folder: folder)
        }
        assertFails(try ToolHarness.run("sk-train", sdlgm + ["--hidden", "512,,3"]), code: 64, containing: "--hidden", folder: folder)
    }

    /// An output that cannot be created, or a data file whose patch geometry does not fit its rows, fails before
    /// the first epoch: no progress line is printed.
    func testOutputAndDataErrorsComeBeforeTheFirstEpoch() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5"
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "200", "--seed", "1"]).status, 0)
        let unwritable = try ToolHarness.run("sk-train", ["sc", bars, "-o", "/proc/sparsekit-model.h5", "--latents", "4", "--epochs", "50"])
        XCTAssertEqual(unwritable.status, 73, unwritable.stderr)
        XCTAssertFalse(unwritable.stderr.contains("epoch 1/"), unwritable.stderr)
        XCTAssertEqual(unwritable.stderr.split(separator: "\n").count, 1, unwritable.stderr)
        let file = try HDF5File.open(bars, writable: true)
        try PatchGeometry(height: 3, width: 3, channels: 1).write(to: file)
        try file.close()
        for arguments in [["sc", bars, "--latents", "4"], ["sdlgm", bars, "--mode", "unsupervised", "--latents", "4", "--max-active", "2"]] {
            assertFails(try ToolHarness.run("sk-train", arguments + ["-o", folder + "/m.h5", "--epochs", "50"]), code: 65,
                        containing: "3×3×1 = 9 values, but its /data rows hold 25", folder: folder, keeping: ["bars.h5"])
        }
    }
}

/// The same command and seed with `SOURCE_DATE_EPOCH` set write the same bytes (no wall-clock durations recorded).
final class ReproducibleTrainingToolTests: XCTestCase {
    func testSameSeedSameBytes() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5"
        let fixed = ["SOURCE_DATE_EPOCH": "1700000000"]
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "300", "--seed", "1"], environment: fixed).status, 0)
        let runs: [[String]] = [
            ["sc", bars, "--latents", "10", "--batch-size", "100", "--iterations", "20", "--epochs", "2", "--seed", "3"],
            ["sdlgm", bars, "--mode", "unsupervised", "--latents", "10", "--max-active", "3", "--hidden", "16", "--epochs", "2"],
            ["baseline", bars, "--model", "laplace"],
        ]
        for arguments in runs {
            var bytes: [Data] = []
            let path = folder + "/m.h5"  // the same command, so the same output path (the history records it)
            for _ in 0..<2 {
                try? FileManager.default.removeItem(atPath: path)
                let result = try ToolHarness.run("sk-train", arguments + ["-o", path, "--quiet"], environment: fixed)
                XCTAssertEqual(result.status, 0, result.stderr)
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            }
            XCTAssertEqual(bytes[0], bytes[1], "\(arguments[0]): the same bytes")
        }
    }
}
