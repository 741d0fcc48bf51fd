import ArgumentParser
import DataKit
import Distributed
import Foundation

/// Helpers every tool shares: error lines, provenance and JSON results (the output-equals-input check is
/// `OutputPath.requireDistinct` in DataKit).
public enum ToolRunner {
    /// Writes `line` and a newline to standard error.
    public static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The history line for this invocation.
    public static func provenance(_ tool: String, inputs: [String]) -> String {
        Provenance(tool: tool, arguments: Array(CommandLine.arguments.dropFirst()), inputs: inputs).line
    }

    /// Runs `body` as part of a command's `validate()`: a usage error it throws becomes ArgumentParser's
    /// `ValidationError`, so it ends the tool with exit 64 and one line, like every other option error.
    public static func validating<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SparseKitError where error.kind == .usage {
            throw ValidationError(error.problem)
        }
    }

    /// Prints `value` as one JSON document on standard output (sorted keys, so output is stable).
    public static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }
}

/// Options every tool takes.
public struct CommonOptions: ParsableArguments {
    @Flag(help: "Print nothing on stderr but errors.")
    public var quiet = false

    @Flag(help: "Print the result as JSON on stdout.")
    public var json = false

    public init() {}

    /// Whether this process reports: always, except in an MPI job, where rank 0 speaks for every rank.
    public static var reports: Bool { ProcessGroup.joined?.isRoot ?? true }

    /// Ends a run: `result` as JSON on stdout with `--json`, else `line` on stderr (unless `--quiet`); in an MPI job,
    /// on rank 0 only (every rank has the same result).
    public func finish<T: Encodable>(_ result: T, line: @autoclosure () -> String) throws {
        guard Self.reports else { return }
        if json { try ToolRunner.printJSON(result) } else { ProgressReporter.note(line(), quiet: quiet) }
    }
}
