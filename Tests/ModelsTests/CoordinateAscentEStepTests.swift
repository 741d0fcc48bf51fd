import DataKit
@testable import Models
import TestSupport
import XCTest

/// The coordinate-ascent E-step (`CoordinateAscentEStep`): every sweep raises L_β, it converges to a stationary
/// point of L_β at least as high as the L-BFGS E-step's, and its result does not depend on the threads.
final class CoordinateAscentEStepTests: XCTestCase {
    /// An overcomplete model (D = 16, H = 24, unit columns) and 37 points drawn from it (not a multiple of eight:
    /// the last block of lanes is padded).
    func problem(seed: UInt64 = 3) -> (x: Matrix, w: Matrix) {
        var generator = SeededGenerator(seed: seed)
        let w = ColumnNormalization.normalized(randomMatrix(16, 24, using: &generator)).w
        let model = SparseCodingModel(w: w, lambda: [Float](repeating: 0.6, count: 24), sigma2: 0.1)
        return (BidirectionalMonteCarlo.simulate(model, points: 37, generator: &generator).x, w)
    }

    func start(_ x: Matrix, _ w: Matrix) -> (mu: Matrix, rho: Matrix) {
        (Matrix(rows: x.rows, cols: w.cols), Matrix(rows: x.rows, cols: w.cols))
    }

    func testEverySweepRaisesTheObjective() {
        let (x, w) = problem()
        for weights in [EntropyWeights.one, EntropyWeights(likelihood: 0.7, prior: 1, posterior: 1.5)] {
          for vector in [false, CoordinateAscentEStep.vectorKernelAvailable] {
            var (mu, rho) = start(x, w)
            var previous = DiagonalEntropyObjective.terms(x: x, w: w, mu: mu, rho: rho, weights: weights).value
            for sweep in 1...40 {
                let outcome = CoordinateAscentEStep(maxSweeps: 1, usesVectorKernel: vector).fit(x: x, w: w, mu: &mu, rho: &rho,
                                                                                                weights: weights)
                let value = DiagonalEntropyObjective.terms(x: x, w: w, mu: mu, rho: rho, weights: weights).value
                XCTAssertEqual(outcome.objective, value, accuracy: 1e-3, "the reported objective is L_β at the result")
                XCTAssertGreaterThanOrEqual(value, previous - 1e-4, "sweep \(sweep) with \(weights), vector kernel \(vector)")
                previous = value
            }
          }
        }
    }

    func testConvergesToAStationaryPointAtLeastAsHighAsLBFGS() {
        let (x, w) = problem()
        var (mu, rho) = start(x, w)
        let outcome = CoordinateAscentEStep(maxSweeps: 3000, tolerance: 1e-6).fit(x: x, w: w, mu: &mu, rho: &rho)
        var objective = DiagonalEntropyObjective(x: x)
        var gMu = [Float](repeating: 0, count: mu.storage.count), gRho = gMu
        _ = objective.evaluate(w: w, mu: mu, rho: rho, gradMu: &gMu, gradRho: &gRho)
        let largest = (gMu + gRho).map { abs($0) * Float(x.rows) }.max()!  // ∂(B L)/∂θ: per-point units
        XCTAssertLessThan(largest, 2e-2, "stationary after \(outcome.sweeps) sweeps")

        var trainer = SparseCodingTrainer(latents: w.cols, scheme: .em, epochs: 1)
        trainer.iterations = 500
        var lbfgsObjective = DiagonalEntropyObjective(x: x)
        let lbfgs = trainer.lbfgsEStep(&lbfgsObjective, w: w, from: [Float](repeating: 0, count: 2 * x.rows * w.cols))
        let reference = DiagonalEntropyObjective.terms(x: x, w: w, mu: lbfgs.mu, rho: lbfgs.rho).value
        XCTAssertGreaterThanOrEqual(outcome.objective, reference - 1e-3)
    }

    /// With β_prior > 1 L_β has no maximum; the E-step holds λ at its β_prior = 1 optimum, so λ does not collapse
    /// however long it runs, while the posteriors shrink under the heavier penalty.
    func testAnnealingDoesNotCollapseLambda() {
        let (x, w) = problem()
        var (mu1, rho1) = start(x, w)
        CoordinateAscentEStep(maxSweeps: 500, tolerance: 1e-4).fit(x: x, w: w, mu: &mu1, rho: &rho1)
        let atOne = DiagonalEntropyObjective.terms(x: x, w: w, mu: mu1, rho: rho1)
        var (mu, rho) = start(x, w)
        let annealed = EntropyWeights(likelihood: 1, prior: 5, posterior: 1)
        let outcome = CoordinateAscentEStep(maxSweeps: 500, tolerance: 1e-4).fit(x: x, w: w, mu: &mu, rho: &rho, weights: annealed)
        XCTAssertLessThan(outcome.sweeps, 1000, "both phases converge")
        let terms = DiagonalEntropyObjective.terms(x: x, w: w, mu: mu, rho: rho)
        let meanLambda = { (t: DiagonalEntropyObjective.Terms) in t.lambda.reduce(0, +) / Double(t.lambda.count) }
        XCTAssertLessThan(meanLambda(terms), meanLambda(atOne), "the heavier penalty shrinks the posteriors")
        XCTAssertGreaterThan(meanLambda(terms), meanLambda(atOne) / 5, "no collapse")
        XCTAssertTrue(terms.value.isFinite)
    }

    func testTheResultDoesNotDependOnTheThreads() {
        var generator = SeededGenerator(seed: 8)
        let w = ColumnNormalization.normalized(randomMatrix(12, 10, using: &generator)).w
        let x = randomMatrix(203, 12, using: &generator)
        var results: [Matrix] = []
        for workers in [1, 2, 5] {
            var (mu, rho) = start(x, w)
            CoordinateAscentEStep(maxSweeps: 7, workers: workers).fit(x: x, w: w, mu: &mu, rho: &rho)
            results.append(Matrix(rows: 2 * x.rows, cols: w.cols, storage: mu.storage + rho.storage))
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }

    /// CKernels' AVX2 + FMA sweep makes the portable code's updates, up to rounding (fused multiply-adds).
    func testTheVectorKernelMakesThePortableUpdates() throws {
        try XCTSkipUnless(CoordinateAscentEStep.vectorKernelAvailable, "this CPU has no AVX2 + FMA")
        let (x, w) = problem()
        var fits: [(mu: Matrix, rho: Matrix, objective: Double)] = []
        for vector in [false, true] {
            var (mu, rho) = start(x, w)
            let outcome = CoordinateAscentEStep(maxSweeps: 30, tolerance: 0, usesVectorKernel: vector).fit(x: x, w: w, mu: &mu, rho: &rho)
            fits.append((mu, rho, outcome.objective))
        }
        XCTAssertEqual(fits[0].objective, fits[1].objective, accuracy: 1e-3)
        for (a, b) in zip(fits[0].mu.storage + fits[0].rho.storage, fits[1].mu.storage + fits[1].rho.storage) {
            XCTAssertEqual(a, b, accuracy: 2e-3)
        }
    }
}
