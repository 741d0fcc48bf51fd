import DataKit
@testable import Models
import XCTest

final class FullCovarianceObjectiveTests: XCTestCase {
    func setup(seed: UInt64 = 1) -> (x: Matrix, w: Matrix, mu: Matrix, factors: [Float]) {
        var g = SeededGenerator(seed: seed)
        let (n, d, h) = (5, 4, 3)
        func m(_ r: Int, _ c: Int, _ scale: Double) -> Matrix {
            Matrix(rows: r, cols: c, storage: (0..<(r * c)).map { _ in Float(scale * g.normal()) })
        }
        let factors = (0..<(n * h * h)).map { _ in Float(0.3 * g.normal() - 0.3) }
        return (m(n, d, 1), m(d, h, 0.7), m(n, h, 0.8), factors)
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
            let (x, w0, mu0, factors0) = setup()
            var (w, mu, factors) = (w0, mu0, factors0)
            let objective = FullCovarianceEntropyObjective(x: x, weights: weights)
            var gMu = [Float](repeating: 0, count: mu.storage.count)
            var gL = [Float](repeating: 0, count: factors.count)
            var gW = [Float](repeating: 0, count: w.storage.count)
            _ = objective.evaluate(w: w, mu: mu, factors: factors, gradMu: &gMu, gradFactors: &gL, gradW: &gW)
            let eps: Float = 2e-3
            func check(_ analytic: [Float], _ nudge: (Int, Float) -> Void, _ name: String) {
                var worst = 0.0
                for i in analytic.indices {
                    nudge(i, eps)
                    let plus = objective.evaluate(w: w, mu: mu, factors: factors).value
                    nudge(i, -2 * eps)
                    let minus = objective.evaluate(w: w, mu: mu, factors: factors).value
                    nudge(i, eps)
                    let numeric = (plus - minus) / Double(2 * eps)
                    worst = max(worst, abs(numeric - Double(analytic[i])) / max(0.05, abs(numeric)))
                }
                XCTAssertLessThan(worst, 2e-2, "\(name) with \(weights)")
            }
            check(gMu, { mu.storage[$0] += $1 }, "mu")
            check(gL, { factors[$0] += $1 }, "factors")
            check(gW, { w.storage[$0] += $1 }, "W")
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
