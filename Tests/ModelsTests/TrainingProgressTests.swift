import DataKit
import Models
import TestSupport
import XCTest

/// What the training job shows while epochs run (`TrainingJob.progressLine`): a line per epoch counting the
/// session's minibatches against its total, with the running objective when the session keeps one, erased before
/// the next epoch; the same through the default that counts `shouldStop`'s calls.
final class TrainingProgressTests: XCTestCase {
    /// The redraws and erasures of a job's progress line, on a clock that moves 0.2 s per reading (so every update
    /// redraws), in 200 columns.
    final class Screen {
        var now = 0.0
        var written: [String] = []
        var reporter: ProgressReporter {
            ProgressReporter(enabled: true, columns: { 200 }, clock: { [unowned self] in now += 0.2; return now },
                             write: { [unowned self] in written.append($0) })
        }

        /// The text of each redraw, between an erasure and the next, one group per epoch.
        var epochs: [[String]] {
            var groups: [[String]] = [[]]
            for text in written {
                if text == "\r\u{1B}[K" { groups.append([]) } else { groups[groups.count - 1].append(String(text.dropFirst().dropLast(3))) }
            }
            return groups.last!.isEmpty ? Array(groups.dropLast()) : groups
        }
    }

    /// Runs `trainer` on 300 bars rows and returns what its progress line drew.
    func run<T: Trainer>(_ trainer: T) throws -> Screen {
        let folder = try temporaryFolder(self)
        let file = try HDF5File.create(folder + "/bars.h5")
        try file.write(BarsData.sample(count: 300, seed: 1).x, to: "/data")
        try file.writeHeader(kind: .patches, history: ["test"])
        try file.close()
        let screen = Screen()
        var job = TrainingJob(trainer: trainer, input: folder + "/bars.h5", output: folder + "/m.h5", resume: nil, provenance: "test")
        job.progressLine = screen.reporter
        _ = try job.run()
        return screen
    }

    /// Each epoch's redraws: its label first, counts rising to `minibatches` (or to one short of it when the last
    /// minibatch is followed by no `shouldStop`), never beyond.
    func assertCounts(_ screen: Screen, epochs: Int, minibatches: Int, lastCounted: ClosedRange<Int>,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(screen.epochs.count, epochs, "one erased line per epoch: \(screen.written)", file: file, line: line)
        for (k, draws) in screen.epochs.enumerated() {
            XCTAssertTrue(draws.allSatisfy { $0.hasPrefix("epoch \(k + 1)/\(epochs)  [") }, "\(draws)", file: file, line: line)
            XCTAssertTrue(draws[0].contains(" 0/\(minibatches) batches"), draws[0], file: file, line: line)
            let counts = draws.compactMap { text in
                text.firstRange(of: "/\(minibatches) batches").map { Int(text[..<$0.lowerBound].split(separator: " ").last!)! }
            }
            XCTAssertEqual(counts, counts.sorted(), file: file, line: line)
            XCTAssertTrue(lastCounted.contains(counts.last!), "\(counts)", file: file, line: line)
            XCTAssertTrue(draws.dropFirst().allSatisfy { $0.contains("/s  ") && $0.contains("ETA ") }, "\(draws)", file: file, line: line)
        }
        XCTAssertTrue(screen.epochs[0].last!.contains("run ETA"), "later epochs: the run's ETA", file: file, line: line)
        XCTAssertFalse(screen.epochs[epochs - 1].joined().contains("run ETA"), "the last epoch: its own ETA only", file: file, line: line)
    }

    func testUnsupervisedSDLGMShowsItsRunningELBO() throws {
        for stream in [false, true] {
            var trainer = UnsupervisedTrainer()
            (trainer.latents, trainer.maxActive, trainer.hidden, trainer.epochs, trainer.batchSize, trainer.stream) = (10, 3, [16], 2, 100, stream)
            let screen = try run(trainer)
            assertCounts(screen, epochs: 2, minibatches: 3, lastCounted: 3...3)
            XCTAssertTrue(screen.epochs[0].dropFirst().allSatisfy { $0.contains("ELBO = -") }, "\(screen.epochs[0])")
        }
    }

    func testSparseCodingCountsMinibatchesThroughShouldStop() throws {
        for stream in [false, true] {
            var trainer = SparseCodingTrainer(latents: 10, scheme: .em, epochs: 3)
            (trainer.batchSize, trainer.iterations, trainer.stream) = (100, 5, stream)
            let screen = try run(trainer)
            assertCounts(screen, epochs: 3, minibatches: 3, lastCounted: 2...3)
            XCTAssertFalse(screen.written.joined().contains(" = "), "no running objective")
        }
    }

    /// The full-batch scheme has no minibatches, and a baseline's steps none either: their lines show the time,
    /// then the ETA from the steps before.
    func testStepsWithoutMinibatchesShowTimeThenETA() throws {
        var trainer = SparseCodingTrainer(latents: 10, scheme: .fullBatch, epochs: 2)
        trainer.iterations = 5
        let epochs = try run(trainer).epochs
        XCTAssertEqual(epochs.map(\.first), ["epoch 1/2  0s elapsed", "epoch 2/2  ETA 0s"])

        var ica = BaselineTrainer(model: .ica)
        ica.ica.iterations = 5
        let steps = try run(ica).epochs
        XCTAssertEqual(steps.count, 3)
        XCTAssertEqual(steps[0].first, "step 1/3  0s elapsed", "a baseline's epochs are steps")
        XCTAssertTrue(steps[1].first!.hasPrefix("step 2/3  ETA "), steps[1].first!)
    }
}
