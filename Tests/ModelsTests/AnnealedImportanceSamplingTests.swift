import CKernels
import DataKit
import Foundation
@testable import Models
import XCTest

/// The pieces of AIS against exact answers: the tail functions, the exact coordinate conditional of the Gibbs
/// sweep against quadrature of its density, and the estimator against quadrature (H ≤ 2) and against a
/// Rao-Blackwellized Monte-Carlo reference on an overcomplete model where plain importance sampling fails.
final class AnnealedImportanceSamplingTests: XCTestCase {
    // MARK: tails

    func testLogMillsRatioAgainstDirectAndAsymptoticValues() {
        for t in stride(from: -6.0, through: 5.0, by: 0.25) {
            let direct = log(0.5 * erfc(t / 2.0.squareRoot()) / (exp(-t * t / 2) / (2 * Double.pi).squareRoot()))
            XCTAssertEqual(GaussianTail.logMillsRatio(t), direct, accuracy: 1e-10, "t = \(t)")
        }
        for t in [12.0, 34.0, 40.0, 1e3, 1e6] {  // R(t) = (1/t)(1 − 1/t² + 3/t⁴ − 15/t⁶ + 105/t⁸ − …)
            let series = 1 / t * (1 - 1 / (t * t) + 3 / pow(t, 4) - 15 / pow(t, 6) + 105 / pow(t, 8))
            XCTAssertEqual(GaussianTail.logMillsRatio(t), log(series), accuracy: 1000 / pow(t, 10) + 1e-13, "t = \(t)")
            XCTAssertEqual(log(GaussianTail.millsRatio(t)), log(series), accuracy: 1000 / pow(t, 10) + 1e-13, "t = \(t)")
        }
        for t in [-37.0, -20.0, -1.0] {
            XCTAssertEqual(log(GaussianTail.millsRatio(t)), GaussianTail.logMillsRatio(t), accuracy: 1e-13, "t = \(t)")
        }
        XCTAssertEqual(GaussianTail.erfcx(25 - 1e-12), GaussianTail.erfcx(25 + 1e-12), accuracy: 1e-12 * GaussianTail.erfcx(25),
                       "both branches meet")
        XCTAssertEqual(GaussianTail.millsShare(-40, 45), 1)
        XCTAssertEqual(GaussianTail.millsShare(45, -40), 0)
        XCTAssertEqual(GaussianTail.millsShare(0.3, 0.3), 0.5, accuracy: 1e-15)
    }

    func testTailDrawsHaveTheTruncatedMean() {
        var generator = SeededGenerator(seed: 3)
        for alpha in [-2.0, 0.3, 0.7, 3.0, 12.0] {
            var moments = RunningMoments()
            for _ in 0..<40_000 {
                let t = GaussianTail.sampleAbove(alpha, generator: &generator)
                XCTAssertGreaterThan(t, alpha)
                moments.add(t)
            }
            let exact = exp(-GaussianTail.logMillsRatio(alpha))  // E[t | t > α] = φ(α)/Φ(−α)
            XCTAssertEqual(moments.mean, exact, accuracy: 4.5 * moments.standardError, "α = \(alpha)")
        }
    }

    // MARK: the Gibbs conditional

    /// P(z > 0), E z and E z² of the draws against quadrature of exp(−a z²/2 + b z − r|z|), from nearly the prior
    /// (tiny a) to a narrow Gaussian far from 0, and a conditional sitting on the kink.
    func testCoordinateDrawsFollowTheirConditional() {
        let cases: [(a: Double, b: Double, r: Double)] = [(1, 0.3, 1), (50, 40, 2), (0.01, 0.001, 3), (4, -9, 0.5),
                                                          (1e4, 5, 1), (400, 0, 20)]
        var generator = SeededGenerator(seed: 11)
        for (a, b, r) in cases {
            let exact = conditionalMoments(a: a, b: b, r: r)
            var positive = RunningMoments(), first = RunningMoments(), second = RunningMoments()
            for _ in 0..<60_000 {
                let z = TemperedLaplaceGibbs.drawCoordinate(precision: a, linear: b, inverseScale: r, generator: &generator)
                positive.add(z > 0 ? 1 : 0)
                first.add(z)
                second.add(z * z)
            }
            let label = "a = \(a), b = \(b), r = \(r)"
            XCTAssertEqual(positive.mean, exact.positive, accuracy: 4.5 * max(positive.standardError, 1e-4), label)
            XCTAssertEqual(first.mean, exact.mean, accuracy: 4.5 * first.standardError, label)
            XCTAssertEqual(second.mean, exact.second, accuracy: 4.5 * second.standardError, label)
        }
    }

