/// A multi-label dataset (`formats.md`, kind `multilabel`): features (CSR, or dense on disk with `--dense`), labels
/// (CSR, all stored values 1), names where the source has them, and named row splits.
public struct MultiLabelDataset: Sendable, Equatable {
    public var features: CSRMatrix
    public var labels: CSRMatrix
    public var featureNames: [String]?
    public var labelNames: [String]?
    /// Split name and its 0-based rows, in order.
    public var splits: [Split]
    /// `xc`, `libsvm` or `arff`.
    public var sourceFormat: String

    public struct Split: Sendable, Equatable {
        public var name: String
        public var rows: [Int64]
        public init(name: String, rows: [Int64]) {
            self.name = name
            self.rows = rows
        }
    }

    public init(features: CSRMatrix, labels: CSRMatrix, featureNames: [String]? = nil, labelNames: [String]? = nil,
                splits: [Split] = [], sourceFormat: String)
    {
        precondition(features.rows == labels.rows, "features and labels must have the same rows")
        self.features = features
        self.labels = labels
        self.featureNames = featureNames
        self.labelNames = labelNames
        self.splits = splits
        self.sourceFormat = sourceFormat
    }

    public var pointCount: Int { features.rows }

    /// The features and labels of split `name` (all rows when nil); an unknown split is bad input naming the known ones.
    public func rows(ofSplit name: String?, in path: String?) throws -> (features: CSRMatrix, labels: CSRMatrix) {
        guard let name else { return (features, labels) }
        guard let split = splits.first(where: { $0.name == name }) else {
            let known = splits.map(\.name).joined(separator: ", ")
            throw SparseKitError.badInput(path, "has no split '\(name)' (splits: \(known.isEmpty ? "none" : known))")
        }
        let rows = split.rows.map { Int($0) }
        return (features.gatheringRows(rows), labels.gatheringRows(rows))
    }

    /// Writes every part under the contract's names.
    public func write(to file: HDF5File, denseFeatures: Bool = false, history: [String]) throws {
        if denseFeatures {
            try file.write(features.dense(), to: "/features")
        } else {
            try file.write(features, to: "/features")
        }
        try file.write(labels, to: "/labels")
        if let labelNames { try file.writeStrings(labelNames, to: "/label_names") }
        if let featureNames { try file.writeStrings(featureNames, to: "/feature_names") }
        for split in splits { try file.write(split.rows, shape: [split.rows.count], to: "/splits/" + split.name) }
        try file.setAttribute("source_format", .string(sourceFormat))
        try file.writeHeader(kind: .multilabel, history: history)
    }

    /// Reads a `multilabel` file, checking kinds, shapes and names against each other.
    public static func read(from file: HDF5File) throws -> MultiLabelDataset {
        try file.requireKind(.multilabel)
        let features: CSRMatrix
        switch file.kind(of: "/features") {
        case .group: features = try file.readCSR("/features")
        case .dataset:
            let dense = try file.dataMatrixDataset("/features")
            features = CSRMatrix(dense: try dense.readFiniteRows(0..<dense.shape[0]))
        default: throw SparseKitError.badInput(file.path, "has no /features")
        }
        let labels = try file.readCSR("/labels")
        guard labels.rows == features.rows else {
            throw SparseKitError.badInput(file.path, "/labels has \(labels.rows) rows but /features has \(features.rows)")
        }
        let (featureNames, labelNames) = try file.multiLabelNames(features: features.cols, labels: labels.cols)
        var splits: [Split] = []
        if file.kind(of: "/splits") == .group {
            for name in try file.children(of: "/splits") {
                splits.append(Split(name: name, rows: try file.splitRows(name, rowCount: features.rows)))
            }
        }
        return MultiLabelDataset(features: features, labels: labels, featureNames: featureNames, labelNames: labelNames,
                                 splits: splits, sourceFormat: try file.attribute("source_format")?.stringValue ?? "")
    }
}

/// What a converted 'multilabel' file fixes for the files converted after it with `sk-convert --like`: the feature
/// and label counts, and the names where it has them. Read without reading the data.
public struct MultiLabelSchema: Sendable, Equatable {
    public var path: String
    public var featureCount: Int
    public var labelCount: Int
    public var featureNames: [String]?
    public var labelNames: [String]?

    /// A schema as given (`read(path:)` reads one from a file).
    public init(path: String, featureCount: Int, labelCount: Int, featureNames: [String]?, labelNames: [String]?) {
        (self.path, self.featureCount, self.labelCount) = (path, featureCount, labelCount)
        (self.featureNames, self.labelNames) = (featureNames, labelNames)
    }

    /// The schema of the 'multilabel' file at `path`, checked as `MultiLabelDataset.read` checks it.
    public static func read(path: String) throws -> MultiLabelSchema {
        let file = try HDF5File.open(path)
        let reader = try MultiLabelRowReader(file: file, split: nil)
        let (featureNames, labelNames) = try file.multiLabelNames(features: reader.featureCount, labels: reader.labelCount)
        return MultiLabelSchema(path: path, featureCount: reader.featureCount, labelCount: reader.labelCount,
                                featureNames: featureNames, labelNames: labelNames)
    }
}

extension HDF5File {
    /// `/feature_names` and `/label_names` of a 'multilabel' file (nil where absent), each as long as its count.
    func multiLabelNames(features: Int, labels: Int) throws -> (features: [String]?, labels: [String]?) {
        let labelNames = exists("/label_names") ? try readStrings("/label_names") : nil
        let featureNames = exists("/feature_names") ? try readStrings("/feature_names") : nil
        if let labelNames, labelNames.count != labels {
            throw SparseKitError.badInput(path, "/label_names has \(labelNames.count) names for \(labels) labels")
        }
        if let featureNames, featureNames.count != features {
            throw SparseKitError.badInput(path, "/feature_names has \(featureNames.count) names for \(features) features")
        }
        return (featureNames, labelNames)
    }

    /// The rows of split `name` of a `multilabel` file with `rowCount` rows: `/splits/<name>` must be a 1-D array of
    /// integers (not floats, which HDF5 would silently truncate), each a row in `0..<rowCount`, none twice.
    public func splitRows(_ name: String, rowCount: Int) throws -> [Int64] {
        let splitPath = "/splits/" + name
        let ds = try dataset(splitPath)
        guard ds.elementClass == .integer, ds.shape.count == 1 else {
            throw SparseKitError.badInput(path, "\(splitPath) must be a 1-D array of integer row numbers, found \(ds.typeDescription) "
                + "of shape \(ds.shape)")
        }
        let rows = try read(splitPath, as: Int64.self).values
        var seen = Set<Int64>(minimumCapacity: rows.count)
        for (k, row) in rows.enumerated() {
            guard row >= 0, row < Int64(rowCount) else {
                throw SparseKitError.badInput(path, "\(splitPath) holds row \(row) at index \(k), outside 0..<\(rowCount)")
            }
            guard seen.insert(row).inserted else {
                throw SparseKitError.badInput(path, "\(splitPath) holds row \(row) twice (again at index \(k))")
            }
        }
        return rows
    }
}
