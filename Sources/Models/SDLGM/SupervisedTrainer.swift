import DataKit
import Distributed
import Foundation

/// Trains a supervised multi-label model on sparse features (`sdlgm.md`): supervised SDLGM, or one of its baselines,
/// one-vs-all logistic regression (the same sparse first layer, no hidden layer) and the most-frequent-labels
/// predictor. Adam over minibatches; sparse rows are never densified and no N × C matrix is formed (a batch's B × C scores
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
    /// The rescaling of the features (`FeatureScaling`), nil: automatic (`FeatureStatistics.automaticMethod`). A
    /// resumed run keeps its model's.
    public var scaling: FeatureScaling.Method?
    /// The fraction of the training rows held out for early stopping (nil: none): after every epoch the network's
    /// P@1 on them is measured, training stops once it has not risen for `patience` epochs, and the model keeps
    /// the best epoch's weights.
    public var validation: Double?
    /// k-fold cross-validation (nil: none): the rows held out are this fold of the training rows instead of a random
    /// `validation` fraction (which `validate` requires to be nil); early stopping and the best epoch as with it.
    public var validationFold: ValidationFold?
    /// Whether training holds rows out for early stopping (`validation` or `validationFold`).
    public var holdsOut: Bool { validation != nil || validationFold != nil }
    /// Epochs without a better validation P@1 before training stops (with `validation`); `resolvingDefaults` sets
    /// it to `defaultPatience` epochs, or more to span `defaultPatienceSteps` Adam steps, when not given.
    public var patience = defaultPatience
    /// The default patience: 10 epochs, and at least 250 Adam steps, so that a few hundred points (three or four
    /// minibatches per epoch) are not judged on a dozen steps of noise.
    public static let defaultPatience = 10, defaultPatienceSteps = 250
    /// Input dropout: the probability with which each stored feature of a training minibatch is dropped (the others
    /// scaled by 1 / (1 − p)); 0 turns it off. Evaluation sees every feature.
    public var dropout = 0.0
    /// Dropout on every hidden activation of the shared MLP during training (sdlgm); 0 turns it off.
    public var hiddenDropout = 0.0
    /// Decoupled weight decay λ (AdamW): each step shrinks every weight by the factor 1 − learningRate · λ; 0 turns
    /// it off.
    public var weightDecay = 0.0
    /// Label smoothing ε (sdlgm): the Plackett–Luce bound's weight is 1 − ε and ε goes to the cross-entropy of the
    /// label scores' softmax against the uniform distribution over the labels (`SupervisedObjectives.sdlgm`); 0 turns
    /// it off.
    public var labelSmoothing = 0.0
    /// The wide path (sdlgm): a linear map of the scaled features added to the label scores (`SupervisedNetwork.wide`).
    public var wide = false
    /// The wide path's Adam learning rate (nil: `learningRate`, the MLP's). One-vs-all's 0.01 fits a wider path
    /// faster, but on the Mulan data it overfits within a few epochs (5-fold validation P@1 on bibtex 0.596 against
    /// 0.624 at 0.001).
    public var wideLearningRate: Double?
    /// The neighbour component (sdlgm, `--neighbours K`): the model keeps the rows it trained on and blends their
    /// label distribution into its predictions (`NeighbourIndex`); nil: none.
    public var neighbours: Int?
    /// α, the neighbours' weight in the blend (`--neighbour-weight`).
    public var neighbourWeight = NeighbourIndex.defaultWeight
    /// Adam steps the run was asked for (`--steps`), turned into whole epochs by `resolvingDefaults`; nil when the
    /// length was given in epochs or left to the default.
    public var steps: Int?

    /// The default length: at least `defaultEpochs` epochs and at least `defaultSteps` Adam steps, so that a data set
    /// of a few hundred points (a handful of minibatches per epoch) is not left after a few dozen steps.
    public static let defaultEpochs = 20, defaultSteps = 1000, mostEpochs = 100_000

    enum CodingKeys: String, CodingKey {
        case method, hidden, maxActive, epochs, batchSize, learningRate, seed, split, scaling, validation, patience, steps, dropout,
             hiddenDropout, weightDecay, wide, wideLearningRate, validationFold, neighbours, neighbourWeight, labelSmoothing
    }

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
        if let wideLearningRate {
            guard wide else { throw SparseKitError.usage("--wide-learning-rate applies with --wide only") }
            guard wideLearningRate > 0, wideLearningRate.isFinite else { throw SparseKitError.usage("--wide-learning-rate must be positive") }
        }
        if let validation, !(validation > 0 && validation < 1) {
            throw SparseKitError.usage("--validation takes the fraction of the training rows to hold out, between 0 and 1 (e.g. 0.2)")
        }
        if let validationFold {
            guard validation == nil else { throw SparseKitError.usage("give --validation or --validation-fold, not both") }
            if let problem = validationFold.problem() { throw SparseKitError.usage("--validation-fold \(problem)") }
        }
        guard patience >= 1 else { throw SparseKitError.usage("--patience must be at least 1") }
        if let problem = NeighbourIndex.problem(count: neighbours, weight: neighbourWeight) { throw SparseKitError.usage(problem) }
        if let steps, steps < 1 { throw SparseKitError.usage("--steps must be at least 1") }
        guard dropout >= 0, dropout < 1 else { throw SparseKitError.usage("--dropout takes a probability in [0, 1)") }
        guard hiddenDropout >= 0, hiddenDropout < 1 else { throw SparseKitError.usage("--hidden-dropout takes a probability in [0, 1)") }
        guard labelSmoothing >= 0, labelSmoothing < 1 else { throw SparseKitError.usage("--label-smoothing takes a weight in [0, 1)") }
        guard weightDecay >= 0, learningRate * weightDecay < 1 else {
            throw SparseKitError.usage("--weight-decay must be non-negative, with --learning-rate × --weight-decay below 1")
        }
    }

    /// Minibatches per epoch on `rows` training rows (those left after the validation rows are held out).
    func batchesPerEpoch(rows: Int) -> Int {
        let held = validationFold.map { $0.heldOut(rows: rows).count } ?? validation.map { Self.validationCount(rows: rows, fraction: $0) } ?? 0
        let fitted = rows - held
        return max(1, (fitted + batchSize - 1) / batchSize)
    }

    /// How many of `rows` the validation `fraction` holds out: at least one, and at least one row left to train on.
    static func validationCount(rows: Int, fraction: Double) -> Int {
        min(rows - 1, max(1, Int((Double(rows) * fraction).rounded())))
    }

    /// L0 when not given: 10, or C when the data have fewer labels.
    public static let defaultMaxActive = 10

    /// This trainer with the defaults that depend on the rows of `split` in `data` settled: L0 = `maxActive` when
    /// given, else `defaultMaxActive` capped at the labels; the patience, `patience` when given, else the default
    /// (`defaultPatience` epochs or `defaultPatienceSteps` steps); the epochs: `epochs` when given, the epochs that
    /// hold `steps` Adam steps when given, else the default length (`defaultEpochs`, or more to reach `defaultSteps`).
    public func resolvingDefaults(epochs given: Int?, steps: Int?, maxActive: Int? = nil, patience: Int? = nil,
                                  data: HDF5File) throws -> SupervisedTrainer {
        var trainer = self
        let reader = try MultiLabelRowReader(file: data, split: split)
        trainer.maxActive = maxActive ?? min(Self.defaultMaxActive, max(1, reader.labelCount))
        trainer.steps = steps
        guard method != .mostFrequent else { return trainer }
        let batches = batchesPerEpoch(rows: reader.rows)
        trainer.patience = patience ?? max(Self.defaultPatience, (Self.defaultPatienceSteps + batches - 1) / batches)
        if let given {
            guard steps == nil else { throw SparseKitError.usage("give --epochs or --steps, not both") }
            trainer.epochs = given
            return trainer
        }
        let wanted = steps ?? Self.defaultSteps
        let epochs = (wanted + batches - 1) / batches
        trainer.epochs = min(Self.mostEpochs, steps == nil ? max(Self.defaultEpochs, epochs) : epochs)
        return trainer
    }

    /// One epoch's record: mean training loss per point and seconds.
    public struct EpochRecord: TrainingRecord, Codable, Equatable {
        public var epoch: Int
        public var loss: Double
        public var seconds: Double
        /// P@1 on the validation rows after the epoch (with `validation`).
        public var validationPrecision: Double?
        /// The ensemble member (1…M) this epoch trained (`--ensemble`; nil for a single model), `epoch` then counting
        /// that member's epochs.
        public var member: Int?

        public init(epoch: Int, loss: Double, seconds: Double, validationPrecision: Double? = nil, member: Int? = nil) {
            (self.epoch, self.loss, self.seconds, self.validationPrecision, self.member) = (epoch, loss, seconds, validationPrecision, member)
        }
    }

    /// Trains on the rows of x (labels y) from a fresh network, or continues `resume`; the convenience tests and
    /// benchmarks use. `shouldStop` is asked after every minibatch; a divergence throws `TrainingDivergence`.
    public func train(features x: CSRMatrix, labels y: CSRMatrix, resume: SupervisedCheckpoint? = nil,
                      shouldStop: () -> Bool = { false }) throws -> SupervisedCheckpoint {
        var session = try SupervisedSession(self, source: .memory(features: x, labels: y), resume: resume)
        for _ in 0..<epochs where !shouldStop() && !session.isComplete { _ = try session.runEpoch(shouldStop: shouldStop) }
        return session.checkpoint
    }

    /// As `train(features:labels:)`, reading minibatches of `reader`'s split from disk: memory holds the network,
    /// Adam's moments and the reader's buffer.
    public func train(streaming reader: MultiLabelRowReader, resume: SupervisedCheckpoint? = nil,
                      shouldStop: () -> Bool = { false }) throws -> SupervisedCheckpoint {
        var session = try SupervisedSession(self, source: .stream(reader), resume: resume)
        for _ in 0..<epochs where !shouldStop() && !session.isComplete { _ = try session.runEpoch(shouldStop: shouldStop) }
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

        /// The counts of every rank's rows, on every rank (one all-reduce, exact: counts below 2^53).
        mutating func combine(over group: ProcessGroup) {
            guard group.size > 1 else { return }
            var packed = occurrences.map(Double.init) + [rows, labelTotal, truncated, unlabeled].map(Double.init)
            group.sum(&packed)
            let c = occurrences.count
            occurrences = packed[0..<c].map { Int($0) }
            (rows, labelTotal, truncated, unlabeled) = (Int(packed[c]), Int(packed[c + 1]), Int(packed[c + 2]), Int(packed[c + 3]))
        }

        var frequencies: [Double] { occurrences.map { Double($0) / Double(rows) } }
        var meanCount: Double { Double(labelTotal) / Double(rows) }
    }

    /// One Adam step on a minibatch of `batchPoints` points, of which this process holds the rows (xb, yb) (all of
    /// them alone; its share among `group`'s ranks over MPI): the loss gradient on these rows, added up over the ranks
    /// with the batch's loss and the stop flags in one all-reduce (`DataParallel.sum`), then the weight decay and
    /// Adam's step, the same on every rank. Row i draws its dropout masks, and for sdlgm its label set's truncation
    /// (above L0) and ordering, from `streams[i]`. Returns the minibatch's mean loss and whether any rank asked to
    /// stop (`stopping`, asked once the gradient is formed).
    func step(_ network: inout SupervisedNetwork, _ adam: inout Adam, _ xb: CSRMatrix, _ yb: CSRMatrix, batchPoints: Int,
              streams: inout PointStreams, group: ProcessGroup = .single, stopping: () -> Bool = { false }) -> (loss: Double, stop: Bool) {
        network.zeroGradients()
        var loss = 0.0
        if xb.rows > 0 {  // a rank's share is empty when the batch has fewer points than there are ranks
            let (levelLogits, scores, cache) = network.forward(xb.droppingEntries(rate: dropout, streams: &streams),
                                                               hiddenDropout: hiddenDropout, streams: &streams)
            if method == .sdlgm {
                let orderings = (0..<xb.rows).map { i -> [Int] in
                    var set = yb.row(i).indices.map { Int($0) }
                    if set.count > maxActive { set.shuffle(using: &streams[i]); set = Array(set.prefix(maxActive)) }
                    return PlackettLuce.sampleOrdering(set, scores: scores.storage[(i * scores.cols)..<((i + 1) * scores.cols)],
                                                       using: &streams[i])
                }
                let (value, gradLevel, gradLabels) = SupervisedObjectives.sdlgm(levelLogits: levelLogits!, labelScores: scores,
                                                                                 orderings: orderings, smoothing: labelSmoothing)
                network.backward(cache, gradLevel: gradLevel, gradLabels: gradLabels)
                loss = value
            } else {
                let (value, gradLabels) = SupervisedObjectives.oneVsAll(labelScores: scores, labels: yb)
                network.backward(cache, gradLevel: nil, gradLabels: gradLabels)
                loss = value
            }
        }
        var sums = [loss * Double(xb.rows), stopping() ? 1 : 0]
        if group.size > 1 {
            var gradient = network.gradients
            DataParallel.sum(&gradient, points: xb.rows, of: batchPoints, sums: &sums, over: group)
            network.gradients = gradient
            loss = sums[0] / Double(batchPoints)
        }
        network.decayWeights(Float(learningRate * weightDecay))
        network.step(&adam, wideRateScale: Float((wideLearningRate ?? learningRate) / learningRate))
        return (loss, sums[1] > 0)
    }
}

