import DataKit
import XCTest

/// The progress reporter's drawing: only when enabled, at most ten times a second, each redraw one line that
/// overwrites the last and fits the terminal, erased at the end; stage lengths carried into later estimates.
final class ProgressReporterTests: XCTestCase {
    /// A reporter on a clock the test moves, writing into `written`.
    final class Harness {
        var now = 100.0
        var written: [String] = []
        var columns = 80
        lazy var reporter = ProgressReporter(enabled: true, columns: { [unowned self] in columns },
                                             clock: { [unowned self] in now }, write: { [unowned self] in written.append($0) })
    }

    func testADisabledReporterWritesNothing() {
        var written: [String] = []
        let reporter = ProgressReporter(enabled: false, write: { written.append($0) })
        reporter.begin("epoch 1/2", total: 10, unit: "batches", stagesAfter: 1)
        for done in 1...10 { reporter.update(done, value: 1) }
        reporter.report("evaluating", 5, 10)
        reporter.finish()
        XCTAssertEqual(written, [])
        XCTAssertFalse(ProgressReporter(quiet: true).isEnabled, "--quiet draws nothing, terminal or not")
    }

    func testRedrawsAreRateLimitedAndOverwriteTheLine() {
        let h = Harness()
        h.reporter.begin("epoch 1/2", total: 1_000, unit: "batches", stagesAfter: 1, valueName: "ELBO")
        for done in 1..<1_000 {
            h.now += 0.001  // a thousand minibatches a second
            h.reporter.update(done, value: -Double(done))
        }
        XCTAssertEqual(h.written.count, 1 + 9, "drawn at the start and then every 0.1 s")
        h.now += 0.001
        h.reporter.update(1_000, value: -1_000)
        XCTAssertEqual(h.written.count, 11, "the stage's end is always drawn")
        for text in h.written {
            XCTAssertTrue(text.hasPrefix("\r") && text.hasSuffix("\u{1B}[K"), text)
            XCTAssertFalse(text.contains("\n"))
            XCTAssertLessThanOrEqual(text.count - 4, 79, "fits 80 columns with the last one free")
        }
        XCTAssertEqual(h.written[0], "\repoch 1/2  [                 ]  0/1000 batches  0s elapsed\u{1B}[K")
        XCTAssertTrue(h.written[5].contains("500/1000 batches  1.00k/s  ELBO = -500  ETA 1s  run ETA 2s"), h.written[5])
        h.reporter.finish()
        XCTAssertEqual(h.written.last, "\r\u{1B}[K", "erased, so the epoch's line follows on a clean line")
        h.reporter.finish()
        XCTAssertEqual(h.written.count, 12, "nothing more to erase")
    }

    func testTheWidthIsReadAtEveryRedraw() {
        let h = Harness()
        h.columns = 30
        h.reporter.begin("evaluating", total: 100, unit: "rows")
        XCTAssertEqual(h.written.last, "\revaluating  0s elapsed\u{1B}[K", "30 columns: the counts go first")
        h.columns = 120
        h.now += 1
        h.reporter.update(50)
        XCTAssertEqual(h.written.last, "\revaluating  [=============>             ]  50/100 rows  50.0/s  ETA 1s\u{1B}[K")
    }

    func testEndedStagesEstimateStagesOfUnknownLength() {
        let h = Harness()
        h.reporter.begin("step 1/3", total: nil, unit: "batches", stagesAfter: 2)
        XCTAssertEqual(h.written.last, "\rstep 1/3  0s elapsed\u{1B}[K")
        h.now += 10
        h.reporter.finish()
        h.reporter.begin("step 2/3", total: nil, unit: "batches", stagesAfter: 1)
        XCTAssertEqual(h.written.last, "\rstep 2/3  ETA 10s  run ETA 20s\u{1B}[K", "as long as step 1")
        h.now += 4
        h.reporter.update(0)
        XCTAssertEqual(h.written.last, "\rstep 2/3  ETA 6s  run ETA 16s\u{1B}[K")
    }

    /// A stage whose work goes quiet is redrawn by the heartbeat, its time moving; a finished one is not.
    func testTheHeartbeatKeepsAQuietLineMoving() throws {
        let lock = NSLock()
        var written: [String] = []
        let reporter = ProgressReporter(enabled: true, heartbeat: 0.05, columns: { 80 }, write: { text in
            lock.lock()
            written.append(text)
            lock.unlock()
        })
        reporter.begin("step 1/3", total: nil, unit: "batches")
        Thread.sleep(forTimeInterval: 0.5)
        reporter.finish()
        lock.lock()
        let drawn = written
        lock.unlock()
        XCTAssertGreaterThanOrEqual(drawn.count, 4, "drawn at the start, by the heartbeat, erased: \(drawn)")
        XCTAssertTrue(drawn.dropLast().allSatisfy { $0.hasPrefix("\rstep 1/3  ") && $0.hasSuffix("s elapsed\u{1B}[K") }, "\(drawn)")
        XCTAssertEqual(drawn.last, "\r\u{1B}[K")
        Thread.sleep(forTimeInterval: 0.2)
        lock.lock()
        XCTAssertEqual(written.count, drawn.count, "nothing to redraw after the end")
        lock.unlock()
    }

    /// `report` begins a stage at its first report, which comes after the first units: the stage is taken to have
    /// begun when the reporter last heard of the work, so the rate counts those units' time too.
    func testAReportedStageBeganAtTheLastNews() {
        let h = Harness()
        _ = h.reporter
        h.now += 2
        h.reporter.report("covariance", 100, 400)
        XCTAssertTrue(h.written.last!.contains("100/400 rows  50.0/s  ETA 6s"), h.written.last!)
        h.now += 6
        h.reporter.report("covariance", 400, 400)
        h.now += 1
        h.reporter.report("transform", 100, 400)
        XCTAssertTrue(h.written.last!.contains("transform  [====>"), h.written.last!)
        XCTAssertTrue(h.written.last!.contains("100/400 rows  100/s  ETA 3s"), h.written.last!)
    }
}