    /// Trapezoid-rule moments of exp(−a z²/2 + b z − r|z|) on a grid with a node at the kink.
    func conditionalMoments(a: Double, b: Double, r: Double) -> (positive: Double, mean: Double, second: Double) {
        let width = abs(b) / max(a, 1e-300) + 40 * min(1 / a.squareRoot(), 1 / r)
        let bound = min(width, 200 / r)
        let nodes = 400_001
        func logDensity(_ z: Double) -> Double { -a * z * z / 2 + b * z - r * abs(z) }
        let grid = (0..<nodes).map { -bound + 2 * bound * Double($0) / Double(nodes - 1) }
        let top = grid.map(logDensity).max()!
        var mass = 0.0, positive = 0.0, first = 0.0, second = 0.0
        for (i, z) in grid.enumerated() {
            let w = exp(logDensity(z) - top) * (i == 0 || i == nodes - 1 ? 0.5 : 1)
            mass += w
            if z > 0 { positive += w } else if z == 0 { positive += w / 2 }
            first += w * z
            second += w * z * z
        }
        return (positive / mass, first / mass, second / mass)
    }

    /// CKernels' eight-lane chains run each coordinate chain as the Swift chain with the same stream does, forward and
    /// in reverse, with K not a multiple of eight (padding lanes), an all-zero column (its coordinate drawn from the
    /// prior), a prior far narrower than the likelihood (λ = 1e-3: both pieces deep in the Gaussian tail, where the
    /// Mills ratios come from their continued fraction) and at σ² = 1e-4: the estimates agree to rounding, the only
    /// difference being libmvec's exp, log, cos and erfc against libm's.
    func testChainKernelFollowsTheSwiftChains() throws {
        try XCTSkipUnless(sk_ais_chains_available() != 0, "this CPU has no AVX-512F/DQ, so only the Swift chains run")
        for sigma2 in [Float(0.05), 1e-4] {
            var model = Self.overcompleteModel()
            model.sigma2 = sigma2
            for i in 0..<model.dimension { model.w[i, 3] = 0 }
            model.lambda[5] = 1e-3
            var generator = SeededGenerator(seed: 3)
            let (x, z) = BidirectionalMonteCarlo.simulate(model, points: 4, generator: &generator)
            let kernel = AnnealedImportanceSampling(model: model, temperatures: 300, chains: 11)
            var swift = kernel
            swift.usesChainKernel = false
            XCTAssertTrue(kernel.usesChainKernel)
            let pairs = Array(zip(kernel.forward(x, seed: 5), swift.forward(x, seed: 5)))
                + zip(kernel.reverse(x, exactLatents: z, seed: 6), swift.reverse(x, exactLatents: z, seed: 6))
            for (fast, plain) in pairs {
                XCTAssertEqual(fast.logLikelihood, plain.logLikelihood, accuracy: 1e-9 * abs(plain.logLikelihood), "σ² = \(sigma2)")
                XCTAssertEqual(fast.logWeightVariance, plain.logWeightVariance, accuracy: 1e-6 * max(1, plain.logWeightVariance))
                XCTAssertNotEqual(fast.logWeightVariance, 0, "the chains differ")
            }
        }
    }

    // MARK: the estimator

    /// Every transition (coordinate sweeps, the blocked scale-mixture draws, and the same collapsed over z).
    func testAISAgreesWithQuadratureOnTinyModels() {
        for latents in [1, 2] { for transition in AnnealedImportanceSampling.Transition.allCases {
            let model = HeldOutEstimatorTests.tinyModel(latents: latents)
            let points: [[Float]] = [[0.5, -0.9, 0.2], [-1.5, 1.1, 0.9], [0.05, 0.1, -0.1]]
            let x = Matrix(rows: 3, cols: 3, storage: points.flatMap { $0 })
            let ais = AnnealedImportanceSampling(model: model, temperatures: 200, chains: 500, transition: transition)
            let estimates = ais.forward(x, seed: 5)
            for k in 0..<3 {
                let exact = HeldOutEstimatorTests.quadrature(model, points[k].map(Double.init))
                // The delta method's standard error of log mean w: sqrt(Var log w / K) (0.008 to 0.013 here).
                let standardError = (estimates[k].logWeightVariance / 500).squareRoot()
                XCTAssertLessThan(standardError, 0.02)
                XCTAssertEqual(estimates[k].logLikelihood, exact, accuracy: 4 * standardError, "H = \(latents), point \(k), \(transition)")
            }
        } }
    }

