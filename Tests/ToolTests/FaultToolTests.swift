import DataKit
import Foundation
import XCTest

/// Faults from outside (issue 6): SIGINT during training, SIGKILL during a write, a file-size limit, an output
/// that cannot be created. Nothing half-written is ever left at an output path.
final class FaultToolTests: XCTestCase {
    /// Starts a tool, waits `seconds`, sends `signal`, and returns its exit status and stderr.
    func runAndSignal(_ tool: String, _ arguments: [String], after seconds: Double, signal: Int32) throws -> (Int32, String) {
        try runProcess(ToolHarness.products.appendingPathComponent(tool), arguments, signal: signal, after: seconds)
    }

    /// Runs `executable`; with `signal`, sends it after `seconds` (the process must still be running). Returns the
    /// exit status (or the signal that ended it) and stderr.
    func runProcess(_ executable: URL, _ arguments: [String], signal: Int32? = nil, after seconds: Double = 0) throws
        -> (Int32, String)
    {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        if let signal {
            Thread.sleep(forTimeInterval: seconds)
            XCTAssertTrue(process.isRunning, "\(executable.lastPathComponent) ended before the signal; give it more work")
            kill(process.processIdentifier, signal)
        }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }

    func epochs(_ path: String) throws -> Int { try HDF5File.open(path).read("/history/objective", as: Double.self).0.count }

    /// SIGINT stops training after the current minibatch, writes the model (exit 130, one line saying so), and
    /// `--resume` continues from it; for ES-SC and for both SDLGM modes.
    func testInterruptedTrainingSavesAResumableModel() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5"
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", bars, "--count", "2000", "--seed", "1"]).status, 0)
        let runs: [(String, [String])] = [
            ("sc", ["sc", bars, "--latents", "10", "--scheme", "em", "--batch-size", "100", "--seed", "1"]),
            ("unsupervised", ["sdlgm", bars, "--mode", "unsupervised", "--latents", "10", "--max-active", "3", "--hidden", "16",
                              "--batch-size", "20", "--seed", "1"]),
        ]
        for (name, arguments) in runs {
            let model = folder + "/\(name).h5"
            let (status, stderr) = try runAndSignal("sk-train", arguments + ["-o", model, "--epochs", "100000", "--quiet"],
                                                   after: 2, signal: SIGINT)
            XCTAssertEqual(status, 130, "\(name): \(stderr)")
            XCTAssertTrue(stderr.contains("interrupted") && stderr.contains("--resume \(model)"), stderr)
            XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
            let saved = try epochs(model)
            XCTAssertGreaterThanOrEqual(saved, 1)
            let resumed = try ToolHarness.run("sk-train", arguments + ["-o", model, "--epochs", "1", "--resume", model])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertEqual(try epochs(model), saved + 1)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
        XCTAssertEqual(left, [], "no temporary files after orderly stops")
    }

