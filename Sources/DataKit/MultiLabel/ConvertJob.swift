import Foundation

/// `sk-convert` as a library call: reads XC, LIBSVM or ARFF text (one or more files, which become named splits)
/// in one streaming pass and writes a `multilabel` HDF5 file through an atomic output.
public struct ConvertJob: Sendable {
    public enum Format: String, Sendable, CaseIterable { case xc, libsvm, arff }

    public var inputs: [String]
    public var output: String
    public var format: Format
    /// Store `/features` as a dense float32 matrix instead of CSR.
    public var denseFeatures = false
    /// Mulan XML naming the label attributes (ARFF).
    public var xml: String?
    /// Feature indices start at 1 (LIBSVM; must be said, never guessed).
    public var oneBased = false
    /// Dimensions given on the command line (LIBSVM), checked against the data.
    public var featureCount: Int?
    public var labelCount: Int?
    /// A converted file whose feature and label counts and names the output takes (`sk-convert --like TRAIN.h5`): a
    /// test file converted later lines up with the training file; an index beyond its counts, an XC header with
    /// other counts, or an ARFF attribute it does not name is refused, naming the file.
    public var like: MultiLabelSchema?
    /// Split files (XC: one column per split, 1-based rows) and the column to take.
    public var splitFiles: [String] = []
    public var splitColumn = 1
    /// Names for the splits the input files form (default: from the file names).
    public var splitNames: [String]?
    public var missing: MissingValues = .error
    /// Sort unsorted feature indices and sum duplicates instead of rejecting them.
    public var sortIndices = false
    /// The bound on feature and label indices and on declared counts (XC header, `--features`, `--labels`):
    /// `defaultIndexBound` unless raised. A larger index sizes every later array by it (a 15-byte LIBSVM line
    /// `4000000000 1:1` declared 4·10⁹ labels), so it is refused with its line unless the user asks for it.
    public var indexBound = ConvertJob.defaultIndexBound
    /// 2²⁶ = 67,108,864: above the largest public extreme-classification datasets (about 3 M labels and features).
    public static let defaultIndexBound = 1 << 26
    /// The longest text line read (`LineReader.defaultMaximumLineLength` unless raised).
    public var maximumLineLength = LineReader.defaultMaximumLineLength
    public var history: [String] = []

    public init(inputs: [String], output: String, format: Format) {
        self.inputs = inputs
        self.output = output
        self.format = format
    }

    public struct Summary: Sendable, Encodable {
        public var points: Int
        public var features: Int
        public var labels: Int
        public var featureNonZeros: Int
        public var labelNonZeros: Int
        public var splits: [String: Int]
    }

    public func run() throws -> Summary {
        guard !inputs.isEmpty else { throw SparseKitError.usage("give at least one input file") }
        if let splitNames, splitNames.count != inputs.count {
            throw SparseKitError.usage("--split-names gives \(splitNames.count) names for \(inputs.count) input files")
        }
        for (option, count) in [("--features", featureCount), ("--labels", labelCount)] {
            if let count { try requireWithinBound(count, option, file: nil) }
        }
        let atomic = try AtomicOutput(path: output)
        let dataset = try read()
        if denseFeatures {  // sized before the output is begun, so nothing is left behind
            try MemoryBudget.require([.floats("the dense features", dataset.pointCount, dataset.features.cols)],
                                     for: "--dense: \(dataset.pointCount) × \(dataset.features.cols) features")
        }
        try atomic.commit { path in
            let file = try HDF5File.create(path)
            try dataset.write(to: file, denseFeatures: denseFeatures, history: history)
            try file.close()
        }
        return Summary(points: dataset.pointCount, features: dataset.features.cols, labels: dataset.labels.cols,
                       featureNonZeros: dataset.features.nonZeros, labelNonZeros: dataset.labels.nonZeros,
                       splits: Dictionary(dataset.splits.map { ($0.name, $0.rows.count) }) { a, _ in a })
    }

