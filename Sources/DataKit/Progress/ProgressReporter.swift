import Foundation

/// Progress of long work on standard error, as one line redrawn in place (`ProgressLine`: counts, bar, rate, ETA),
/// shown only when standard error is a terminal and `--quiet` was not given. Pipes, files and CI logs get nothing
/// from it: no carriage returns, no escape codes. Redraws come at most ten times a second, and an update between
/// redraws only stores two numbers under a lock; while the work goes quiet (a long block, an L-BFGS stage) a
/// heartbeat redraws the line every second, so its elapsed time and ETA keep moving. A stage is a unit of work with its own count and clock (an epoch, an
/// evaluation pass); the lengths of stages that ended give the ETA of stages whose total is unknown and of the
/// stages still to come.
///
///     let progress = ProgressReporter(quiet: quiet)
///     progress.begin("epoch 1/20", total: 800, unit: "batches", stagesAfter: 19)
///     progress.update(1)           // after every minibatch
///     progress.finish()            // erases the line; whole lines may follow
public final class ProgressReporter: @unchecked Sendable {  // the state is guarded by `lock`
    /// Whether anything is drawn.
    public let isEnabled: Bool
    /// The shortest time between redraws, in seconds.
    public static let redrawInterval = 0.1
    /// Seconds between the heartbeat's redraws of a line whose work went quiet.
    public static let heartbeatInterval = 1.0

    private let columns: () -> Int
    private let clock: () -> Double
    private let write: (String) -> Void
    /// The stage under way, and when it began.
    private var line: ProgressLine?
    private var began = 0.0
    /// When the reporter last heard of the work (made, a stage begun, updated or finished): where a stage that
    /// `report` begins is taken to have begun, since its first report comes only after its first units are done.
    private var lastHeard: Double
    private var lastDrawn = -Double.infinity
    private var shown = false
    /// The stages that ended: their number and total length.
    private var endedStages = 0
    private var endedSeconds = 0.0
    /// Guards the state above: the heartbeat draws from another thread.
    private let lock = NSLock()
    private var heartbeat: DispatchSourceTimer?

    /// A reporter on standard error: drawing only when it is a terminal and not `quiet`, with a heartbeat.
    public convenience init(quiet: Bool) {
        self.init(enabled: !quiet && StandardError.isTerminal, heartbeat: Self.heartbeatInterval)
    }

    /// A reporter drawing with `write` (when `enabled`) in `columns()` columns, timed by `clock()` in seconds, and
    /// redrawing a quiet line every `heartbeat` seconds when given (tests give their own clock and no heartbeat).
    public init(enabled: Bool, heartbeat: Double? = nil, columns: @escaping () -> Int = { StandardError.columns },
                clock: @escaping () -> Double = ProgressReporter.monotonicSeconds,
                write: @escaping (String) -> Void = StandardError.write) {
        (isEnabled, self.columns, self.clock, self.write) = (enabled, columns, clock, write)
        lastHeard = enabled ? clock() : 0
        if enabled, let heartbeat { startHeartbeat(every: heartbeat) }
    }

    deinit { heartbeat?.cancel() }

    /// Begins a stage of `total` units (nil: unknown) counted as `unit`, with `stagesAfter` more to come and a running
    /// value called `valueName` (see `update`); draws it at once. A stage under way ends here (its line is redrawn,
    /// not erased).
    public func begin(_ stage: String, total: Int?, unit: String, stagesAfter: Int = 0, valueName: String? = nil) {
        guard isEnabled else { return }
        lock.lock()
        defer { lock.unlock() }
        start(stage, total: total, unit: unit, stagesAfter: stagesAfter, valueName: valueName, at: clock())
        draw(at: began)
    }

    /// `done` units of the stage are done, and the running value is `value`; redraws when the last redraw is
    /// `redrawInterval` old or the stage is complete.
    public func update(_ done: Int, value: Double? = nil) {
        guard isEnabled else { return }
        lock.lock()
        defer { lock.unlock() }
        record(done, value: value)
    }

    /// Stores `done` and `value`, and redraws when due (the lock held).
    private func record(_ done: Int, value: Double?) {
        guard line != nil else { return }
        line!.done = done
        line!.value = value
        let now = clock()
        lastHeard = now
        guard now - lastDrawn >= Self.redrawInterval || done >= (line!.total ?? .max) else { return }
        draw(at: now)
    }

    /// Shows `done` of `total` units of `stage`, which begins when it differs from the stage under way (taken to
    /// have begun when the reporter last heard of the work: at its making, or the previous stage's last report).
    public func report(_ stage: String, _ done: Int, _ total: Int?, unit: String = "rows") {
        guard isEnabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if line?.stage != stage || line?.unit != unit { start(stage, total: total, unit: unit, stagesAfter: 0, valueName: nil, at: lastHeard) }
        line!.total = total
        record(done, value: nil)
    }

    /// Ends the stage under way: erases its line (so whole lines can follow) and remembers how long it took.
    public func finish() {
        guard isEnabled else { return }
        lock.lock()
        defer { lock.unlock() }
        endStage(at: clock())
        if shown { write("\r\u{1B}[K") }
        shown = false
    }

    /// Runs `body` and then `finish()`es, whether `body` returns or throws, so that what follows (a result, an
    /// error message) starts on a clean line.
    public func finishing<T>(_ body: () throws -> T) rethrows -> T {
        defer { finish() }
        return try body()
    }

    /// Runs `body` as the stage `stage` of `total` units (see `begin`), which it reports with `update`; finishes
    /// as `finishing` does.
    public func run<T>(_ stage: String, total: Int?, unit: String, _ body: () throws -> T) rethrows -> T {
        begin(stage, total: total, unit: unit)
        return try finishing(body)
    }

    /// Seconds on a clock that only moves forward (`CLOCK_MONOTONIC`).
    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    /// A message on stderr unless quiet (shown whether or not stderr is a terminal).
    public static func note(_ message: String, quiet: Bool) {
        guard !quiet else { return }
        StandardError.write(message + "\n")
    }

    /// Ends the stage under way, if any, and makes `stage` the one under way, begun at `time`.
    private func start(_ stage: String, total: Int?, unit: String, stagesAfter: Int, valueName: String?, at time: Double) {
        endStage(at: time)
        began = time
        line = ProgressLine(stage: stage, total: total, unit: unit, valueName: valueName,
                            typicalStageSeconds: endedStages > 0 ? endedSeconds / Double(endedStages) : nil, stagesAfter: stagesAfter)
    }

    /// Ends the stage under way, if any, at `time`.
    private func endStage(at time: Double) {
        lastHeard = time
        guard line != nil else { return }
        endedStages += 1
        endedSeconds += time - began
        line = nil
    }

    /// Redraws the line under way every `interval` seconds while nothing else redraws it.
    private func startHeartbeat(every interval: Double) {
        let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(50))
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            lock.lock()
            defer { lock.unlock() }
            let now = clock()
            if line != nil, now - lastDrawn >= 0.9 * interval { draw(at: now) }
        }
        timer.resume()
        heartbeat = timer
    }

    /// Draws the line under way as it stands at `now` (the lock held).
    private func draw(at now: Double) {
        line!.elapsed = now - began
        lastDrawn = now
        write("\r" + line!.text(width: max(columns() - 1, 1)) + "\u{1B}[K")
        shown = true
    }
}
