import ArgumentParser
import Foundation
import DataKit

/// A split of a 'multilabel' file chosen on the command line (`--split`): a split's name, or `all` for every row.
public enum SplitSelection: ExpressibleByArgument, Equatable, Sendable {
    case all
    case named(String)

    public init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        self = argument == "all" ? .all : .named(argument)
    }

    /// The split's name, nil for every row (as `MultiLabelDataset.rows(ofSplit:in:)` takes it).
    public var name: String? {
        if case .named(let name) = self { return name }
        return nil
    }

    /// The split of the data file at `path` a tool reads (nil: every row): `selection`'s when given, else the one
    /// `rule` picks (`DefaultSplit`: the rule every tool shares).
    public static func rows(_ selection: SplitSelection?, default rule: DefaultSplit, file path: String) throws -> String? {
        if let selection { return selection.name }
        return try rule.split(in: try HDF5File.open(path))
    }

    /// The help of a tool's `--split` option, stating the shared rule.
    public static func help(_ rule: DefaultSplit, _ what: String) -> ArgumentHelp {
        ArgumentHelp("The split to \(what), or 'all' for every row (default: '\(rule.rawValue)' if the file has it; every row of a file "
            + "without splits).", valueName: "NAME|all")
    }
}

/// A comma-separated list of positive integers on the command line (`--k 1,3,5,10`, `--hidden 512,256`).
public struct PositiveIntegers: ExpressibleByArgument, Equatable, Sendable {
    public var values: [Int]

    public init(_ values: [Int]) { self.values = values }

    public init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count == parts.count, values.allSatisfy({ $0 >= 1 }) else { return nil }
        self.values = values
    }
}

/// A count option's value (nil when not given) and the range it must lie in: `check` refuses the first outside it
/// (exit 64, naming the option), so that a huge value never overflows deep inside the work.
public struct Bounded: Sendable {
    public let option: String
    public let bounds: ClosedRange<Int>
    public let value: Int?

    public init(_ option: String, _ value: Int?, _ bounds: ClosedRange<Int>) {
        (self.option, self.value, self.bounds) = (option, value, bounds)
    }

    /// Throws `ValidationError` (exit 64) for the first given value outside its bounds.
    public static func check(_ values: [Bounded]) throws {
        for item in values {
            if let value = item.value, !item.bounds.contains(value) {
                throw ValidationError("\(item.option) must be between \(item.bounds.lowerBound) and \(item.bounds.upperBound), not \(value)")
            }
        }
    }
}
