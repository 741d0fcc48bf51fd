/// The line grammar shared by the XC and LIBSVM multi-label formats: `l1,l2,… f:v f:v …`, where a line whose first
/// token holds a `:` (or an empty line) is a point without labels.
struct LabeledLineParser {
    /// Subtracted from feature indices (1 for one-based files).
    var featureBase: Int
    /// Upper bounds when the dimensions are known (from a header or the command line).
    var featureLimit: Int?
    var labelLimit: Int?
    /// Where the limits come from, added to their errors (e.g. " of train.h5 (--like)").
    var limitSource = ""
    /// The largest index accepted plus one (`ConvertJob.indexBound`), whatever the limits.
    var indexBound = ConvertJob.defaultIndexBound

    /// Parses one line into the two builders; errors name the reader's file and line.
    func parse(_ line: UnsafeBufferPointer<UInt8>, reader: LineReader, features: inout SparseRowsBuilder,
               labels: inout SparseRowsBuilder) throws
    {
        var scanner = ByteScanner(line)
        scanner.skipBlanks()
        // Labels: the first token, unless it is a feature (holds ':').
        var probe = scanner
        _ = probe.token { $0 == 32 || $0 == 9 || $0 == UInt8(ascii: ":") }
        if !scanner.atEnd, probe.current != UInt8(ascii: ":") {
            repeat {
                guard let label = scanner.integer() else {
                    throw reader.error("bad label list (expected non-negative integers separated by commas)")
                }
                if let labelLimit, label >= labelLimit {
                    throw reader.error("label index \(label) is not below the label count \(labelLimit)\(limitSource)")
                }
                guard label < indexBound else { throw boundError("label", label, reader) }
                labels.append(label, 1)
            } while scanner.take(UInt8(ascii: ","))
            guard scanner.atEnd || scanner.current == 32 || scanner.current == 9 else {
                throw reader.error("bad label list (unexpected character '\(Character(UnicodeScalar(scanner.current)))')")
            }
        }
        if let problem = labels.endRow() { throw reader.error("labels: " + problem) }
        // Features: f:v pairs.
        while true {
            scanner.skipBlanks()
            guard !scanner.atEnd else { break }
            guard let rawIndex = scanner.integer() else { throw reader.error("bad feature 'f:v' (index is not a number)") }
            guard scanner.take(UInt8(ascii: ":")) else { throw reader.error("bad feature 'f:v' (no ':' after \(rawIndex))") }
            guard let value = scanner.float(), scanner.atEnd || scanner.current == 32 || scanner.current == 9 else {
                throw reader.error("feature \(rawIndex) has a non-numeric value")
            }
            guard value.isFinite else { throw reader.error("feature \(rawIndex) has a non-finite value") }
            let index = rawIndex - featureBase
            guard index >= 0 else { throw reader.error("feature index \(rawIndex) is below the base \(featureBase) (--one-based)") }
            if let featureLimit, index >= featureLimit {
                throw reader.error("feature index \(rawIndex) is not below the feature count \(featureLimit)\(limitSource)")
            }
            guard index < indexBound else { throw boundError("feature", rawIndex, reader) }
            features.append(index, value)
        }
        if let problem = features.endRow() { throw reader.error("features: " + problem) }
    }

    /// An index at or beyond `indexBound`: every later array would be sized by it.
    private func boundError(_ what: String, _ index: Int, _ reader: LineReader) -> SparseKitError {
        reader.error("\(what) index \(index) is beyond the bound of \(indexBound) (raise it with --max-index)")
    }
}