extension SupervisedTrainer {
    /// The settings that mean something only for some methods; `sk-train sdlgm` refuses one given where it does not
    /// apply instead of ignoring it.
    public enum Setting: String, Sendable, CaseIterable {
        case hidden, maxActive = "max-active", epochs, steps, batchSize = "batch-size", learningRate = "learning-rate", seed, resume, stream,
             scale, validation, validationFold = "validation-fold", patience, dropout, hiddenDropout = "hidden-dropout",
             weightDecay = "weight-decay", wide, wideLearningRate = "wide-learning-rate", ensemble, neighbours,
             neighbourWeight = "neighbour-weight", labelSmoothing = "label-smoothing"
    }

    /// Where `setting` applies, in words, or nil when it applies to this method.
    public func inapplicability(of setting: Setting) -> String? {
        switch (setting, method) {
        case (.hidden, .sdlgm), (.maxActive, .sdlgm), (.hiddenDropout, .sdlgm), (.wide, .sdlgm), (.wideLearningRate, .sdlgm),
             (.neighbours, .sdlgm), (.neighbourWeight, .sdlgm), (.labelSmoothing, .sdlgm): return nil
        case (.hidden, _), (.maxActive, _), (.hiddenDropout, _), (.wide, _), (.wideLearningRate, _), (.neighbours, _), (.neighbourWeight, _),
             (.labelSmoothing, _):
            return "applies to --method sdlgm only"
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