    /// An overcomplete model (D = 16, H = 24, σ² = 0.05) on data simulated from it: forward AIS within 0.1
    /// nats/point of the Rao-Blackwellized reference (where importance sampling with the fitted q is more than a
    /// nat too low), and reverse AIS from the simulated latents an upper bound above it.
    func testAISMatchesRaoBlackwellizedReferenceOnOvercompleteModel() {
        let model = Self.overcompleteModel()
        var generator = SeededGenerator(seed: 21)
        let (x, z) = BidirectionalMonteCarlo.simulate(model, points: 8, generator: &generator)
        let reference = RaoBlackwellizedReference(model: model, samples: 50_000, seed: 4).logLikelihoods(x)
        XCTAssertGreaterThan(reference.effectiveSampleSizes.min()!, 1_000, "the reference itself is accurate")
        let exact = reference.logp.reduce(0, +) / 8

        for transition in AnnealedImportanceSampling.Transition.allCases {
        let ais = AnnealedImportanceSampling(model: model, temperatures: 1500, chains: 8,
                                             transition: transition)
        let forward = ais.forward(x, seed: 6), reverse = ais.reverse(x, exactLatents: z, seed: 7)
        let lower = forward.map(\.logLikelihood).reduce(0, +) / 8
        let upper = reverse.map(\.logLikelihood).reduce(0, +) / 8
        print(String(format: "D = 16, H = 24, %@: reference %.4f, forward AIS %.4f, reverse AIS %.4f", transition.rawValue, exact, lower, upper))
        // Standard errors of the three means over points, by the delta method: Var log mean w ≈ Var log w / K per
        // AIS point, ≈ 1/ESS per reference point.
        func meanError(_ variances: [Double]) -> Double { variances.reduce(0, +).squareRoot() / 8 }
        let referenceError = meanError(reference.effectiveSampleSizes.map { 1 / $0 })
        let lowerError = meanError(forward.map { $0.logWeightVariance / 8 })
        let upperError = meanError(reverse.map { $0.logWeightVariance / 8 })
        XCTAssertEqual(lower, exact, accuracy: 0.1, "AIS against the reference")
        XCTAssertLessThanOrEqual(lower, exact + 3 * (lowerError * lowerError + referenceError * referenceError).squareRoot(),
                                 "forward AIS is a lower bound")
        XCTAssertGreaterThanOrEqual(upper, exact - 3 * (upperError * upperError + referenceError * referenceError).squareRoot(),
                                    "reverse AIS is an upper bound")
        XCTAssertLessThan(abs(upper - lower), 0.2, "and the BDMC gap is small")
        }
    }

    func testEstimatesDependNeitherOnBlocksNorOnThreads() {
        let model = Self.overcompleteModel()
        var generator = SeededGenerator(seed: 2)
        let (x, _) = BidirectionalMonteCarlo.simulate(model, points: 5, generator: &generator)
        for transition in AnnealedImportanceSampling.Transition.allCases {
            let ais = AnnealedImportanceSampling(model: model, temperatures: 20, chains: 3, transition: transition)
            let whole = ais.forward(x, seed: 9)
            let split = ais.forward(x.rowSlice(0..<2), firstRow: 0, seed: 9) + ais.forward(x.rowSlice(2..<5), firstRow: 2, seed: 9)
            XCTAssertEqual(whole, split, "\(transition)")
            XCTAssertNotEqual(whole, ais.forward(x, seed: 10), "the seed matters")
        }
    }

