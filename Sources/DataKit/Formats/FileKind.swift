/// The kinds of SparseKit file (`sparsekit.kind`, `formats.md`).
public enum FileKind: String, Sendable, CaseIterable {
    case patches, whitened, multilabel, model, codes
}

/// Root attributes every SparseKit file carries.
public enum RootAttribute {
    public static let kind = "sparsekit.kind"
    public static let formatVersion = "sparsekit.format_version"
    public static let history = "sparsekit.history"
    /// The format versions this build reads (`formats.md`); a file without a version is read as version 1.
    public static let readableVersions: ClosedRange<Int> = 1...1
}

extension HDF5File {
    /// Writes the root attributes of a SparseKit file: kind, format version 1, and the history lines.
    public func writeHeader(kind: FileKind, history: [String]) throws {
        try setAttribute(RootAttribute.kind, .string(kind.rawValue))
        try setAttribute(RootAttribute.formatVersion, .int(1))
        try setAttribute(RootAttribute.history, .strings(history))
    }

    /// The file's `sparsekit.kind`; a file without one, or with an unknown one, is rejected with one clear line, and
    /// so is a `sparsekit.format_version` this build does not read. Every reader of a SparseKit file comes through here.
    public func fileKind() throws -> FileKind {
        guard let value = try attribute(RootAttribute.kind)?.stringValue else {
            throw SparseKitError.badInput(path, "is not a SparseKit file (no \(RootAttribute.kind) attribute)")
        }
        guard let kind = FileKind(rawValue: value) else {
            throw SparseKitError.badInput(path, "has unknown \(RootAttribute.kind) '\(value)'")
        }
        try requireReadableVersion()
        return kind
    }

    /// The file's kind, which must be one of `allowed`; otherwise an error naming what was found and what was wanted.
    @discardableResult
    public func requireKind(_ allowed: FileKind...) throws -> FileKind { try requireKind(oneOf: allowed) }

    /// `requireKind` with the kinds as an array.
    @discardableResult
    public func requireKind(oneOf allowed: [FileKind]) throws -> FileKind {
        let kind = try fileKind()
        guard allowed.contains(kind) else {
            let wanted = allowed.map(\.rawValue).joined(separator: " or ")
            throw SparseKitError.badInput(path, "is a '\(kind.rawValue)' file; expected \(wanted)")
        }
        return kind
    }

    /// Fails unless `sparsekit.format_version` is absent or a version in `RootAttribute.readableVersions`.
    public func requireReadableVersion() throws {
        guard let stored = try attribute(RootAttribute.formatVersion) else { return }
        let readable = RootAttribute.readableVersions
        let known = readable.count == 1 ? "\(readable.lowerBound)" : "\(readable.lowerBound) to \(readable.upperBound)"
        guard let version = stored.intValue, readable.contains(version) else {
            throw SparseKitError.badInput(path, "has \(RootAttribute.formatVersion) = \(stored), but this build of SparseKit "
                + "reads format version \(known) only")
        }
    }

    /// The history lines of the file (empty if it has none).
    public func history() throws -> [String] {
        try attribute(RootAttribute.history)?.stringsValue ?? []
    }
}
