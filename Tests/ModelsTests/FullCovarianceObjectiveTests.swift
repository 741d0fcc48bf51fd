import DataKit
@testable import Models
import XCTest

final class FullCovarianceObjectiveTests: XCTestCase {
    func setup(seed: UInt64 = 1) -> (x: Matrix, w: Matrix, mu: Matrix, factors: [Float]) {
        var g = SeededGenerator(seed: seed)
        let (n, d, h) = (5, 4, 3)
        let factors = (0..<(n * h * h)).map { _ in Float(0.3 * g.normal() - 0.3) }
        return (randomMatrix(n, d, using: &g), randomMatrix(d, h, scale: 0.7, using: &g), randomMatrix(n, h, scale: 0.8, using: &g), factors)
    }

    /// With no off-diagonal entries the full objective is the diagonal one (log L_hh = log s_h).
    func testReducesToTheDiagonalObjective() {
        let (x, w, mu, factors) = setup()
        var diagonal = factors
        var rho = Matrix(rows: 5, cols: 3)
        for p in 0..<5 { for i in 0..<3 { for j in 0..<3 {
            let k = FullCovarianceEntropyObjective.index(p, i, j, 3)
            if i == j { rho[p, i] = factors[k] } else { diagonal[k] = 0 }
        } } }
        let full = FullCovarianceEntropyObjective(x: x).evaluate(w: w, mu: mu, factors: diagonal)
        var objective = DiagonalEntropyObjective(x: x)
        let diag = objective.evaluate(w: w, mu: mu, rho: rho)
        XCTAssertEqual(full.value, diag.value, accuracy: 1e-5)
        XCTAssertEqual(full.sigma2, diag.sigma2, accuracy: 1e-7)
    }

    func testGradientsAgreeWithFiniteDifferences() {
        for weights in [EntropyWeights.one, EntropyWeights(likelihood: 0.8, prior: 2.5, posterior: 1.3)] {
            let (x, w, mu, factors) = setup()
            let objective = FullCovarianceEntropyObjective(x: x, weights: weights)
            var gMu = [Float](repeating: 0, count: mu.storage.count)
            var gL = [Float](repeating: 0, count: factors.count)
            var gW = [Float](repeating: 0, count: w.storage.count)
            _ = objective.evaluate(w: w, mu: mu, factors: factors, gradMu: &gMu, gradFactors: &gL, gradW: &gW)
            let tolerance = FiniteDifference.Tolerance.relative(2e-2, floor: 0.05)
            FiniteDifference.check(parameters: mu.storage, analyticGradient: gMu, step: 2e-3, tolerance: tolerance, "mu with \(weights)") {
                objective.evaluate(w: w, mu: Matrix(rows: mu.rows, cols: mu.cols, storage: $0), factors: factors).value
            }
            FiniteDifference.check(parameters: factors, analyticGradient: gL, step: 2e-3, tolerance: tolerance, "factors with \(weights)") {
                objective.evaluate(w: w, mu: mu, factors: $0).value
            }
            FiniteDifference.check(parameters: w.storage, analyticGradient: gW, step: 2e-3, tolerance: tolerance, "W with \(weights)") {
                objective.evaluate(w: Matrix(rows: w.rows, cols: w.cols, storage: $0), mu: mu, factors: factors).value
            }
        }
    }

    func testTriangularPackingKeepsExactlyTheUsedEntries() {
        let (n, h) = (3, 4)
        var full = [Float](repeating: 0, count: n * h * h)
        var used = 0
        for p in 0..<n { for i in 0..<h { for j in 0...i {
            used += 1
            full[FullCovarianceEntropyObjective.index(p, i, j, h)] = Float(used)
        } } }
        let packing = TriangularPacking(points: n, size: h)
        let packed = packing.pack(full)
        XCTAssertEqual(packed.count, n * h * (h + 1) / 2)
        XCTAssertEqual(Set(packed), Set((1...used).map(Float.init)), "every used entry once, no unused one")
        XCTAssertEqual(packing.unpack(packed[...]), full)
    }
}
