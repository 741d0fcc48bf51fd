import DataKit
@testable import Models
import TestSupport
import XCTest

/// Supervised training on data it was not tuned on: dense features of large magnitude (birds' reach 1e5), few points,
/// early stopping on held-out training rows.
final class SupervisedRobustnessTests: XCTestCase {
    /// n points, `labels` labels, dense features: label c is present when feature c is positive; every feature is
    /// multiplied by `magnitude` and offset by 3·magnitude (as raw audio descriptors are), plus noise features.
    func plantedDense(_ n: Int, labels: Int = 4, noise: Int = 8, magnitude: Float, seed: UInt64) throws -> (CSRMatrix, CSRMatrix) {
        var g = SeededGenerator(seed: seed)
        var rows: [[Float]] = [], sets: [[Int]] = []
        for _ in 0..<n {
            var row = (0..<(labels + noise)).map { _ in Float(g.normal()) }
            if !(0..<labels).contains(where: { row[$0] > 0 }) { row[g.below(labels)] = abs(row[0]) + 0.1 }
            sets.append((0..<labels).filter { row[$0] > 0 })
            rows.append(row.map { ($0 + 3) * magnitude })
        }
        let x = try csr(rows.map { Array(0..<$0.count) }, cols: labels + noise) { rows[$0 / (labels + noise)][$0 % (labels + noise)] }
        return (x, try csr(sets, cols: labels))
    }

    func trainer(epochs: Int) -> SupervisedTrainer {
        var trainer = SupervisedTrainer(method: .sdlgm, maxActive: 4, epochs: epochs)
        (trainer.hidden, trainer.batchSize, trainer.learningRate, trainer.seed) = ([32], 32, 0.01, 1)
        return trainer
    }

    /// Features of magnitude 1e5: the automatic scaling standardizes them and the planted rule is learned; unscaled,
    /// training either learns nothing useful or stops with a divergence that names the features and the remedy.
    func testLargeDenseFeaturesTrainOnceStandardized() throws {
        let (x, y) = try plantedDense(400, magnitude: 1e5, seed: 2)
        let (xt, yt) = try plantedDense(200, magnitude: 1e5, seed: 3)
        let result = try trainer(epochs: 30).train(features: x, labels: y)
        XCTAssertEqual(result.predictor.scaling.method, .standardize, "dense real features: standardized")
        XCTAssertTrue(result.history.allSatisfy { $0.loss.isFinite })
        let report = try SupervisedEvaluation.run(result.predictor, features: xt, labels: yt)
        XCTAssertGreaterThan(report.ranking[0].precision, 0.9, "P@1 on held-out points")

        var unscaled = trainer(epochs: 30)
        unscaled.scaling = FeatureScaling.Method.none
        do {
            let raw = try unscaled.train(features: x, labels: y)
            let rawReport = try SupervisedEvaluation.run(raw.predictor, features: xt, labels: yt)
            XCTAssertLessThan(rawReport.ranking[0].precision, report.ranking[0].precision, "unscaled features train worse")
        } catch let divergence as TrainingDivergence {
            XCTAssertTrue(divergence.cause.contains("unscaled") && divergence.cause.contains("--scale standardize"), divergence.cause)
        }
    }

    /// With validation rows the run stops once P@1 on them has not risen for `patience` epochs, and keeps the best
    /// epoch's network: its P@1 on the held-out rows is the best recorded. The model file keeps the validation history;
    /// a model that stopped after its best epoch cannot be resumed exactly and says so.
    func testEarlyStoppingKeepsTheBestEpoch() throws {
        let (x, y) = try plantedDense(300, magnitude: 1, seed: 4)
        var early = trainer(epochs: 200)
        (early.validation, early.patience, early.learningRate) = (0.25, 3, 0.05)
        var session = try SupervisedSession(early, source: .memory(features: x, labels: y))
        var epochs = 0
        while !session.isComplete, epochs < early.epochs { _ = try session.runEpoch(shouldStop: { false }); epochs += 1 }
        XCTAssertLessThan(epochs, 200, "stopped early")
        let checkpoint = session.checkpoint
        let precisions = checkpoint.history.map { $0.validationPrecision! }
        let bestEpoch = precisions.firstIndex(of: precisions.max()!)! + 1
        XCTAssertEqual(checkpoint.history.count - bestEpoch, 3, "patience 3")
        XCTAssertEqual(session.notes["best_epoch"], .int(bestEpoch))
        XCTAssertEqual(session.notes["validation_points"], .int(75))
        XCTAssertEqual(checkpoint.trainingPoints, 225, "the label counts are those of the rows trained on")
        let validation = session.validation!
        let (ranking, _) = try checkpoint.predictor.predict(validation.features, k: 1)
        XCTAssertEqual(RankingMetrics.evaluate(ranking, truth: validation.labels, ks: [1])[0].precision, precisions.max()!,
                       "the model holds the best epoch's network")

        let path = try temporaryFolder(self) + "/early.h5"
        let file = try HDF5File.create(path)
        try checkpoint.model.write(to: file)
        try checkpoint.writeHistoryAndState(to: file)
        try file.writeHeader(kind: .model, history: [])
        try file.close()
        let back = try SupervisedCheckpoint.read(from: try HDF5File.open(path))
        XCTAssertEqual(back.history, checkpoint.history, "/history/validation_precision round-trips")
        XCTAssertThrowsError(try SupervisedSession(early, source: .memory(features: x, labels: y), resume: back)) {
            XCTAssertTrue("\($0)".contains("stopped early"), "\($0)")
        }
        XCTAssertThrowsError(try SupervisedSession(trainer(epochs: 1), source: .memory(features: x, labels: y), resume: back)) {
            XCTAssertTrue("\($0)".contains("--validation"), "\($0)")
        }
    }

