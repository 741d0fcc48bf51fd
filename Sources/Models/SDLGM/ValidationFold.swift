/// One fold of k-fold cross-validation over the training rows (`SupervisedTrainer.validationFold`): the rows are put
/// in an order drawn from the seed and cut into `count` parts as equal as can be; fold `index` (1-based) holds out
/// the `index`-th part. The `count` runs of one seed thus hold out every training row exactly once, so a candidate
/// setting is judged on all N training rows instead of one fraction of them.
public struct ValidationFold: Sendable, Equatable, Encodable, CustomStringConvertible {
    /// The fold held out, 1…`count`.
    public var index: Int
    /// k, the number of folds (at least 2).
    public var count: Int

    public init(index: Int, count: Int) { (self.index, self.count) = (index, count) }

    /// "I/K", e.g. `2/5`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { return nil }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// Stored in `/config` as the text "I/K".
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Why this fold cannot be held out of `rows` rows (nil: it can): k ≥ 2, 1 ≤ I ≤ k, and k ≤ rows, so that every
    /// fold holds a row and leaves rows to train on.
    public func problem(rows: Int? = nil) -> String? {
        guard count >= 2, (1...count).contains(index) else { return "takes I/K with K ≥ 2 folds and 1 ≤ I ≤ K (e.g. 1/5), not \(self)" }
        if let rows, count > rows { return "asks for \(count) folds of \(rows) training rows" }
        return nil
    }

    /// The positions, in an order of `rows` rows, of the rows this fold holds out: part `index` of `count`.
    public func heldOut(rows: Int) -> Range<Int> { (rows * (index - 1) / count)..<(rows * index / count) }
}
