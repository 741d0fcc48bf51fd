import DataKit
import Foundation

/// The top-k label rankings of N points: `indices` holds k label indices per point, best first, padded with −1 where
/// fewer than k labels exist (k > C). Built from scores without ever holding an N × C matrix.
public struct TopKRanking: Sendable, Equatable {
    public let k: Int
    public private(set) var indices: [Int32]
    /// The scores of `indices` (−∞ where padded) when the ranking was built from scores; empty when it was given as
    /// indices alone.
    public private(set) var scores: [Float]

    public var count: Int { k == 0 ? 0 : indices.count / k }

    /// A ranking from k label indices per point (best first, −1 padding); `scores` as many, or empty.
    public init(k: Int, indices: [Int32], scores: [Float] = []) {
        precondition(k > 0 && indices.count % k == 0, "TopKRanking: k indices per point")
        precondition(scores.isEmpty || scores.count == indices.count, "TopKRanking: one score per index")
        self.k = k
        self.indices = indices
        self.scores = scores
    }

    /// The ranking of point i: at most k labels, best first.
    public func ranked(_ i: Int) -> ArraySlice<Int32> {
        let row = indices[(i * k)..<(i * k + k)]
        return row.prefix { $0 >= 0 }
    }

    /// The scores of `ranked(i)`, in the same order (the ranking must hold scores).
    public func rankedScores(_ i: Int) -> ArraySlice<Float> {
        precondition(scores.count == indices.count, "TopKRanking: a ranking given as indices holds no scores")
        return scores[(i * k)..<(i * k + ranked(i).count)]
    }

    /// Appends one point's top k of `scores` (higher is better; ties go to the lower label index).
    public mutating func append(scores: UnsafeBufferPointer<Float>) {
        precondition(self.scores.count == indices.count, "TopKRanking: appending scores to a ranking given as indices")
        var best: [(score: Float, label: Int32)] = []
        best.reserveCapacity(k + 1)
        for (label, score) in scores.enumerated() {
            guard best.count < k || score > best[best.count - 1].score else { continue }
            // Insert after every entry with a score ≥ this one (earlier labels win ties).
            var position = best.count
            while position > 0 && best[position - 1].score < score { position -= 1 }
            best.insert((score, Int32(label)), at: position)
            if best.count > k { best.removeLast() }
        }
        let padding = k - best.count
        indices += best.map(\.label) + [Int32](repeating: -1, count: padding)
        self.scores += best.map(\.score) + [Float](repeating: -.infinity, count: padding)
    }

    /// The rankings of the rows of a score matrix (N × C).
    public init(scores: Matrix, k: Int) {
        self.init(k: k, indices: [])
        indices.reserveCapacity(scores.rows * k)
        self.scores.reserveCapacity(scores.rows * k)
        scores.storage.withUnsafeBufferPointer { all in
            for r in 0..<scores.rows { append(scores: UnsafeBufferPointer(rebasing: all[(r * scores.cols)..<((r + 1) * scores.cols)])) }
        }
    }

    /// The ranking as a CSR matrix N × `labels` (`formats.md`, `/predictions`): each row's ranked labels with their
    /// scores, stored by label index as every CSR matrix here (the rank is recovered by sorting the scores).
    public func matrix(labels: Int) throws -> CSRMatrix {
        var indptr: [Int64] = [0], columns: [Int64] = [], values: [Float] = []
        columns.reserveCapacity(indices.count)
        values.reserveCapacity(indices.count)
        for i in 0..<count {
            let entries = zip(ranked(i), rankedScores(i)).sorted { $0.0 < $1.0 }
            columns += entries.map { Int64($0.0) }
            values += entries.map(\.1)
            indptr.append(Int64(columns.count))
        }
        return try CSRMatrix(rows: count, cols: labels, indptr: indptr, indices: columns, values: values)
    }
}

/// Propensity scores of labels (Jain, Prabhu & Varma 2016; `metrics.md`; pyxclib's `compute_inv_propesity` gives
/// their inverses), from the TRAINING labels:
///   C = (ln N − 1)(B + 1)^A,  p_l = 1 / (1 + C (N_l + B)^(−A)),
/// N the training points (with or without labels), N_l those with label l. pyxclib's typical values: A = 0.55,
/// B = 1.5 (`defaults`), A = 0.5, B = 0.4 for Wikipedia data sets, A = 0.6, B = 2.6 for Amazon data sets.
public enum Propensity {
    /// A = 0.55, B = 1.5: pyxclib's values for every data set but the Wikipedia and Amazon ones.
    public static let defaults = (a: 0.55, b: 1.5)

    /// The propensities of labels seen `counts[l]` times in `points` training points.
    public static func scores(counts: [Double], points: Int, a: Double = defaults.a, b: Double = defaults.b) -> [Double] {
        let c = (log(Double(points)) - 1) * pow(b + 1, a)
        return counts.map { 1 / (1 + c * pow($0 + b, -a)) }
    }

