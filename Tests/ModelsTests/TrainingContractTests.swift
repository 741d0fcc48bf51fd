import DataKit
@testable import Models
import TestSupport
import XCTest

/// The training contract (`TrainingJob`), for every trainer: k epochs and then j resumed ones write the model that
/// k + j epochs write, bit for bit; divergence writes the last good epoch's model; errors in the output or the
/// configuration come before the first epoch.
final class TrainingContractTests: XCTestCase {
    // MARK: resume equals straight training

    /// Trains `make(k)` for 2 epochs, resumes it for 1 more, trains `make(3)` straight, and compares the datasets of
    /// both model files (parameters, resume state) bit for bit; the histories must agree in everything but seconds.
    func assertResumeEqualsStraight<T: Trainer>(_ make: (Int) -> T, data: String, datasets: [String],
                                                file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = try temporaryFolder(self)
        let (first, resumed, straight) = (folder + "/first.h5", folder + "/resumed.h5", folder + "/straight.h5")
        _ = try TrainingJob(trainer: make(2), input: data, output: first, resume: nil, provenance: "test").run()
        _ = try TrainingJob(trainer: make(1), input: data, output: resumed, resume: first, provenance: "test").run()
        _ = try TrainingJob(trainer: make(3), input: data, output: straight, resume: nil, provenance: "test").run()
        let (a, b) = (try HDF5File.open(resumed), try HDF5File.open(straight))
        for name in datasets + ["/history/objective"] {
            XCTAssertTrue(a.exists(name), "\(name) missing", file: file, line: line)
            XCTAssertEqual(try a.read(name, as: Double.self).values, try b.read(name, as: Double.self).values,
                           "\(name) differs", file: file, line: line)
        }
        XCTAssertEqual(try a.read("/history/objective", as: Double.self).values.count, 3, file: file, line: line)
    }

    /// A patches file of bars (`BarsData`), `count` rows of D = 25.
    func barsFile(count: Int) throws -> String {
        let path = try temporaryFolder(self) + "/bars.h5"
        let f = try HDF5File.create(path)
        try f.write(BarsData.sample(count: count, seed: 1).x, to: "/data")
        try f.writeHeader(kind: .patches, history: ["test"])
        try f.close()
        return path
    }

    func sparseCoding(_ scheme: SparseCodingTrainer.Scheme, _ configure: @escaping (inout SparseCodingTrainer) -> Void) -> (Int) -> SparseCodingTrainer {
        { epochs in
            var trainer = SparseCodingTrainer(latents: 10, scheme: scheme, epochs: epochs)
            (trainer.batchSize, trainer.iterations, trainer.seed) = (100, 20, 3)
            configure(&trainer)
            return trainer
        }
    }

    func testSparseCodingResumesExactly() throws {
        let data = try barsFile(count: 300)
        let model = ["/model/W", "/model/lambda", "/model/sigma2", "/training/v"]
        try assertResumeEqualsStraight(sparseCoding(.em) { _ in }, data: data, datasets: model)
        try assertResumeEqualsStraight(sparseCoding(.em) { $0.annealPrior = .init(start: 4, epochs: 2) }, data: data, datasets: model)
        try assertResumeEqualsStraight(sparseCoding(.em) { $0.warmStart = true }, data: data,
                                       datasets: model + ["/training/posterior_mu", "/training/posterior_rho"])
        try assertResumeEqualsStraight(sparseCoding(.em) { $0.stream = true }, data: data, datasets: model)
        try assertResumeEqualsStraight(sparseCoding(.fullBatch) { $0.posterior = .full }, data: data,
                                       datasets: model + ["/training/posterior_factors"])
        try assertResumeEqualsStraight(sparseCoding(.adam) { ($0.posterior, $0.learningRate) = (.amortized, 1e-3) }, data: data,
                                       datasets: model + ["/model/encoder/input/weight", "/training/adam/m", "/training/adam/v"])
        try assertResumeEqualsStraight(sparseCoding(.em) { ($0.objective, $0.iterations) = (.elboMC, 5) }, data: data,
                                       datasets: model + ["/training/sigma2", "/training/lambda"])
        try assertResumeEqualsStraight(sparseCoding(.em) { ($0.objective, $0.warmStart) = (.mapL1, true) }, data: data,
                                       datasets: model + ["/training/posterior_mu"])
        try assertResumeEqualsStraight(sparseCoding(.em) { $0.objective = .likelihood }, data: data,
                                       datasets: model + ["/training/posterior_mu", "/training/sigma2", "/training/lambda"])
    }

