import DataKit

/// Where one option applies: each tool lists its mode-dependent options once, as a table of these, and
/// `refuseInapplicable` turns the first one given outside its modes into a usage error (exit 64) naming it, so
/// that no option is silently ignored.
public struct OptionRule: Sendable {
    /// The option as typed, e.g. `--bdmc`.
    public var option: String
    /// Whether this invocation gave it.
    public var given: Bool
    /// Whether it applies to the mode chosen.
    public var applies: Bool
    /// Where it applies, completing "--bdmc applies only …": e.g. `to ES-SC models`, `with --tiles`.
    public var scope: String

    public init(_ option: String, given: Bool, applies: Bool, _ scope: String) {
        (self.option, self.given, self.applies, self.scope) = (option, given, applies, scope)
    }

    /// Throws a usage error for the first rule whose option was given but does not apply; `context` (e.g. what the
    /// model file is) is added to the line when given.
    public static func refuseInapplicable(_ rules: [OptionRule], context: String? = nil) throws {
        guard let rule = rules.first(where: { $0.given && !$0.applies }) else { return }
        throw SparseKitError.usage("\(rule.option) applies only \(rule.scope)" + (context.map { "; " + $0 } ?? ""))
    }
}
