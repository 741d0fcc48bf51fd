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

    /// The version of the `--json` contract (`docs/json.md`), printed as `"schema"` in every JSON document: raised
    /// when a key is removed, renamed or changes its type (new keys do not raise it).
    public static let jsonSchema = 1

    /// The encoder of every JSON document: snake_case keys (like the files' names), sorted, indented; a number that
    /// is not finite (a diverged model's objective) is written as a marker string that `printJSON` turns into null.
    public static var jsonEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFiniteMarker, negativeInfinity: nonFiniteMarker, nan: nonFiniteMarker)
        return encoder
    }

    /// What `jsonEncoder` writes for NaN and ±Inf, replaced by null before printing (JSON has no such numbers).
    static let nonFiniteMarker = "__sparsekit_non_finite_number__"

    /// Prints `value` (an object) as one JSON document on standard output, with `"schema"` (`jsonSchema`) added:
    /// snake_case keys, sorted, so output is stable; NaN and ±Inf as null (`docs/json.md`).
    public static func printJSON<T: Encodable>(_ value: T) throws {
        let data = try jsonEncoder.encode(JSONMerged(value, JSONSchemaVersion()))
        let text = String(decoding: data, as: UTF8.self)
            .replacingOccurrences(of: "\"\(nonFiniteMarker)\"", with: "null")
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Prints `value` merged with `extra` (both objects) as one JSON document, like `printJSON(_:)`.
    public static func printJSON<T: Encodable, U: Encodable>(_ value: T, adding extra: U) throws {
        try printJSON(JSONMerged(value, extra))
    }

    /// The document a failed run prints on stdout with `--json`: `{"error": {"code": CODE, "message": LINE}}`.
    public static func printJSONError(code: Int32, message: String) {
        struct Failure: Encodable { var code: Int32; var message: String }
        struct Document: Encodable { var error: Failure }
        if let data = try? jsonEncoder.encode(JSONMerged(Document(error: Failure(code: code, message: message)), JSONSchemaVersion())) {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }

    /// Whether this invocation asked for `--json` (looked up in the arguments, so that a run whose arguments fail to
    /// parse still answers in JSON): any `--json` before a `--`.
    public static var jsonRequested: Bool {
        CommandLine.arguments.dropFirst().prefix { $0 != "--" }.contains("--json")
    }
}

/// Two JSON objects encoded as one: the keys of both.
public struct JSONMerged<A: Encodable, B: Encodable>: Encodable {
    let first: A
    let second: B

    public init(_ first: A, _ second: B) { (self.first, self.second) = (first, second) }

    public func encode(to encoder: any Encoder) throws {
        try first.encode(to: encoder)
        try second.encode(to: encoder)
    }
}

/// `"schema": ToolRunner.jsonSchema`.
struct JSONSchemaVersion: Encodable {
    var schema = ToolRunner.jsonSchema
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
