import DataKit
@testable import Models
import XCTest

/// `--objective likelihood` (`SparseCodingTrainer+Likelihood.swift`): its gradient estimate against the gradient of
/// log p(x) computed by quadrature, and training that recovers a model from data simulated from it.
final class LikelihoodTrainingTests: XCTestCase {
    /// The Fisher-identity checks' data: the tiny H = 2 model of `HeldOutEstimatorTests`, one point, and 16 copies of
    /// it as rows (one Gibbs chain each, run for `fisherSweeps` sweeps).
    static func onePointInCopies() -> (model: SparseCodingModel, point: [Float], x: Matrix) {
        let point: [Float] = [0.9, -0.4, 0.7]
        let copies = 16
        return (HeldOutEstimatorTests.tinyModel(latents: 2), point,
                Matrix(rows: copies, cols: point.count, storage: Array((0..<copies).map { _ in point }.joined())))
    }

    static let fisherSweeps = 20_000

    /// Fisher's identity through `PosteriorSampleStatistics`: on the tiny H = 2 model of `HeldOutEstimatorTests`,
    /// the statistics' gradient, averaged over 16 chains × 20,000 Gibbs sweeps at one point, against central finite
    /// differences of the quadrature log p(x) in every entry of W. A wrong sign, a missing 1/σ², a W Σ_zz term that
    /// is not subtracted or a sampler that leaves the posterior moves entries by far more than the tolerance (the
    /// entries are of order 1).
    func testGradientEstimateIsTheGradientOfTheLogLikelihood() {
        let (model, point, x) = Self.onePointInCopies()
        var chains = Matrix(rows: x.rows, cols: 2)
        let statistics = PosteriorSampleStatistics.sample(x, chains: &chains, model: model, sweeps: Self.fisherSweeps, seed: 7)
        let estimate = statistics.gradient(x, w: model.w, sigma2: Double(model.sigma2))
        let step = 1e-3
        for entry in 0..<6 {
            func logp(_ shift: Double) -> Double {
                var shifted = model
                shifted.w.storage[entry] += Float(shift)
                return HeldOutEstimatorTests.quadrature(shifted, point.map(Double.init))
            }
            let exact = (logp(step) - logp(-step)) / (2 * step)
            XCTAssertEqual(Double(estimate[entry]), exact, accuracy: 0.02 + 0.02 * abs(exact), "∂ log p(x)/∂W entry \(entry)")
        }
        XCTAssertEqual(statistics.points, x.rows)
        XCTAssertEqual(statistics.secondMoment[1], statistics.secondMoment[2], "Σ_zz is symmetric")
        XCTAssertEqual(chains.storage.filter { $0 == 0 }.count, 0, "the chains moved")
    }

    /// The same seed gives the same chains and sums, bit for bit (each point draws from its own stream, and the sums
    /// run over 16 fixed slices in order, whatever the cores), and the chains move.
    func testStatisticsDoNotDependOnTheMachine() {
        let model = HeldOutEstimatorTests.tinyModel(latents: 2)
        let x = randomMatrix(40, 3, seed: 3)
        var (a, b) = (Matrix(rows: 40, cols: 2), Matrix(rows: 40, cols: 2))
        let first = PosteriorSampleStatistics.sample(x, chains: &a, model: model, sweeps: 3, seed: 1)
        let second = PosteriorSampleStatistics.sample(x, chains: &b, model: model, sweeps: 3, seed: 1)
        XCTAssertEqual(a, b)
        XCTAssertEqual(first.secondMoment, second.secondMoment)
        XCTAssertEqual(first.absoluteLatents, second.absoluteLatents)
        XCTAssertNotEqual(a, Matrix(rows: 40, cols: 2))
    }

    /// Data simulated from a model (D = 8, H = 6, unit columns, λ = 0.6 … 1.6, σ² = 0.1): 40 epochs of likelihood
    /// training (2 sweeps per visit) from the seeded W reach the generating model's log-likelihood on the training
    /// points (AIS on 300 of them, the same estimator for both: within 0.1 nats; measured −0.06, −0.03 and −0.02 for
    /// seeds 4, 5, 6, while runs that settled with two columns on one generating column were 0.17 to 0.25 short),
    /// find every generating column (|cos| > 0.8) with σ² within 10 %; the record's mean log p(x, z) rises; every point
    /// keeps its chain and no scales.
    func testTrainingReachesTheLikelihoodOfTheGeneratingModel() throws {
        var trainer = SparseCodingTrainer(latents: 6, scheme: .em, epochs: 40)
        (trainer.objective, trainer.batchSize, trainer.seed, trainer.samples) = (.likelihood, 100, 4, 2)
        try checkRecovery(trainer)
    }