    /// A multilabel file of 200 points whose labels (5) are planted in their features (20).
    func plantedMultiLabelFile() throws -> String {
        let path = try temporaryFolder(self) + "/planted.h5"
        var g = SeededGenerator(seed: 5)
        let (features, labels) = try plantedMultiLabel(200, using: &g)
        let file = try HDF5File.create(path)
        try MultiLabelDataset(features: features, labels: labels, sourceFormat: "test")
            .write(to: file, history: [])
        try file.close()
        return path
    }

    func testSupervisedSDLGMResumesExactly() throws {
        let path = try plantedMultiLabelFile()
        for method in [SupervisedTrainer.Method.sdlgm, .oneVsAll] {
            try assertResumeEqualsStraight({ epochs in
                var trainer = SupervisedTrainer(method: method, maxActive: 3, epochs: epochs)
                (trainer.hidden, trainer.batchSize, trainer.learningRate, trainer.seed, trainer.split) = ([8], 32, 0.01, 1, nil)
                return trainer
            }, data: path, datasets: ["/model/input/weight", "/model/labels/weight", "/training/adam/m"].filter { method == .sdlgm || !$0.hasPrefix("/model/labels") })
        }
    }

    func testUnsupervisedSDLGMResumesExactly() throws {
        let data = try barsFile(count: 200)
        for stream in [false, true] {
            try assertResumeEqualsStraight({ epochs in
                var trainer = UnsupervisedTrainer()
                (trainer.latents, trainer.maxActive, trainer.hidden, trainer.epochs, trainer.batchSize) = (10, 3, [16], epochs, 50)
                (trainer.temperatures, trainer.klWarmup, trainer.seed, trainer.stream) = (.init(start: 1, end: 0.5, epochs: 3), 2, 1, stream)
                return trainer
            }, data: data, datasets: ["/model/encoder/layer0/weight", "/model/decoder/layer0/weight", "/model/log_sigma2", "/training/adam/v"])
        }
    }

    // MARK: divergence, for every trainer

    /// Trains `good` for one epoch, then resumes it with `diverging` (a learning rate that overflows): the job fails
    /// with exit 65 naming epoch 2, and the output holds the model after epoch 1 with its resume state.
    func assertDivergenceKeepsTheLastGoodEpoch<T: Trainer>(_ good: T, _ diverging: T, data: String, parameter: String,
                                                           file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = try temporaryFolder(self)
        _ = try TrainingJob(trainer: good, input: data, output: folder + "/one.h5", resume: nil, provenance: "test").run()
        assertThrows(.badInput, containing: "diverged in epoch 2", file: file, line: line) {
            _ = try TrainingJob(trainer: diverging, input: data, output: folder + "/two.h5", resume: folder + "/one.h5",
                                provenance: "test").run()
        }
        let (one, two) = (try HDF5File.open(folder + "/one.h5"), try HDF5File.open(folder + "/two.h5"))
        XCTAssertEqual(try two.read(parameter, as: Float.self).values, try one.read(parameter, as: Float.self).values, file: file, line: line)
        XCTAssertEqual(try two.read("/history/objective", as: Double.self).values.count, 1, file: file, line: line)
        XCTAssertTrue(two.exists("/training/generator"), file: file, line: line)
    }

    func testDivergenceKeepsTheLastGoodEpochForEveryTrainer() throws {
        let bars = try barsFile(count: 200)
        for scheme in [SparseCodingTrainer.Scheme.em, .adam] {
            let make = sparseCoding(scheme) { if scheme == .adam { $0.posterior = .amortized } }
            var diverging = make(3)
            diverging.learningRate = 1e300  // infinite as a Float step
            try assertDivergenceKeepsTheLastGoodEpoch(make(1), diverging, data: bars, parameter: "/model/W")
        }
        let planted = try plantedMultiLabelFile()
        for method in [SupervisedTrainer.Method.sdlgm, .oneVsAll] {
            var supervised = SupervisedTrainer(method: method, maxActive: 3, epochs: 1)
            (supervised.hidden, supervised.batchSize, supervised.split) = ([8], 32, nil)
            var divergingSupervised = supervised
            divergingSupervised.learningRate = 1e300
            try assertDivergenceKeepsTheLastGoodEpoch(supervised, divergingSupervised, data: planted, parameter: "/model/input/weight")
        }
        var unsupervised = UnsupervisedTrainer()
        (unsupervised.latents, unsupervised.maxActive, unsupervised.hidden, unsupervised.epochs) = (10, 3, [8], 1)
        var divergingUnsupervised = unsupervised
        divergingUnsupervised.learningRate = 1e300
        try assertDivergenceKeepsTheLastGoodEpoch(unsupervised, divergingUnsupervised, data: bars, parameter: "/model/decoder/layer0/weight")
    }

