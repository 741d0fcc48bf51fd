import ArgumentParser

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
