import DataKit
@testable import Models
import XCTest

/// Supervised SDLGM and its baselines: gradients, a planted rule, the model file.
final class SupervisedSDLGMTests: XCTestCase {
    func testSparseLinearMatchesTheDenseProductAndItsGradients() throws {
        var g = SeededGenerator(seed: 3)
        var layer = SparseLinear(inputs: 6, outputs: 4, typicalNonZeros: 2, generator: &g)
        layer.bias = [0.1, -0.2, 0.3, 0]
        let x = try csr([[0, 3], [], [1, 2, 5], [5]], cols: 6) { Float(1 + $0 % 3) * 0.5 }
        let dense = x.dense()
        var expected = Matrix.product(dense, layer.weight)
        for r in 0..<4 { for c in 0..<4 { expected[r, c] += layer.bias[c] } }
        XCTAssertEqual(layer.forward(x), expected)
        let dy = Matrix(rows: 4, cols: 4, storage: (0..<16).map { _ in Float(g.normal()) })
        layer.backward(x, dy)
        XCTAssertEqual(layer.weightGradient.storage, Matrix.product(dense, transposeA: true, dy).storage, "dW = Xᵀ dY")
        XCTAssertEqual(layer.biasGradient, (0..<4).map { c in (0..<4).reduce(Float(0)) { $0 + dy[$1, c] } })
        XCTAssertEqual(layer.weightGradient.storage[4 * 4..<5 * 4].allSatisfy { $0 == 0 }, true, "feature 4 is never present")
    }

    /// The whole network and the sdlgm loss with fixed orderings: finite differences on every parameter.
    func testNetworkAndLossGradients() throws {
        var g = SeededGenerator(seed: 5)
        var network = SupervisedNetwork(features: 6, labels: 4, hidden: [5, 3], maxActive: 2, typicalNonZeros: 2, generator: &g)
        let x = try csr([[0, 3], [1, 2, 5], [4]], cols: 6) { Float(1 + $0 % 3) * 0.5 }
        Self.checkLossGradients(&network, x, orderings: [[2], [0, 3], [1, 2]])
    }

    /// The sdlgm loss of `network` on `x` with fixed `orderings`: backpropagates it (leaving the gradients in
    /// `network`) and checks every parameter's gradient by finite differences through the one checker.
    static func checkLossGradients(_ network: inout SupervisedNetwork, _ x: CSRMatrix, orderings: [[Int]]) {
        func loss(_ net: SupervisedNetwork) -> Double {
            let (level, scores, _) = net.forward(x)
            return SupervisedObjectives.sdlgm(levelLogits: level!, labelScores: scores, orderings: orderings).loss
        }
        let (level, scores, cache) = network.forward(x)
        let (_, gradLevel, gradLabels) = SupervisedObjectives.sdlgm(levelLogits: level!, labelScores: scores, orderings: orderings)
        network.zeroGradients()
        network.backward(cache, gradLevel: gradLevel, gradLabels: gradLabels)
        FiniteDifference.check(network, \.parameters, analyticGradient: network.gradients, step: 1e-2,
                               tolerance: .relative(2e-2, floor: 0.05), function: loss)
    }

    /// With dropout on the hidden activations (masks from a fixed seed, so the loss is a function of the parameters):
    /// finite differences on every parameter; rate 0 draws nothing and is the plain forward pass.
    func testHiddenDropoutGradients() throws {
        var g = SeededGenerator(seed: 5)
        var network = SupervisedNetwork(features: 6, labels: 4, hidden: [5, 3], maxActive: 2, typicalNonZeros: 2, generator: &g)
        // Biases away from 0: a point whose inputs to a unit are all dropped sits exactly at the ReLU's kink otherwise.
        network.input.bias = [0.11, -0.07, 0.05, 0.13, -0.02]
        network.hidden[0].bias = [0.09, -0.04, 0.06]
        let x = try csr([[0, 3], [1, 2, 5], [4], [0, 1, 2]], cols: 6) { Float(1 + $0 % 3) * 0.5 }
        let orderings = [[2], [0, 3], [1, 2], [3]]
        func pass(_ net: SupervisedNetwork) -> (Matrix?, Matrix, SupervisedNetwork.Cache) {
            var masks = PointStreams(seed: 11, positions: 0..<4)
            return net.forward(x, hiddenDropout: 0.4, streams: &masks)
        }
        func loss(_ net: SupervisedNetwork) -> Double {
            let (level, scores, _) = pass(net)
            return SupervisedObjectives.sdlgm(levelLogits: level!, labelScores: scores, orderings: orderings).loss
        }
        let (level, scores, cache) = pass(network)
        XCTAssertTrue(cache.activations[0].storage.contains(0) && cache.masks.count == 2, "units dropped in both hidden layers")
        let (_, gradLevel, gradLabels) = SupervisedObjectives.sdlgm(levelLogits: level!, labelScores: scores, orderings: orderings)
        network.zeroGradients()
        network.backward(cache, gradLevel: gradLevel, gradLabels: gradLabels)
        FiniteDifference.check(network, \.parameters, analyticGradient: network.gradients, step: 2e-3,
                               tolerance: .relative(2e-2, floor: 0.05), function: loss)
        var unused = PointStreams(seed: 11, positions: 0..<4)
        let plain = network.forward(x), none = network.forward(x, hiddenDropout: 0, streams: &unused)
        XCTAssertEqual(plain.labelScores, none.labelScores)
        var fresh = PointStreams(seed: 11, positions: 0..<4)
        XCTAssertEqual(unused[3].next(), fresh[3].next(), "rate 0 draws nothing")
    }

