/// What a user checks first in a multi-label dataset: sizes, label cardinality and density, points without labels,
/// and the most frequent labels.
public struct MultiLabelStatistics: Codable, Sendable, Equatable {
    public struct LabelCount: Codable, Sendable, Equatable {
        public var index: Int
        public var name: String?
        public var count: Int
    }

    public var points: Int
    public var features: Int
    public var labels: Int
    public var featureNonZeros: Int
    public var labelNonZeros: Int
    /// Mean number of labels per point.
    public var cardinality: Double
    /// Cardinality divided by the number of labels.
    public var density: Double
    public var pointsWithoutLabels: Int
    public var topLabels: [LabelCount]
    public var splits: [String: Int]

    /// Reads the file as every other tool does (`MultiLabelDataset.read`, which checks the CSR groups, the names and
    /// the splits against each other), so that what sk-inspect describes is what the other tools accept.
    public static func of(_ file: HDF5File, top: Int = 10) throws -> MultiLabelStatistics {
        let dataset = try MultiLabelDataset.read(from: file)
        let labels = dataset.labels
        let (featureCount, featureNonZeros) = (dataset.features.cols, dataset.features.nonZeros)
        let names = dataset.labelNames
        try MemoryBudget.require([.words("label counts", labels.cols)], for: "counting \(labels.cols) labels", file: file.path)
        var counts = [Int](repeating: 0, count: labels.cols)
        for j in labels.indices { counts[Int(j)] += 1 }
        let without = (0..<labels.rows).reduce(0) { $0 + (labels.indptr[$1] == labels.indptr[$1 + 1] ? 1 : 0) }
        let ranked = counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }.prefix(top)
        let splits = Dictionary(dataset.splits.map { ($0.name, $0.rows.count) }) { first, _ in first }
        let n = max(labels.rows, 1)
        let cardinality = Double(labels.nonZeros) / Double(n)
        return MultiLabelStatistics(
            points: labels.rows, features: featureCount, labels: labels.cols, featureNonZeros: featureNonZeros,
            labelNonZeros: labels.nonZeros, cardinality: cardinality,
            density: labels.cols > 0 ? cardinality / Double(labels.cols) : 0, pointsWithoutLabels: without,
            topLabels: ranked.map { LabelCount(index: $0, name: names?[$0], count: counts[$0]) }, splits: splits)
    }

    public var text: String {
        var lines = ["multilabel: N = \(points) points, F = \(features) features, C = \(labels) labels"]
        lines.append("  non-zeros: \(featureNonZeros) features (\(String(format: "%.2f", Double(featureNonZeros) / Double(max(points, 1)))) per point), "
            + "\(labelNonZeros) labels")
        lines.append("  label cardinality \(String(format: "%.4f", cardinality)), density \(String(format: "%.6f", density)), "
            + "points without labels \(pointsWithoutLabels)")
        if !splits.isEmpty {
            lines.append("  splits: " + splits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        lines.append("  most frequent labels: " + topLabels.map { "\($0.name ?? String($0.index)) (\($0.count))" }
            .joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

import Foundation