    /// sk-eval's text report flags an AIS estimate below the held-out ELBO (an exact lower bound): with two
    /// temperatures AIS is importance sampling from the prior and falls far below it; with enough it does not. The
    /// warning on the log-weights' variance points to the collapsed transition unless that is what ran.
    func testReportWarnsWhenTheEstimateLiesBelowTheHeldOutELBO() {
        let model = Self.overcompleteModel()
        var generator = SeededGenerator(seed: 4)
        let (x, _) = BidirectionalMonteCarlo.simulate(model, points: 6, generator: &generator)
        func report(temperatures: Int, transition: AnnealedImportanceSampling.Transition = .coordinate) -> SparseCodingEvaluation {
            let settings = SparseCodingEvaluation.LikelihoodSettings(method: .ais, samples: 4, temperatures: temperatures,
                                                                     transition: transition, seed: 1)
            return SparseCodingEvaluation.run(model, on: x, likelihood: settings)
        }
        let crude = report(temperatures: 2), converged = report(temperatures: 400)
        XCTAssertLessThan(crude.logLikelihood!.mean, crude.heldOutELBO.mean)
        XCTAssertTrue(crude.text.contains("below the held-out ELBO"), crude.text)
        XCTAssertTrue(crude.text.contains("vary by more than 1 nat²") && crude.text.contains("--transition collapsed"), crude.text)
        XCTAssertGreaterThan(converged.logLikelihood!.mean, converged.heldOutELBO.mean)
        XCTAssertFalse(converged.text.contains("below the held-out ELBO"), converged.text)
        let collapsed = report(temperatures: 2, transition: .collapsed)
        XCTAssertTrue(collapsed.text.contains("vary by more than 1 nat²"), collapsed.text)
        XCTAssertFalse(collapsed.text.contains("--transition collapsed"), collapsed.text)
    }

    func testSigmoidScheduleRunsFromZeroToOneWithSmallestStepsAtTheEnds() {
        let schedule = AnnealedImportanceSampling.sigmoidSchedule(100)
        XCTAssertEqual(schedule.first, 0)
        XCTAssertEqual(schedule.last, 1)
        let steps = zip(schedule.dropFirst(), schedule).map { $0 - $1 }
        XCTAssertTrue(steps.allSatisfy { $0 > 0 })
        XCTAssertLessThan(steps.first!, steps[50] / 5)
        XCTAssertLessThan(steps.last!, steps[50] / 5)
    }

    /// D = 16, H = 24: Gaussian columns normalised to unit length, λ_h from 0.5 to 1.5, σ² = 0.05.
    /// The geometric schedule: β_0 = 0, then even steps in log β from σ²/(100 v̄) to 1.
    func testGeometricScheduleIsEvenInLogBeta() {
        let model = Self.overcompleteModel()
        let schedule = AnnealedImportanceSampling.geometricSchedule(100, model: model)
        XCTAssertEqual(schedule.count, 101)
        XCTAssertEqual(schedule.first, 0)
        XCTAssertEqual(schedule.last, 1)
        let ratios = zip(schedule.dropFirst(2), schedule.dropFirst()).map { log($0 / $1) }
        for ratio in ratios { XCTAssertEqual(ratio, ratios[0], accuracy: 1e-9) }
        var variance = Double(model.sigma2)
        for i in 0..<16 { for j in 0..<24 { variance += 2 * Double(model.lambda[j] * model.lambda[j] * model.w[i, j] * model.w[i, j]) / 16 } }
        XCTAssertEqual(schedule[1], Double(model.sigma2) / (100 * variance), accuracy: 1e-6 * schedule[1])
    }