    /// Label smoothing ε: the loss moves from the bound to the uniform cross-entropy by exactly ε (B + CE), computed
    /// here from the bound and the scores directly; its gradient w.r.t. the label scores by finite differences.
    func testLabelSmoothingLossAndGradient() throws {
        let scores = Matrix(rows: 2, cols: 4, storage: [0.5, -1, 2, 0.1, 0, 0.3, -0.7, 1.2])
        let level = Matrix(rows: 2, cols: 2, storage: [0.2, -0.1, 0.4, 0.3])
        let orderings = [[2], [3, 1]], ε = 0.3
        func loss(_ s: Matrix, _ smoothing: Double) -> Double {
            SupervisedObjectives.sdlgm(levelLogits: level, labelScores: s, orderings: orderings, smoothing: smoothing).loss
        }
        var shift = 0.0
        for i in 0..<2 {
            let row = scores.storage[(i * 4)..<((i + 1) * 4)].map(Double.init)
            let logSumExp = log(row.reduce(0) { $0 + exp($1) })
            let bound = PlackettLuce.bound(ordering: orderings[i], scores: scores.storage[(i * 4)..<((i + 1) * 4)])
            shift += ε * (bound + logSumExp - row.reduce(0, +) / 4) / 2
        }
        XCTAssertEqual(loss(scores, ε) - loss(scores, 0), shift, accuracy: 1e-9)
        XCTAssertGreaterThan(abs(shift), 0.05, "the check moves the loss")
        let (_, _, grad) = SupervisedObjectives.sdlgm(levelLogits: level, labelScores: scores, orderings: orderings, smoothing: ε)
        let (_, _, plain) = SupervisedObjectives.sdlgm(levelLogits: level, labelScores: scores, orderings: orderings)
        XCTAssertNotEqual(grad.storage, plain.storage)
        FiniteDifference.check(scores, \.storage, analyticGradient: grad.storage, step: 1e-3, tolerance: .absolute(1e-3)) {
            loss($0, ε)
        }
    }

    func testOneVsAllLossGradient() throws {
        let scores = Matrix(rows: 2, cols: 3, storage: [0.5, -1, 2, 0, 0.3, -0.7])
        let labels = try csr([[0, 2], [1]], cols: 3)
        let (_, grad) = SupervisedObjectives.oneVsAll(labelScores: scores, labels: labels)
        FiniteDifference.check(scores, \.storage, analyticGradient: grad.storage, step: 1e-3, tolerance: .absolute(1e-3)) {
            SupervisedObjectives.oneVsAll(labelScores: $0, labels: labels).loss
        }
    }

