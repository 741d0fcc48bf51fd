import Foundation
import XCTest

/// Progress as a person sees it on a terminal, and as a pipe gets it: on a (pseudo-)terminal, lines redrawn in place
/// with carriage returns, counts and an ETA, fitting the terminal's width and erased before the whole lines; on a
/// pipe, exactly the whole lines; with --quiet, nothing.
final class ProgressToolTests: XCTestCase {
    /// A bars file of 1,000 rows in a fresh folder.
    func bars() throws -> (folder: String, data: String) {
        let folder = try temporaryFolder(self)
        let synth = try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", "1000", "--seed", "1"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        return (folder, folder + "/bars.h5")
    }

    /// The arguments of a two-epoch unsupervised SDLGM run of 20 minibatches an epoch.
    func training(_ data: String, _ output: String) -> [String] {
        ["sdlgm", data, "-o", output, "--mode", "unsupervised", "--latents", "10", "--max-active", "3", "--epochs", "2",
         "--batch-size", "50", "--seed", "1"]
    }

    /// The redraws on `screen`: each carriage return begins one; its text runs to the erase-to-end-of-line.
    func redraws(_ screen: String) -> [String] {
        screen.split(separator: "\r", omittingEmptySubsequences: true).compactMap { part in
            part.range(of: "\u{1B}[K").map { String(part[..<$0.lowerBound]) }
        }.filter { !$0.isEmpty }
    }

    func testTrainingDrawsEpochProgressOnATerminalOnly() throws {
        let (folder, data) = try bars()
        guard let (status, screen) = try ToolHarness.runOnTerminal("sk-train", training(data, folder + "/tty.h5"), columns: 100) else {
            throw XCTSkip("util-linux script is not installed")
        }
        XCTAssertEqual(status, 0, screen)
        let drawn = redraws(screen)
        XCTAssertTrue(drawn.contains { $0.hasPrefix("epoch 1/2  [") && $0.contains(" 0/20 batches") }, screen)
        XCTAssertTrue(drawn.contains { $0.contains("20/20 batches") && $0.contains("/s  ELBO = -") && $0.contains("ETA ") }, screen)
        XCTAssertTrue(drawn.contains { $0.hasPrefix("epoch 1/2") && $0.contains("run ETA ") }, "the run's ETA while epochs remain: \(screen)")
        XCTAssertTrue(drawn.allSatisfy { $0.count <= 99 }, "fits the terminal's 100 columns (not $COLUMNS): \(drawn)")
        XCTAssertTrue(screen.contains("\r\u{1B}[Kepoch 1/2: ELBO = "), "erased before the epoch's line: \(screen)")
        XCTAssertTrue(screen.contains("\r\u{1B}[Kepoch 2/2: ELBO = "), screen)
        XCTAssertTrue(screen.hasSuffix("model in \(folder)/tty.h5\n"), screen)

        let piped = try ToolHarness.run("sk-train", training(data, folder + "/pipe.h5"))
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertFalse(piped.stderr.contains("\r") || piped.stderr.contains("\u{1B}"), "no redraws on a pipe: \(piped.stderr)")
        let lines = piped.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, piped.stderr)
        XCTAssertTrue(lines[0].hasPrefix("epoch 1/2: ELBO = ") && lines[1].hasPrefix("epoch 2/2: ELBO = "), piped.stderr)

        let quiet = try XCTUnwrap(ToolHarness.runOnTerminal("sk-train", training(data, folder + "/quiet.h5") + ["--quiet"]))
        XCTAssertEqual(quiet.status, 0)
        XCTAssertEqual(quiet.screen, "", "--quiet: nothing, terminal or not")
    }

    func testEvaluationDrawsRowsAndETAOnATerminal() throws {
        let (folder, data) = try bars()
        let model = folder + "/gaussian.h5"
        XCTAssertEqual(try ToolHarness.run("sk-train", ["baseline", data, "-o", model, "--model", "gaussian"]).status, 0)
        guard let (status, screen) = try ToolHarness.runOnTerminal("sk-eval", [model, data], columns: 60) else {
            throw XCTSkip("util-linux script is not installed")
        }
        XCTAssertEqual(status, 0, screen)
        let drawn = redraws(screen)
        XCTAssertEqual(drawn.first, "evaluating  [            ]  0/1000 rows  0s elapsed", screen)
        XCTAssertTrue(drawn.contains { $0.hasPrefix("evaluating  [============]  1000/1000 rows  ") && $0.contains("/s  ETA 0s") }, screen)
        XCTAssertTrue(drawn.allSatisfy { $0.count <= 59 }, "\(drawn)")
        let result = try XCTUnwrap(screen.components(separatedBy: "\r\u{1B}[K").last, "erased before the result")
        XCTAssertTrue(result.hasPrefix("model gaussian   points 1000"), screen)

        let piped = try ToolHarness.run("sk-eval", [model, data])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stderr, "", "no progress on a pipe")
    }

    /// Multi-label evaluation and prediction count their rows too.
    func testMultiLabelEvaluationAndPredictionDrawRows() throws {
        let folder = try temporaryFolder(self)
        let data = folder + "/medical.h5"
        func fixture(_ name: String) -> String { ToolHarness.fixture("multilabel/" + name) }
        XCTAssertEqual(try ToolHarness.run("sk-convert", [fixture("medical-train.arff"), fixture("medical-test.arff"), "--format", "arff",
                                                          "--xml", fixture("medical.xml"), "-o", data]).status, 0)
        let model = folder + "/mf.h5"
        XCTAssertEqual(try ToolHarness.run("sk-train", ["sdlgm", data, "-o", model, "--method", "most-frequent"]).status, 0)
        for (tool, arguments, stage) in [("sk-eval", [model, data], "evaluating"),
                                         ("sk-encode", [model, data, "-o", folder + "/codes.h5"], "predicting")] {
            guard let (status, screen) = try ToolHarness.runOnTerminal(tool, arguments, columns: 100) else {
                throw XCTSkip("util-linux script is not installed")
            }
            XCTAssertEqual(status, 0, screen)
            XCTAssertTrue(redraws(screen).contains { $0.hasPrefix("\(stage)  [") && $0.contains("645/645 rows") }, "\(tool): \(screen)")
        }
    }
}
