import CKernels
import DataKit
import XCTest

/// CKernels' scaled row updates (ScaledRowUpdates.c) give the plain loop's bits at every length (the vector bodies of
/// each clone and the remainder), so neither the samplers' draws nor training depend on which instructions the CPU
/// has. Products are as large as their targets, so that a fused multiply-add would round differently.
final class ScaledRowUpdatesTests: XCTestCase {
    /// Runs `kernel(target, source, factor, n)` and `plain(target, source, factor)` elementwise on the same random
    /// rows of every length in `lengths` and asserts equal bits (sign, exponent and significand).
    private func assertMatchesPlainLoop<T: BinaryFloatingPoint>(
        _ type: T.Type, lengths: [Int], seed: UInt64,
        kernel: (inout [T], [T], T, Int) -> Void, plain: (T, T, T) -> T
    ) {
        var g = SeededGenerator(seed: seed)
        let bits = { (x: T) in "\(x.sign)\(x.exponentBitPattern):\(x.significandBitPattern)" }
        for n in lengths {
            let source = (0..<n).map { _ in T(g.normal()) }, start = (0..<n).map { _ in T(g.normal()) }
            let factor = T(g.normal())
            var fast = start
            kernel(&fast, source, factor, n)
            let expected = (0..<n).map { plain(start[$0], source[$0], factor) }
            XCTAssertEqual(fast.map(bits), expected.map(bits), "\(T.self), n = \(n)")
        }
    }

    /// The tempered Gibbs sweep's v −= δ G_c·.
    func testSubtractScaledMatchesThePlainLoopBitForBit() {
        assertMatchesPlainLoop(Double.self, lengths: [0, 1, 3, 4, 7, 8, 15, 16, 31, 32, 33, 63, 100, 512, 515], seed: 5,
                               kernel: { sk_subtract_scaled(&$0, $1, $2, $3) }, plain: { v, row, delta in v - delta * row })
    }

    /// The sparse products' target += x · source.
    func testAddScaledMatchesThePlainLoopBitForBit() {
        assertMatchesPlainLoop(Float.self, lengths: [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 159, 1024, 1031],
                               seed: 9, kernel: { sk_add_scaled(&$0, $1, $2, $3) }, plain: { t, source, x in t + x * source })
    }
}
