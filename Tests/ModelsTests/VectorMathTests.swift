import Foundation
import XCTest
@testable import Models

final class VectorMathTests: XCTestCase {
    /// exp against libm's double-precision exp over the whole finite range, relative error.
    func testExpMatchesLibmWithinThreeTenthsOfAMillionth() {
        var worst = 0.0
        for k in 0...200_000 {
            let x = Float(-87.3 + 175.6 * Double(k) / 200_000)
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(VectorMath.exp(x)) - exact) / exact)
        }
        XCTAssertLessThan(worst, 3e-7)
    }

    func testExpEdgeCases() {
        XCTAssertEqual(VectorMath.exp(0), 1)
        XCTAssertTrue(VectorMath.exp(.nan).isNaN)
        XCTAssertEqual(VectorMath.exp(.infinity), .infinity)
        XCTAssertEqual(VectorMath.exp(100), .infinity)
        XCTAssertLessThan(VectorMath.exp(-.infinity), 1.2e-38)
        XCTAssertGreaterThanOrEqual(VectorMath.exp(-1000), 0)
    }

    /// erf against libm's double-precision erf, absolute error, on both sides of the branch at |t| = 0.5.
    func testErfMatchesLibmWithinAThirdOfAMillionth() {
        var worst = 0.0
        for k in 0...100_000 {
            let t = Float(-6 + 12 * Double(k) / 100_000)
            let e = Float(Foundation.exp(-Double(t) * Double(t)))
            worst = max(worst, abs(Double(VectorMath.erf(t, expMinusSquare: e)) - Foundation.erf(Double(t))))
        }
        XCTAssertLessThan(worst, 3.5e-7)
        XCTAssertEqual(VectorMath.erf(0, expMinusSquare: 1), 0)
        XCTAssertEqual(VectorMath.erf(.infinity, expMinusSquare: 0), 1)
        XCTAssertEqual(VectorMath.erf(-.infinity, expMinusSquare: 0), -1)
    }

    /// The vector loads and stores handle a tail shorter than eight lanes.
    func testLoadAndStoreTail() {
        let source: [Float] = (0..<11).map(Float.init)
        var target = [Float](repeating: -1, count: 11)
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                for i in stride(from: 0, to: 11, by: 8) {
                    let v = VectorMath.load(s.baseAddress!, at: i, count: 11, padding: 7)
                    if i == 8 { XCTAssertEqual(v[3], 7) }
                    VectorMath.store(v * 2, t.baseAddress!, at: i, count: 11)
                }
            }
        }
        XCTAssertEqual(target, source.map { $0 * 2 })
    }
}