    /// The overcomplete model with σ² = 1e-4, where one-coordinate chains freeze and the plain path's weights
    /// p(x | z)^Δβ become spikes: AIS with the collapsed transition on the geometric schedule lands within 0.1
    /// nats/point of the Rao-Blackwellized reference (whose integrand N(x; 0, W T Wᵀ + σ² I) hardly depends on σ²
    /// here, so it stays accurate), and reverse AIS above it; the same budget on the sigmoid schedule with blocked
    /// moves ends more than a nat away (measured −25.44 and −25.45 against −25.44; blocked sigmoid −51.2).
    func testCollapsedGeometricAISHoldsAtVerySmallNoise() {
        var model = Self.overcompleteModel()
        model.sigma2 = 1e-4
        var generator = SeededGenerator(seed: 21)
        let (x, z) = BidirectionalMonteCarlo.simulate(model, points: 8, generator: &generator)
        let reference = RaoBlackwellizedReference(model: model, samples: 50_000, seed: 4).logLikelihoods(x)
        XCTAssertGreaterThan(reference.effectiveSampleSizes.min()!, 500, "the reference itself is accurate")
        let exact = reference.logp.reduce(0, +) / 8
        let collapsed = AnnealedImportanceSampling(model: model, temperatures: 1000, chains: 8, transition: .collapsed, schedule: .geometric)
        let lower = collapsed.forward(x, seed: 6).map(\.logLikelihood).reduce(0, +) / 8
        let upper = collapsed.reverse(x, exactLatents: z, seed: 7).map(\.logLikelihood).reduce(0, +) / 8
        let plain = AnnealedImportanceSampling(model: model, temperatures: 1000, chains: 8, transition: .blocked)
            .forward(x, seed: 6).map(\.logLikelihood).reduce(0, +) / 8
        print(String(format: "D = 16, H = 24, σ² = 1e-4: reference %.4f, collapsed geometric %.4f / %.4f, blocked sigmoid %.4f",
                     exact, lower, upper, plain))
        XCTAssertEqual(lower, exact, accuracy: 0.1)
        XCTAssertGreaterThan(upper, exact - 0.1)
        XCTAssertLessThan(plain, exact - 1, "the budget that suffices collapsed is far too little on the plain path")
    }

    static func overcompleteModel() -> SparseCodingModel {
        var model = SparseCodingModel.initial(dimension: 16, latents: 24, seed: 13)
        model.lambda = (0..<24).map { 0.5 + Float($0) / 23 }
        model.sigma2 = 0.05
        return model
    }
}

/// The reference of `es-sc.md` for small models: with the Laplace prior as a Gaussian scale mixture,
/// p(x) = E_τ[N(x; 0, W diag(τ) Wᵀ + σ² I)], τ_h ~ Exponential with mean 2λ_h², by plain Monte Carlo over τ (the
/// same draws for every point), in double precision.
struct RaoBlackwellizedReference {
    let model: SparseCodingModel
    let samples: Int
    let seed: UInt64

    func logLikelihoods(_ x: Matrix) -> (logp: [Double], effectiveSampleSizes: [Double]) {
        let (d, h, n) = (model.dimension, model.latents, x.rows)
        let w = model.w.storage.map(Double.init)
        var generator = SeededGenerator(seed: seed)
        var logDensities = [[Double]](repeating: [], count: n)
        var sigma = [Double](repeating: 0, count: d * d)
        var solved = [Double](repeating: 0, count: d)
        for _ in 0..<samples {
            let tau = model.lambda.map { -2 * Double($0) * Double($0) * log(generator.uniformOpen()) }
            for i in 0..<d {
                for j in 0...i {
                    var value = i == j ? Double(model.sigma2) : 0
                    for c in 0..<h { value += w[i * h + c] * tau[c] * w[j * h + c] }
                    sigma[i * d + j] = value
                }
            }
            // In-place lower Cholesky factor of Σ.
            for j in 0..<d {
                var diagonal = sigma[j * d + j]
                for k in 0..<j { diagonal -= sigma[j * d + k] * sigma[j * d + k] }
                let root = diagonal.squareRoot()
                sigma[j * d + j] = root
                for i in (j + 1)..<max(d, j + 1) {
                    var value = sigma[i * d + j]
                    for k in 0..<j { value -= sigma[i * d + k] * sigma[j * d + k] }
                    sigma[i * d + j] = value / root
                }
            }
            var logDeterminant = 0.0
            for j in 0..<d { logDeterminant += 2 * log(sigma[j * d + j]) }
            for point in 0..<n {
                var quadratic = 0.0
                for i in 0..<d {  // forward substitution L y = x, quadratic = ‖y‖²
                    var value = Double(x[point, i])
                    for k in 0..<i { value -= sigma[i * d + k] * solved[k] }
                    solved[i] = value / sigma[i * d + i]
                    quadratic += solved[i] * solved[i]
                }
                logDensities[point].append(-0.5 * (Double(d) * log(2 * Double.pi) + logDeterminant + quadratic))
            }
        }
        let summaries = logDensities.map(LogWeights.init)
        return (summaries.map(\.logMean), summaries.map(\.effectiveSampleSize))
    }
}
