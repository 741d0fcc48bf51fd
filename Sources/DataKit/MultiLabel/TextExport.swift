import Foundation

/// Writes a multi-label dataset back as XC or LIBSVM text, so other tools (pyxclib, Parabel, scikit-learn's
/// `load_svmlight_file`) read what SparseKit holds. Values use the shortest text that reads back as the same float,
/// so text → HDF5 → text → HDF5 is lossless.
public enum TextExport {
    public enum Format: String, Sendable, CaseIterable { case xc, libsvm }

    /// The output path that means standard output.
    public static let standardOutput = "-"

    /// Writes `dataset` (or the rows of one split) to `path` (`-` for standard output), atomically for files.
    public static func write(_ dataset: MultiLabelDataset, format: Format, oneBased: Bool = false, rows: [Int64]? = nil,
                             to path: String) throws
    {
        try writeText(to: path) { out in
            let selected = rows ?? Array(0..<Int64(dataset.pointCount))
            if format == .xc {
                out.append("\(selected.count) \(dataset.features.cols) \(dataset.labels.cols)\n")
            }
            let base = oneBased ? 1 : 0
            for row in selected.map(Int.init) {
                let labels = dataset.labels.row(row).indices
                for (k, label) in labels.enumerated() {
                    if k > 0 { out.append(",") }
                    out.append(String(label))
                }
                let (indices, values) = dataset.features.row(row)
                for (k, (index, value)) in zip(indices, values).enumerated() {
                    if k > 0 || !labels.isEmpty || format == .libsvm { out.append(" ") }
                    out.append(String(Int(index) + base))
                    out.append(":")
                    out.append(TextExport.shortest(value))
                }
                out.append("\n")
                try out.flushIfFull()
            }
        }
    }

    /// Writes a score matrix (N × C, e.g. `sk-encode --top-k`'s `/predictions`) in the Extreme Classification
    /// Repository's sparse text format, as its tools write score files and pyxclib's `read_sparse_file` reads them:
    /// a header `N C`, then one line per row of space-separated `label:score` pairs (0-based labels), here best
    /// first (scores descending, ties by label); a row without entries is an empty line.
    public static func writeScores(_ scores: CSRMatrix, to path: String) throws {
        try writeText(to: path) { out in
            out.append("\(scores.rows) \(scores.cols)\n")
            for row in 0..<scores.rows {
                let (labels, values) = scores.row(row)
                let ranked = zip(labels, values).sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                out.append(ranked.map { "\($0.0):" + TextExport.shortest($0.1) }.joined(separator: " "))
                out.append("\n")
                try out.flushIfFull()
            }
        }
    }

    /// Writes the text `body` appends to `path` (`-` for standard output), atomically for files.
    static func writeText(to path: String, _ body: (inout TextBuffer) throws -> Void) throws {
        func write(_ handle: UnsafeMutablePointer<FILE>, _ name: String) throws {
            var out = TextBuffer(handle: handle, name: name)
            try body(&out)
            try out.flush()
        }
        if path == standardOutput {
            guard let output = fdopen(STDOUT_FILENO, "wb") else { throw SparseKitError.cannotCreate("-", "no standard output") }
            try write(output, "standard output")
            return
        }
        let atomic = try AtomicOutput(path: path)
        try atomic.commit { temporary in
            guard let handle = fopen(temporary, "wb") else {
                throw SparseKitError.cannotCreate(path, String(cString: strerror(errno)))
            }
            defer { fclose(handle) }
            try write(handle, path)
        }
    }

    /// The shortest decimal that reads back as `value` ("1" rather than "1.0").
    static func shortest(_ value: Float) -> String {
        let text = value.description
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}

/// A byte buffer flushed to a C file in large blocks.
struct TextBuffer {
    let handle: UnsafeMutablePointer<FILE>
    let name: String
    var bytes: [UInt8] = []

    init(handle: UnsafeMutablePointer<FILE>, name: String) {
        self.handle = handle
        self.name = name
        bytes.reserveCapacity(1 << 20)
    }

    mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func flushIfFull() throws { if bytes.count >= 1 << 20 { try flush() } }

    mutating func flush() throws {
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        guard written == bytes.count, fflush(handle) == 0 else {
            throw SparseKitError.cannotCreate(name, "write failed: \(String(cString: strerror(errno)))")
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
