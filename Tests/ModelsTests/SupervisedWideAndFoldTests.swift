import DataKit
@testable import Models
import XCTest

/// Supervised SDLGM's wide path (`SupervisedNetwork.wide`) and k-fold validation (`ValidationFold`).
final class SupervisedWideAndFoldTests: XCTestCase {
    private func network(wide: Bool) -> SupervisedNetwork {
        var g = SeededGenerator(seed: 5)
        return SupervisedNetwork(features: 6, labels: 4, hidden: [5, 3], maxActive: 2, typicalNonZeros: 2, wide: wide, generator: &g)
    }

    /// The wide path starts at zero and draws nothing: a fresh network scores exactly as the one without it, and its
    /// parameters are the same followed by zeros.
    func testFreshWidePathScoresAsTheMLPAlone() throws {
        let x = try csr([[0, 3], [1, 2, 5], [4]], cols: 6) { Float(1 + $0 % 3) * 0.5 }
        let (plain, wide) = (network(wide: false), network(wide: true))
        XCTAssertEqual(wide.forward(x).labelScores, plain.forward(x).labelScores)
        XCTAssertEqual(wide.forward(x).levelLogits, plain.forward(x).levelLogits)
        XCTAssertEqual(wide.parameters, plain.parameters + [Float](repeating: 0, count: 6 * 4 + 4))
        var g = SeededGenerator(seed: 1)
        let baseline = SupervisedNetwork(features: 6, labels: 4, hidden: [], maxActive: nil, typicalNonZeros: 2, wide: true, generator: &g)
        XCTAssertNil(baseline.wide, "one-vs-all is linear already: no wide path")
    }

    /// The sdlgm loss through the MLP and the wide path (non-zero, so that it shapes the scores): finite differences
    /// on every parameter, the wide path's among them, through the one checker.
    func testWidePathGradients() throws {
        var net = network(wide: true)
        var g = SeededGenerator(seed: 8)
        net.wide!.weight.storage = net.wide!.weight.storage.map { _ in Float(g.normal() * 0.5) }
        net.wide!.bias = [0.2, -0.1, 0, 0.3]
        let x = try csr([[0, 3], [1, 2, 5], [4], [0, 1, 2]], cols: 6) { Float(1 + $0 % 3) * 0.5 }
        SupervisedSDLGMTests.checkLossGradients(&net, x, orderings: [[2], [0, 3], [1, 2], [3]])
        XCTAssertTrue(net.wide!.weightGradient.storage.contains { $0 != 0 })
        // The gradient buffer round-trips (the MPI all-reduce sets it back), the wide path's last.
        var copy = net
        copy.zeroGradients()
        copy.gradients = net.gradients
        XCTAssertEqual(copy.gradients, net.gradients)
        XCTAssertEqual(copy.wide!.biasGradient, net.wide!.biasGradient)
    }

    /// Adam's first step moves every parameter with a gradient by the learning rate (m̂ / √v̂ = ±1); the wide path's by
    /// its own rate (the scale), the others by Adam's.
    func testWidePathLearnsAtItsOwnRate() throws {
        var net = network(wide: true)
        let x = try csr([[0, 3], [1, 2, 5]], cols: 6)
        let (level, scores, cache) = net.forward(x)
        let (_, gradLevel, gradLabels) = SupervisedObjectives.sdlgm(levelLogits: level!, labelScores: scores, orderings: [[2], [0, 3]])
        net.zeroGradients()
        net.backward(cache, gradLevel: gradLevel, gradLabels: gradLabels)
        let before = net
        var adam = Adam(learningRate: 1e-3)
        net.step(&adam, wideRateScale: 10)
        let wideMoves = zip(net.wide!.weight.storage, before.wide!.weight.storage).map { abs($0 - $1) }.filter { $0 > 0 }
        XCTAssertFalse(wideMoves.isEmpty)
        for move in wideMoves { XCTAssertEqual(Double(move), 1e-2, accuracy: 1e-5) }
        let headMoves = zip(net.labelHead!.weight.storage, before.labelHead!.weight.storage).map { abs($0 - $1) }.filter { $0 > 0 }
        for move in headMoves { XCTAssertEqual(Double(move), 1e-3, accuracy: 1e-5) }
    }

