import DataKit
import Foundation
import XCTest

/// `mpirun -np 2 sk-train sc …` (`SparseCodingTrainer+Distributed.swift`): the model one process streaming the file
/// trains, to rounding; only rank 0 writes it; settings that do not train over MPI are refused; a rank that fails
/// alone brings the job down within seconds, writing nothing. Skipped, with a message, where mpirun is absent.
final class DistributedToolTests: XCTestCase {
    /// Open MPI's mpirun on PATH, or nil.
    static let mpirun: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs `mpirun --oversubscribe -np ranks sk-train arguments` (as root too: CI runs as root).
    func mpirun(_ ranks: Int, _ arguments: [String]) throws -> ToolHarness.Result {
        guard let mpirun = Self.mpirun else { throw XCTSkip("mpirun is absent (apt-get install openmpi-bin libopenmpi-dev): MPI tests skipped") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["--oversubscribe", "-np", String(ranks), ToolHarness.products.appendingPathComponent("sk-train").path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl_vader_single_copy_mechanism": "none"]) { $1 }
        let out = Pipe(), err = Pipe()
        (process.standardOutput, process.standardError, process.standardInput) = (out, err, FileHandle.nullDevice)
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return .init(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
    }

    func bars(_ folder: String, count: Int) throws -> String {
        let synth = try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", String(count), "--seed", "1"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        return folder + "/bars.h5"
    }

    /// Two ranks train the W one process trains from the same batches (`--stream`), to 1e-5 after one epoch of 20
    /// minibatches (measured: 8e-7; a one-ulp change of the learning rate in one process moves W by 3e-7 in that
    /// epoch and by 0.1 after three: training the bars amplifies any rounding, so longer runs part ways as any two
    /// roundings would). /config records the ranks; nothing but the model is left beside the data.
    func testTwoRanksTrainTheOneProcessModel() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder, count: 2000)
        let common = ["sc", data, "--latents", "10", "--batch-size", "100", "--epochs", "1", "--learning-rate", "0.05", "--seed", "2", "--quiet"]
        let two = try mpirun(2, common + ["-o", folder + "/two.h5"])
        XCTAssertEqual(two.status, 0, two.stderr)
        let one = try ToolHarness.run("sk-train", common + ["-o", folder + "/one.h5", "--stream"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let (a, b) = (try HDF5File.open(folder + "/one.h5"), try HDF5File.open(folder + "/two.h5"))
        let (w1, w2) = (try a.read("/model/W", as: Float.self).values, try b.read("/model/W", as: Float.self).values)
        XCTAssertEqual(w1.count, w2.count)
        XCTAssertLessThan(zip(w1, w2).map { abs($0 - $1) }.max()!, 1e-5)
        XCTAssertEqual(try b.attribute("ranks", of: "/config"), .int(2))
        XCTAssertEqual(try b.attribute("streamed", of: "/config"), .int(1))
        XCTAssertNil(try a.attribute("ranks", of: "/config"), "one process records no ranks")
        let objectives = (try a.read("/history/objective", as: Double.self).values, try b.read("/history/objective", as: Double.self).values)
        XCTAssertEqual(objectives.0[0], objectives.1[0], accuracy: 1e-5 * abs(objectives.0[0]))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["bars.h5", "one.h5", "two.h5"])
    }

    /// Settings that do not train over MPI are refused by every rank with exit 64, writing nothing.
    func testSettingsThatDoNotTrainOverMPIAreRefused() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder, count: 300)
        let result = try mpirun(2, ["sc", data, "-o", folder + "/m.h5", "--latents", "10", "--scheme", "full-batch"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("sk-train (rank 1 of 2): over MPI (mpirun), sk-train sc trains only --scheme em"), result.stderr)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["bars.h5"])
        for (arguments, tool) in [(["sdlgm", data, "--mode", "unsupervised", "--latents", "10"], "sk-train sdlgm"),
                                  (["baseline", data, "--model", "gaussian"], "sk-train baseline")] {
            let refused = try mpirun(2, arguments + ["-o", folder + "/m.h5"])
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("\(tool) does not train over MPI yet"), refused.stderr)
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["bars.h5"])
    }

    /// A NaN that only one rank reads fails that rank alone (65, naming the rank, the file and the row); the other,
    /// waiting in an all-reduce, is ended by MPI_Abort after the 5 s grace: the job stops within seconds, exits
    /// non-zero, and the model file already there stays as it was.
    func testARankThatFailsAloneStopsTheJobAndWritesNothing() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder, count: 2000)
        let file = try HDF5File.open(data, writable: true)
        var x = try file.readDataMatrix()
        x[1234, 3] = .nan
        try file.remove("/data")
        try file.write(x, to: "/data")
        try file.close()
        try Data("previous".utf8).write(to: URL(fileURLWithPath: folder + "/m.h5"))
        let started = Date()
        let result = try mpirun(2, ["sc", data, "-o", folder + "/m.h5", "--latents", "10", "--batch-size", "100", "--epochs", "3"])
        XCTAssertNotEqual(result.status, 0, result.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        XCTAssertTrue(result.stderr.contains("holds NaN at row 1234"), result.stderr)
        XCTAssertTrue(result.stderr.contains("of 2): "), result.stderr)
        XCTAssertEqual(try String(contentsOfFile: folder + "/m.h5", encoding: .utf8), "previous")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["bars.h5", "m.h5"])
    }
}
