import DataKit
import XCTest

final class RandomTests: XCTestCase {
    func testSameSeedSameStreamOnEveryMachine() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let first = (0..<5).map { _ in a.next() }
        XCTAssertEqual(first, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<5).map { _ in c.next() })
        // Pinned values: a change in the generator would silently change every seeded result.
        var pinned = SeededGenerator(seed: 0)
        XCTAssertEqual(pinned.next(), 11_091_344_671_253_066_420)
    }

    func testBelowIsUniform() {
        var g = SeededGenerator(seed: 7)
        let bins = 7, draws = 70_000
        var counts = [Int](repeating: 0, count: bins)
        for _ in 0..<draws { counts[g.below(bins)] += 1 }
        let expected = Double(draws) / Double(bins)
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        XCTAssertLessThan(chi2, 22.5, "χ² with 6 degrees of freedom, p = 0.001")
    }

    func testNormalAndLaplaceMoments() {
        var g = SeededGenerator(seed: 8)
        let n = 200_000
        let normal = (0..<n).map { _ in g.normal() }
        let mean = normal.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(normal.reduce(0) { $0 + $1 * $1 } / Double(n), 1, accuracy: 0.01)
        let laplace = (0..<n).map { _ in g.laplace(scale: 2) }
        XCTAssertEqual(laplace.reduce(0) { $0 + abs($1) } / Double(n), 2, accuracy: 0.02, "E|z| = scale")
        XCTAssertEqual(laplace.reduce(0, +) / Double(n), 0, accuracy: 0.02)
    }
}

import Foundation