    /// A model with the wide path trains, writes /model/wide and reads back with the same predictions; a wide path of
    /// the wrong shape is refused naming it; resuming it without --wide is refused.
    func testWidePathModelFile() throws {
        let x = try csr([[0, 3], [1, 2, 5], [4], [0, 1, 2], [3, 5], [2]], cols: 6)
        let y = try csr([[0], [1, 2], [3], [0, 1], [0, 2], [1]], cols: 4)
        var trainer = SupervisedTrainer(method: .sdlgm, maxActive: 2, epochs: 5)
        (trainer.hidden, trainer.batchSize, trainer.wide, trainer.seed) = ([8], 3, true, 2)
        let result = try trainer.train(features: x, labels: y)
        XCTAssertTrue(result.predictor.network!.wide!.weight.storage.contains { $0 != 0 }, "the wide path was trained")
        let folder = try temporaryFolder(self)
        func written(_ predictor: SupervisedPredictor, _ name: String) throws -> String {
            let file = try HDF5File.create(folder + "/" + name)
            try predictor.write(to: file, maxActive: 2)
            try file.writeHeader(kind: .model, history: [])
            try file.close()
            return folder + "/" + name
        }
        let (back, _) = try SupervisedPredictor.read(from: try HDF5File.open(try written(result.predictor, "wide.h5")))
        XCTAssertEqual(back.network?.wide?.weight, result.predictor.network?.wide?.weight)
        XCTAssertEqual(try back.predict(x, k: 4).ranking, try result.predictor.predict(x, k: 4).ranking)
        var wrong = result.predictor
        wrong.network!.wide = SparseLinear(weight: Matrix(rows: 6, cols: 3), bias: [0, 0, 0])
        XCTAssertThrowsError(try SupervisedPredictor.read(from: try HDF5File.open(try written(wrong, "wrong.h5")))) {
            XCTAssertTrue("\($0)".contains("/model/wide"), "\($0)")
        }
        var plain = trainer
        plain.wide = false
        XCTAssertThrowsError(try plain.train(features: x, labels: y, resume: result)) { XCTAssertTrue("\($0)".contains("--wide"), "\($0)") }
    }

    /// The K folds of one seed hold out every row exactly once, and fold 1 of K holds out the rows the fraction 1/K
    /// does (the same order, drawn from the seed).
    func testValidationFoldsPartitionTheRows() throws {
        let n = 11
        let x = try csr((0..<n).map { [$0] }, cols: n)  // row i has feature i alone: the rows held out are readable
        let y = try csr((0..<n).map { [$0 % 2] }, cols: 2)
        var trainer = SupervisedTrainer(method: .sdlgm, maxActive: 1, epochs: 1)
        (trainer.hidden, trainer.seed) = ([4], 7)
        func heldOut(_ configure: (inout SupervisedTrainer) -> Void) throws -> [Int] {
            var t = trainer
            configure(&t)
            let session = try SupervisedSession(t, source: .memory(features: x, labels: y))
            XCTAssertEqual(session.tally.rows + session.validation!.features.rows, n, "the rest is trained on")
            return session.validation!.features.indices.map { Int($0) }
        }
        var seen: [Int] = []
        for index in 1...3 {
            let rows = try heldOut { $0.validationFold = ValidationFold(index: index, count: 3) }
            XCTAssertEqual(rows.count, ValidationFold(index: index, count: 3).heldOut(rows: n).count)
            seen += rows
        }
        XCTAssertEqual(seen.sorted(), Array(0..<n), "every row held out once")
        XCTAssertEqual(try heldOut { $0.validationFold = ValidationFold(index: 1, count: 5) }, try heldOut { $0.validation = 0.2 })
        XCTAssertEqual(ValidationFold("2/5"), ValidationFold(index: 2, count: 5))
        XCTAssertNil(ValidationFold("2-5"))
        for bad in [(0, 5), (6, 5), (1, 1)] {
            var t = trainer
            t.validationFold = ValidationFold(index: bad.0, count: bad.1)
            XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("--validation-fold takes I/K"), "\($0)") }
        }
        var both = trainer
        (both.validation, both.validationFold) = (0.2, ValidationFold(index: 1, count: 5))
        XCTAssertThrowsError(try both.validate()) { XCTAssertTrue("\($0)".contains("not both"), "\($0)") }
        var many = trainer
        many.validationFold = ValidationFold(index: 1, count: 12)
        XCTAssertThrowsError(try SupervisedSession(many, source: .memory(features: x, labels: y))) {
            XCTAssertTrue("\($0)".contains("12 folds of 11 training rows"), "\($0)")
        }
    }
}
