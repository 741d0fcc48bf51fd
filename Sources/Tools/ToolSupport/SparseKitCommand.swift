import ArgumentParser
import DataKit
import Distributed
import Foundation

/// A SparseKit tool. Its `main()` replaces ArgumentParser's so that every failure is ONE line on stderr,
/// `TOOL: message`, with the contract's exit code: usage errors 64 (without ArgumentParser's usage block; `--help`
/// shows that), `SparseKitError`s their own code, anything unexpected 70. With `--json` the failure is also one JSON
/// document on stdout, `{"error": {"code": CODE, "message": MESSAGE}}` (`docs/json.md`).
public protocol SparseKitCommand: ParsableCommand {
    /// Whether the tool's work has safe points at which the first SIGINT or SIGTERM stops it (`Interruption`);
    /// without them the first signal ends the tool, its unfinished outputs removed.
    static var stopsAtSafePoints: Bool { get }
}

extension SparseKitCommand {
    public static var stopsAtSafePoints: Bool { false }

    public static func main() {
        // Under mpirun every rank joins the MPI job first (no MPI otherwise); only rank 0 writes outputs
        // (`AtomicOutput`), and an error line names the rank it arose on.
        let group = ProcessGroup.launchedByMPIRun ? ProcessGroup.world : .single
        let name = (configuration.commandName ?? "sparsekit") + (group.size > 1 ? " (rank \(group.rank) of \(group.size))" : "")
        // Past a file-size limit (ulimit -f) a write must fail with EFBIG, reported as exit 73, not kill the process
        // with SIGXFSZ before the partial temporary file can be removed.
        signal(SIGXFSZ, SIG_IGN)
        Interruption.install()
        if stopsAtSafePoints { Interruption.stopAtSafePoints() }
        do {
            var command = try parseAsRoot()
            try command.run()
            ProcessGroup.finish()
        } catch let error as SparseKitError {
            // An interruption stops every rank after the same minibatch (the stop flag is all-reduced with the
            // M-step's sums), and rank 0 has written the model: it speaks for every rank, in one line.
            if error.kind == .interrupted, !group.isRoot { failed(error.exitCode) }
            fail(name, "\(error)", code: error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success {  // --help, --version
                if group.isRoot { print(fullMessage(for: error)) }
                ProcessGroup.finish()
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? ""
            let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
            fail(name, text.isEmpty ? "" : (code == .validationFailure ? "" : "internal error: ") + text,
                 code: code == .failure ? 70 : code.rawValue)
        }
    }

    /// Ends a failed run with `code`: `NAME: message` on stderr (nothing when the message is empty) and, with
    /// `--json`, the error document on stdout.
    static func fail(_ name: String, _ message: String, code: Int32) -> Never {
        if !message.isEmpty { ToolRunner.printError("\(name): \(message)") }
        if ToolRunner.jsonRequested {
            ToolRunner.printJSONError(code: code, message: message.isEmpty ? "exit status \(code)" : message)
        }
        failed(code)
    }

    /// Ends a failed run: flushes the standard streams and exits without the C library's exit handlers, so that
    /// HDF5's shutdown does not touch a file whose writes just failed (a full disk or `ulimit -f`: HDF5 then
    /// crashes while closing it). Outputs are safe already: the temporary file was removed when the error arose.
    /// In an MPI job the ranks end together when they all fail, else the job is aborted (`ProcessGroup.fail`); after
    /// a stop that a signal asked for they end without MPI_Finalize: a SIGINT to mpirun makes mpirun tear the job down
    /// (each rank gets SIGCONT, SIGTERM a second later, SIGKILL a second after that: `docs/scaling.md`), and
    /// MPI_Finalize, which waits for mpirun, would hold the rank until the SIGKILL.
    static func failed(_ code: Int32) -> Never {
        ProcessGroup.fail(code, finalize: !Interruption.requested)
    }
}
