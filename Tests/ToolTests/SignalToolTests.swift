import DataKit
import Foundation
import XCTest

/// Signals never hold a trainer for long: a second SIGINT ends it at once, and a minibatch that runs on after the
/// first one is abandoned after `Interruption.safePointGrace` seconds; either way no temporary file is left and the
/// previous model at the output path is untouched.
final class SignalToolTests: XCTestCase {
    /// Starts sk-train, sends `signals` at the given seconds after the start, and returns the seconds from the last
    /// signal to the end, the termination reason and status.
    func train(_ arguments: [String], signals: [(Double, Int32)]) throws -> (seconds: Double, reason: Process.TerminationReason, status: Int32) {
        let process = Process()
        process.executableURL = ToolHarness.products.appendingPathComponent("sk-train")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let started = Date()
        try process.run()
        for (at, number) in signals {
            Thread.sleep(forTimeInterval: max(0, at - Date().timeIntervalSince(started)))
            XCTAssertTrue(process.isRunning, "sk-train ended before the signal; give it more work")
            kill(process.processIdentifier, number)
        }
        let signalled = Date()
        let deadline = signalled.addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (Date().timeIntervalSince(signalled), process.terminationReason, process.terminationStatus)
    }

    /// One minibatch that takes minutes (many relaxed samples per point): the first SIGINT waits for it at most the
    /// grace period, a second one ends the process at once.
    func testLongMinibatchesDoNotHoldSignals() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5"
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "2000", "--seed", "1"]).status, 0)
        try Data("previous".utf8).write(to: URL(fileURLWithPath: folder + "/m.h5"))
        let slow = ["sdlgm", bars, "-o", folder + "/m.h5", "--mode", "unsupervised", "--latents", "10", "--max-active", "3",
                    "--hidden", "64", "--batch-size", "2000", "--samples", "5000", "--quiet"]
        let twice = try train(slow, signals: [(1.5, SIGINT), (2.0, SIGINT)])
        XCTAssertLessThan(twice.seconds, 1.5, "a second signal ends the process at once")
        XCTAssertEqual(twice.reason, .uncaughtSignal)
        XCTAssertEqual(twice.status, SIGINT)
        let once = try train(slow, signals: [(1.5, SIGTERM)])
        XCTAssertLessThan(once.seconds, Double(Interruption.safePointGrace) + 3, "the grace period bounds the wait")
        XCTAssertGreaterThan(once.seconds, Double(Interruption.safePointGrace) - 1, "the first signal waits for a safe point")
        XCTAssertEqual(once.reason, .uncaughtSignal)
        XCTAssertEqual(once.status, SIGTERM)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["bars.h5", "m.h5"], "no temporary file")
        XCTAssertEqual(try String(contentsOfFile: folder + "/m.h5", encoding: .utf8), "previous", "the previous output is untouched")
    }
}
