import DataKit
import Foundation

/// What `sk-eval` reports for a supervised multi-label model on a set of rows (`metrics.md`): P@k, nDCG@k, PSP@k and
/// PSnDCG@k at each requested k (as pyxclib computes them, `RankingMetrics`), and the set metrics of the predicted
/// label sets. The propensities come from the training label counts stored in the model; a model written before
/// SparseKit stored them takes them from labels the caller gives (`fallbackTrainingLabels`), or has no
/// propensity-scored metrics.
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
    /// Where the propensities came from, or why there are none.
    public var propensitySource: String
    /// The neighbour component the ranking blended in (`NeighbourIndex`), nil when the network ranked alone (no
    /// component, or α = 0).
    public var neighbours: NeighbourSettings?

    /// K and α of a neighbour component.
    public struct NeighbourSettings: Codable, Sendable, Equatable {
        public var count: Int
        public var weight: Double
    }

    /// Evaluates `predictor` on the rows `features` with true labels `labels` at each of `ks`, propensities with
    /// parameters `a`, `b`; `progress` hears the rows predicted so far.
    public static func run(_ predictor: SupervisedPredictor, features: CSRMatrix, labels: CSRMatrix,
                           ks: [Int] = RankingMetrics.defaultKs, a: Double = Propensity.defaults.a, b: Double = Propensity.defaults.b,
                           fallbackTrainingLabels: (labels: CSRMatrix, description: String)? = nil,
                           progress: (_ rowsDone: Int) -> Void = { _ in }) throws -> SupervisedEvaluation {
        precondition(!ks.isEmpty && ks.allSatisfy { $0 >= 1 }, "ks are positive")
        let (ranking, sets) = try predictor.predict(features, k: ks.max()!, progress: progress)
        let propensities: [Double]?, source: String
        if let stored = predictor.propensities(a: a, b: b), let n = predictor.trainingPoints {
            (propensities, source) = (stored, "the training label counts stored in the model (N = \(n) training points)")
        } else if let fallback = fallbackTrainingLabels {
            (propensities, source) = (Propensity.scores(trainingLabels: fallback.labels, a: a, b: b),
                                      "\(fallback.description) (the model predates stored training label counts)")
        } else {
            (propensities, source) = (nil, "none: the model predates stored training label counts; retrain it, or evaluate on a "
                + "file with a 'train' split to take them from")
        }
        return SupervisedEvaluation(
            method: predictor.method.rawValue, points: features.rows, labels: labels.cols,
            ranking: RankingMetrics.evaluate(ranking, truth: labels, propensities: propensities, ks: ks),
            sets: SetMetrics.evaluate(predicted: sets, truth: labels), propensityForm: "normalized (pyxclib)",
            propensityA: a, propensityB: b, propensitySource: source,
            neighbours: predictor.neighbours.flatMap { $0.weight > 0 ? NeighbourSettings(count: $0.count, weight: $0.weight) : nil })
    }

    /// A plain-text report.
    public var text: String {
        func value(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "  –   " }
        let blend = neighbours.map { ", ranked with the labels of the \($0.count) nearest training rows (weight \($0.weight))" } ?? ""
        var lines = ["\(method) on \(points) points, \(labels) labels" + blend,
                     "  k    P@k     nDCG@k  PSP@k   PSnDCG@k   (pyxclib's definitions; A = \(propensityA), B = \(propensityB))"]
        for m in ranking {
            lines.append(String(format: "  %-3d  %.4f  %.4f  ", m.k, m.precision, m.ndcg) + value(m.propensityPrecision) + "  "
                + value(m.propensityNDCG))
        }
        lines.append("  propensities: \(propensitySource)")
        lines.append(String(format: "  micro-F1 %.4f  macro-F1 %.4f (%d labels without true or predicted instances skipped)  example-F1 %.4f",
                            sets.microF1, sets.macroF1, sets.skippedLabels, sets.exampleF1))
        lines.append(String(format: "  Hamming loss %.5f  subset accuracy %.4f  mean predicted labels %.2f (true %.2f)  points without labels %d",
                            sets.hammingLoss, sets.subsetAccuracy, sets.meanPredictedCount, sets.meanTrueCount, sets.pointsWithoutLabels))
        return lines.joined(separator: "\n")
    }
}
