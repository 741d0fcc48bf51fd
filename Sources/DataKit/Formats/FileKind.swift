/// The kinds of SparseKit file (`sparsekit.kind`, `formats.md`).
public enum FileKind: String, Sendable, CaseIterable {
    case patches, whitened, multilabel, model, codes
}

/// Root attributes every SparseKit file carries.
public enum RootAttribute {
    public static let kind = "sparsekit.kind"
    public static let formatVersion = "sparsekit.format_version"
    public static let history = "sparsekit.history"
}

extension HDF5File {
    /// Writes the root attributes of a SparseKit file: kind, format version 1, and the history lines.
    public func writeHeader(kind: FileKind, history: [String]) throws {
        try setAttribute(RootAttribute.kind, .string(kind.rawValue))
        try setAttribute(RootAttribute.formatVersion, .int(1))
        try setAttribute(RootAttribute.history, .strings(history))
    }

    /// The file's `sparsekit.kind`; a file without one, or with an unknown one, is rejected with one clear line.
    public func fileKind() throws -> FileKind {
        guard let value = try attribute(RootAttribute.kind)?.stringValue else {
            throw SparseKitError.badInput(path, "is not a SparseKit file (no \(RootAttribute.kind) attribute)")
        }
        guard let kind = FileKind(rawValue: value) else {
            throw SparseKitError.badInput(path, "has unknown \(RootAttribute.kind) '\(value)'")
        }
        return kind
    }

    /// The file's kind, which must be one of `allowed`; otherwise an error naming what was found and what was wanted.
    @discardableResult
    public func requireKind(_ allowed: FileKind...) throws -> FileKind {
        let kind = try fileKind()
        guard allowed.contains(kind) else {
            let wanted = allowed.map(\.rawValue).joined(separator: " or ")
            throw SparseKitError.badInput(path, "is a '\(kind.rawValue)' file; expected \(wanted)")
        }
        return kind
    }

    /// The history lines of the file (empty if it has none).
    public func history() throws -> [String] {
        try attribute(RootAttribute.history)?.stringsValue ?? []
    }
}
