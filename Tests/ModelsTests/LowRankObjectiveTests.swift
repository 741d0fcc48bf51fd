import DataKit
@testable import Models
import XCTest

/// The diagonal-plus-low-rank entropy objective of `amortized-lowrank`.
final class LowRankObjectiveTests: XCTestCase {
    struct Problem {
        var x: Matrix, w: Matrix, mu: Matrix, scale: Matrix, factors: Matrix
    }

    func problem(n: Int = 5, d: Int = 4, h: Int = 3, rank: Int = 2, seed: UInt64 = 2) -> Problem {
        var g = SeededGenerator(seed: seed)
        let scale = Matrix(rows: n, cols: h, storage: (0..<(n * h)).map { _ in Float(0.3 + 0.5 * g.uniform()) })
        return Problem(x: randomMatrix(n, d, using: &g), w: randomMatrix(d, h, scale: 0.7, using: &g),
                       mu: randomMatrix(n, h, scale: 0.8, using: &g), scale: scale, factors: randomMatrix(n, rank * h, scale: 0.4, using: &g))
    }

    func value(_ p: Problem, rank: Int = 2, weights: EntropyWeights = .one) -> Double {
        var none: LowRankEntropyObjective.Gradients?
        return LowRankEntropyObjective(x: p.x, rank: rank, weights: weights)
            .evaluate(w: p.w, mu: p.mu, scale: p.scale, factors: p.factors, gradients: &none).value
    }

    func testGradientsAgreeWithFiniteDifferences() {
        for weights in [EntropyWeights.one, EntropyWeights(likelihood: 0.7, prior: 2, posterior: 1.4)] {
            let p = problem()
            var gradients: LowRankEntropyObjective.Gradients? = .init(mu: p.mu, scale: p.scale, factors: nil, w: p.w)
            _ = LowRankEntropyObjective(x: p.x, rank: 2, weights: weights)
                .evaluate(w: p.w, mu: p.mu, scale: p.scale, factors: p.factors, gradients: &gradients)
            func check(_ analytic: Matrix, _ parameter: WritableKeyPath<Problem, [Float]>, _ name: String) {
                FiniteDifference.check(p, parameter, analyticGradient: analytic.storage, step: 1e-3,
                                       tolerance: .relative(2e-2, floor: 0.05), "\(name) with \(weights)") { value($0, weights: weights) }
            }
            check(gradients!.mu, \.mu.storage, "mu")
            check(gradients!.scale, \.scale.storage, "scale")
            check(gradients!.factors!, \.factors.storage, "factors")
            check(gradients!.w, \.w.storage, "W")
        }
    }

    /// With U = 0 it is the diagonal objective; with U ≠ 0 its entropy is ½ log det(2πe Σ) of Σ built explicitly.
    func testReducesToTheDiagonalObjectiveAndMatchesAnExplicitCovariance() throws {
        var p = problem()
        let full = p.factors
        p.factors = Matrix(rows: 5, cols: 6)
        var objective = DiagonalEntropyObjective(x: p.x)
        let diagonal = objective.evaluate(w: p.w, mu: p.mu, rho: Matrix(rows: 5, cols: 3, storage: p.scale.storage.map { log($0) }))
        XCTAssertEqual(value(p), diagonal.value, accuracy: 1e-4)

        p.factors = full
        var none: LowRankEntropyObjective.Gradients?
        let terms = LowRankEntropyObjective(x: p.x, rank: 2).evaluate(w: p.w, mu: p.mu, scale: p.scale, factors: p.factors, gradients: &none)
        var entropy = 0.0
        for n in 0..<5 {
            var sigma = Matrix(rows: 3, cols: 3)
            for a in 0..<3 { for b in 0..<3 {
                var v = a == b ? Double(p.scale[n, a] * p.scale[n, a]) : 0
                for j in 0..<2 { v += Double(p.factors[n, j * 3 + a]) * Double(p.factors[n, j * 3 + b]) }
                sigma[a, b] = Float(v)
            } }
            let l = try Decompositions.cholesky(sigma)
            entropy += (0..<3).reduce(0.0) { $0 + log(Double(l[$1, $1])) } + 1.5 * log(2 * Double.pi * M_E)
        }
        XCTAssertEqual(terms.posteriorEntropy, entropy / 5, accuracy: 1e-4)
    }

    func testAmortizedLowRankTrainingAscends() throws {
        let (x, _, _) = BarsData.sample(count: 300, seed: 5)
        var trainer = SparseCodingTrainer(latents: 10, scheme: .adam, epochs: 30)
        trainer.posterior = .amortizedLowRank
        trainer.rank = 3
        trainer.batchSize = 100
        trainer.learningRate = 0.003
        trainer.seed = 2
        let result = try trainer.train(x)
        let objectives = result.history.map(\.objective)
        XCTAssertTrue(objectives.allSatisfy(\.isFinite))
        XCTAssertGreaterThan(objectives.last!, objectives.first! + 5)
        XCTAssertEqual(result.encoder?.rank, 3)
    }
}
