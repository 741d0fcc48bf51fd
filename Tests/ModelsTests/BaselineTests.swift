import DataKit
@testable import Models
import XCTest

/// The elbo-mc and map-l1 baselines (`es-sc.md`, "Baselines").
final class BaselineTests: XCTestCase {
    struct Problem {
        var x: Matrix, w: Matrix, mu: Matrix, rho: Matrix
    }

    func problem(seed: UInt64 = 3, n: Int = 6, d: Int = 5, h: Int = 3) -> Problem {
        var g = SeededGenerator(seed: seed)
        return Problem(x: randomMatrix(n, d, using: &g), w: randomMatrix(d, h, scale: 0.6, using: &g),
                       mu: randomMatrix(n, h, scale: 0.8, using: &g), rho: randomMatrix(n, h, scale: 0.3, shift: -0.7, using: &g))
    }

    // MARK: elbo-mc

    func testMonteCarloGradientsAgreeWithFiniteDifferencesForFixedNoise() {
        let p = problem()
        let estimator = MonteCarloELBO(x: p.x, samples: 3)
        var generator = SeededGenerator(seed: 9)
        let noise = estimator.noise(latents: 3, using: &generator)
        let (sigma2, lambda) = (0.7, [0.9, 1.3, 0.6])
        var gradients: MonteCarloELBO.Gradients? = .init(mu: [], rho: [], w: [], optimalSigma2: 0, optimalLambda: [])
        _ = estimator.evaluate(w: p.w, sigma2: sigma2, lambda: lambda, mu: p.mu, rho: p.rho, epsilon: noise, gradients: &gradients)
        func check(_ analytic: [Float], _ parameter: WritableKeyPath<Problem, [Float]>, _ name: String) {
            FiniteDifference.check(p, parameter, analyticGradient: analytic, step: 1e-3, tolerance: .relative(1e-2, floor: 0.05), name) { q in
                var none: MonteCarloELBO.Gradients?
                return estimator.evaluate(w: q.w, sigma2: sigma2, lambda: lambda, mu: q.mu, rho: q.rho, epsilon: noise, gradients: &none)
            }
        }
        check(gradients!.mu, \.mu.storage, "mu")
        check(gradients!.rho, \.rho.storage, "rho")
        check(gradients!.w, \.w.storage, "W")
    }

    /// The MC estimate is unbiased for the closed-form ELBO, and at the closed-form σ², λ that ELBO is L.
    func testMonteCarloEstimateMatchesTheExactELBOAndTheEntropyObjective() {
        let p = problem()
        var objective = DiagonalEntropyObjective(x: p.x)
        let entropy = objective.evaluate(w: p.w, mu: p.mu, rho: p.rho)
        let exact = ExactELBO.terms(p.x, w: p.w, sigma2: entropy.sigma2, lambda: entropy.lambda, mu: p.mu, rho: p.rho)
        XCTAssertEqual(exact.value, entropy.value, accuracy: 1e-4, "ELBO at the closed forms equals L")
        XCTAssertEqual(exact.noiseEntropy, entropy.noiseEntropy, accuracy: 1e-4)
        XCTAssertEqual(exact.priorEntropy, entropy.priorEntropy, accuracy: 1e-4)

        let estimator = MonteCarloELBO(x: p.x, samples: 20_000)
        var generator = SeededGenerator(seed: 4)
        var gradients: MonteCarloELBO.Gradients? = .init(mu: [], rho: [], w: [], optimalSigma2: 0, optimalLambda: [])
        let estimate = estimator.evaluate(w: p.w, sigma2: entropy.sigma2, lambda: entropy.lambda, mu: p.mu, rho: p.rho,
                                          epsilon: estimator.noise(latents: 3, using: &generator), gradients: &gradients)
        XCTAssertEqual(estimate, exact.value, accuracy: 0.02, "Monte-Carlo ELBO with 20,000 samples")
        // Its M-step recovers the closed forms (MC estimates of σ² and E|z|).
        XCTAssertEqual(gradients!.optimalSigma2, entropy.sigma2, accuracy: 0.01 * entropy.sigma2)
        for h in 0..<3 { XCTAssertEqual(gradients!.optimalLambda[h], entropy.lambda[h], accuracy: 0.01 * entropy.lambda[h]) }
    }

