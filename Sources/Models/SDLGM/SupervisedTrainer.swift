import DataKit
import Foundation

/// Trains a supervised multi-label model on sparse features (`sdlgm.md`): supervised SDLGM, or one of its baselines,
/// one-vs-all logistic regression (the same sparse first layer, no hidden layer) and the most-frequent-labels
/// predictor. Adam over minibatches; rows are never densified and no N × C matrix is formed (a batch's B × C scores
/// at most). `SupervisedSession` runs the epochs.
public struct SupervisedTrainer: Trainer {
    public enum Method: String, Sendable, CaseIterable, Codable { case sdlgm, oneVsAll = "one-vs-all", mostFrequent = "most-frequent" }

    public var method: Method
    /// Hidden sizes of the shared MLP (sdlgm).
    public var hidden = [512]
    /// L0: the largest label-set size modelled; larger sets are truncated to a random L0 of their labels (sdlgm).
    public var maxActive: Int
    /// Epochs this run adds (most-frequent: 0, it counts labels once).
    public var epochs: Int
    public var batchSize = 128
    public var learningRate = 1e-3
    public var seed: UInt64 = 0
    /// The split to train on (nil: every row).
    public var split: String?
    /// Read minibatches from disk instead of loading the split; also chosen when it exceeds half of the memory.
    public var stream = false

    enum CodingKeys: String, CodingKey { case method, hidden, maxActive, epochs, batchSize, learningRate, seed, split }

    public init(method: Method, maxActive: Int, epochs: Int) {
        self.method = method
        self.maxActive = maxActive
        self.epochs = method == .mostFrequent ? 0 : epochs
    }

    /// Checks the configuration on its own; usage errors name the options.
    public func validate() throws {
        guard maxActive >= 1, batchSize >= 1, method == .mostFrequent || epochs >= 1 else {
            throw SparseKitError.usage("--max-active, --epochs and --batch-size must be at least 1")
        }
        guard method != .sdlgm || (!hidden.isEmpty && hidden.allSatisfy { $0 >= 1 }) else {
            throw SparseKitError.usage("--hidden takes positive sizes separated by commas, e.g. 512 or 512,256")
        }
        guard learningRate > 0, learningRate.isFinite else { throw SparseKitError.usage("--learning-rate must be positive") }
    }

    /// One epoch's record: mean training loss per point and seconds.
    public struct EpochRecord: TrainingRecord, Codable, Equatable {
        public var epoch: Int
        public var loss: Double
        public var seconds: Double
    }

    /// Trains on the rows of x (labels y) from a fresh network, or continues `resume`; the convenience tests and
    /// benchmarks use. `shouldStop` is asked after every minibatch; a divergence throws `TrainingDivergence`.
    public func train(features x: CSRMatrix, labels y: CSRMatrix, resume: SupervisedCheckpoint? = nil,
                      shouldStop: () -> Bool = { false }) throws -> SupervisedCheckpoint {
        var session = try SupervisedSession(self, source: .memory(features: x, labels: y), resume: resume)
        for _ in 0..<epochs where !shouldStop() { _ = try session.runEpoch(shouldStop: shouldStop) }
        return session.checkpoint
    }

    /// As `train(features:labels:)`, reading minibatches of `reader`'s split from disk: memory holds the network,
    /// Adam's moments and the reader's buffer.
    public func train(streaming reader: MultiLabelRowReader, resume: SupervisedCheckpoint? = nil,
                      shouldStop: () -> Bool = { false }) throws -> SupervisedCheckpoint {
        var session = try SupervisedSession(self, source: .stream(reader), resume: resume)
        for _ in 0..<epochs where !shouldStop() { _ = try session.runEpoch(shouldStop: shouldStop) }
        return session.checkpoint
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

    /// One Adam step on the minibatch (xb, yb): sdlgm draws each label set's truncation (above L0) and ordering
    /// from `generator`. Returns the batch's mean loss.
    func step(_ network: inout SupervisedNetwork, _ adam: inout Adam, _ xb: CSRMatrix, _ yb: CSRMatrix,
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
            let (value, gradLevel, gradLabels) = SupervisedObjectives.sdlgm(levelLogits: levelLogits!, labelScores: scores,
                                                                             orderings: orderings)
            network.backward(cache, gradLevel: gradLevel, gradLabels: gradLabels)
            loss = value
        } else {
            let (value, gradLabels) = SupervisedObjectives.oneVsAll(labelScores: scores, labels: yb)
            network.backward(cache, gradLevel: nil, gradLabels: gradLabels)
            loss = value
        }
        network.step(&adam)
        return loss
    }
}

extension SupervisedTrainer {
    /// The settings that mean something only for some methods; `sk-train sdlgm` refuses one given where it does not
    /// apply instead of ignoring it.
    public enum Setting: String, Sendable, CaseIterable {
        case hidden, maxActive = "max-active", epochs, batchSize = "batch-size", learningRate = "learning-rate", seed, resume, stream
    }

    /// Where `setting` applies, in words, or nil when it applies to this method.
    public func inapplicability(of setting: Setting) -> String? {
        switch (setting, method) {
        case (.hidden, .sdlgm), (.maxActive, .sdlgm): return nil
        case (.hidden, _), (.maxActive, _): return "applies to --method sdlgm only"
        case (_, .mostFrequent): return "does not apply to --method most-frequent (it counts the training labels once)"
        default: return nil
        }
    }

    /// Refuses the first of the `given` settings that does not apply (a usage error naming the option).
    public func refuseInapplicable(_ given: [Setting]) throws {
        for setting in given {
            if let reason = inapplicability(of: setting) { throw SparseKitError.usage("--\(setting.rawValue) \(reason)") }
        }
    }
}
