import DataKit
@testable import Models
import XCTest

/// The metrics of `metrics.md` against values computed by hand on small matrices (ties, a point without labels,
/// k larger than C, a label never used), against pyxclib's definitions as hard-coded values, and against an
/// independent implementation of pyxclib's formulas in Python (`PyxclibReference`) where numpy and scipy exist.
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
        // pyxclib divides each point's PSDCG (ranking and ideal alike) by its plain ideal DCG Z_i before summing.
        let (z0, z2) = (1 + second, 1 + second + third)  // two and three labels
        let dcg: Double = (g0 + g2 * third) / z0 + (g2 + g3 * second) / z2
        let idealFirst: Double = g0 + g2 * second  // point 0: label 0 (rarer), then label 2
        let idealSecond: Double = g1 + g3 * second + g2 * third  // point 2: labels 1 and 3 (rarer; tie, order irrelevant), then 2
        let ideal = idealFirst / z0 + idealSecond / z2
        XCTAssertEqual(metrics[1].propensityNDCG!, dcg / ideal, accuracy: 1e-12)
    }

    // A case with ties in the scores (labels 1 and 2 of point 0, 3 and 5 of point 2, all of points 1 and 4) and in
    // the training counts (labels 2 and 3; 4 and 5 never seen), two points without labels, one with every label,
    // and k beyond C = 6.
    let tieScores: [[Double]] = [[0.9, 0.5, 0.5, 0.1, 0, 0], [0, 0, 0, 0, 0, 0], [0.2, 0.1, 0.8, 0.3, 0, 0.3],
                                 [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.6, 0.6, 0.6, 0.6, 0.6, 0.6], [1, 0, 0, 0, 0, 0.5]]
    let tieTruth = [[0, 2], [], [1, 2, 3], [0, 1, 2, 3, 4, 5], [5], []]
    let tieTraining = [[0], [0, 1], [0, 1, 2], [0, 2], [], [3], [0, 3], [1]]
    let tieKs = [1, 2, 3, 5, 7]

    func tieMetrics() throws -> (metrics: [RankingMetrics], propensities: [Double]) {
        let scores = Matrix(rows: 6, cols: 6, storage: tieScores.flatMap { $0.map(Float.init) })
        let p = Propensity.scores(trainingLabels: try csr(tieTraining, cols: 6))
        return (RankingMetrics.evaluate(TopKRanking(scores: scores, k: 7), truth: try csr(tieTruth, cols: 6), propensities: p, ks: tieKs), p)
    }

    /// The values `PyxclibReference` (pyxclib's formulas) gives for the case with ties, written down so that the
    /// check runs everywhere: P@k, nDCG@k, PSP@k, PSnDCG@k at k = 1, 2, 3, 5, 7 and the propensities.
    func testMetricsEqualPyxclibsOnTiesAndEmptyRows() throws {
        let (metrics, p) = try tieMetrics()
        let expected: [[Double]] = [
            [0.5, 0.5, 0.6893149539784303, 0.6893149539784303],
            [0.4166666666666667, 0.4355245321275764, 0.7040220363748796, 0.6232910776887653],
            [0.38888888888888884, 0.44751357102280154, 0.7698548677575373, 0.6359478554816578],
            [0.3333333333333333, 0.47777053644569367, 0.8894374447808252, 0.6693945911539368],
            [0.28571428571428564, 0.5371384009636974, 0.9999999999999999, 0.7724104886994715],
        ]
        for (m, row) in zip(metrics, expected) {
            let ours = [m.precision, m.ndcg, m.propensityPrecision!, m.propensityNDCG!]
            for (name, (a, b)) in zip(["P", "nDCG", "PSP", "PSnDCG"], zip(ours, row)) {
                XCTAssertEqual(a, b, accuracy: 1e-12, "\(name)@\(m.k)")
            }
        }
        let propensities = [0.6104222518720156, 0.5613982816560676, 0.5271273143347965, 0.5271273143347965, 0.41158960431052716,
                            0.41158960431052716]
        for (a, b) in zip(p, propensities) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    /// Against the Python implementation of pyxclib's formulas: the case with ties, and random matrices whose scores
    /// take a few values only (many ties), with points without labels and labels never seen in training.
    func testMetricsAgainstPyxclibFormulasInPython() throws {
        guard try PyxclibReference.metrics(scores: [[1]], truth: [[0]], training: [[0], [0]], labels: 1, ks: [1]) != nil else {
            throw XCTSkip("python3 with numpy and scipy is not installed; metrics not cross-checked against pyxclib's formulas")
        }
        func check(scores: [[Double]], truth: [[Int]], training: [[Int]], labels: Int, ks: [Int], a: Double, b: Double,
                   _ name: String) throws {
            let reference = try XCTUnwrap(try PyxclibReference.metrics(scores: scores, truth: truth, training: training, labels: labels,
                                                                        ks: ks, a: a, b: b))
            let p = Propensity.scores(trainingLabels: try csr(training, cols: labels), a: a, b: b)
            let matrix = Matrix(rows: scores.count, cols: labels, storage: scores.flatMap { $0.map(Float.init) })
            let ours = RankingMetrics.evaluate(TopKRanking(scores: matrix, k: ks.max()!), truth: try csr(truth, cols: labels),
                                               propensities: p, ks: ks)
            for (m, r) in zip(ours, reference.metrics) {
                XCTAssertEqual(Double(m.k), r["k"])
                for (key, value) in [("precision", m.precision), ("ndcg", m.ndcg), ("propensityPrecision", m.propensityPrecision!),
                                     ("propensityNDCG", m.propensityNDCG!)] {
                    XCTAssertEqual(value, r[key]!, accuracy: 1e-12, "\(name): \(key)@\(m.k)")
                }
            }
            for (x, y) in zip(p, reference.propensities) { XCTAssertEqual(x, y, accuracy: 1e-12, "\(name): propensities") }
        }
        try check(scores: tieScores, truth: tieTruth, training: tieTraining, labels: 6, ks: tieKs, a: 0.55, b: 1.5, "ties")
        var generator = SeededGenerator(seed: 16)
        for (trial, (n, c, a, b)) in [(30, 8, 0.55, 1.5), (50, 20, 0.5, 0.4), (40, 5, 0.6, 2.6)].enumerated() {
            func labelSet(_ most: Int) -> [Int] { Array(Set((0..<Int(generator.next() % UInt64(most + 1))).map { _ in Int(generator.next() % UInt64(c)) })).sorted() }
            let scores = (0..<n).map { _ in (0..<c).map { _ in Double(generator.next() % 4) / 4 } }  // values 0, ¼, ½, ¾
            let truth = (0..<n).map { _ in labelSet(4) }
            let training = (0..<(2 * n)).map { _ in labelSet(3) }
            try check(scores: scores, truth: truth, training: training, labels: c, ks: [1, 2, 3, 5, 10], a: a, b: b, "random \(trial)")
        }
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

extension MultiLabelMetricsTests {
    /// A ranking keeps its scores and becomes the `/predictions` CSR matrix: each row's ranked labels by label index,
    /// padding (k > C) left out.
    func testRankingScoresAndPredictionMatrix() throws {
        let ranking = TopKRanking(scores: Matrix(rows: 2, cols: 3, storage: [0.2, 0.9, 0.2, 0, 0, 1]), k: 4)
        XCTAssertEqual(Array(ranking.ranked(0)), [1, 0, 2])
        XCTAssertEqual(Array(ranking.rankedScores(0)), [0.9, 0.2, 0.2])
        let matrix = try ranking.matrix(labels: 3)
        XCTAssertEqual([matrix.rows, matrix.cols], [2, 3])
        XCTAssertEqual(matrix.indptr, [0, 3, 6])
        XCTAssertEqual(matrix.indices, [0, 1, 2, 0, 1, 2])
        XCTAssertEqual(matrix.values, [0.2, 0.9, 0.2, 0, 0, 1])
        let top1 = try TopKRanking(scores: Matrix(rows: 2, cols: 3, storage: [0.2, 0.9, 0.2, 0, 0, 1]), k: 1).matrix(labels: 3)
        XCTAssertEqual(top1.indices, [1, 2])
        XCTAssertEqual(top1.values, [0.9, 1])
    }
}
