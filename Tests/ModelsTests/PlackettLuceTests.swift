import DataKit
@testable import Models
import XCTest

/// The Plackett–Luce set likelihood and its Monte-Carlo lower bound (`sdlgm.md`).
final class PlackettLuceTests: XCTestCase {
    func scores(_ c: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<c).map { _ in Float(1.5 * g.normal()) }
    }

    func testOrderingProbabilitiesSumToOne() {
        let s = scores(4, seed: 1)
        var total = 0.0
        for a in 0..<4 { for b in 0..<4 where b != a { total += exp(PlackettLuce.logProbability(ordering: [a, b], scores: s[...])) } }
        XCTAssertEqual(total, 1, accuracy: 1e-9, "all ordered pairs of 4 labels")
    }

    /// L = 1: the bound is the exact log-probability. L ≤ 4: the bound E_q[B(π)], computed exactly by enumerating
    /// the orderings with their weights q(π), is below log p(S) (single samples may exceed it; only the mean is a
    /// bound), and the Monte-Carlo average of B over orderings drawn from q converges to E_q[B].
    func testBoundIsExactForOneLabelAndBelowOtherwise() {
        let s = scores(9, seed: 2)
        for label in 0..<9 {
            XCTAssertEqual(PlackettLuce.bound(ordering: [label], scores: s[...]), PlackettLuce.exactSetLogProbability([label], scores: s[...]), accuracy: 1e-9)
        }
        var g = SeededGenerator(seed: 3)
        for set in [[1, 4], [0, 3, 7], [2, 5, 6, 8]] {
            let exact = PlackettLuce.exactSetLogProbability(set, scores: s[...])
            let restricted = set.map { s[$0] }  // q is Plackett–Luce on the set's own scores
            var expected = 0.0
            func enumerate(_ prefix: [Int], _ rest: [Int]) {
                guard !rest.isEmpty else {
                    let q = exp(PlackettLuce.logProbability(ordering: prefix.map { set.firstIndex(of: $0)! }, scores: restricted[...]))
                    expected += q * PlackettLuce.bound(ordering: prefix, scores: s[...])
                    return
                }
                for (i, label) in rest.enumerated() { var r = rest; r.remove(at: i); enumerate(prefix + [label], r) }
            }
            enumerate([], set)
            XCTAssertLessThan(expected, exact - 1e-6, "E_q[B] < log p(S) for \(set)")
            XCTAssertGreaterThan(expected, exact - 1.5, "a useful bound for \(set)")
            var mean = 0.0
            for _ in 0..<4000 {
                let ordering = PlackettLuce.sampleOrdering(set, scores: s[...], using: &g)
                XCTAssertEqual(Set(ordering), Set(set))
                mean += PlackettLuce.bound(ordering: ordering, scores: s[...]) / 4000
            }
            XCTAssertEqual(mean, expected, accuracy: 0.03, "sampled orderings follow q")
        }
    }

    func testBoundGradientAgreesWithFiniteDifferences() {
        let s = scores(7, seed: 5)
        let ordering = [4, 1, 6]
        var gradient = [Float](repeating: 0, count: 7)
        _ = gradient.withUnsafeMutableBufferPointer { PlackettLuce.bound(ordering: ordering, scores: s[...], gradient: $0) }
        FiniteDifference.check(parameters: s, analyticGradient: gradient, step: 1e-3, tolerance: .absolute(2e-3)) {
            PlackettLuce.bound(ordering: ordering, scores: $0[...])
        }
        XCTAssertEqual(gradient.reduce(0, +), 0, accuracy: 1e-5, "adding a constant to all scores changes nothing")
    }

    /// A set whose first label dominates the others by far more than double precision resolves (e^{-40} next to 1):
    /// A_l and B_l are summed, not left over from subtracting the labels drawn, so the bound keeps its value
    /// (log e^{s₁}/(e^{s₁} + e^{s₂}) for the second step) and every gradient entry stays within [−L, L] (it overflowed
    /// to ±inf when A₂ cancelled to 0).
    func testBoundOfADominatedSetIsFiniteAndExact() {
        let s: [Float] = [30, -10, -12, 0]
        var gradient = [Float](repeating: 0, count: 4)
        let bound = gradient.withUnsafeMutableBufferPointer { PlackettLuce.bound(ordering: [0, 1, 2], scores: s[...], gradient: $0) }
        let e = s.map { exp(Double($0) - 30) }
        let expected = log(e[0] + e[1] + e[2]) - log(e.reduce(0, +)) + log(e[1] + e[2]) - log(e[1] + e[2] + e[3])
            + log(e[2]) - log(e[2] + e[3])
        XCTAssertEqual(bound, expected, accuracy: 1e-9)
        XCTAssertTrue(gradient.allSatisfy { $0.isFinite && abs($0) <= 3 }, "\(gradient)")
        FiniteDifference.check(parameters: s, analyticGradient: gradient, step: 1e-2, tolerance: .absolute(2e-3)) {
            PlackettLuce.bound(ordering: [0, 1, 2], scores: $0[...])
        }
    }
}
