import DataKit
@testable import Models
import XCTest

/// The two-step sampler of SDLGM: gradients with the Gumbel noise fixed, the hard sampler's statistics.
final class SparsitySamplerTests: XCTestCase {
    func randoms(_ count: Int, _ g: inout SeededGenerator, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(scale * g.normal()) }
    }

    func testBackwardAgreesWithFiniteDifferencesForFixedNoise() {
        var g = SeededGenerator(seed: 4)
        let sampler = SparsitySampler(maxActive: 3, features: 7, levelTemperature: 0.7, supportTemperature: 0.6)
        let levelLogits = randoms(3, &g), supportScores = randoms(7, &g)
        let (levelNoise, supportNoise) = (SparsitySampler.gumbel(3, using: &g), SparsitySampler.gumbel(7, using: &g))
        let weights = (0..<7).map { _ in g.normal() }
        func loss(_ levelLogits: [Float], _ supportScores: [Float]) -> Double {
            let trace = sampler.relaxed(levelLogits: levelLogits[...], supportScores: supportScores[...],
                                        levelNoise: levelNoise[...], supportNoise: supportNoise[...])
            return zip(trace.mask, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let trace = sampler.relaxed(levelLogits: levelLogits[...], supportScores: supportScores[...],
                                    levelNoise: levelNoise[...], supportNoise: supportNoise[...])
        XCTAssertFalse(trace.saturated.contains(true), "this draw stays away from the min(1, ·) kink")
        let (dLevel, dSupport) = sampler.backward(trace, gradMask: weights)
        let tolerance = FiniteDifference.Tolerance(absolute: 1e-3, relative: 1e-3)
        FiniteDifference.check(parameters: levelLogits, analyticGradient: dLevel, step: 1e-3, tolerance: tolerance, "α_L") {
            loss($0, supportScores)
        }
        FiniteDifference.check(parameters: supportScores, analyticGradient: dSupport, step: 1e-3, tolerance: tolerance, "α_S") {
            loss(levelLogits, $0)
        }
        XCTAssertEqual(trace.level.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertTrue(trace.mask.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// Cold temperatures: the relaxed mask approaches the hard code of the same noise. (At a finite τ, perturbed
    /// scores closer than about τ share a step's mass, and a partly removed pair can let a third index in: with
    /// τ = 0.02 a gap of 0.05 already does. τ = 10⁻⁴ is far below every gap of these draws.)
    func testColdRelaxationApproachesTheHardCode() {
        var g = SeededGenerator(seed: 8)
        let sampler = SparsitySampler(maxActive: 4, features: 12, levelTemperature: 1e-4, supportTemperature: 1e-4)
        for _ in 0..<20 {
            let (levelLogits, supportScores) = (randoms(4, &g), randoms(12, &g))
            let (levelNoise, supportNoise) = (SparsitySampler.gumbel(4, using: &g), SparsitySampler.gumbel(12, using: &g))
            let trace = sampler.relaxed(levelLogits: levelLogits[...], supportScores: supportScores[...],
                                        levelNoise: levelNoise[...], supportNoise: supportNoise[...])
            let hard = sampler.hard(levelLogits: levelLogits[...], supportScores: supportScores[...],
                                    levelNoise: levelNoise[...], supportNoise: supportNoise[...])
            let indicator = (0..<12).map { hard.support.contains($0) ? 1.0 : 0.0 }
            XCTAssertLessThan(zip(trace.mask, indicator).map { abs($0 - $1) }.max()!, 0.01, "\(trace.mask) \(hard)")
        }
    }

    /// The hard sampler: no index twice, never more than L0, L distributed as softmax(α_L) and the first index as
    /// softmax(α_S) (χ² tests, fixed seed).
    func testHardSamplerStatistics() {
        var g = SeededGenerator(seed: 12)
        let sampler = SparsitySampler(maxActive: 4, features: 6)
        let levelLogits: [Float] = [0.5, -0.3, 1.1, 0.0], supportScores: [Float] = [1.0, 0.2, -0.5, 0.7, 0.0, -1.2]
        var levels = [Int](repeating: 0, count: 4), firsts = [Int](repeating: 0, count: 6)
        let draws = 20_000
        for _ in 0..<draws {
            let code = sampler.hard(levelLogits: levelLogits[...], supportScores: supportScores[...],
                                    levelNoise: SparsitySampler.gumbel(4, using: &g)[...],
                                    supportNoise: SparsitySampler.gumbel(6, using: &g)[...])
            XCTAssertEqual(code.support.count, code.level)
            XCTAssertEqual(Set(code.support).count, code.support.count, "no index twice")
            XCTAssertLessThanOrEqual(code.level, 4)
            levels[code.level - 1] += 1
            firsts[code.support[0]] += 1
        }
        func chiSquare(_ counts: [Int], _ logits: [Float]) -> Double {
            let p = SparsitySampler.softmax(logits.map(Double.init))
            return zip(counts, p).reduce(0.0) { $0 + pow(Double($1.0) - Double(draws) * $1.1, 2) / (Double(draws) * $1.1) }
        }
        XCTAssertLessThan(chiSquare(levels, levelLogits), 16.27, "χ²(3) at p = 0.001")
        XCTAssertLessThan(chiSquare(firsts, supportScores), 20.52, "χ²(5) at p = 0.001")
        // And the test can fail: the counts are far from a uniform distribution.
        XCTAssertGreaterThan(chiSquare(levels, [0, 0, 0, 0]), 100)
    }

    func testModeIsTheArgmaxLevelAndTheTopScores() {
        let sampler = SparsitySampler(maxActive: 3, features: 5)
        let code = sampler.mode(levelLogits: [0.1, 2.0, -1.0][...], supportScores: [0.3, 0.9, -0.2, 0.9, 0.0][...])
        XCTAssertEqual(code.level, 2)
        XCTAssertEqual(code.support, [1, 3], "ties go to the lower index")
    }
}
