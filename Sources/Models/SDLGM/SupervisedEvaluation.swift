import DataKit
import Foundation

/// What `sk-eval` reports for a supervised multi-label model on a split (`metrics.md`): P@k, nDCG@k, PSP@k and
/// PSnDCG@k (normalized, propensities from the training split) for k = 1, 3, 5, and the set metrics of the predicted
/// label sets.
public struct SupervisedEvaluation: Codable, Sendable {
    public var method: String
    public var points: Int
    public var labels: Int
    public var ranking: [RankingMetrics]
    public var sets: SetMetrics
    /// "normalized (pyxclib)": PSP@k and PSnDCG@k divided by their values for the ideal ranking.
    public var propensityForm: String
    public var propensityA: Double
    public var propensityB: Double

    public static func run(_ predictor: SupervisedPredictor, features: CSRMatrix, labels: CSRMatrix,
                           trainingLabels: CSRMatrix, a: Double = 0.55, b: Double = 1.5) throws -> SupervisedEvaluation {
        let (ranking, sets) = try predictor.predict(features, k: 5)
        let propensities = Propensity.scores(trainingLabels: trainingLabels, a: a, b: b)
        return SupervisedEvaluation(
            method: predictor.method.rawValue, points: features.rows, labels: labels.cols,
            ranking: RankingMetrics.evaluate(ranking, truth: labels, propensities: propensities),
            sets: SetMetrics.evaluate(predicted: sets, truth: labels), propensityForm: "normalized (pyxclib)",
            propensityA: a, propensityB: b)
    }

    /// A plain-text report.
    public var text: String {
        var lines = ["\(method) on \(points) points, \(labels) labels",
                     "  k   P@k     nDCG@k  PSP@k   PSnDCG@k   (PSP normalized as pyxclib; A = \(propensityA), B = \(propensityB))"]
        for m in ranking {
            lines.append(String(format: "  %d   %.4f  %.4f  %.4f  %.4f", m.k, m.precision, m.ndcg, m.propensityPrecision ?? .nan,
                                m.propensityNDCG ?? .nan))
        }
        lines.append(String(format: "  micro-F1 %.4f  macro-F1 %.4f (%d labels without true or predicted instances skipped)  example-F1 %.4f",
                            sets.microF1, sets.macroF1, sets.skippedLabels, sets.exampleF1))
        lines.append(String(format: "  Hamming loss %.5f  subset accuracy %.4f  mean predicted labels %.2f (true %.2f)  points without labels %d",
                            sets.hammingLoss, sets.subsetAccuracy, sets.meanPredictedCount, sets.meanTrueCount, sets.pointsWithoutLabels))
        return lines.joined(separator: "\n")
    }
}