    /// The same seed holds out the same rows, so a run continued from a model whose last epoch was its best equals
    /// the run made in one go.
    func testResumeWithValidationEqualsOneRun() throws {
        let (x, y) = try plantedDense(120, magnitude: 1, seed: 5)
        var base = trainer(epochs: 2)
        (base.validation, base.patience, base.learningRate) = (0.25, 50, 0.01)
        let straight = try { var t = base; t.epochs = 4; return try t.train(features: x, labels: y) }()
        let first = try base.train(features: x, labels: y)
        let precisions = first.history.map { $0.validationPrecision! }
        XCTAssertGreaterThan(precisions[1], precisions[0], "the second epoch is the best so far (0.77 against 0.60), so it can be continued")
        let resumed = try base.train(features: x, labels: y, resume: first)
        XCTAssertEqual(resumed.history.map(\.loss), straight.history.map(\.loss))
        XCTAssertEqual(resumed.history.map(\.validationPrecision), straight.history.map(\.validationPrecision))
        XCTAssertEqual(resumed.predictor.network?.parameters, straight.predictor.network?.parameters)
    }

    /// Input dropout keeps each stored entry with probability 1 − p, scaled by 1 / (1 − p): the mean input is kept.
    func testInputDropoutKeepsTheExpectedInput() throws {
        let x = try csr([Array(0..<4000), [], Array(0..<10)], cols: 4000) { Float(1 + $0 % 3) }
        var g = PointStreams(seed: 8, positions: 0..<3)
        XCTAssertEqual(x.droppingEntries(rate: 0, streams: &g), x)
        let dropped = x.droppingEntries(rate: 0.3, streams: &g)
        XCTAssertEqual(Double(dropped.row(0).indices.count), 2800, accuracy: 100, "about 70% of 4000 kept (4σ ≈ 116)")
        XCTAssertEqual(dropped.row(1).indices.count, 0)
        let sum = { (m: CSRMatrix) in m.row(0).values.reduce(0, +) }
        XCTAssertEqual(Double(sum(dropped)), Double(sum(x)), accuracy: 0.05 * Double(sum(x)), "the row's sum is kept in expectation")
        XCTAssertTrue(zip(dropped.row(0).indices, dropped.row(0).values).allSatisfy { j, v in abs(v - Float(1 + Int(j) % 3) / 0.7) < 1e-5 })
    }

    /// Decoupled weight decay shrinks every weight, no bias, by 1 − η λ before Adam's step.
    func testWeightDecayShrinksWeightsNotBiases() {
        var g = SeededGenerator(seed: 10)
        var network = SupervisedNetwork(features: 5, labels: 3, hidden: [4, 2], maxActive: 2, typicalNonZeros: 2, generator: &g)
        network.input.bias = [1, 1, 1, 1]
        let before = network
        network.decayWeights(0.25)
        XCTAssertEqual(network.input.weight.storage, before.input.weight.storage.map { $0 * 0.75 })
        XCTAssertEqual(network.hidden[0].weight.storage, before.hidden[0].weight.storage.map { $0 * 0.75 })
        XCTAssertEqual(network.levelHead!.weight.storage, before.levelHead!.weight.storage.map { $0 * 0.75 })
        XCTAssertEqual(network.input.bias, before.input.bias)
        XCTAssertEqual(network.labelHead!.bias, before.labelHead!.bias)
    }

    /// The default length gives small data sets enough Adam steps; --steps rounds up to whole epochs.
    func testTrainingLengthFromTheData() throws {
        let path = try temporaryFolder(self) + "/small.h5"
        let (x, y) = try plantedDense(333, magnitude: 1, seed: 6)
        let file = try HDF5File.create(path)
        try MultiLabelDataset(features: x, labels: y, sourceFormat: "test").write(to: file, history: [])
        try file.close()
        let data = try HDF5File.open(path)
        let trainer = SupervisedTrainer(method: .sdlgm, maxActive: 4, epochs: 20)  // batch 128: 3 minibatches per epoch
        XCTAssertEqual(try trainer.resolvingDefaults(epochs: nil, steps: nil, data: data).epochs, 334, "1000 steps")
        XCTAssertEqual(try trainer.resolvingDefaults(epochs: 7, steps: nil, data: data).epochs, 7)
        XCTAssertEqual(try trainer.resolvingDefaults(epochs: nil, steps: 10, data: data).epochs, 4, "10 steps: 4 epochs of 3")
        var held = trainer
        held.validation = 0.5  // 167 held out, 166 left: 2 minibatches per epoch
        XCTAssertEqual(try held.resolvingDefaults(epochs: nil, steps: nil, data: data).epochs, 500)
        XCTAssertThrowsError(try trainer.resolvingDefaults(epochs: 5, steps: 5, data: data))
        var large = trainer
        large.batchSize = 1
        XCTAssertEqual(try large.resolvingDefaults(epochs: nil, steps: nil, data: data).epochs, 20, "at least 20 epochs")
        XCTAssertEqual(try trainer.resolvingDefaults(epochs: nil, steps: nil, data: data).maxActive, 4, "L0 = 10 capped at the 4 labels")
        XCTAssertEqual(try trainer.resolvingDefaults(epochs: nil, steps: nil, data: data).patience, 84, "250 steps of 3 minibatches")
        XCTAssertEqual(try large.resolvingDefaults(epochs: nil, steps: nil, data: data).patience, 10, "at least 10 epochs")
        XCTAssertEqual(try trainer.resolvingDefaults(epochs: nil, steps: nil, patience: 3, data: data).patience, 3)
        XCTAssertEqual(try trainer.resolvingDefaults(epochs: nil, steps: nil, maxActive: 2, data: data).maxActive, 2)
    }
}
