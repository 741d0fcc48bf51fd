import DataKit
import Foundation

/// Trains a supervised multi-label model on sparse features (`sdlgm.md`): supervised SDLGM, or one of its baselines,
/// one-vs-all logistic regression (the same sparse first layer, no hidden layer) and the most-frequent-labels
/// predictor. Adam over minibatches; rows are never densified and no N × C matrix is formed (a batch's B × C scores
/// at most).
public struct MultiLabelTrainer: Sendable {
    public enum Method: String, Sendable, CaseIterable { case sdlgm, oneVsAll = "one-vs-all", mostFrequent = "most-frequent" }

    public var method: Method
    /// Hidden sizes of the shared MLP (sdlgm).
    public var hidden = [512]
    /// L0: the largest label-set size modelled; larger sets are truncated to a random L0 of their labels (sdlgm).
    public var maxActive: Int
    public var epochs: Int
    public var batchSize = 128
    public var learningRate = 1e-3
    public var seed: UInt64 = 0

    public init(method: Method, maxActive: Int, epochs: Int) {
        self.method = method
        self.maxActive = maxActive
        self.epochs = epochs
    }

    /// One epoch's record: mean training loss per point and seconds.
    public struct EpochRecord: Sendable, Codable, Equatable {
        public var epoch: Int
        public var loss: Double
        public var seconds: Double
    }

    public struct Result: Sendable {
        public var predictor: MultiLabelPredictor
        public var history: [EpochRecord]
        /// Training points with more than L0 labels (truncated) and with none (left out of the sdlgm loss).
        public var truncatedPoints: Int
        public var pointsWithoutLabels: Int
        /// Whether SIGINT/SIGTERM stopped training (after a minibatch; the last record is that partial epoch).
        public var interrupted = false
    }

    /// Trains on the rows of x (labels y) from a fresh network, or from `start` (a network of the same method and
    /// sizes, for `--resume`; Adam's moments start afresh).
    public func train(features x: CSRMatrix, labels y: CSRMatrix, from start: SupervisedNetwork? = nil,
                      report: (EpochRecord) -> Bool = { _ in true }) throws -> Result {
        // The products are small (a batch times the hidden layer): one BLAS thread is as fast, and the second one's
        // spinning between calls cost a core of system time (measured on bibtex).
        try BLASThreads.with(1) { try trainOnOneBLASThread(features: x, labels: y, from: start, report: report) }
    }

    private func trainOnOneBLASThread(features x: CSRMatrix, labels y: CSRMatrix, from start: SupervisedNetwork?,
                                      report: (EpochRecord) -> Bool) throws -> Result {
        guard x.rows == y.rows, x.rows > 0 else { throw SparseKitError.usage("no training points") }
        let counts = (0..<y.rows).map { y.row($0).indices.count }
        let truncated = counts.filter { $0 > maxActive }.count, unlabeled = counts.filter { $0 == 0 }.count
        var frequencies = [Double](repeating: 0, count: y.cols)
        for j in y.indices { frequencies[Int(j)] += 1 / Double(y.rows) }
        let meanCount = Double(counts.reduce(0, +)) / Double(y.rows)
        guard method != .mostFrequent else {
            let predictor = MultiLabelPredictor(method: method, network: nil, labelFrequencies: frequencies, meanLabelCount: meanCount)
            return Result(predictor: predictor, history: [], truncatedPoints: truncated, pointsWithoutLabels: unlabeled)
        }
        var generator = SeededGenerator(seed: seed)
        var network = start ?? SupervisedNetwork(
            features: x.cols, labels: y.cols, hidden: method == .sdlgm ? hidden : [], maxActive: method == .sdlgm ? maxActive : nil,
            typicalNonZeros: max(1, x.nonZeros / x.rows), generator: &generator)
        var adam = Adam(learningRate: learningRate)
        var history: [EpochRecord] = []
        // sdlgm learns from labelled points only: a level L ≥ 1 cannot describe an empty set.
        var order = method == .sdlgm ? (0..<x.rows).filter { counts[$0] > 0 } : Array(0..<x.rows)
        for epoch in 0..<epochs {
            let started = Date()
            order.shuffle(using: &generator)
            var lossSum = 0.0, processed = 0  // all rows, unless interrupted
            for start in stride(from: 0, to: order.count, by: batchSize) where !Interruption.requested {
                let rows = Array(order[start..<min(order.count, start + batchSize)])
                processed += rows.count
                let (xb, yb) = (x.gatheringRows(rows), y.gatheringRows(rows))
                let (levelLogits, scores, cache) = network.forward(xb)
                network.zeroGradients()
                if method == .sdlgm {
                    let orderings = (0..<rows.count).map { i -> [Int] in
                        var set = yb.row(i).indices.map { Int($0) }
                        if set.count > maxActive { set.shuffle(using: &generator); set = Array(set.prefix(maxActive)) }
                        return PlackettLuce.sampleOrdering(set, scores: scores.storage[(i * scores.cols)..<((i + 1) * scores.cols)],
                                                           using: &generator)
                    }
                    let (loss, gradLevel, gradLabels) = MultiLabelObjectives.sdlgm(levelLogits: levelLogits!, labelScores: scores,
                                                                                    orderings: orderings)
                    lossSum += loss * Double(rows.count)
                    network.backward(cache, gradLevel: gradLevel, gradLabels: gradLabels)
                } else {
                    let (loss, gradLabels) = MultiLabelObjectives.oneVsAll(labelScores: scores, labels: yb)
                    lossSum += loss * Double(rows.count)
                    network.backward(cache, gradLevel: nil, gradLabels: gradLabels)
                }
                network.step(&adam)
            }
            let record = EpochRecord(epoch: epoch + 1, loss: lossSum / Double(max(processed, 1)),
                                     seconds: Date().timeIntervalSince(started))
            guard record.loss.isFinite else {
                throw SparseKitError.badInput(nil, "training diverged at epoch \(epoch + 1) (loss \(record.loss))")
            }
            history.append(record)
            if !report(record) || Interruption.requested { break }
        }
        let predictor = MultiLabelPredictor(method: method, network: network, labelFrequencies: frequencies, meanLabelCount: meanCount)
        return Result(predictor: predictor, history: history, truncatedPoints: truncated, pointsWithoutLabels: unlabeled,
                      interrupted: Interruption.requested)
    }
}

/// Predictions of a trained multi-label model: a ranking of the labels (for P@k, nDCG@k, PSP@k) and a predicted
/// label set (for the set metrics). sdlgm: rank by h_S(x), set = the top L̂ labels, L̂ = argmax p(L | x);
/// one-vs-all: rank by score, set = labels with sigmoid(score) > ½; most-frequent: rank by training frequency, set =
/// the round(mean training label count) most frequent labels.
public struct MultiLabelPredictor: Sendable {
    public var method: MultiLabelTrainer.Method
    public var network: SupervisedNetwork?
    public var labelFrequencies: [Double]
    public var meanLabelCount: Double

    public init(method: MultiLabelTrainer.Method, network: SupervisedNetwork?, labelFrequencies: [Double], meanLabelCount: Double) {
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
