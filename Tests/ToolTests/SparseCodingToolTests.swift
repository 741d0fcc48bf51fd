import DataKit
import Models
import XCTest

/// sk-synth → sk-train sc → sk-eval / sk-encode / sk-inspect, as a user chains them.
final class SparseCodingToolTests: XCTestCase {
    func testBarsPipeline() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", "300", "--seed", "1"]).status, 0)
        let train = try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "-o", folder + "/m.h5", "--latents", "10",
                                                     "--scheme", "full-batch", "--epochs", "3", "--iterations", "50", "--seed", "2"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("epoch 3/3: L = "), train.stderr)
        let m = try HDF5File.open(folder + "/m.h5")
        XCTAssertEqual(try m.fileKind(), .model)
        XCTAssertEqual(try m.attribute("model"), .string("es-sc"))
        XCTAssertEqual(try m.dataset("/model/W").shape, [25, 10])
        XCTAssertEqual(try m.dataset("/history/objective").shape, [3])
        XCTAssertEqual(try m.attribute("scheme", of: "/config"), .string("full-batch"))
        let objectives = try m.read("/history/objective", as: Double.self).values
        XCTAssertGreaterThan(objectives[2], objectives[0], "training ascends")

        let eval = try ToolHarness.run("sk-eval", [folder + "/m.h5", folder + "/bars.h5", "--loglik", "--temperatures", "1000", "--chains", "2", "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try ToolHarness.decode(SparseCodingEvaluation.self, eval.stdout)
        XCTAssertEqual(report.points, 300)
        XCTAssertGreaterThanOrEqual(report.logLikelihood!.mean, report.heldOutELBO.mean - 3 * report.heldOutELBO.standardError,
                                    "log p(x) ≥ ELBO, up to noise")
        // The collapsed transition on the geometric schedule: labelled so, and also at least the held-out ELBO (it came
        // out 0.8 above the coordinate estimate at these small T, K on the bars, whose posteriors are the hardest here).
        let collapsed = try ToolHarness.run("sk-eval", [folder + "/m.h5", folder + "/bars.h5", "--loglik", "--temperatures", "300",
                                                        "--chains", "2", "--transition", "collapsed", "--schedule", "geometric", "--json"])
        XCTAssertEqual(collapsed.status, 0, collapsed.stderr)
        let other = try ToolHarness.decode(SparseCodingEvaluation.self, collapsed.stdout).logLikelihood!
        XCTAssertEqual(other.transition, .collapsed)
        XCTAssertEqual(other.schedule, .geometric)
        XCTAssertGreaterThanOrEqual(other.mean, report.heldOutELBO.mean - 3 * report.heldOutELBO.standardError, "log p(x) ≥ ELBO")

        let encode = try ToolHarness.run("sk-encode", [folder + "/m.h5", folder + "/bars.h5", "-o", folder + "/codes.h5"])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        let codes = try HDF5File.open(folder + "/codes.h5")
        XCTAssertEqual(try codes.fileKind(), .codes)
        XCTAssertEqual(try codes.dataset("/codes").shape, [300, 10])
        XCTAssertTrue(try codes.readMatrix("/codes_std").storage.allSatisfy { $0 > 0 })
        XCTAssertEqual(try ToolHarness.run("sk-inspect", [folder + "/m.h5", "--tiles", "-o", folder + "/w.png"]).status, 0)
    }

    func testMismatchesSayWhichStageToRerun() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", "50"]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "-o", folder + "/m.h5", "--latents", "4",
                                                        "--scheme", "full-batch", "--epochs", "1", "--iterations", "5"]).status, 0)
        let patches = folder + "/p.h5"
        XCTAssertEqual(try ToolHarness.run("sk-patches", [ToolHarness.fixture("images/camera.png"), "-o", patches, "--size", "4",
                                                          "--count", "20"]).status, 0)
        let kept: Set<String> = ["bars.h5", "m.h5", "p.h5"]
        assertFails(try ToolHarness.run("sk-eval", [folder + "/m.h5", patches]), code: 65,
                    containing: "rows have 16 values but \(folder)/m.h5 expects 25", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-eval", [patches, folder + "/bars.h5"]), code: 65,
                    containing: "is a 'patches' file; expected model", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sc", ToolHarness.fixture("broken/nan.h5"), "-o", folder + "/x.h5",
                                                     "--latents", "2"]), code: 65,
                    containing: "/data holds NaN at row 37", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "-o", folder + "/x.h5", "--latents", "2",
                                                     "--posterior", "amortised"]), code: 64,
                    containing: "'amortised' is invalid for '--posterior <posterior>'. Please provide one of 'diagonal', 'full', 'amortized' or 'amortized-lowrank'", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "-o", folder + "/x.h5", "--latents", "2",
                                                     "--posterior", "amortized"]), code: 64,
                    containing: "--posterior amortized and amortized-lowrank train with --scheme adam", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "-o", folder + "/x.h5", "--latents", "2",
                                                     "--posterior", "full", "--scheme", "em"]), code: 64,
                    containing: "--posterior full trains with --scheme full-batch", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "-o", folder + "/x.h5", "--latents", "2",
                                                     "--objective", "map-l1", "--scheme", "full-batch"]), code: 64,
                    containing: "--objective map-l1 trains diagonal posteriors with --scheme em", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-encode", [folder + "/m.h5", patches, "-o", folder + "/c.h5"]), code: 65,
                    containing: "expects 25", folder: folder, keeping: kept)
    }

    /// The baselines train through the same tool and write models sk-eval reads.
    func testBaselinesThroughTheTools() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", "200", "--seed", "1"]).status, 0)
        let runs = [("map-l1", ["--objective", "map-l1", "--penalty", "0.05", "--iterations", "20"]),
                    ("elbo-mc", ["--objective", "elbo-mc", "--samples", "2", "--iterations", "20"]),
                    ("amortized", ["--posterior", "amortized", "--scheme", "adam"]),
                    ("amortized-lowrank", ["--posterior", "amortized-lowrank", "--scheme", "adam", "--rank", "2"])]
        for (name, extra) in runs {
            let model = folder + "/\(name).h5"
            let train = try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "-o", model, "--latents", "10",
                                                         "--epochs", "2", "--batch-size", "100", "--seed", "1"] + extra)
            XCTAssertEqual(train.status, 0, train.stderr)
            let file = try HDF5File.open(model)
            XCTAssertEqual(try file.attribute(extra[0].dropFirst(2) == "objective" ? "objective" : "posterior", of: "/config"),
                           .string(name))
            let objective = name
            let eval = try ToolHarness.run("sk-eval", [model, folder + "/bars.h5", "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
            let report = try ToolHarness.decode(SparseCodingEvaluation.self, eval.stdout)
            XCTAssertTrue(report.heldOutELBO.mean.isFinite, objective)
        }
        // sk-encode uses the amortized encoder when the model has one.
        let amortized = try HDF5File.open(folder + "/amortized.h5")
        XCTAssertTrue(amortized.exists("/model/encoder/input/weight"))
        let encode = try ToolHarness.run("sk-encode", [folder + "/amortized.h5", folder + "/bars.h5", "-o", folder + "/codes.h5"])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        let encoder = try GaussianEncoder.read(from: amortized, dimension: 25, latents: 10)!
        let x = try HDF5File.open(folder + "/bars.h5").readMatrix("/data")
        XCTAssertEqual(try HDF5File.open(folder + "/codes.h5").readMatrix("/codes"), encoder.encode(x).mu)
    }

    /// --resume continues from a model: history appended and numbered on, W starting where it stopped.
    func testResumeContinuesTraining() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", "200", "--seed", "1"]).status, 0)
        let common = ["sc", folder + "/bars.h5", "--latents", "10", "--posterior", "amortized", "--scheme", "adam",
                      "--batch-size", "50", "--seed", "1"]
        XCTAssertEqual(try ToolHarness.run("sk-train", common + ["-o", folder + "/a.h5", "--epochs", "3"]).status, 0)
        // A vanishing learning rate: the resumed W is the stored one.
        let still = try ToolHarness.run("sk-train", common + ["-o", folder + "/b.h5", "--epochs", "2", "--resume", folder + "/a.h5",
                                                              "--learning-rate", "1e-12"])
        XCTAssertEqual(still.status, 0, still.stderr)
        XCTAssertTrue(still.stderr.contains("epoch 5/"), still.stderr)
        let (a, b) = (try HDF5File.open(folder + "/a.h5"), try HDF5File.open(folder + "/b.h5"))
        XCTAssertEqual(try b.read("/history/objective", as: Double.self).values.count, 5)
        XCTAssertEqual(Array(try b.read("/history/objective", as: Double.self).values.prefix(3)),
                       try a.read("/history/objective", as: Double.self).values)
        let (wa, wb) = (try a.readMatrix("/model/W"), try b.readMatrix("/model/W"))
        XCTAssertLessThan(zip(wa.storage, wb.storage).map { abs($0 - $1) }.max()!, 1e-5)
        // Resuming in place is allowed (the output is atomic); another posterior family is refused.
        XCTAssertEqual(try ToolHarness.run("sk-train", common + ["-o", folder + "/a.h5", "--epochs", "1", "--resume", folder + "/a.h5"]).status, 0)
        XCTAssertEqual(try HDF5File.open(folder + "/a.h5").read("/history/seconds", as: Double.self).values.count, 4)
        assertFails(try ToolHarness.run("sk-train", ["sc", folder + "/bars.h5", "--latents", "10", "-o", folder + "/c.h5",
                                                     "--resume", folder + "/a.h5"]), code: 65,
                    containing: "was trained with --posterior amortized, not diagonal", folder: folder,
                    keeping: ["a.h5", "b.h5", "bars.h5"])
    }

    /// `--objective likelihood --init MODEL` starts from MODEL's σ² (its first epoch's σ² near the model's, where a
    /// fresh start begins at the data's variance); what is not such a model, or no file, fails with one line naming it
    /// and nothing written; --init with --resume, or with another objective, is a usage error.
    func testLikelihoodInitStartsFromAModelAndRefusesWhatIsNotOne() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5"
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "200", "--seed", "1"]).status, 0)
        let common = ["sc", bars, "--latents", "10", "--objective", "likelihood", "--batch-size", "50", "--seed", "1", "--quiet"]
        XCTAssertEqual(try ToolHarness.run("sk-train", common + ["-o", folder + "/a.h5", "--epochs", "20"]).status, 0)
        let started = try ToolHarness.run("sk-train", common + ["-o", folder + "/b.h5", "--epochs", "1", "--init", folder + "/a.h5"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let stored = try HDF5File.open(folder + "/a.h5").read("/history/sigma2", as: Double.self).values.last!
        let first = try HDF5File.open(folder + "/b.h5").read("/history/sigma2", as: Double.self).values[0]
        XCTAssertEqual(first, stored, accuracy: 0.3 * stored, "the first epoch starts from the model's σ²")
        let keep: Set = ["bars.h5", "a.h5", "b.h5"]
        assertFails(try ToolHarness.run("sk-train", common + ["-o", folder + "/c.h5", "--init", folder + "/none.h5"]), code: 66,
                    containing: "none.h5", folder: folder, keeping: keep)
        assertFails(try ToolHarness.run("sk-train", common + ["-o", folder + "/c.h5", "--init", bars]), code: 65,
                    containing: "bars.h5", folder: folder, keeping: keep)
        assertFails(try ToolHarness.run("sk-train", common + ["-o", folder + "/c.h5", "--init", folder + "/a.h5", "--resume", folder + "/a.h5"]),
                    code: 64, containing: "--init starts a new run", folder: folder, keeping: keep)
        assertFails(try ToolHarness.run("sk-train", ["sc", bars, "--latents", "10", "-o", folder + "/c.h5", "--init", folder + "/a.h5"]),
                    code: 64, containing: "--init applies to --objective likelihood only", folder: folder, keeping: keep)
    }

    /// `--m-step adam` trains, and a resumed run (chains, generator and Adam's moments stored) continues exactly: 2 + 1
    /// epochs end at the W of 3. Settings of the other M-step are refused with a line naming them.
    func testLikelihoodAdamStepResumesExactlyAndRefusesTheOtherStepsSettings() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5"
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "200", "--seed", "1"]).status, 0)
        let common = ["sc", bars, "--latents", "10", "--objective", "likelihood", "--m-step", "adam", "--learning-rate", "0.01",
                      "--batch-size", "50", "--seed", "1", "--quiet"]
        XCTAssertEqual(try ToolHarness.run("sk-train", common + ["-o", folder + "/a.h5", "--epochs", "3"]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-train", common + ["-o", folder + "/b.h5", "--epochs", "2"]).status, 0)
        let resumed = try ToolHarness.run("sk-train", common + ["-o", folder + "/b.h5", "--epochs", "1", "--resume", folder + "/b.h5"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let (a, b) = (try HDF5File.open(folder + "/a.h5"), try HDF5File.open(folder + "/b.h5"))
        XCTAssertEqual(try a.readMatrix("/model/W"), try b.readMatrix("/model/W"))
        XCTAssertEqual(try a.attribute("m_step", of: "/config"), .string("adam"))
        let keep: Set = ["bars.h5", "a.h5", "b.h5"]
        assertFails(try ToolHarness.run("sk-train", common + ["-o", folder + "/c.h5", "--statistics-step", "0.1"]), code: 64,
                    containing: "--statistics-step applies to --objective likelihood with --m-step em only", folder: folder, keeping: keep)
        assertFails(try ToolHarness.run("sk-train", ["sc", bars, "--latents", "10", "--objective", "likelihood", "-o", folder + "/c.h5",
                                                     "--learning-rate", "0.01"]), code: 64,
                    containing: "--learning-rate applies to --objective likelihood with --m-step adam only", folder: folder, keeping: keep)
        assertFails(try ToolHarness.run("sk-train", ["sc", bars, "--latents", "10", "-o", folder + "/c.h5", "--m-step", "adam"]), code: 64,
                    containing: "--m-step applies to --objective likelihood only", folder: folder, keeping: keep)
    }

    /// --stream trains from disk (recorded in /config, resumable), and says why when the settings need memory.
    func testStreamFromDisk() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", "300", "--seed", "1"]).status, 0)
        let common = ["sc", folder + "/bars.h5", "--latents", "10", "--batch-size", "50", "--iterations", "20", "--stream", "--seed", "1"]
        let train = try ToolHarness.run("sk-train", common + ["-o", folder + "/m.h5", "--epochs", "2", "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("\"epochs\" : 2"), train.stdout)
        let model = try HDF5File.open(folder + "/m.h5")
        XCTAssertEqual(try model.attribute("streamed", of: "/config"), .int(1))
        XCTAssertEqual(try model.read("/history/objective", as: Double.self).values.count, 2)
        let resumed = try ToolHarness.run("sk-train", common + ["-o", folder + "/m.h5", "--epochs", "1", "--resume", folder + "/m.h5"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try HDF5File.open(folder + "/m.h5").read("/history/objective", as: Double.self).values.count, 3)
        assertFails(try ToolHarness.run("sk-train", common + ["-o", folder + "/x.h5", "--objective", "map-l1"]), code: 64,
                    containing: "--stream: the map-l1 baseline trains from memory only", folder: folder, keeping: ["bars.h5", "m.h5"])
    }
}


import Foundation
