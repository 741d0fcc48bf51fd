import DataKit

/// Metrics of predicted label SETS against the true sets (`metrics.md`), N points, C labels:
/// - micro-F1 = 2 TP / (2 TP + FP + FN) over all (point, label) pairs;
/// - macro-F1 = the mean over labels of 2 TP_l / (2 TP_l + FP_l + FN_l), skipping labels with no true and no
///   predicted instance (`skippedLabels` counts them);
/// - example-F1 = the mean over points of 2 |P ∩ Y| / (|P| + |Y|), a point with both sets empty scoring 1 (its
///   prediction is exactly right);
/// - Hamming loss = Σ_i |P_i △ Y_i| / (N C);  subset accuracy = the fraction of points with P_i = Y_i.
public struct SetMetrics: Codable, Sendable, Equatable {
    public var microF1: Double
    public var macroF1: Double
    public var skippedLabels: Int
    public var exampleF1: Double
    public var hammingLoss: Double
    public var subsetAccuracy: Double
    /// Mean size of the predicted and of the true sets.
    public var meanPredictedCount: Double
    public var meanTrueCount: Double
    /// Points with no true label (they count in every denominator).
    public var pointsWithoutLabels: Int

    /// The metrics of `predicted` (rows: predicted label sets, values ignored) against `truth`, both N × C.
    public static func evaluate(predicted: CSRMatrix, truth: CSRMatrix) -> SetMetrics {
        precondition(predicted.rows == truth.rows && predicted.cols == truth.cols, "predicted and true labels differ in shape")
        let (n, c) = (truth.rows, truth.cols)
        var truePositives = [Int](repeating: 0, count: c), falsePositives = truePositives, falseNegatives = truePositives
        var exampleF1 = 0.0, symmetricDifference = 0, exact = 0, predictedTotal = 0, trueTotal = 0, empty = 0
        for i in 0..<n {
            let p = Set(predicted.row(i).indices.map { Int($0) }), y = Set(truth.row(i).indices.map { Int($0) })
            let both = p.intersection(y).count
            for label in p { if y.contains(label) { truePositives[label] += 1 } else { falsePositives[label] += 1 } }
            for label in y where !p.contains(label) { falseNegatives[label] += 1 }
            exampleF1 += p.isEmpty && y.isEmpty ? 1 : 2 * Double(both) / Double(p.count + y.count)
            symmetricDifference += p.count + y.count - 2 * both
            if p == y { exact += 1 }
            predictedTotal += p.count
            trueTotal += y.count
            if y.isEmpty { empty += 1 }
        }
        let (tp, fp, fn) = (truePositives.reduce(0, +), falsePositives.reduce(0, +), falseNegatives.reduce(0, +))
        var macro = 0.0, counted = 0
        for l in 0..<c where truePositives[l] + falsePositives[l] + falseNegatives[l] > 0 {
            macro += 2 * Double(truePositives[l]) / Double(2 * truePositives[l] + falsePositives[l] + falseNegatives[l])
            counted += 1
        }
        let points = Double(max(n, 1))
        return SetMetrics(
            microF1: tp + fp + fn == 0 ? 1 : 2 * Double(tp) / Double(2 * tp + fp + fn),
            macroF1: counted == 0 ? 1 : macro / Double(counted), skippedLabels: c - counted,
            exampleF1: exampleF1 / points, hammingLoss: Double(symmetricDifference) / (points * Double(max(c, 1))),
            subsetAccuracy: Double(exact) / points, meanPredictedCount: Double(predictedTotal) / points,
            meanTrueCount: Double(trueTotal) / points, pointsWithoutLabels: empty)
    }
}