    /// The propensities of the labels of the training label matrix `y` (N × C).
    public static func scores(trainingLabels y: CSRMatrix, a: Double = defaults.a, b: Double = defaults.b) -> [Double] {
        var counts = [Double](repeating: 0, count: y.cols)
        for index in y.indices { counts[Int(index)] += 1 }
        return scores(counts: counts, points: y.rows, a: a, b: b)
    }
}

/// Ranking metrics at k (`metrics.md`) as pyxclib's `xclib/evaluation/xc_metrics.py` defines them, for N points,
/// y_i the true labels of point i, r_1, r_2, … its ranking, g_l = 1/p_l the inverse propensity:
/// - P@k = (1/N) Σ_i (1/k) Σ_{j ≤ k} [r_j ∈ y_i];
/// - nDCG@k = (1/N) Σ_i DCG_i / Z_i, DCG_i = Σ_{j ≤ k} [r_j ∈ y_i] / log2(j + 1), Z_i = Σ_{j ≤ min(k, |y_i|)} 1/log2(j + 1)
///   (a point without labels scores 0);
/// - PSP@k = Σ_i Σ_{j ≤ k} [r_j ∈ y_i] g_{r_j}, divided by the same sum for the ideal ranking (each point's labels
///   sorted by g, largest first);
/// - PSnDCG@k = Σ_i PSDCG_i / Z_i divided by the same sum for the ideal ranking, PSDCG_i = Σ_{j ≤ k} [r_j ∈ y_i]
///   g_{r_j} / log2(j + 1): each point's PSDCG is normalised by its own Z_i (the plain ideal DCG) before the sums, as
///   pyxclib's `psndcg` does.
/// Points without true labels count in every denominator with zero gain; ranks beyond C count as misses.
public struct RankingMetrics: Codable, Sendable, Equatable {
    public var k: Int
    public var precision: Double
    public var ndcg: Double
    public var propensityPrecision: Double?
    public var propensityNDCG: Double?

    /// The default ks of `sk-eval`.
    public static let defaultKs = [1, 3, 5]

    /// Metrics at each of `ks` for `ranking` against the true labels `truth` (N × C).
    public static func evaluate(_ ranking: TopKRanking, truth: CSRMatrix, propensities: [Double]? = nil,
                                ks: [Int] = defaultKs) -> [RankingMetrics] {
        precondition(ranking.count == truth.rows, "one ranking per point")
        precondition(ks.allSatisfy { $0 >= 1 && $0 <= ranking.k }, "k up to the ranking's depth")
        precondition(propensities.map { $0.count == truth.cols } ?? true, "one propensity per label")
        let depth = ks.max() ?? 0
        let discount = (0..<depth).map { 1 / log2(Double($0 + 2)) }  // 1/log2(j + 1) at rank j = 1…
        var idealDCG = [0.0]  // idealDCG[m] = Σ_{j ≤ m} 1/log2(j + 1)
        for d in discount { idealDCG.append(idealDCG.last! + d) }
        let gains = propensities?.map { 1 / $0 }
        return ks.map { k in
            var precision = 0.0, ndcg = 0.0, psp = 0.0, pspIdeal = 0.0, psndcg = 0.0, psndcgIdeal = 0.0
            for i in 0..<truth.rows {
                let labels = Set(truth.row(i).indices.map { Int($0) })
                guard !labels.isEmpty else { continue }
                let z = idealDCG[min(k, labels.count)]
                var hits = 0.0, dcg = 0.0, psHits = 0.0, psdcg = 0.0
                for (r, label) in ranking.ranked(i).prefix(k).enumerated() where labels.contains(Int(label)) {
                    hits += 1
                    dcg += discount[r]
                    if let gains {
                        psHits += gains[Int(label)]
                        psdcg += gains[Int(label)] * discount[r]
                    }
                }
                precision += hits / Double(k)
                ndcg += dcg / z
                if let gains {  // the ideal ranking: this point's labels by g, largest first
                    var idealHits = 0.0, idealDCGSum = 0.0
                    for (r, gain) in labels.map({ gains[$0] }).sorted(by: >).prefix(k).enumerated() {
                        idealHits += gain
                        idealDCGSum += gain * discount[r]
                    }
                    psp += psHits
                    pspIdeal += idealHits
                    psndcg += psdcg / z
                    psndcgIdeal += idealDCGSum / z
                }
            }
            let n = Double(max(truth.rows, 1))
            return RankingMetrics(
                k: k, precision: precision / n, ndcg: ndcg / n,
                propensityPrecision: gains == nil ? nil : (pspIdeal > 0 ? psp / pspIdeal : 0),
                propensityNDCG: gains == nil ? nil : (psndcgIdeal > 0 ? psndcg / psndcgIdeal : 0))
        }
    }
}
