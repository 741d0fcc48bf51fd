import Foundation

/// The SparseKit version recorded in every file's history.
public enum SparseKit {
    public static let version = "0.2.0"
}

/// One line of a file's `sparsekit.history`: which tool made it, with which arguments, when (UTC), from what.
///
/// The time honours `SOURCE_DATE_EPOCH` (the reproducible-builds convention), so two runs with the same seed can be
/// made to produce byte-identical files.
public struct Provenance: Sendable, Equatable {
    public var tool: String
    public var version: String
    public var arguments: [String]
    public var inputs: [String]
    public var date: Date

    public init(tool: String, version: String = SparseKit.version, arguments: [String], inputs: [String],
                date: Date = Provenance.now())
    {
        self.tool = tool
        self.version = version
        self.arguments = arguments
        self.inputs = inputs
        self.date = date
    }

    /// The current time, or `SOURCE_DATE_EPOCH` when that is set.
    public static func now() -> Date {
        if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let seconds = TimeInterval(epoch) {
            return Date(timeIntervalSince1970: seconds)
        }
        return Date()
    }

    /// Seconds since `start` for a record in a file (an epoch's duration), or 0 when `SOURCE_DATE_EPOCH` is set: a
    /// reproducible run writes the same bytes, so it records no wall-clock durations.
    public static func elapsed(since start: Date) -> Double {
        ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"] == nil ? Date().timeIntervalSince(start) : 0
    }

    /// `tool version | args: … | time | inputs: …`, one line.
    public var line: String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let args = arguments.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        return "\(tool) \(version) | args: \(args) | \(formatter.string(from: date)) | inputs: \(inputs.joined(separator: ", "))"
    }
}
