import Foundation

/// Progress on stderr for long work: a line rewritten in place, at most five times a second, shown only when stderr
/// is a terminal and `--quiet` was not given.
public final class ProgressReporter {
    private let enabled: Bool
    private var lastUpdate = Date.distantPast
    private var shown = false

    public init(quiet: Bool) {
        enabled = !quiet && isatty(STDERR_FILENO) != 0
    }

    /// Shows `stage: done/total (percent)`.
    public func report(_ stage: String, _ done: Int, _ total: Int) {
        guard enabled else { return }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastUpdate) >= 0.2 else { return }
        lastUpdate = now
        let percent = total > 0 ? 100 * done / total : 100
        FileHandle.standardError.write(Data("\r\(stage): \(done)/\(total) (\(percent)%)\u{1B}[K".utf8))
        shown = true
    }

    /// Ends the progress line.
    public func finish() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\n".utf8))
        shown = false
    }

    /// A message on stderr unless quiet (shown whether or not stderr is a terminal).
    public static func note(_ message: String, quiet: Bool) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