    /// A signal while sk-patches streams its output: the file that stood at the path before is untouched (same bytes)
    /// and nothing new appears at the path. SIGKILL may leave the hidden temporary file; SIGINT and SIGTERM end a tool
    /// without safe points at the first signal, as a shell user expects of Ctrl-C, and remove it.
    func testSignalledWriteLeavesThePreviousFile() throws {
        let folder = try temporaryFolder(self)
        let output = folder + "/patches.h5"
        XCTAssertEqual(try ToolHarness.run("sk-synth", ["bars", "-o", output, "--count", "10", "--seed", "1"]).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: output))
        let images = try FileManager.default.contentsOfDirectory(atPath: ToolHarness.fixture("images"))
            .filter { $0.hasSuffix(".png") }.map { ToolHarness.fixture("images/" + $0) }
        for signalNumber in [SIGKILL, SIGINT, SIGTERM] {
            let (status, _) = try runAndSignal("sk-patches", images + ["-o", output, "--count", "50000000", "--seed", "1"],
                                               after: 1.5, signal: signalNumber)
            XCTAssertEqual(status, signalNumber, "ended by the first signal")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), before, "the previous file is intact")
            let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0 != "patches.h5" }
            if signalNumber == SIGKILL {
                for name in left { try FileManager.default.removeItem(atPath: folder + "/" + name) }
            } else {
                XCTAssertEqual(left, [], "no temporary file is left after signal \(signalNumber)")
            }
        }
    }

    /// Past `ulimit -f`, writing fails with exit 73 and one line; no output and no temporary file is left.
    func testFileSizeLimitFailsCleanly() throws {
        let folder = try temporaryFolder(self)
        let tool = ToolHarness.products.appendingPathComponent("sk-synth").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f 20 && exec \"$0\" bars -o \"$1\" --count 200000 --seed 1", tool, folder + "/big.h5"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 73, stderr)
        XCTAssertTrue(stderr.hasPrefix("sk-synth: \(folder)/big.h5: ") && stderr.contains("write failed"), stderr)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "nothing left behind")
    }

    /// Data larger than a memory limit (`ulimit -v`, 1 GiB of address space; a 2,000,000 × 256 file whose
    /// chunks are nearly all unwritten, so it is small on disk) make the in-memory trainer fail with exit 70 and one
    /// line that points to --stream, not crash in the allocation; with --stream it trains within the limit.
    func testDataBeyondAMemoryLimitFailWithOneLine() throws {
        let folder = try temporaryFolder(self)
        let data = folder + "/large.h5"
        let file = try HDF5File.create(data)
        let rows = try file.createDataset("/data", of: Float.self, shape: [2_000_000, 256],
                                          layout: DatasetLayout(chunkRows: 512, gzipLevel: 1))
        let first = (0..<(512 * 256)).map { Float($0 % 97) / 97 }
        try first.withUnsafeBufferPointer { try rows.writeRows($0, at: 0) }
        try file.writeHeader(kind: .patches, history: ["test"])
        try file.close()
        /// sk-train under the limit; with `interruptAfter`, SIGINT then (the streamed epoch over 2 M rows is long).
        func train(_ extra: [String], interruptAfter seconds: Double? = nil) throws -> (Int32, String) {
            try runProcess(URL(fileURLWithPath: "/bin/sh"),
                           ["-c", "ulimit -v 1048576 && exec \"$0\" \"$@\"",
                            ToolHarness.products.appendingPathComponent("sk-train").path, "sc", data,
                            "-o", folder + "/model.h5", "--latents", "4", "--epochs", "1", "--batch-size", "4096",
                            "--iterations", "1", "--quiet"] + extra,
                           signal: seconds == nil ? nil : SIGINT, after: seconds ?? 0)
        }
        let (status, stderr) = try train([])
        if stderr.contains("AddressSanitizer") {  // its shadow memory alone exceeds the limit
            throw XCTSkip("tools built with the address sanitizer cannot start under ulimit -v")
        }
        XCTAssertEqual(status, 70, stderr)
        XCTAssertTrue(stderr.hasPrefix("sk-train: \(data): /data: reading it needs 1.91 GiB") && stderr.contains("--stream"),
                      stderr)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/model.h5"))
        let streamed = try train(["--stream"], interruptAfter: 3)
        XCTAssertEqual(streamed.0, 130, streamed.1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/model.h5"), "trained within the limit")
    }

    /// An output on a read-only file system (here /proc, which even root cannot write), or a path that is a folder,
    /// fails with exit 73.
    func testUnwritableOutput() throws {
        let result = try ToolHarness.run("sk-synth", ["bars", "-o", "/proc/sparsekit-test.h5", "--count", "10"])
        XCTAssertEqual(result.status, 73, result.stderr)
        XCTAssertTrue(result.stderr.contains("/proc/"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        let folder = try temporaryFolder(self)
        try FileManager.default.createDirectory(atPath: folder + "/out.h5", withIntermediateDirectories: false)
        assertFails(try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/out.h5", "--count", "10"]), code: 73,
                    containing: "is a folder", folder: folder, keeping: ["out.h5"])
    }
}