    func testMonteCarloStepMaximisesTheEstimateOverSigmaAndLambda() {
        let p = problem()
        let estimator = MonteCarloELBO(x: p.x, samples: 4)
        var generator = SeededGenerator(seed: 5)
        let noise = estimator.noise(latents: 3, using: &generator)
        var gradients: MonteCarloELBO.Gradients? = .init(mu: [], rho: [], w: [], optimalSigma2: 0, optimalLambda: [])
        _ = estimator.evaluate(w: p.w, sigma2: 1, lambda: [1, 1, 1], mu: p.mu, rho: p.rho, epsilon: noise, gradients: &gradients)
        let (sigma2, lambda) = (gradients!.optimalSigma2, gradients!.optimalLambda)
        var none: MonteCarloELBO.Gradients?
        let best = estimator.evaluate(w: p.w, sigma2: sigma2, lambda: lambda, mu: p.mu, rho: p.rho, epsilon: noise, gradients: &none)
        for factor in [0.9, 1.1] {
            XCTAssertLessThan(estimator.evaluate(w: p.w, sigma2: sigma2 * factor, lambda: lambda, mu: p.mu, rho: p.rho,
                                                 epsilon: noise, gradients: &none), best)
            for h in 0..<3 {
                var moved = lambda
                moved[h] *= factor
                XCTAssertLessThan(estimator.evaluate(w: p.w, sigma2: sigma2, lambda: moved, mu: p.mu, rho: p.rho,
                                                     epsilon: noise, gradients: &none), best)
            }
        }
    }

    // MARK: map-l1

    /// FISTA reaches the lasso optimum: the subgradient conditions |(Wᵀ(x − W z))_h| ≤ α where z_h = 0 and
    /// (Wᵀ(x − W z))_h = α sign(z_h) elsewhere.
    func testFISTACodesSatisfyTheLassoOptimalityConditions() {
        let p = problem(n: 20, d: 8, h: 6)
        let coder = LassoCoder(penalty: 0.3, iterations: 3000)
        let z = coder.codes(p.x, w: p.w)
        var residual = p.x
        Matrix.gemm(z, p.w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let correlation = Matrix.product(residual, p.w)
        var zeros = 0
        for i in z.storage.indices {
            let c = Double(correlation.storage[i])
            if z.storage[i] == 0 {
                zeros += 1
                XCTAssertLessThanOrEqual(abs(c), 0.3 + 1e-3)
            } else {
                XCTAssertEqual(c, 0.3 * (z.storage[i] > 0 ? 1 : -1), accuracy: 1e-3)
            }
        }
        XCTAssertGreaterThan(zeros, 0, "an α this large zeroes some codes")
        XCTAssertLessThan(zeros, z.storage.count, "and keeps others")
        // More iterations never raise the energy past the optimum found.
        let fewer = coder.energy(p.x, w: p.w, codes: LassoCoder(penalty: 0.3, iterations: 5).codes(p.x, w: p.w))
        XCTAssertGreaterThan(fewer, coder.energy(p.x, w: p.w, codes: z))
    }

    /// The map-l1 dictionary step descends along −∂E/∂W = Rᵀ Z / B.
    func testLassoDictionaryGradientAgreesWithFiniteDifferences() {
        let p = problem(n: 10, d: 5, h: 4)
        let coder = LassoCoder(penalty: 0.2, iterations: 0)
        let z = LassoCoder(penalty: 0.2, iterations: 200).codes(p.x, w: p.w)
        var residual = p.x
        Matrix.gemm(z, p.w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let descent = Matrix.product(residual, transposeA: true, z).storage.map { Double($0) / 10 }
        FiniteDifference.check(parameters: p.w.storage, analyticGradient: descent.map { -$0 }, step: 1e-3,
                               tolerance: .init(absolute: 2e-3, relative: 1e-2)) {
            coder.energy(p.x, w: Matrix(rows: p.w.rows, cols: p.w.cols, storage: $0), codes: z)
        }
    }

    // MARK: trainer

    func testBaselinesTrainOnTheBars() throws {
        let (x, _, _) = BarsData.sample(count: 400, seed: 2)
        var trainer = SparseCodingTrainer(latents: 10, scheme: .em, epochs: 12)
        trainer.batchSize = 100
        trainer.iterations = 60
        trainer.seed = 3
        trainer.objective = .elboMC
        trainer.samples = 2
        let mc = try trainer.train(x)
        XCTAssertTrue(mc.history.allSatisfy { $0.objective.isFinite })
        XCTAssertGreaterThan(mc.history.last!.objective, mc.history.first!.objective + 10, "the exact ELBO rises")
        XCTAssertEqual(mc.model.sigma2, Float(mc.history.last!.sigma2), "the model keeps the learned σ²")

        trainer.objective = .mapL1
        trainer.penalty = 0.05
        trainer.epochs = 4
        let map = try trainer.train(x)
        let energies = map.history.map { -$0.objective }
        XCTAssertLessThan(energies.last!, energies.first!, "the MAP energy falls")
        XCTAssertEqual(map.rho.rows, 0, "MAP codes have no scales")
        XCTAssertTrue(map.model.lambda.allSatisfy { $0 > 0 } && map.model.sigma2 > 0)

        trainer.scheme = .fullBatch
        XCTAssertThrowsError(try trainer.train(x), "baselines train with the em scheme")
    }
}
