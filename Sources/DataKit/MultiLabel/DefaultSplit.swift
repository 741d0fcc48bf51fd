/// The one rule for which rows of a file a tool reads when no `--split` is given, written once for every tool:
/// training (`sk-train`) reads the split named `train`, evaluating and encoding (`sk-eval`, `sk-encode`) the split
/// named `test`; a file without splits (a train or test file converted on its own, patches, whitened data) is read
/// whole; a file whose splits do not include that name is refused (exit 64), since every guess could train on
/// test rows or evaluate on training rows.
public enum DefaultSplit: String, Sendable, CaseIterable {
    /// Training's default: the split named `train`.
    case train
    /// Evaluation's and encoding's default: the split named `test`.
    case test

    /// The rule in words, for `--help` and the README.
    public static let rule = "without --split, sk-train reads the 'train' split and sk-eval and sk-encode the 'test' split; "
        + "a file without splits is read whole, and one whose splits lack that name is refused; --split NAME reads that split, "
        + "--split all every row"

    /// The split to read from a file whose splits are `splitNames` (nil: every row).
    public func split(among splitNames: [String], in path: String) throws -> String? {
        guard !splitNames.isEmpty else { return nil }
        guard splitNames.contains(rawValue) else {
            throw SparseKitError(.usage, file: path, "has splits \(splitNames.joined(separator: ", ")) but none named '\(rawValue)'; "
                + "choose the rows with --split NAME, or --split all for every row")
        }
        return rawValue
    }

    /// The split to read from `file` (nil: every row), from the names under its `/splits` group.
    public func split(in file: HDF5File) throws -> String? {
        try split(among: file.kind(of: "/splits") == .group ? file.children(of: "/splits") : [], in: file.path)
    }
}
