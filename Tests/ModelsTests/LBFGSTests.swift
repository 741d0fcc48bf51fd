import DataKit
@testable import Models
import XCTest

final class LBFGSTests: XCTestCase {
    func testRosenbrock() {
        var x: [Float] = [-1.2, 1]
        let result = LBFGS(maxIterations: 200).minimize(&x) { p, g in
            let (a, b) = (Double(p[0]), Double(p[1]))
            g[0] = Float(-2 * (1 - a) - 400 * a * (b - a * a))
            g[1] = Float(200 * (b - a * a))
            return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)
        }
        XCTAssertEqual(x[0], 1, accuracy: 1e-3)
        XCTAssertEqual(x[1], 1, accuracy: 2e-3)
        XCTAssertLessThan(result.value, 1e-6)
        XCTAssertLessThan(result.iterations, 100, "L-BFGS solves Rosenbrock in a few dozen iterations")
    }

    /// A badly scaled quadratic ½ Σ c_i (x_i − i)²: the minimum is exact, and every accepted step meets strong Wolfe.
    func testIllConditionedQuadraticAndStrongWolfe() {
        let n = 50
        let c = (0..<n).map { pow(10, Double($0) / Double(n - 1) * 3) }  // condition number 1000
        var x = [Float](repeating: 0, count: n)
        let f: ([Float], inout [Float]) -> Double = { p, g in
            var v = 0.0
            for i in 0..<n {
                let e = Double(p[i]) - Double(i)
                v += 0.5 * c[i] * e * e
                g[i] = Float(c[i] * e)
            }
            return v
        }
        let optimizer = LBFGS(history: 10, maxIterations: 500)
        // Strong Wolfe on one line search from the start.
        var g0 = [Float](repeating: 0, count: n)
        let f0 = f(x, &g0)
        let d = g0.map { -$0 / 1000 }
        let slope0 = zip(g0, d).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let search = optimizer.lineSearch(x, f0, g0, d, slope0, f)
        let t = try! XCTUnwrap(search.step)
        var gt = [Float](repeating: 0, count: n)
        let ft = f(zip(x, d).map { $0 + Float(t) * $1 }, &gt)
        let slopeT = zip(gt, d).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertLessThanOrEqual(ft, f0 + optimizer.c1 * t * slope0, "sufficient decrease")
        XCTAssertLessThanOrEqual(abs(slopeT), optimizer.c2 * abs(slope0), "strong curvature condition")

        let result = optimizer.minimize(&x, f)
        for i in 0..<n { XCTAssertEqual(Double(x[i]), Double(i), accuracy: 1e-3) }
        XCTAssertLessThan(result.value, 1e-6)
    }
}

import Foundation