    // MARK: the job's policy, on a trainer that counts its epochs

    func testDivergenceInterruptionAndFirstEpochFailures() throws {
        let folder = try temporaryFolder(self)
        let data = try barsFile(count: 20)
        let counter = EpochCounter()
        func job(_ trainer: CountingTrainer, output: String = folder + "/m.h5", input: String? = nil) -> TrainingJob<CountingTrainer> {
            TrainingJob(trainer: trainer, input: input ?? data, output: output, resume: nil, provenance: "test")
        }
        assertThrows(.badInput, containing: "diverged in epoch 3 (objective nan); the model after epoch 2 is written") {
            _ = try job(CountingTrainer(epochs: 5, divergeAt: 3, counter: counter)).run()
        }
        XCTAssertEqual(try HDF5File.open(folder + "/m.h5").read("/history/objective", as: Double.self).values, [1, 2])
        assertThrows(.badInput, containing: "diverged in epoch 1 (objective nan); no model written") {
            _ = try job(CountingTrainer(epochs: 5, divergeAt: 1, counter: counter), output: folder + "/none.h5").run()
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/none.h5"))

        var stopping = job(CountingTrainer(epochs: 5, divergeAt: nil, counter: counter), output: folder + "/stopped.h5")
        stopping.shouldStop = { counter.epochs >= 2 }
        counter.epochs = 0
        assertThrows(.interrupted, containing: "after 2 epochs") { _ = try stopping.run() }
        XCTAssertEqual(try HDF5File.open(folder + "/stopped.h5").read("/history/objective", as: Double.self).values, [1, 2])

        // Failures that must come before the first epoch: the counter stays at 0.
        counter.epochs = 0
        let counting = CountingTrainer(epochs: 5, divergeAt: nil, counter: counter)
        assertThrows(.cannotCreateOutput) { _ = try job(counting, output: "/proc/sparsekit-model.h5").run() }
        assertThrows(.cannotCreateOutput) { _ = try job(counting, output: folder + "/missing/m.h5").run() }
        let skewed = folder + "/skewed.h5"
        try FileManager.default.copyItem(atPath: data, toPath: skewed)
        let file = try HDF5File.open(skewed, writable: true)
        try PatchGeometry(height: 4, width: 4, channels: 1).write(to: file)
        try file.close()
        assertThrows(.badInput, containing: "4×4×1 = 16 values, but its /data rows hold 25") { _ = try job(counting, input: skewed).run() }
        assertThrows(.usage, containing: "--epochs") { _ = try job(CountingTrainer(epochs: -1, divergeAt: nil, counter: counter)).run() }
        XCTAssertEqual(counter.epochs, 0, "every failure above came before the first epoch")
    }
}

/// Counts the epochs every `CountingSession` ran (a class, so the test sees the count the job's session made).
final class EpochCounter: @unchecked Sendable {
    var epochs = 0
}

/// A trainer whose epochs only count: epoch k records objective k, and `divergeAt` throws `TrainingDivergence`.
struct CountingTrainer: Trainer {
    var epochs: Int
    var divergeAt: Int?
    var seed: UInt64 = 0
    let counter: EpochCounter

    enum CodingKeys: CodingKey { case epochs }

    func session(data: HDF5File, resume: HDF5File?) throws -> CountingSession {
        guard epochs >= 1 else { throw SparseKitError.usage("--epochs must be at least 1") }
        return CountingSession(trainer: self)
    }
}

struct CountingSession: TrainingSession {
    let trainer: CountingTrainer
    var history: [CountingRecord] = []

    struct CountingRecord: TrainingRecord {
        var epoch: Int
    }

    struct CountingModel: TrainedModel {
        var modelKind: ModelKind { .sparseCoding }
        func write(to file: HDF5File) throws { try file.setAttribute("model", .string("counting")) }
    }

    struct Checkpoint: TrainingCheckpoint {
        var model = CountingModel()
        var history: [CountingRecord]
        func writeHistoryAndState(to file: HDF5File) throws {
            try file.write(history.map { Double($0.epoch) }, shape: [history.count], to: "/history/objective")
        }
    }

    var checkpoint: Checkpoint { Checkpoint(history: history) }
    var notes: [String: HDF5AttributeValue] { [:] }

    mutating func runEpoch(shouldStop: () -> Bool) throws -> CountingRecord {
        trainer.counter.epochs += 1
        if history.count + 1 == trainer.divergeAt { throw TrainingDivergence("objective nan") }
        history.append(CountingRecord(epoch: history.count + 1))
        return history.last!
    }
}