    /// Parses every input into one dataset.
    public func read() throws -> MultiLabelDataset {
        var features = SparseRowsBuilder(disorder: sortIndices ? .sortAndSum : .reject)
        var labels = SparseRowsBuilder(disorder: sortIndices ? .sortAndKeepOne : .reject)
        // Every text entry ("f:v" plus a separator) takes at least 4 bytes: an upper bound for the feature arrays.
        let bytes = inputs.reduce(0) { total, path in
            total + ((try? FileStatus.of(path).get()).map { Int($0.size) } ?? 0)  // a link's target, not the link
        }
        features.reserve(entries: bytes / 4)
        var rowsPerInput: [Int] = []
        var featureNames: [String]?, labelNames: [String]?
        var dims: (features: Int, labels: Int)

        switch format {
        case .xc, .libsvm:
            var header: (Int, Int)?
            for input in inputs {
                let reader = try LineReader(path: input, maximumLineLength: maximumLineLength)
                let before = features.rowCount
                if format == .xc {
                    let (n, f, c) = try ConvertJob.xcHeader(reader)
                    if let header, header != (f, c) {
                        throw SparseKitError.badInput(input, "header declares \(f) features and \(c) labels, but "
                            + "\(inputs[0]) declares \(header.0) and \(header.1)")
                    }
                    if let like, (f, c) != (like.featureCount, like.labelCount) {
                        throw SparseKitError.badInput(input, "header declares \(f) features and \(c) labels, but \(like.path) (--like) "
                            + "has \(like.featureCount) and \(like.labelCount)")
                    }
                    header = (f, c)
                    try requireWithinBound(f, "features", file: input)
                    try requireWithinBound(c, "labels", file: input)
                    let parser = LabeledLineParser(featureBase: 0, featureLimit: f, labelLimit: c, indexBound: indexBound)
                    while features.rowCount - before < n, let line = try reader.nextLine() {
                        try parser.parse(line, reader: reader, features: &features, labels: &labels)
                    }
                    guard features.rowCount - before == n else {
                        throw SparseKitError.badInput(input, "header declares \(n) points but the file holds "
                            + "\(features.rowCount - before) (truncated?)")
                    }
                    while let extra = try reader.nextLine() {
                        guard extra.allSatisfy({ $0 == 32 || $0 == 9 }) else {
                            throw reader.error("more points than the header's \(n)")
                        }
                    }
                } else {
                    var parser = LabeledLineParser(featureBase: oneBased ? 1 : 0, featureLimit: like?.featureCount ?? featureCount,
                                                   labelLimit: like?.labelCount ?? labelCount, indexBound: indexBound)
                    if let like { parser.limitSource = " of \(like.path) (--like)" }
                    while let line = try reader.nextLine() {
                        try parser.parse(line, reader: reader, features: &features, labels: &labels)
                    }
                    guard features.rowCount > before else { throw SparseKitError.badInput(input, "holds no points (empty file)") }
                }
                rowsPerInput.append(features.rowCount - before)
            }
            dims = header ?? (like?.featureCount ?? featureCount ?? features.inferredColumns,
                              like?.labelCount ?? labelCount ?? labels.inferredColumns)
            (featureNames, labelNames) = (like?.featureNames, like?.labelNames)
        case .arff:
            var first: ARFFReader.Header?
            var roles: [ARFFReader.Role] = []
            let arff = ARFFReader(missing: missing)
            for input in inputs {
                let reader = try LineReader(path: input, maximumLineLength: maximumLineLength)
                let header = try arff.readHeader(reader)
                if let first {
                    guard first.attributes == header.attributes else {
                        throw SparseKitError.badInput(input, "declares other attributes than \(inputs[0])")
                    }
                } else {
                    (roles, featureNames, labelNames) = try ConvertJob.roles(header, xml: xml, like: like, file: input)
                    first = header
                    // Features mapped by name (--like) in another order than the file's reach the builder unsorted.
                    let columns = roles.compactMap { if case .feature(let column) = $0 { column } else { nil } }
                    if !zip(columns, columns.dropFirst()).allSatisfy({ $0 < $1 }) {
                        features = SparseRowsBuilder(disorder: .sortAndSum)
                        features.reserve(entries: bytes / 4)
                    }
                }
                let rows = try arff.readRows(reader, header: header, roles: roles, features: &features, labels: &labels)
                guard rows > 0 else { throw SparseKitError.badInput(input, "holds no data rows") }
                rowsPerInput.append(rows)
            }
            dims = (like?.featureCount ?? featureNames!.count, labelNames!.count)
            if let like { featureNames = like.featureNames }
        }

        var splits: [MultiLabelDataset.Split] = []
        if inputs.count > 1 {
            var offset: Int64 = 0
            for (i, count) in rowsPerInput.enumerated() {
                splits.append(.init(name: splitNames?[i] ?? ConvertJob.splitName(inputs[i]), rows: Array(offset..<(offset + Int64(count)))))
                offset += Int64(count)
            }
            if Set(splits.map(\.name)).count != splits.count {
                throw SparseKitError.usage("the input files give split names \(splits.map(\.name)); name them with --split-names")
            }
        }
        let total = features.rowCount
        for file in splitFiles { splits.append(try ConvertJob.readSplitFile(file, column: splitColumn, rows: total, maximumLineLength: maximumLineLength)) }
        return MultiLabelDataset(features: try features.matrix(columns: dims.features),
                                 labels: try labels.matrix(columns: dims.labels), featureNames: featureNames,
                                 labelNames: labelNames, splits: splits, sourceFormat: format.rawValue)
    }

    /// Refuses a count beyond `indexBound`: `what` is an option (`--features`: usage) or, with `file`, what the
    /// file's header declares (bad input).
    func requireWithinBound(_ count: Int, _ what: String, file: String?) throws {
        guard count > indexBound else { return }
        let bound = "beyond the bound of \(indexBound) (raise it with --max-index)"
        if let file { throw SparseKitError.badInput(file, "header declares \(count) \(what), \(bound)") }
        throw SparseKitError.usage("\(what) \(count) is \(bound)")
    }

