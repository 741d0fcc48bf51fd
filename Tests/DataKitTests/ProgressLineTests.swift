@testable import DataKit
import XCTest

/// How progress lines write durations, rates and values, estimate what remains, and fit a terminal's width.
final class ProgressLineTests: XCTestCase {
    func testDurationsShowTheirTwoLargestUnits() {
        let cases: [(Double, String)] = [(0, "0s"), (0.4, "0s"), (-5, "0s"), (7.4, "7s"), (59.4, "59s"), (59.6, "1m00s"),
                                         (65, "1m05s"), (3_599, "59m59s"), (3_600, "1h00m"), (7_380, "2h03m"),
                                         (3 * 86_400 + 4 * 3_600 + 59, "3d04h"), (.nan, "?"), (.infinity, "?")]
        for (seconds, text) in cases { XCTAssertEqual(ProgressFormat.duration(seconds), text, "\(seconds) s") }
    }

    func testRatesKeepThreeSignificantDigits() {
        let cases: [(Double, String)] = [(0, "0"), (0.042, "0.042"), (0.42, "0.42"), (0.996, "1.00"), (4.267, "4.27"), (9.996, "10.0"),
                                         (38.24, "38.2"), (99.96, "100"), (412.3, "412"), (999.7, "1.00k"), (1_650, "1.65k"),
                                         (16_500, "16.5k"), (2_100_000, "2.10M"), (-1, "0"), (.nan, "?")]
        for (rate, text) in cases { XCTAssertEqual(ProgressFormat.rate(rate), text, "\(rate)/s") }
        XCTAssertEqual(ProgressFormat.value(-123.4567), "-123.46")
    }

    /// An epoch a quarter done after 10 s, with two more to come.
    func epochLine(typical: Double? = nil) -> ProgressLine {
        var line = ProgressLine(stage: "epoch 3/5", total: 800, unit: "batches", valueName: "ELBO", typicalStageSeconds: typical,
                                stagesAfter: 2)
        (line.done, line.elapsed, line.value) = (200, 10, -123.4567)
        return line
    }

    func testTheETAFollowsTheRateOrEarlierStages() throws {
        let line = epochLine()
        XCTAssertEqual(try XCTUnwrap(line.rate), 20, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(line.stageRemaining), 30, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(line.runRemaining), 30 + 2 * 40, accuracy: 1e-9, "later epochs as long as this one projects")
        XCTAssertEqual(try XCTUnwrap(epochLine(typical: 50).runRemaining), 30 + 2 * 50, accuracy: 1e-9, "later epochs as long as earlier ones")

        var unknown = ProgressLine(stage: "step 2/3", total: nil, unit: "batches", typicalStageSeconds: 50, stagesAfter: 1)
        unknown.elapsed = 20
        XCTAssertEqual(try XCTUnwrap(unknown.stageRemaining), 30, accuracy: 1e-9, "no total: what the typical stage has left")
        XCTAssertEqual(unknown.text(width: 79), "step 2/3  ETA 30s  run ETA 1m20s")
        unknown.typicalStageSeconds = nil
        XCTAssertNil(unknown.stageRemaining)
        XCTAssertEqual(unknown.text(width: 79), "step 2/3  20s elapsed", "nothing tells the ETA: the time so far")

        var starting = ProgressLine(stage: "evaluating", total: 20_000, unit: "rows")
        XCTAssertNil(starting.rate)
        XCTAssertNil(starting.runRemaining, "no later stages")
        starting.done = 8_192
        starting.elapsed = 4
        XCTAssertEqual(starting.text(width: 79), "evaluating  [======>          ]  8192/20000 rows  2.05k/s  ETA 6s")
    }

    func testAWideLineShowsEverything() {
        XCTAssertEqual(epochLine().text(width: 119),
                       "epoch 3/5  [======>                    ]  200/800 batches  20.0/s  ELBO = -123.46  ETA 30s  run ETA 1m50s")
    }

    func testANarrowLineDropsTheLeastNeededFirst() {
        let full = epochLine()
        XCTAssertEqual(full.text(width: 79), "epoch 3/5  200/800 batches  20.0/s  ELBO = -123.46  ETA 30s  run ETA 1m50s", "no room for the bar")
        XCTAssertEqual(full.text(width: 60), "epoch 3/5  200/800 batches  20.0/s  ETA 30s  run ETA 1m50s")
        XCTAssertEqual(full.text(width: 45), "epoch 3/5  200/800 batches  ETA 30s")
        XCTAssertEqual(full.text(width: 30), "epoch 3/5  ETA 30s")
        XCTAssertEqual(full.text(width: 12), "epoch 3/5  E", "cut when even the stage and its ETA do not fit")
        for width in [0, 1, 5, 20, 33, 50, 80, 200] { XCTAssertLessThanOrEqual(full.text(width: width).count, max(width, 0)) }
    }

    func testTheBarFillsInProportion() {
        var line = ProgressLine(stage: "x", total: 10, unit: "rows")
        XCTAssertEqual(line.bar(width: 12), "[          ]")
        line.done = 5
        XCTAssertEqual(line.bar(width: 12), "[=====>    ]")
        line.done = 10
        XCTAssertEqual(line.bar(width: 12), "[==========]")
        line.done = 11
        XCTAssertEqual(line.bar(width: 12), "[==========]", "never past full")
    }
}
