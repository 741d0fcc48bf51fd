import Foundation

/// SIGINT and SIGTERM. A tool whose work has safe points (a trainer: after each minibatch) calls `stopAtSafePoints()`;
/// the first signal then only asks that work to stop at its next safe point (`requested`), keeping a resumable model,
/// and a second one ends the process at once. A safe point that does not come within `safePointGrace` seconds of
/// the first signal (a minibatch that runs for minutes) does not hold the process either: it ends then as on a second
/// signal. Any other tool ends at the first signal. A process that ends on a signal first removes the temporary files
/// of its unfinished outputs (`AtomicOutput` registers them), so no output is left behind and what stood at an output
/// path before is untouched.
public enum Interruption {
    /// Seconds the first signal waits for a safe point before the process ends as on a second signal.
    public static let safePointGrace: UInt32 = 10

    /// Installs the handlers (the tools' `main` does, before any work).
    public static func install() {
        PendingTemporaryFiles.prepare()
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { number in
                if stopsAtSafePoints != 0 && interruptionRequested == 0 {
                    interruptionRequested = number
                    alarm(Interruption.safePointGrace)  // the watchdog: SIGALRM below if no safe point comes
                    return
                }
                interruptionRequested = number
                endProcess(number)
            }
        }
        signal(SIGALRM) { _ in endProcess(interruptionRequested != 0 ? interruptionRequested : SIGTERM) }
    }

    /// Whether a stop was asked for, said at a safe point: the stop then happens here, so the watchdog that would end
    /// the process is disarmed (the model can take its time to be written).
    public static func stopAtThisSafePoint() -> Bool {
        guard requested else { return false }
        alarm(0)
        return true
    }

    /// From now on the first signal waits for the work's next safe point, which checks `requested`.
    public static func stopAtSafePoints() { stopsAtSafePoints = 1 }

    /// Whether a stop was asked for.
    public static var requested: Bool { interruptionRequested != 0 }

    /// Asks for a stop, as a signal would (for tests).
    public static func request() { interruptionRequested = 1 }

    /// Forgets a request (for tests).
    public static func reset() { interruptionRequested = 0 }
}

/// Ends the process on `number` as its default action would, after removing the temporary files of unfinished
/// outputs; called from signal handlers (async-signal-safe only).
private func endProcess(_ number: Int32) {
    PendingTemporaryFiles.unlinkAll()
    signal(number, SIG_DFL)
    raise(number)
}

/// The signal that asked for a stop (0: none); set from the signal handler, read between minibatches.
nonisolated(unsafe) private var interruptionRequested: sig_atomic_t = 0
/// Whether the process has safe points at which it stops on the first signal.
nonisolated(unsafe) private var stopsAtSafePoints: sig_atomic_t = 0

/// The temporary files of outputs being written, for the signal handler to remove: a fixed table of C strings, so
/// that the handler only reads pointers and calls `unlink` (async-signal-safe).
enum PendingTemporaryFiles {
    static let capacity = 16
    /// Made before the handlers are installed (`prepare`), so the handler never runs a lazy initializer.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        return slots
    }()
    private static let lock = NSLock()

    static func prepare() { _ = slots }

    /// Remembers `path` until `remove(path)`; beyond `capacity` outputs at once the extra ones are not tracked.
    static func add(_ path: String) {
        lock.lock()
        defer { lock.unlock() }
        guard let slot = (0..<capacity).first(where: { slots[$0] == nil }) else { return }
        slots[slot] = strdup(path)
    }

    /// Forgets `path` (it was renamed into place or removed).
    static func remove(_ path: String) {
        lock.lock()
        defer { lock.unlock() }
        for slot in 0..<capacity {
            guard let stored = slots[slot], strcmp(stored, path) == 0 else { continue }
            slots[slot] = nil
            free(stored)
        }
    }

    /// Unlinks every remembered path; called from the signal handler (no allocation, no locks).
    static func unlinkAll() {
        for slot in 0..<capacity { if let stored = slots[slot] { unlink(stored) } }
    }
}