    /// The same with `--m-step adam` (Adam, learning rate 0.01, on the Rao-Blackwellized gradient): the same
    /// tolerances, from the same seeded W.
    func testAdamStepsReachTheLikelihoodOfTheGeneratingModel() throws {
        var trainer = SparseCodingTrainer(latents: 6, scheme: .em, epochs: 40)
        (trainer.objective, trainer.batchSize, trainer.seed, trainer.samples) = (.likelihood, 100, 4, 2)
        (trainer.mStep, trainer.learningRate) = (.adam, 0.01)
        try checkRecovery(trainer)
    }

    func checkRecovery(_ trainer: SparseCodingTrainer, file: StaticString = #filePath, line: UInt = #line) throws {
        var generator = SeededGenerator(seed: 11)
        var truth = SparseCodingModel(w: randomMatrix(8, 6, seed: 12), lambda: [Float](repeating: 1, count: 6), sigma2: 0.1)
        truth.normalizeColumns()
        truth.lambda = [0.6, 0.8, 1.0, 1.2, 1.4, 1.6]
        let (x, _) = BidirectionalMonteCarlo.simulate(truth, points: 3000, generator: &generator)
        let trained = try trainer.train(x)
        let subset = x.rowSlice(0..<300)
        func logLikelihood(_ model: SparseCodingModel) -> Double {
            AnnealedImportanceSampling(model: model, temperatures: 300, chains: 8).forward(subset, seed: 1)
                .reduce(0) { $0 + $1.logLikelihood } / 300
        }
        XCTAssertEqual(logLikelihood(trained.model), logLikelihood(truth), accuracy: 0.1, file: file, line: line)
        XCTAssertGreaterThan(trained.history.last!.objective, trained.history.first!.objective, file: file, line: line)
        XCTAssertEqual(Double(trained.model.sigma2), 0.1, accuracy: 0.01, file: file, line: line)
        for c in 0..<6 {
            let cosines = (0..<6).map { k in (0..<8).reduce(0.0) { $0 + Double(truth.w[$1, c]) * Double(trained.model.w[$1, k]) } }
            XCTAssertGreaterThan(cosines.map(abs).max()!, 0.8, "generating column \(c)", file: file, line: line)
        }
        XCTAssertEqual(trained.rho.rows, 0, "chain states have no scales", file: file, line: line)
        XCTAssertEqual(trained.mu.rows, 3000, "every point keeps its chain", file: file, line: line)
    }

    /// Started from the generating model (`initialModel`), training stays there: after 2 epochs σ² is within 10 % and
    /// every column within |cos| > 0.97 of it. Without the burn-in of the chains, the first minibatch's chains, two
    /// sweeps away from z = 0, sent σ² here to 2.7 (and to 0.62 on 8×8 patches whose model had 0.006): the start was lost.
    func testTrainingFromAGivenModelStartsThere() throws {
        var generator = SeededGenerator(seed: 11)
        var truth = SparseCodingModel(w: randomMatrix(8, 6, seed: 12), lambda: [Float](repeating: 1, count: 6), sigma2: 0.1)
        truth.normalizeColumns()
        let (x, _) = BidirectionalMonteCarlo.simulate(truth, points: 1000, generator: &generator)
        var trainer = SparseCodingTrainer(latents: 6, scheme: .em, epochs: 2)
        (trainer.objective, trainer.batchSize, trainer.seed, trainer.initialModel) = (.likelihood, 100, 4, (truth, "truth"))
        let trained = try trainer.train(x)
        XCTAssertEqual(Double(trained.history.first!.sigma2), 0.1, accuracy: 0.01)
        XCTAssertEqual(Double(trained.model.sigma2), 0.1, accuracy: 0.01)
        for c in 0..<6 {
            let cosine = (0..<8).reduce(0.0) { $0 + Double(truth.w[$1, c]) * Double(trained.model.w[$1, c]) }
            XCTAssertGreaterThan(cosine, 0.97, "column \(c) stays")
        }
        trainer.initialModel = (SparseCodingModel(w: randomMatrix(8, 5, seed: 1), lambda: [1, 1, 1, 1, 1], sigma2: 1), "small.h5")
        XCTAssertThrowsError(try trainer.train(x)) { XCTAssertTrue("\($0)".contains("small.h5"), "\($0)") }
    }
}
