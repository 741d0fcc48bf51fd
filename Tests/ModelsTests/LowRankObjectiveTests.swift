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
        func m(_ r: Int, _ c: Int, _ scale: Double) -> Matrix {
            Matrix(rows: r, cols: c, storage: (0..<(r * c)).map { _ in Float(scale * g.normal()) })
        }
        let scale = Matrix(rows: n, cols: h, storage: (0..<(n * h)).map { _ in Float(0.3 + 0.5 * g.uniform()) })
        return Problem(x: m(n, d, 1), w: m(d, h, 0.7), mu: m(n, h, 0.8), scale: scale, factors: m(n, rank * h, 0.4))
    }

    func value(_ p: Problem, rank: Int = 2, weights: EntropyWeights = .one) -> Double {
        var none: LowRankEntropyObjective.Gradients?
        return LowRankEntropyObjective(x: p.x, rank: rank, weights: weights)
            .evaluate(w: p.w, mu: p.mu, scale: p.scale, factors: p.factors, gradients: &none).value
    }

    func testGradientsAgreeWithFiniteDifferences() {
        for weights in [EntropyWeights.one, EntropyWeights(likelihood: 0.7, prior: 2, posterior: 1.4)] {
            var p = problem()
            var gradients: LowRankEntropyObjective.Gradients? = .init(mu: p.mu, scale: p.scale, factors: nil, w: p.w)
            _ = LowRankEntropyObjective(x: p.x, rank: 2, weights: weights)
                .evaluate(w: p.w, mu: p.mu, scale: p.scale, factors: p.factors, gradients: &gradients)
            let eps: Float = 1e-3
            func check(_ analytic: [Float], _ nudge: (Int, Float) -> Void, _ name: String) {
                var worst = 0.0
                for i in analytic.indices {
                    nudge(i, eps); let plus = value(p, weights: weights)
                    nudge(i, -2 * eps); let minus = value(p, weights: weights)
                    nudge(i, eps)
                    let numeric = (plus - minus) / Double(2 * eps)
                    worst = max(worst, abs(numeric - Double(analytic[i])) / max(0.05, abs(numeric)))
                }
                XCTAssertLessThan(worst, 2e-2, "\(name) with \(weights)")
            }
            check(gradients!.mu.storage, { p.mu.storage[$0] += $1 }, "mu")
            check(gradients!.scale.storage, { p.scale.storage[$0] += $1 }, "scale")
            check(gradients!.factors!.storage, { p.factors.storage[$0] += $1 }, "factors")
            check(gradients!.w.storage, { p.w.storage[$0] += $1 }, "W")
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
