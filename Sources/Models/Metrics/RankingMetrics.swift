import DataKit
import Foundation

/// The top-k label rankings of N points: `indices` holds k label indices per point, best first, padded with −1 where
/// fewer than k labels exist (k > C). Built from scores without ever holding an N × C matrix.
public struct TopKRanking: Sendable, Equatable {
    public let k: Int
    public private(set) var indices: [Int32]

    public var count: Int { k == 0 ? 0 : indices.count / k }

    public init(k: Int, indices: [Int32]) {
        precondition(k > 0 && indices.count % k == 0, "TopKRanking: k indices per point")
        self.k = k
        self.indices = indices
    }

    /// The ranking of point i: at most k labels, best first.
    public func ranked(_ i: Int) -> ArraySlice<Int32> {
        let row = indices[(i * k)..<(i * k + k)]
        return row.prefix { $0 >= 0 }
    }

    /// Appends one point's top k of `scores` (higher is better; ties go to the lower label index).
    public mutating func append(scores: UnsafeBufferPointer<Float>) {
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
        indices += best.map(\.label) + [Int32](repeating: -1, count: k - best.count)
    }

    /// The rankings of the rows of a score matrix (N × C).
    public init(scores: Matrix, k: Int) {
        self.init(k: k, indices: [])
        indices.reserveCapacity(scores.rows * k)
        scores.storage.withUnsafeBufferPointer { all in
            for r in 0..<scores.rows { append(scores: UnsafeBufferPointer(rebasing: all[(r * scores.cols)..<((r + 1) * scores.cols)])) }
        }
    }
}

/// Propensity scores of labels (Jain, Prabhu & Varma 2016; `metrics.md`), from the TRAINING labels:
///   C_p = (ln N − 1)(B + 1)^A,  p_l = 1 / (1 + C_p (N_l + B)^(−A)),
/// N the training points, N_l those with label l. Defaults A = 0.55, B = 1.5.
public enum Propensity {
    public static func scores(trainingLabels y: CSRMatrix, a: Double = 0.55, b: Double = 1.5) -> [Double] {
        var counts = [Double](repeating: 0, count: y.cols)
        for index in y.indices { counts[Int(index)] += 1 }
        let c = (log(Double(y.rows)) - 1) * pow(b + 1, a)
        return counts.map { 1 / (1 + c * pow($0 + b, -a)) }
    }
}

/// Ranking metrics at k (`metrics.md`): P@k, nDCG@k, and with propensities the normalized PSP@k and PSnDCG@k (the
/// form pyxclib computes: the propensity-weighted gain of the ranking divided by that of the ideal ranking, each
/// point's labels sorted by 1/p, both summed over all points). Points without true labels count in every
/// denominator with zero gain.
public struct RankingMetrics: Codable, Sendable, Equatable {
    public var k: Int
    public var precision: Double
    public var ndcg: Double
    public var propensityPrecision: Double?
    public var propensityNDCG: Double?

    /// Metrics at each of `ks` for `ranking` against the true labels `truth` (N × C).
    public static func evaluate(_ ranking: TopKRanking, truth: CSRMatrix, propensities: [Double]? = nil,
                                ks: [Int] = [1, 3, 5]) -> [RankingMetrics] {
        precondition(ranking.count == truth.rows, "one ranking per point")
        precondition(ks.allSatisfy { $0 >= 1 && $0 <= ranking.k }, "k up to the ranking's depth")
        return ks.map { k in
            var precision = 0.0, ndcg = 0.0, psp = 0.0, pspIdeal = 0.0, psdcg = 0.0, psdcgIdeal = 0.0
            for i in 0..<truth.rows {
                let labels = Set(truth.row(i).indices.map { Int($0) })
                guard !labels.isEmpty else { continue }
                var dcg = 0.0
                for (r, label) in ranking.ranked(i).prefix(k).enumerated() where labels.contains(Int(label)) {
                    precision += 1 / Double(k)
                    dcg += 1 / log2(Double(r + 2))
                    if let p = propensities {
                        psp += 1 / (p[Int(label)] * Double(k))
                        psdcg += 1 / (p[Int(label)] * log2(Double(r + 2)))
                    }
                }
                ndcg += dcg / (0..<min(k, labels.count)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
                if let p = propensities {  // the ideal ranking: this point's labels by 1/p, largest first
                    let ideal = labels.map { 1 / p[$0] }.sorted(by: >).prefix(k)
                    for (r, gain) in ideal.enumerated() {
                        pspIdeal += gain / Double(k)
                        psdcgIdeal += gain / log2(Double(r + 2))
                    }
                }
            }
            let n = Double(max(truth.rows, 1))
            return RankingMetrics(
                k: k, precision: precision / n, ndcg: ndcg / n,
                propensityPrecision: propensities == nil ? nil : (pspIdeal > 0 ? psp / pspIdeal : 0),
                propensityNDCG: propensities == nil ? nil : (psdcgIdeal > 0 ? psdcg / psdcgIdeal : 0))
        }
    }
}
