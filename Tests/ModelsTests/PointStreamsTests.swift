import DataKit
@testable import Models
import TestSupport
import XCTest

/// `PointStreams`: what a point of a minibatch draws depends on the step's seed and its position only, so the shares
/// of P ranks draw what one process draws for the whole minibatch (the premise of `DataParallel`).
final class PointStreamsTests: XCTestCase {
    /// Unsupervised SDLGM's noise (Gumbel for the level and the support, ε for the values) of a minibatch split in
    /// two shares is the whole minibatch's, row for row.
    func testSharesDrawTheWholeBatchNoise() {
        var whole = PointStreams(seed: 7, positions: 0..<9)
        var first = PointStreams(seed: 7, positions: 0..<4), second = PointStreams(seed: 7, positions: 4..<9)
        let all = UnsupervisedObjective.Noise(maxActive: 3, latents: 5, streams: &whole)
        let (a, b) = (UnsupervisedObjective.Noise(maxActive: 3, latents: 5, streams: &first),
                      UnsupervisedObjective.Noise(maxActive: 3, latents: 5, streams: &second))
        for (part, rows) in [(a, 0..<4), (b, 4..<9)] {
            XCTAssertEqual(part.level, all.level.rowSlice(rows))
            XCTAssertEqual(part.support, all.support.rowSlice(rows))
            XCTAssertEqual(part.values, all.values.rowSlice(rows))
        }
        var other = PointStreams(seed: 8, positions: 0..<9)
        XCTAssertNotEqual(UnsupervisedObjective.Noise(maxActive: 3, latents: 5, streams: &other).values, all.values, "the seed matters")
    }

    /// Supervised SDLGM's input dropout of two shares stacks up to the whole minibatch's.
    func testSharesDropTheWholeBatchEntries() throws {
        let x = try csr((0..<7).map { i in Array(0..<(20 + i)) }, cols: 40) { Float(1 + $0 % 3) }
        var whole = PointStreams(seed: 3, positions: 0..<7)
        var first = PointStreams(seed: 3, positions: 0..<3), second = PointStreams(seed: 3, positions: 3..<7)
        let dropped = x.droppingEntries(rate: 0.4, streams: &whole)
        let parts = [x.gatheringRows([0, 1, 2]).droppingEntries(rate: 0.4, streams: &first),
                     x.gatheringRows([3, 4, 5, 6]).droppingEntries(rate: 0.4, streams: &second)]
        XCTAssertEqual(CSRMatrix.stacking(parts), dropped)
        XCTAssertLessThan(dropped.nonZeros, x.nonZeros, "entries were dropped")
    }
}