    /// The XC header `N F C`.
    static func xcHeader(_ reader: LineReader) throws -> (Int, Int, Int) {
        guard let line = try reader.nextLine() else { throw SparseKitError.badInput(reader.name, "is empty") }
        var scanner = ByteScanner(line)
        guard let numbers = scanner.integers() else { throw reader.error("header must be three numbers 'N F C'") }
        guard numbers.count == 3 else { throw reader.error("header must be three numbers 'N F C', found \(numbers.count)") }
        return (numbers[0], numbers[1], numbers[2])
    }

    /// Assigns each ARFF attribute to a feature or label column, by the XML's names or MEKA's `-C n`, or with
    /// `like` by the label names of that file (which the XML, if given, must name too) and its feature names (by
    /// position when it has none). Returns the roles and the feature and label names.
    static func roles(_ header: ARFFReader.Header, xml: String?, like: MultiLabelSchema? = nil, file: String) throws
        -> ([ARFFReader.Role], [String], [String])
    {
        let names = header.attributes.map(\.name)
        let present = Set(names)
        var labelNames: [String]
        let xmlNames = try xml.map { try MulanXML.labelNames(path: $0) }
        if let like {
            guard let likeLabels = like.labelNames else {
                throw SparseKitError.badInput(like.path, "has no /label_names, which an ARFF file converted --like it needs to find its labels")
            }
            if let xml, let xmlNames, Set(xmlNames) != Set(likeLabels) {
                throw SparseKitError.badInput(xml, "names other labels than \(like.path) (--like)")
            }
            labelNames = likeLabels
        } else if let xmlNames {
            labelNames = xmlNames
        } else if let c = header.mekaLabelCount, c != 0, abs(c) < names.count {
            labelNames = c > 0 ? Array(names.prefix(c)) : Array(names.suffix(-c))
        } else {
            throw SparseKitError.usage("\(file): give --xml LABELS.xml (Mulan), or a relation with MEKA's -C n")
        }
        if let absent = labelNames.first(where: { !present.contains($0) }) {
            throw SparseKitError.badInput(file, "label '\(absent)' from \(like?.path ?? xml ?? "the relation") is not an attribute of the data")
        }
        var labelColumn: [String: Int] = [:]
        for (column, name) in labelNames.enumerated() { labelColumn[name] = column }
        let likeFeatures = like?.featureNames.map { Dictionary($0.enumerated().map { ($1, $0) }) { first, _ in first } }
        var roles: [ARFFReader.Role] = []
        var featureNames: [String] = []
        for attribute in header.attributes {
            if let column = labelColumn[attribute.name] {
                if let nominal = attribute.nominal, !Set(nominal).isSubset(of: ["0", "1"]) {
                    throw SparseKitError.badInput(file, "label '\(attribute.name)' is not a {0,1} attribute")
                }
                roles.append(.label(column))
            } else if let likeFeatures {
                guard let column = likeFeatures[attribute.name] else {
                    throw SparseKitError.badInput(file, "attribute '\(attribute.name)' is neither a feature nor a label of \(like!.path) (--like)")
                }
                roles.append(.feature(column))
                featureNames.append(attribute.name)
            } else {
                roles.append(.feature(featureNames.count))
                featureNames.append(attribute.name)
            }
        }
        if let like, like.featureNames == nil, featureNames.count != like.featureCount {
            throw SparseKitError.badInput(file, "has \(featureNames.count) feature attributes, but \(like.path) (--like) has \(like.featureCount) features")
        }
        return (roles, featureNames, labelNames)
    }

    /// `train` or `test` when the file name says so (bibtex-train.arff, x_trSplit.txt), else the file's stem.
    static func splitName(_ path: String) -> String {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let lower = stem.lowercased()
        if lower.hasSuffix("train") || lower.contains("trsplit") { return "train" }
        if lower.hasSuffix("test") || lower.contains("tstsplit") { return "test" }
        return stem
    }

    /// One column of an XC split file (1-based row numbers) as 0-based rows.
    static func readSplitFile(_ path: String, column: Int, rows: Int, maximumLineLength: Int) throws -> MultiLabelDataset.Split {
        let reader = try LineReader(path: path, maximumLineLength: maximumLineLength)
        var selected: [Int64] = []
        while let line = try reader.nextLine() {
            var scanner = ByteScanner(line)
            guard let values = scanner.integers() else { throw reader.error("split files hold 1-based row numbers") }
            if values.isEmpty { continue }
            guard column >= 1, column <= values.count else {
                throw reader.error("has \(values.count) column(s); --split-column \(column) does not exist")
            }
            let row = values[column - 1]
            guard row >= 1, row <= rows else { throw reader.error("row \(row) is outside 1...\(rows)") }
            selected.append(Int64(row - 1))
        }
        guard !selected.isEmpty else { throw SparseKitError.badInput(path, "is empty") }
        return .init(name: splitName(path), rows: selected)
    }
}
