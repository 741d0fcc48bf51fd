import DataKit

/// Predictions of a trained multi-label model: a ranking of the labels (for P@k, nDCG@k, PSP@k) and a predicted
/// label set (for the set metrics). sdlgm: rank by h_S(x), set = the top L̂ labels, L̂ = argmax p(L | x);
/// one-vs-all: rank by score, set = labels with sigmoid(score) > ½; most-frequent: rank by training frequency, set =
/// the round(mean training label count) most frequent labels.
public struct SupervisedPredictor: Sendable {
    public var method: SupervisedTrainer.Method
    public var network: SupervisedNetwork?
    public var labelFrequencies: [Double]
    public var meanLabelCount: Double

    public init(method: SupervisedTrainer.Method, network: SupervisedNetwork?, labelFrequencies: [Double], meanLabelCount: Double) {
        self.method = method
        self.network = network
        self.labelFrequencies = labelFrequencies
        self.meanLabelCount = meanLabelCount
    }

    /// The hard codes of the rows of `x`: each row's predicted label set with the labels' scores as values (for
    /// most-frequent, the training frequencies).
    public func codes(_ x: CSRMatrix, batchSize: Int = 512) throws -> CSRMatrix {
        let sets = try predict(x, k: 1, batchSize: batchSize).sets
        var values: [Float] = []
        values.reserveCapacity(sets.nonZeros)
        for start in stride(from: 0, to: x.rows, by: batchSize) {
            let rows = Array(start..<min(x.rows, start + batchSize))
            let scores = network.map { $0.forward(x.gatheringRows(rows)).labelScores }
            for (i, row) in rows.enumerated() {
                for label in sets.row(row).indices {
                    values.append(scores.map { $0[i, Int(label)] } ?? Float(labelFrequencies[Int(label)]))
                }
            }
        }
        return try CSRMatrix(rows: sets.rows, cols: sets.cols, indptr: sets.indptr, indices: sets.indices, values: values)
    }

    /// Rankings (top `k`) and predicted sets of every row of `x`, `batchSize` rows at a time.
    public func predict(_ x: CSRMatrix, k: Int = 5, batchSize: Int = 512) throws -> (ranking: TopKRanking, sets: CSRMatrix) {
        let c = labelFrequencies.count
        var ranking = TopKRanking(k: k, indices: [])
        var indptr: [Int64] = [0], indices: [Int64] = []
        let frequencyScores = labelFrequencies.map(Float.init)
        let frequentSet = Array(TopKRanking(scores: Matrix(rows: 1, cols: c, storage: frequencyScores),
                                            k: max(1, min(c, Int(meanLabelCount.rounded())))).ranked(0)).map(Int64.init)
        for start in stride(from: 0, to: x.rows, by: batchSize) {
            let rows = Array(start..<min(x.rows, start + batchSize))
            guard let network, method != .mostFrequent else {
                for _ in rows {
                    frequencyScores.withUnsafeBufferPointer { ranking.append(scores: $0) }
                    indices += frequentSet.sorted()
                    indptr.append(Int64(indices.count))
                }
                continue
            }
            let (levelLogits, scores, _) = network.forward(x.gatheringRows(rows))
            scores.storage.withUnsafeBufferPointer { all in
                for i in rows.indices {
                    let row = UnsafeBufferPointer(rebasing: all[(i * c)..<((i + 1) * c)])
                    ranking.append(scores: row)
                    var set: [Int64]
                    if let levelLogits {
                        let logits = levelLogits.storage[(i * levelLogits.cols)..<((i + 1) * levelLogits.cols)]
                        let level = logits.indices.max { logits[$0] < logits[$1] }! - logits.startIndex + 1
                        var top = TopKRanking(k: min(level, c), indices: [])
                        top.append(scores: row)
                        set = top.ranked(0).map(Int64.init)
                    } else {
                        set = (0..<c).filter { row[$0] > 0 }.map(Int64.init)  // sigmoid > ½
                    }
                    indices += set.sorted()
                    indptr.append(Int64(indices.count))
                }
            }
        }
        let sets = try CSRMatrix(rows: x.rows, cols: c, indptr: indptr, indices: indices,
                                 values: [Float](repeating: 1, count: indices.count))
        return (ranking, sets)
    }
}
