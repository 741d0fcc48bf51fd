import DataKit
import Foundation
import XCTest

/// `mpirun -np 2 sk-train sc …` (`SparseCodingTrainer+Distributed.swift`): the model one process streaming the file
/// trains, to rounding; only rank 0 writes it; settings that do not train over MPI are refused; a rank that fails
/// alone, or is killed, brings the job down within seconds, writing nothing; SIGINT to mpirun stops every rank with a
/// resumable model; `--resume` under mpirun continues as one run does. Skipped, with a message, where mpirun is absent.
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

    /// `mpirun --oversubscribe -np ranks sk-train arguments` started and left running; its stderr is collected as it
    /// comes (`waitFor`), so a test can act once training is under way.
    final class RunningJob: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var collected = Data()
        private let errPipe = Pipe()

        init(_ ranks: Int, _ arguments: [String]) throws {
            guard let mpirun = DistributedToolTests.mpirun else {
                throw XCTSkip("mpirun is absent (apt-get install openmpi-bin libopenmpi-dev): MPI tests skipped")
            }
            process.executableURL = URL(fileURLWithPath: mpirun)
            process.arguments = ["--oversubscribe", "-np", String(ranks), ToolHarness.products.appendingPathComponent("sk-train").path]
                + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(
                ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl_vader_single_copy_mechanism": "none"]) { $1 }
            (process.standardOutput, process.standardError, process.standardInput) = (FileHandle.nullDevice, errPipe, FileHandle.nullDevice)
            errPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self, !data.isEmpty else { return }
                self.lock.lock()
                self.collected.append(data)
                self.lock.unlock()
            }
            try process.run()
        }

        /// The stderr collected so far.
        var stderr: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: collected, as: UTF8.self)
        }

        /// Waits until stderr contains `text` (true) or `seconds` pass or the job ends (false).
        func waitFor(_ text: String, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if stderr.contains(text) { return true }
                if !process.isRunning { return stderr.contains(text) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return false
        }

        /// Waits up to `seconds` for the job to end (then terminates it); returns its status, the seconds waited and
        /// the whole stderr.
        func finish(seconds: Double) -> (status: Int32, seconds: Double, stderr: String) {
            let started = Date()
            while process.isRunning && Date().timeIntervalSince(started) < seconds { Thread.sleep(forTimeInterval: 0.05) }
            let waited = Date().timeIntervalSince(started)
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.2)  // the last bytes through the pipe
            errPipe.fileHandleForReading.readabilityHandler = nil
            lock.lock()
            collected.append(errPipe.fileHandleForReading.readDataToEndOfFile())
            lock.unlock()
            return (process.terminationStatus, waited, stderr)
        }

        /// The process id of rank `rank`: the child of mpirun whose environment says OMPI_COMM_WORLD_RANK=rank.
        func pid(ofRank rank: Int) -> pid_t? {
            let parent = process.processIdentifier
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            for entry in entries {
                guard let pid = pid_t(entry),
                      let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")  // state, ppid, …
                guard fields.count > 1, pid_t(fields[1]) == parent,
                      let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
                let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
            }
            return nil
        }
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

    /// `kill -9` of one rank while both train: mpirun notices and ends the other (SIGCONT, SIGTERM, SIGKILL, a second
    /// apart; the survivor is waiting in an all-reduce, so it never reaches the safe point its SIGTERM asks for). The
    /// job ends within seconds (measured 2.0 s) with a non-zero status and one line naming the rank (mpirun's
    /// "process rank 1 … exited on signal 9"; no rank adds one), and the model file already there stays as it was.
    func testAKilledRankStopsTheJobAndWritesNothing() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder, count: 2000)
        try Data("previous".utf8).write(to: URL(fileURLWithPath: folder + "/m.h5"))
        let job = try RunningJob(2, ["sc", data, "-o", folder + "/m.h5", "--latents", "10", "--batch-size", "100", "--epochs", "100000"])
        XCTAssertTrue(job.waitFor("epoch 1/", seconds: 60), "training did not start: \(job.stderr)")
        let victim = try XCTUnwrap(job.pid(ofRank: 1), "rank 1's process not found among mpirun's children")
        XCTAssertEqual(kill(victim, SIGKILL), 0)
        let (status, seconds, stderr) = job.finish(seconds: 60)
        XCTAssertNotEqual(status, 0, stderr)
        XCTAssertLessThan(seconds, 30, "every rank stops within seconds")
        let naming = stderr.split(separator: "\n").filter { $0.contains("rank 1") }
        XCTAssertEqual(naming.count, 1, stderr)
        XCTAssertTrue(naming.first?.contains("signal 9") ?? false, stderr)
        XCTAssertFalse(stderr.contains("sk-train (rank"), "the surviving rank prints nothing: \(stderr)")
        XCTAssertEqual(try String(contentsOfFile: folder + "/m.h5", encoding: .utf8), "previous")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["bars.h5", "m.h5"])
    }

    /// SIGINT to mpirun: Open MPI does not pass it on, it ends the job (SIGCONT to every rank, SIGTERM a second later,
    /// SIGKILL a second after that). Each rank takes SIGTERM as SIGINT: the stop flag, all-reduced with the M-step's
    /// sums, stops every rank after the same minibatch, rank 0 writes the resumable model, and the ranks leave
    /// without MPI_Finalize, before the SIGKILL. One line says so (rank 0's); mpirun's own status is 1. Two ranks then
    /// resume it for one more epoch.
    func testSIGINTToMPIRunStopsEveryRankWithAResumableModel() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder, count: 2000)
        let model = folder + "/m.h5"
        let arguments = ["sc", data, "-o", model, "--latents", "10", "--batch-size", "100", "--seed", "1"]
        let job = try RunningJob(2, arguments + ["--epochs", "100000"])
        XCTAssertTrue(job.waitFor("epoch 1/", seconds: 60), "training did not start: \(job.stderr)")
        XCTAssertEqual(kill(job.process.processIdentifier, SIGINT), 0)
        let (status, seconds, stderr) = job.finish(seconds: 60)
        XCTAssertNotEqual(status, 0, stderr)
        XCTAssertLessThan(seconds, 30, "every rank stops within seconds")
        let lines = stderr.split(separator: "\n").filter { !$0.hasPrefix("epoch ") }
        XCTAssertEqual(lines.count, 1, stderr)
        XCTAssertTrue(lines.first?.hasPrefix("sk-train (rank 0 of 2): ") ?? false, stderr)
        XCTAssertTrue(stderr.contains("interrupted") && stderr.contains("--resume \(model)"), stderr)
        let file = try HDF5File.open(model)
        let saved = try file.read("/history/objective", as: Double.self).values.count
        XCTAssertGreaterThanOrEqual(saved, 1)
        XCTAssertTrue(stderr.contains("the model after \(saved) epoch"), stderr)
        XCTAssertEqual(try file.attribute("ranks", of: "/config"), .int(2))
        try file.close()
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["bars.h5", "m.h5"], "no temporary file")
        let resumed = try mpirun(2, arguments + ["--epochs", "1", "--resume", model, "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try HDF5File.open(model).read("/history/objective", as: Double.self).values.count, saved + 1)
    }

    /// `--resume` under mpirun continues as one run does. A model of 1 epoch by 2 ranks, resumed by 2 ranks for 1 more,
    /// is bit for bit the model 2 ranks train in 2 epochs (the one-process contract, `TrainingContractTests`: the
    /// ranks all read the stored V and generator, and the all-reduces add in the same order). A model of 1 epoch by one
    /// process (`--stream`), resumed by 2 ranks, is the model one process trains in 2 epochs to rounding (measured
    /// max |ΔW| 7.5e-8 at learning rate 0.02; at 0.05 the bars amplify the rounding to 6e-4 in that epoch, as in
    /// `testTwoRanksTrainTheOneProcessModel`), its first epoch's record that process's exactly.
    func testResumeUnderMPIRunContinuesAsOneRun() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder, count: 2000)
        let common = ["sc", data, "--latents", "10", "--batch-size", "100", "--learning-rate", "0.02", "--seed", "2", "--quiet"]
        func trained(_ ranks: Int, _ name: String, epochs: Int, resume: String? = nil) throws {
            let arguments = common + ["-o", folder + "/" + name, "--epochs", String(epochs)] + (resume.map { ["--resume", folder + "/" + $0] } ?? [])
            let result = ranks == 1 ? try ToolHarness.run("sk-train", arguments + ["--stream"]) : try mpirun(ranks, arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        try trained(2, "resumed2.h5", epochs: 1)
        try trained(2, "resumed2.h5", epochs: 1, resume: "resumed2.h5")
        try trained(2, "straight2.h5", epochs: 2)
        let (a, b) = (try HDF5File.open(folder + "/resumed2.h5"), try HDF5File.open(folder + "/straight2.h5"))
        for name in ["/model/W", "/model/lambda", "/model/sigma2", "/training/v"] {
            XCTAssertEqual(try a.read(name, as: Float.self).values, try b.read(name, as: Float.self).values, name)
        }
        XCTAssertEqual(try a.read("/training/generator", as: Int64.self).values, try b.read("/training/generator", as: Int64.self).values)
        XCTAssertEqual(try a.read("/history/objective", as: Double.self).values, try b.read("/history/objective", as: Double.self).values)

        try trained(1, "resumed1.h5", epochs: 1)
        try trained(2, "resumed1.h5", epochs: 1, resume: "resumed1.h5")
        try trained(1, "straight1.h5", epochs: 2)
        let (c, d) = (try HDF5File.open(folder + "/resumed1.h5"), try HDF5File.open(folder + "/straight1.h5"))
        let (w1, w2) = (try c.read("/model/W", as: Float.self).values, try d.read("/model/W", as: Float.self).values)
        XCTAssertLessThan(zip(w1, w2).map { abs($0 - $1) }.max()!, 1e-5)
        let (l1, l2) = (try c.read("/history/objective", as: Double.self).values, try d.read("/history/objective", as: Double.self).values)
        XCTAssertEqual(l1.count, 2)
        XCTAssertEqual(l1[0], l2[0], "the first epoch is the one process's")
        XCTAssertEqual(l1[1], l2[1], accuracy: 1e-6 * abs(l2[1]))
        XCTAssertEqual(try c.attribute("ranks", of: "/config"), .int(2))
        XCTAssertEqual(try c.attribute("resumed_from", of: "/config"), .string(folder + "/resumed1.h5"))
    }
}
