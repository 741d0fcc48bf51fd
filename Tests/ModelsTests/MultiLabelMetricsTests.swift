import DataKit
@testable import Models
import XCTest

/// The metrics of `metrics.md` against values computed by hand on small matrices (ties, a point without labels,
/// k larger than C, a label never used).
final class MultiLabelMetricsTests: XCTestCase {
    // Truth: {0, 2}, {} and {1, 2, 3} over C = 5 labels (label 4 never used).
    let truthSets = [[0, 2], [], [1, 2, 3]]
    // Scores with a tie (labels 1 and 2 of point 0: the lower index ranks first) and an all-zero row.
    let scores = Matrix(rows: 3, cols: 5, storage: [0.9, 0.5, 0.5, 0.1, 0, 0, 0, 0, 0, 0, 0.2, 0.1, 0.8, 0.3, 0])

    func testTopKBreaksTiesTowardsTheLowerLabelAndPadsBeyondC() {
        let ranking = TopKRanking(scores: scores, k: 3)
        XCTAssertEqual(Array(ranking.ranked(0)), [0, 1, 2])
        XCTAssertEqual(Array(ranking.ranked(1)), [0, 1, 2])
        XCTAssertEqual(Array(ranking.ranked(2)), [2, 3, 0])
        let deep = TopKRanking(scores: Matrix(rows: 1, cols: 2, storage: [0.1, 0.7]), k: 5)
        XCTAssertEqual(deep.indices, [1, 0, -1, -1, -1])
        XCTAssertEqual(Array(deep.ranked(0)), [1, 0])
    }

    func testPrecisionAndNDCG() throws {
        let truth = try csr(truthSets, cols: 5)
        let metrics = RankingMetrics.evaluate(TopKRanking(scores: scores, k: 5), truth: truth)
        XCTAssertEqual(metrics.map(\.k), [1, 3, 5])
        XCTAssertEqual(metrics[0].precision, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics[1].precision, (2.0 / 3 + 0 + 2.0 / 3) / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics[2].precision, (2.0 / 5 + 0 + 3.0 / 5) / 3, accuracy: 1e-12, "k = 5 counts unfilled ranks as misses")
        let ndcg0 = (1 + 1 / log2(4.0)) / (1 + 1 / log2(3.0))  // hits at ranks 1 and 3; two labels
        let ndcg2 = (1 + 1 / log2(3.0)) / (1 + 1 / log2(3.0) + 1 / log2(4.0))  // hits at ranks 1 and 2; three labels
        XCTAssertEqual(metrics[1].ndcg, (ndcg0 + 0 + ndcg2) / 3, accuracy: 1e-12, "the point without labels scores 0")
        XCTAssertEqual(metrics[0].ndcg, 2.0 / 3, accuracy: 1e-12)
        XCTAssertNil(metrics[0].propensityPrecision)
    }

    func testPropensitiesAndPropensityScoredPrecision() throws {
        let truth = try csr(truthSets, cols: 5)
        let p = Propensity.scores(trainingLabels: truth)
        let c = (log(3.0) - 1) * pow(2.5, 0.55)
        for (label, count) in [1.0, 1, 2, 1, 0].enumerated() {
            XCTAssertEqual(p[label], 1 / (1 + c * pow(count + 1.5, -0.55)), accuracy: 1e-12)
        }
        XCTAssertLessThan(p[0], p[2], "rarer labels have smaller propensities")
        let metrics = RankingMetrics.evaluate(TopKRanking(scores: scores, k: 5), truth: truth, propensities: p)
        // @1: the ranking hits label 0 (point 0) and label 2 (point 2); the ideal takes each point's rarest label.
        XCTAssertEqual(metrics[0].propensityPrecision!, (1 / p[0] + 1 / p[2]) / (1 / p[0] + 1 / p[1]), accuracy: 1e-12)
        // @3: hits 0 and 2 (point 0, ranks 1 and 3), 2 and 3 (point 2, ranks 1 and 2); ideal: all labels by 1/p.
        let (g0, g1, g2, g3): (Double, Double, Double, Double) = (1 / p[0], 1 / p[1], 1 / p[2], 1 / p[3])
        let (second, third): (Double, Double) = (1 / log2(3.0), 0.5)  // 1/log2(r + 1) at ranks 2 and 3
        let dcg: Double = g0 + g2 * third + g2 + g3 * second
        let idealFirst: Double = g0 + g2 * second  // point 0: label 0 (rarer), then label 2
        let idealSecond: Double = g1 + g3 * second + g2 * third  // point 2: labels 1 and 3 (rarer; tie, order irrelevant), then 2
        let ideal = idealFirst + idealSecond
        XCTAssertEqual(metrics[1].propensityNDCG!, dcg / ideal, accuracy: 1e-12)
    }

    func testSetMetrics() throws {
        let truth = try csr(truthSets, cols: 5)
        let predicted = try csr([[0, 1], [], [2]], cols: 5)
        let m = SetMetrics.evaluate(predicted: predicted, truth: truth)
        XCTAssertEqual(m.microF1, 4.0 / 8, accuracy: 1e-12)  // TP 2, FP 1, FN 3
        let labelF1: [Double] = [1, 0, 2.0 / 3, 0]  // labels 0–3
        XCTAssertEqual(m.macroF1, labelF1.reduce(0, +) / 4, accuracy: 1e-12)
        XCTAssertEqual(m.skippedLabels, 1, "label 4: no true and no predicted instance")
        XCTAssertEqual(m.exampleF1, (0.5 + 1 + 0.5) / 3, accuracy: 1e-12)
        XCTAssertEqual(m.hammingLoss, 4.0 / 15, accuracy: 1e-12)
        XCTAssertEqual(m.subsetAccuracy, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.meanPredictedCount, 1, accuracy: 1e-12)
        XCTAssertEqual(m.meanTrueCount, 5.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.pointsWithoutLabels, 1)
        let perfect = SetMetrics.evaluate(predicted: truth, truth: truth)
        XCTAssertEqual([perfect.microF1, perfect.macroF1, perfect.exampleF1, perfect.subsetAccuracy], [1, 1, 1, 1])
        XCTAssertEqual(perfect.hammingLoss, 0)
    }
}
