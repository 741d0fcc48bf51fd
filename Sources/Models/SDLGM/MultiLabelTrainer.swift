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
        guard x.rows == y.rows, x.rows > 0 else { throw SparseKitError.usage("no training points") }
        var tally = LabelTally(labels: y.cols)
        tally.add(y, maxActive: maxActive)
        // sdlgm learns from labelled points only: a level L ≥ 1 cannot describe an empty set.
        var order = method == .sdlgm ? (0..<x.rows).filter { y.indptr[$0 + 1] > y.indptr[$0] } : Array(0..<x.rows)
        return try train(tally, features: x.cols, typicalNonZeros: max(1, x.nonZeros / x.rows), from: start, report: report) { generator, body in
            order.shuffle(using: &generator)
            for first in stride(from: 0, to: order.count, by: batchSize) {
                let rows = Array(order[first..<min(order.count, first + batchSize)])
                guard try body(x.gatheringRows(rows), y.gatheringRows(rows), &generator) else { return }
            }
        }
    }

    /// Trains on every row of `reader`'s split each epoch, reading minibatches from disk: memory holds the network,
    /// Adam's moments and the reader's buffer. A first pass over the labels (and the features' row pointers) gives
    /// the label statistics and the initial weights' scale; sdlgm leaves each batch's unlabelled rows out.
    public func train(streaming reader: MultiLabelRowReader, from start: SupervisedNetwork? = nil,
                      report: (EpochRecord) -> Bool = { _ in true }) throws -> Result {
        guard reader.rows > 0 else { throw SparseKitError.usage("no training points") }
        var tally = LabelTally(labels: reader.labelCount)
        var featureNonZeros = 0
        for first in stride(from: 0, to: reader.rows, by: reader.blockRows) {
            let range = first..<min(reader.rows, first + reader.blockRows)
            tally.add(try reader.readLabels(range), maxActive: maxActive)
            featureNonZeros += try reader.featureCounts(range).reduce(0, +)
        }
        let typical = max(1, featureNonZeros / reader.rows)
        return try train(tally, features: reader.featureCount, typicalNonZeros: typical, from: start, report: report) { generator, body in
            try reader.forEachBatch(size: batchSize, using: &generator) { batch, generator in
                var batch = batch
                if method == .sdlgm {
                    let labelled = (0..<batch.labels.rows).filter { batch.labels.indptr[$0 + 1] > batch.labels.indptr[$0] }
                    guard !labelled.isEmpty else { return true }
                    if labelled.count < batch.labels.rows { batch = MultiLabelRowReader.gathering(labelled, of: batch) }
                }
                return try body(batch.features, batch.labels, &generator)
            }
        }
    }

    /// What training needs to know of the labels: how often each occurs, and the label-set sizes.
    struct LabelTally {
        var occurrences: [Int]
        var rows = 0, labelTotal = 0, truncated = 0, unlabeled = 0

        init(labels: Int) { occurrences = [Int](repeating: 0, count: labels) }

        mutating func add(_ y: CSRMatrix, maxActive: Int) {
            for j in y.indices { occurrences[Int(j)] += 1 }
            for i in 0..<y.rows {
                let count = Int(y.indptr[i + 1] - y.indptr[i])
                labelTotal += count
                if count > maxActive { truncated += 1 }
                if count == 0 { unlabeled += 1 }
            }
            rows += y.rows
        }

        var frequencies: [Double] { occurrences.map { Double($0) / Double(rows) } }
        var meanCount: Double { Double(labelTotal) / Double(rows) }
    }

    /// The training loop over the minibatches (features, labels) that `epochBatches` hands to its body, one epoch
    /// per call (the body draws the truncations and orderings from the generator it is lent, and returns false to
    /// end the epoch). One BLAS thread: the products are small (a batch times the hidden layer), and a second
    /// thread's spinning between calls cost a core of system time (measured on bibtex).
    private func train(_ tally: LabelTally, features: Int, typicalNonZeros: Int, from start: SupervisedNetwork?,
                       report: (EpochRecord) -> Bool,
                       epochBatches: (inout SeededGenerator, (CSRMatrix, CSRMatrix, inout SeededGenerator) throws -> Bool) throws -> Void)
        throws -> Result
    {
        let (frequencies, meanCount) = (tally.frequencies, tally.meanCount)
        guard method != .mostFrequent else {
            let predictor = MultiLabelPredictor(method: method, network: nil, labelFrequencies: frequencies, meanLabelCount: meanCount)
            return Result(predictor: predictor, history: [], truncatedPoints: tally.truncated, pointsWithoutLabels: tally.unlabeled)
        }
        var generator = SeededGenerator(seed: seed)
        var network = start ?? SupervisedNetwork(
            features: features, labels: tally.occurrences.count, hidden: method == .sdlgm ? hidden : [],
            maxActive: method == .sdlgm ? maxActive : nil, typicalNonZeros: typicalNonZeros, generator: &generator)
        var adam = Adam(learningRate: learningRate)
        var history: [EpochRecord] = []
        for epoch in 0..<epochs {
            let started = Date()
            var lossSum = 0.0, processed = 0  // all rows, unless interrupted
            try BLASThreads.with(1) {
                try epochBatches(&generator) { xb, yb, generator in
                    lossSum += step(&network, &adam, xb, yb, &generator) * Double(xb.rows)
                    processed += xb.rows
                    return !Interruption.requested
                }
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
        return Result(predictor: predictor, history: history, truncatedPoints: tally.truncated,
                      pointsWithoutLabels: tally.unlabeled, interrupted: Interruption.requested)
    }

    /// One Adam step on the minibatch (xb, yb): sdlgm draws each label set's truncation (above L0) and ordering
    /// from `generator`. Returns the batch's mean loss.
    private func step(_ network: inout SupervisedNetwork, _ adam: inout Adam, _ xb: CSRMatrix, _ yb: CSRMatrix,
                      _ generator: inout SeededGenerator) -> Double {
        let (levelLogits, scores, cache) = network.forward(xb)
        network.zeroGradients()
        let loss: Double
        if method == .sdlgm {
            let orderings = (0..<xb.rows).map { i -> [Int] in
                var set = yb.row(i).indices.map { Int($0) }
                if set.count > maxActive { set.shuffle(using: &generator); set = Array(set.prefix(maxActive)) }
                return PlackettLuce.sampleOrdering(set, scores: scores.storage[(i * scores.cols)..<((i + 1) * scores.cols)],
                                                   using: &generator)
            }
            let (value, gradLevel, gradLabels) = MultiLabelObjectives.sdlgm(levelLogits: levelLogits!, labelScores: scores,
                                                                             orderings: orderings)
            network.backward(cache, gradLevel: gradLevel, gradLabels: gradLabels)
            loss = value
        } else {
            let (value, gradLabels) = MultiLabelObjectives.oneVsAll(labelScores: scores, labels: yb)
            network.backward(cache, gradLevel: nil, gradLabels: gradLabels)
            loss = value
        }
        network.step(&adam)
        return loss
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
