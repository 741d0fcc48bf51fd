/// An error every SparseKit stage can raise, carrying the exit code of the command-line contract
/// (`../shared/docs/formats.md`: 64 usage, 65 bad input data, 66 input missing, 73 cannot create output, 70 internal).
///
/// `description` is the one line a tool prints: it names the file (when there is one) and the problem.
public struct SparseKitError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, which decides the exit code.
    public enum Kind: Sendable, Equatable {
        case usage, badInput, missingInput, cannotCreateOutput, `internal`
        /// Stopped by SIGINT or SIGTERM after saving what can be resumed (exit 130, the shell's 128 + SIGINT).
        case interrupted
    }

    public let kind: Kind
    /// The file the problem is about, if any.
    public let file: String?
    /// The problem, without the file name.
    public let problem: String

    public init(_ kind: Kind, file: String? = nil, _ problem: String) {
        self.kind = kind
        self.file = file
        self.problem = problem
    }

    /// The process exit code for this error (sysexits.h values, as the contract fixes them).
    public var exitCode: Int32 {
        switch kind {
        case .usage: return 64
        case .badInput: return 65
        case .missingInput: return 66
        case .cannotCreateOutput: return 73
        case .internal: return 70
        case .interrupted: return 130
        }
    }

    /// One line whatever the file name or the problem hold: control characters (a newline in a file name, bytes of
    /// a corrupt file quoted in the problem) are written as `\u{…}` escapes.
    public var description: String {
        SparseKitError.oneLine(file.map { "\($0): \(problem)" } ?? problem)
    }

    static func oneLine(_ text: String) -> String {
        var line = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                line += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                line.unicodeScalars.append(scalar)
            }
        }
        return line
    }

    public static func usage(_ problem: String) -> SparseKitError { .init(.usage, problem) }
    public static func badInput(_ file: String?, _ problem: String) -> SparseKitError { .init(.badInput, file: file, problem) }
    public static func missingInput(_ file: String, _ problem: String = "no such file") -> SparseKitError {
        .init(.missingInput, file: file, problem)
    }
    public static func cannotCreate(_ file: String, _ problem: String) -> SparseKitError {
        .init(.cannotCreateOutput, file: file, problem)
    }
    public static func `internal`(_ problem: String) -> SparseKitError { .init(.internal, problem) }
    public static func interrupted(_ file: String, _ problem: String) -> SparseKitError { .init(.interrupted, file: file, problem) }
}