    /// A planted rule: label c is present exactly when feature c is (plus noise features); SDLGM learns it to P@1 = 1
    /// on held-out points, and predicts set sizes from p(L | x). The model file gives the same predictions.
    func testPlantedRuleIsLearned() throws {
        var g = SeededGenerator(seed: 9)
        func sample(_ n: Int) throws -> (CSRMatrix, CSRMatrix) {
            var features: [[Int]] = [], labels: [[Int]] = []
            for _ in 0..<n {
                let count = 1 + g.below(2)
                var set = Set<Int>()
                while set.count < count { set.insert(g.below(5)) }
                labels.append(set.sorted())
                var f = Set(set)
                while f.count < count + 3 { f.insert(5 + g.below(15)) }  // noise features 5…19
                features.append(f.sorted())
            }
            return (try csr(features, cols: 20), try csr(labels, cols: 5))
        }
        let (x, y) = try sample(400)
        let (xt, yt) = try sample(100)
        var trainer = SupervisedTrainer(method: .sdlgm, maxActive: 3, epochs: 30)
        trainer.hidden = [16]
        trainer.batchSize = 32
        trainer.learningRate = 0.01
        trainer.seed = 1
        let result = try trainer.train(features: x, labels: y)
        XCTAssertLessThan(result.history.last!.loss, result.history.first!.loss)
        let report = try SupervisedEvaluation.run(result.predictor, features: xt, labels: yt)
        XCTAssertEqual(report.ranking[0].precision, 1, "P@1")
        XCTAssertGreaterThan(report.sets.subsetAccuracy, 0.9, "the set size comes from p(L | x)")

        let path = try temporaryFolder(self) + "/sdlgm.h5"
        let file = try HDF5File.create(path)
        try result.predictor.write(to: file, maxActive: 3)
        try file.writeHeader(kind: .model, history: [])
        try file.close()
        let (back, maxActive) = try SupervisedPredictor.read(from: try HDF5File.open(path))
        XCTAssertEqual(maxActive, 3)
        XCTAssertEqual(try back.predict(xt).sets, try result.predictor.predict(xt).sets)
        XCTAssertEqual(try back.predict(xt).ranking, try result.predictor.predict(xt).ranking)
        // The model keeps the training label counts and N: the propensities need no training file.
        XCTAssertEqual(back.trainingPoints, 400)
        let counts = (0..<5).map { label in Double(y.indices.filter { $0 == label }.count) }
        XCTAssertEqual(back.trainingLabelCounts, counts)
        XCTAssertEqual(back.propensities(a: 0.6, b: 2.6), Propensity.scores(trainingLabels: y, a: 0.6, b: 2.6))
        XCTAssertEqual(report.ranking.map(\.propensityNDCG),
                       RankingMetrics.evaluate(try result.predictor.predict(xt).ranking, truth: yt,
                                               propensities: Propensity.scores(trainingLabels: y)).map(\.propensityNDCG))
        XCTAssertTrue(report.propensitySource.contains("N = 400"), report.propensitySource)
    }

    /// A model written before `training_points` existed reads with no counts; its evaluation takes the propensities
    /// from the labels it is given, or reports none and says why.
    func testModelWithoutTrainingPointsFallsBack() throws {
        let x = try csr([[0], [1], [0, 1], [2]], cols: 3)
        let y = try csr([[0], [1], [0, 1], [0]], cols: 3)
        var old = try SupervisedTrainer(method: .mostFrequent, maxActive: 2, epochs: 1).train(features: x, labels: y).predictor
        old.trainingPoints = nil
        let path = try temporaryFolder(self) + "/old.h5"
        let file = try HDF5File.create(path)
        try old.write(to: file, maxActive: 2)
        try file.writeHeader(kind: .model, history: [])
        try file.close()
        let back = try SupervisedPredictor.read(from: try HDF5File.open(path)).predictor
        XCTAssertNil(back.trainingPoints)
        XCTAssertNil(back.propensities())
        let none = try SupervisedEvaluation.run(back, features: x, labels: y)
        XCTAssertNil(none.ranking[0].propensityPrecision)
        XCTAssertTrue(none.propensitySource.hasPrefix("none"), none.propensitySource)
        let fallback = try SupervisedEvaluation.run(back, features: x, labels: y, fallbackTrainingLabels: (y, "labels of y"))
        let expected = RankingMetrics.evaluate(try back.predict(x).ranking, truth: y, propensities: Propensity.scores(trainingLabels: y))
        XCTAssertEqual(fallback.ranking, expected)
        XCTAssertTrue(fallback.propensitySource.hasPrefix("labels of y"), fallback.propensitySource)
    }

    func testBaselines() throws {
        let x = try csr([[0], [1], [0, 1], [2]], cols: 3)
        let y = try csr([[0], [1], [0, 1], [0]], cols: 3)
        let frequent = try SupervisedTrainer(method: .mostFrequent, maxActive: 2, epochs: 1).train(features: x, labels: y)
        let (ranking, sets) = try frequent.predictor.predict(x, k: 3)
        XCTAssertEqual(Array(ranking.ranked(2)), [0, 1, 2], "by training frequency: 3, 2, 0")
        XCTAssertEqual(Array(sets.row(3).indices), [0], "round(mean count 1.25) = 1 label")

        var ova = SupervisedTrainer(method: .oneVsAll, maxActive: 2, epochs: 200)
        ova.batchSize = 4
        ova.learningRate = 0.05
        let model = try ova.train(features: x, labels: y)
        XCTAssertNil(model.predictor.network?.levelHead)
        XCTAssertTrue(model.predictor.network!.hidden.isEmpty, "one-vs-all: the sparse layer alone")
        let predicted = try model.predictor.predict(x).sets
        XCTAssertEqual([predicted.indptr, predicted.indices], [y.indptr, y.indices], "a separable toy problem is fitted exactly")
    }
}
