/// Basic statistics of a numeric dataset, computed in one streaming pass.
public struct ValueStatistics: Codable, Sendable, Equatable {
    public var count: Int
    public var min: Double
    public var max: Double
    public var mean: Double
    public var std: Double
    /// Fraction of values that are exactly zero.
    public var zeros: Double
    /// Number of NaN or ±Inf values.
    public var nonFinite: Int

    public static func of(_ dataset: HDF5Dataset, rowsPerRead: Int = 4096) throws -> ValueStatistics {
        var stats = ValueStatistics(count: 0, min: .infinity, max: -.infinity, mean: 0, std: 0, zeros: 0, nonFinite: 0)
        var sum = 0.0, sumSquares = 0.0, zeros = 0
        let rows = dataset.shape.first ?? 1
        let accumulate = { (values: [Double]) in
            for v in values {
                guard v.isFinite else { stats.nonFinite += 1; continue }
                stats.count += 1
                sum += v
                sumSquares += v * v
                if v == 0 { zeros += 1 }
                stats.min = Swift.min(stats.min, v)
                stats.max = Swift.max(stats.max, v)
            }
        }
        if dataset.shape.isEmpty {
            accumulate(try dataset.read(as: Double.self))
        } else {
            for start in stride(from: 0, to: rows, by: rowsPerRead) {
                accumulate(try dataset.readRows(start, count: Swift.min(rowsPerRead, rows - start), as: Double.self))
            }
        }
        if stats.count > 0 {
            stats.mean = sum / Double(stats.count)
            stats.std = Swift.max(0, sumSquares / Double(stats.count) - stats.mean * stats.mean).squareRoot()
            stats.zeros = Double(zeros) / Double(stats.count)
        } else {
            stats.min = 0
            stats.max = 0
        }
        return stats
    }
}

/// What a file holds: kind, attributes, history, and every dataset with its type, shape, storage and statistics.
public struct FileSummary: Codable, Sendable {
    public struct Dataset: Codable, Sendable {
        public var path: String
        public var type: String
        public var shape: [Int]
        /// The storage as text ("contiguous", "chunks [512, 35], shuffle+gzip 4"); `chunks` and `filters` give it
        /// as values.
        public var storage: String
        /// The chunk shape; nil for a contiguous dataset.
        public var chunks: [Int]?
        public var filters: [String]
        public var attributes: [String: HDF5AttributeValue]
        public var statistics: ValueStatistics?
    }

    public var path: String
    public var kind: String?
    public var formatVersion: Int?
    public var history: [String]
    public var attributes: [String: HDF5AttributeValue]
    public var groups: [String: [String: HDF5AttributeValue]]
    public var datasets: [Dataset]
    /// For `multilabel` files: sizes, label cardinality and density, the most frequent labels.
    public var multilabel: MultiLabelStatistics?

    /// Walks the whole file; numeric datasets get statistics.
    public static func of(_ file: HDF5File) throws -> FileSummary {
        try file.requireReadableVersion()
        var summary = FileSummary(
            path: file.path, kind: try file.attribute(RootAttribute.kind)?.stringValue,
            formatVersion: try file.attribute(RootAttribute.formatVersion)?.intValue, history: try file.history(),
            attributes: [:], groups: [:], datasets: [], multilabel: nil)
        let reserved = [RootAttribute.kind, RootAttribute.formatVersion, RootAttribute.history]
        summary.attributes = try attributes(of: "/", in: file).filter { !reserved.contains($0.key) }
        func walk(_ group: String) throws {
            for name in try file.children(of: group) {
                let path = (group == "/" ? "" : group) + "/" + name
                switch file.kind(of: path) {
                case .group:
                    let attributes = try attributes(of: path, in: file)
                    if !attributes.isEmpty { summary.groups[path] = attributes }
                    try walk(path)
                case .dataset:
                    let ds = try file.dataset(path)
                    let numeric = ds.elementClass == .float || ds.elementClass == .integer
                    let layout = ds.storageLayout
                    summary.datasets.append(Dataset(
                        path: path, type: ds.typeDescription, shape: ds.shape, storage: ds.storageDescription,
                        chunks: layout.chunks, filters: layout.filters,
                        attributes: try attributes(of: path, in: file),
                        statistics: numeric ? try ValueStatistics.of(ds) : nil))
                default: continue
                }
            }
        }
        try walk("/")
        if summary.kind == FileKind.multilabel.rawValue { summary.multilabel = try MultiLabelStatistics.of(file) }
        return summary
    }

    private static func attributes(of path: String, in file: HDF5File) throws -> [String: HDF5AttributeValue] {
        var result: [String: HDF5AttributeValue] = [:]
        for name in try file.attributeNames(of: path) {
            result[name] = (try? file.attribute(name, of: path)) ?? .string("(unreadable)")
        }
        return result
    }

    /// A human-readable report.
    public var text: String {
        var lines = ["file: \(path)"]
        lines.append("kind: \(kind ?? "(not a SparseKit file)")" + (formatVersion.map { " (format \($0))" } ?? ""))
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) { lines.append("  \(name) = \(value)") }
        if !history.isEmpty {
            lines.append("history:")
            lines += history.map { "  " + $0 }
        }
        lines.append("datasets:")
        let width = datasets.map(\.path.count).max() ?? 0
        for ds in datasets {
            let shape = "[" + ds.shape.map(String.init).joined(separator: ", ") + "]"
            lines.append("  \(ds.path.padding(toLength: width, withPad: " ", startingAt: 0))  \(ds.type) \(shape)  \(ds.storage)")
            if let s = ds.statistics, s.count + s.nonFinite > 1 {
                var line = "      min \(format(s.min))  max \(format(s.max))  mean \(format(s.mean))  std \(format(s.std))"
                    + "  zeros \(format(100 * s.zeros))%"
                if s.nonFinite > 0 { line += "  NON-FINITE \(s.nonFinite)" }
                lines.append(line)
            }
        }
        if let multilabel { lines.append(multilabel.text) }
        for (group, attributes) in groups.sorted(by: { $0.key < $1.key }) {
            lines.append("group \(group): " + attributes.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }
                .joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ x: Double) -> String {
        let magnitude = abs(x)
        if x == 0 { return "0" }
        if magnitude >= 1e5 || magnitude < 1e-3 { return String(format: "%.4g", x) }
        return String(format: "%.4f", x)
    }
}

import Foundation
