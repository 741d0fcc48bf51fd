import Foundation

/// The first SIGINT (or SIGTERM) asks long work to stop at its next safe point (a trainer: after the current
/// minibatch, keeping a resumable model); a second one ends the process at once, as it would without the handler.
public enum Interruption {
    /// Installs the handlers (the tools' `main` does, before any work).
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { number in
                if interruptionRequested != 0 {
                    signal(number, SIG_DFL)
                    raise(number)
                }
                interruptionRequested = 1
            }
        }
    }

    /// Whether a stop was asked for.
    public static var requested: Bool { interruptionRequested != 0 }

    /// Asks for a stop, as a signal would (for tests).
    public static func request() { interruptionRequested = 1 }

    /// Forgets a request (for tests).
    public static func reset() { interruptionRequested = 0 }
}

/// Set from the signal handler; read between minibatches.
nonisolated(unsafe) private var interruptionRequested: sig_atomic_t = 0
