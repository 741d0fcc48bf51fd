import DataKit
import Distributed
import Foundation

/// Supervised SDLGM training in progress (`SupervisedTrainer`): the rows (in memory, or a reader streaming them from
/// disk), the label statistics, the network, Adam and the generator. Resumed, it continues the checkpoint's network,
/// Adam's moments and generator, so k epochs and then j resumed ones give the model k + j epochs give.
///
/// Over MPI (`mpirun -np P sk-train sdlgm`, data-parallel, `DataParallel`): every rank draws the same global
/// minibatches one process draws and trains on its share of each; the gradients, the batch's loss and a stop flag
/// are added up in one all-reduce per step before Adam's step, and the validation P@1 from the ranks' hits, so every
/// rank holds the same network and stops after the same epoch. Rows in memory are read whole by every rank (the
/// multilabel files that fit in memory); streamed, each rank reads 1/P of every shuffling buffer and the ranks swap
/// rows so that each holds its share of every batch (`RankShareReader`); sdlgm trains on a batch's labelled rows
/// only, so the ranks then add up how many their shares hold (one all-reduce of P numbers per step). The first pass
/// over the labels (and the features, for the scaling's statistics) is divided too: each rank reads every P-th
/// block and the ranks add up the counts and statistics.
public struct SupervisedSession: TrainingSession {
    /// Where the rows come from.
    public enum Source {
        case memory(features: CSRMatrix, labels: CSRMatrix)
        case stream(MultiLabelRowReader)
    }

    let trainer: SupervisedTrainer
    let source: Source
    /// The ranks training together (one process alone: `single`).
    let group: ProcessGroup
    let tally: SupervisedTrainer.LabelTally
    /// The rows an epoch visits in memory (sdlgm: the labelled ones; a level L ≥ 1 cannot describe an empty set).
    let trainingRows: [Int]
    /// The feature scaling fitted on the training rows (or the resumed model's), applied to every minibatch.
    let scaling: FeatureScaling
    /// The rows held out for early stopping (`SupervisedTrainer.validation`).
    let validation: MultiLabelRowReader.Rows?
    /// The neighbour component of the rows trained on (`SupervisedTrainer.neighbours`).
    let neighbours: NeighbourIndex?
    var network: SupervisedNetwork?
    /// The epoch with the highest validation P@1 so far, its P@1 and its network.
    var best: (epoch: Int, precision: Double, network: SupervisedNetwork)?
    var adam: Adam
    var generator: SeededGenerator
    var history: [SupervisedTrainer.EpochRecord] = []

    /// Validates `trainer` against the rows and the checkpoint to resume, holds out the validation rows, counts the
    /// labels, fits the feature scaling and sets up the network; with a `group` of several ranks, each trains on its
    /// share of every minibatch.
    public init(_ trainer: SupervisedTrainer, source: Source, resume: SupervisedCheckpoint? = nil, group: ProcessGroup = .single) throws {
        try trainer.validate()
        self.group = group
        var source = source
        validation = try Self.holdOut(trainer, from: &source)
        neighbours = try Self.neighbourIndex(trainer, source: source)
        let (featureCount, labelCount) = switch source {
        case .memory(let x, let y): (x.cols, y.cols)
        case .stream(let reader): (reader.featureCount, reader.labelCount)
        }
        let widths = [featureCount] + (trainer.method == .sdlgm ? trainer.hidden : []) + [labelCount]
        let layers = zip(widths, widths.dropFirst()).map { ($0, $1) } + (trainer.wide ? [(featureCount, labelCount)] : [])
        try MemoryBudget.require(layers.map { .floats("the \($0)×\($1) layer with Adam's moments", 3, $0, $1) }
            + [.floats("the activations", 4, trainer.batchSize, widths.dropFirst().max()!), .words("the label counts", labelCount)],
            for: "training with \(featureCount) features, \(labelCount) labels"
                + (trainer.method == .sdlgm ? " and --hidden \(trainer.hidden.map(String.init).joined(separator: ","))" : ""))
        var tally: SupervisedTrainer.LabelTally
        let (features, typicalNonZeros): (Int, Int)
        let fitsScaling = resume == nil && trainer.scaling.map { ![.none, .rowL2].contains($0) } ?? true
        var statistics = FeatureStatistics(features: featureCount)
        /// L0 is a number of labels, so it cannot exceed C (the level head would have levels no label set reaches).
        func requireLevelsWithin(_ labels: Int) throws {
            guard trainer.method != .sdlgm || trainer.maxActive <= labels else {
                throw SparseKitError.usage("--max-active \(trainer.maxActive) exceeds the \(labels) labels of the data (L0 ≤ C)")
            }
        }
        switch source {
        case .memory(let x, let y):
            guard x.rows == y.rows, x.rows > 0 else { throw SparseKitError.usage("no training points") }
            try requireLevelsWithin(y.cols)
            tally = .init(labels: y.cols)
            tally.add(y, maxActive: trainer.maxActive)
            if fitsScaling { statistics.add(x) }
            (features, typicalNonZeros) = (x.cols, max(1, x.nonZeros / x.rows))
            trainingRows = trainer.method == .sdlgm ? (0..<x.rows).filter { y.indptr[$0 + 1] > y.indptr[$0] } : Array(0..<x.rows)
        case .stream(let reader):
            guard reader.rows > 0 else { throw SparseKitError.usage("no training points") }
            try requireLevelsWithin(reader.labelCount)
            tally = .init(labels: reader.labelCount)
            var featureNonZeros = 0
            // A first pass over labels and row lengths; over MPI each rank reads every P-th block and the ranks add up.
            for (k, first) in stride(from: 0, to: reader.rows, by: reader.blockRows).enumerated() where k % group.size == group.rank {
                let range = first..<min(reader.rows, first + reader.blockRows)
                guard fitsScaling else {
                    tally.add(try reader.readLabels(range), maxActive: trainer.maxActive)
                    featureNonZeros += try reader.featureCounts(range).reduce(0, +)
                    continue
                }
                let block = try reader.readBlock(range)  // and over the features, for the scaling's statistics
                tally.add(block.labels, maxActive: trainer.maxActive)
                statistics.add(block.features)
                featureNonZeros += block.features.nonZeros
            }
            if group.size > 1 {
                tally.combine(over: group)
                if fitsScaling { statistics.combine(over: group) }
                var total = [Double(featureNonZeros)]
                group.sum(&total)
                featureNonZeros = Int(total[0])
            }
            (features, typicalNonZeros) = (reader.featureCount, max(1, featureNonZeros / reader.rows))
            trainingRows = []
        }
        (self.trainer, self.source, self.tally) = (trainer, source, tally)
        scaling = try Self.scaling(trainer, statistics: statistics, resume: resume)
        generator = SeededGenerator(seed: trainer.seed)
        adam = Adam(learningRate: trainer.learningRate)
        if trainer.method != .mostFrequent {
            network = SupervisedNetwork(
                features: features, labels: tally.occurrences.count, hidden: trainer.method == .sdlgm ? trainer.hidden : [],
                maxActive: trainer.method == .sdlgm ? trainer.maxActive : nil, typicalNonZeros: typicalNonZeros,
                wide: trainer.method == .sdlgm && trainer.wide, generator: &generator)
        }
        if let resume { try restore(resume, features: features) }
    }

    /// Takes `trainer.validation`'s fraction of the rows, or its `validationFold`, out of an in-memory `source`, in
    /// an order drawn by a generator of the seed alone (so a resumed run holds out the same rows, and the folds of
    /// one seed partition the rows), and returns them.
    private static func holdOut(_ trainer: SupervisedTrainer, from source: inout Source) throws -> MultiLabelRowReader.Rows? {
        guard trainer.holdsOut else { return nil }
        let option = trainer.validationFold == nil ? "--validation" : "--validation-fold"
        guard case .memory(let x, let y) = source else {
            throw SparseKitError.usage("\(option) needs the training rows in memory; it does not combine with --stream "
                + "(convert the validation rows to a file of their own instead)")
        }
        guard x.rows >= 2 else { throw SparseKitError.usage("\(option) needs at least 2 training points") }
        if let problem = trainer.validationFold?.problem(rows: x.rows) { throw SparseKitError.usage("--validation-fold \(problem)") }
        var carving = SeededGenerator(seed: trainer.seed ^ 0x7661_6C69_6461_7465)  // "validate"
        var order = Array(0..<x.rows)
        order.shuffle(using: &carving)
        let part = trainer.validationFold?.heldOut(rows: x.rows)
            ?? 0..<SupervisedTrainer.validationCount(rows: x.rows, fraction: trainer.validation!)
        let (held, kept) = (order[part].sorted(), (order[..<part.lowerBound] + order[part.upperBound...]).sorted())
        source = .memory(features: x.gatheringRows(kept), labels: y.gatheringRows(kept))
        return .init(features: x.gatheringRows(held), labels: y.gatheringRows(held))
    }

    /// The feature scaling of this run: the resumed model's (a different `--scale` is refused), or `trainer.scaling`
    /// (automatic when nil) fitted to the training rows' `statistics`.
    private static func scaling(_ trainer: SupervisedTrainer, statistics: FeatureStatistics,
                                resume: SupervisedCheckpoint?) throws -> FeatureScaling {
        if let resume {
            let stored = resume.predictor.scaling
            if let method = trainer.scaling, method != stored.method {
                throw SparseKitError.badInput(resume.resumeState.path, "was trained with --scale \(stored.method.rawValue); resume with the same")
            }
            return stored
        }
        return statistics.scaling(trainer.scaling ?? statistics.automaticMethod)
    }

    /// Continues from `checkpoint`, after checking that it has this trainer's method, sizes and data shape.
    private mutating func restore(_ checkpoint: SupervisedCheckpoint, features: Int) throws {
        let predictor = checkpoint.model.predictor
        let sizes = predictor.network.map { [$0.input.outputs] + $0.hidden.map(\.outputs) }
        guard trainer.method != .mostFrequent, predictor.method == trainer.method, checkpoint.model.maxActive == trainer.maxActive,
              let stored = predictor.network, stored.input.inputs == features, stored.labels == tally.occurrences.count,
              trainer.method == .oneVsAll || sizes == trainer.hidden, (stored.wide != nil) == (trainer.method == .sdlgm && trainer.wide)
        else {
            throw SparseKitError.badInput(checkpoint.resumeState.path, "was trained with another --method, --max-active, --hidden, --wide or data shape; "
                + "resume with the same")
        }
        let validated = checkpoint.history.compactMap(\.validationPrecision)
        guard validated.isEmpty == (validation == nil) else {
            throw SparseKitError.badInput(checkpoint.resumeState.path, validation == nil
                ? "was trained with --validation or --validation-fold; resume with the same and the same seed"
                : "was trained without --validation: its training rows include any rows held out now; resume without it")
        }
        if let last = checkpoint.history.last, let precision = last.validationPrecision {
            // The file holds the weights of the first epoch that reached the best P@1 (`runEpoch`), not the last's.
            let bestEpoch = checkpoint.history.first { $0.validationPrecision == validated.max()! }!.epoch
            guard bestEpoch == last.epoch else {
                throw SparseKitError.badInput(checkpoint.resumeState.path, "stopped early: it holds the weights of epoch \(bestEpoch), its best "
                    + "on the validation rows, not those of epoch \(last.epoch) where training stopped, so it cannot continue exactly; "
                    + "train again with a larger --patience")
            }
            best = (last.epoch, precision, stored)
        }
        network = stored
        if let moments = checkpoint.resumeState.adam { adam.moments = moments }
        generator = checkpoint.resumeState.generator
        history = checkpoint.history
    }

    public var notes: [String: HDF5AttributeValue] {
        var streamed = 0
        if case .stream = source { streamed = 1 }
        var notes: [String: HDF5AttributeValue] = [
            "streamed": .int(streamed), "truncated_points": .int(tally.truncated), "points_without_labels": .int(tally.unlabeled),
            "feature_scaling": .string(scaling.method.rawValue)]
        if let validation { notes["validation_points"] = .int(validation.features.rows) }
        if let best { notes["best_epoch"] = .int(best.epoch) }
        if group.usesMPI { notes["ranks"] = .int(group.size) }  // trained by an MPI job of this many processes
        return notes
    }

    /// With validation rows: training stops once `patience` epochs have passed without a better P@1 on them.
    public var isComplete: Bool {
        guard let best else { return false }
        return history.count - best.epoch >= trainer.patience
    }

    /// The predictor of `network` with this run's label statistics, scaling and neighbour component.
    func predictor(_ network: SupervisedNetwork?) -> SupervisedPredictor {
        var predictor = SupervisedPredictor(method: trainer.method, network: network, labelFrequencies: tally.frequencies,
                                            meanLabelCount: tally.meanCount, trainingPoints: tally.rows, scaling: scaling)
        predictor.neighbours = neighbours
        return predictor
    }

    /// The neighbour component of the rows left to train on (nil without `--neighbours`); it needs them in memory.
    private static func neighbourIndex(_ trainer: SupervisedTrainer, source: Source) throws -> NeighbourIndex? {
        guard let count = trainer.neighbours else { return nil }
        guard case .memory(let x, let y) = source else {
            throw SparseKitError.usage("--neighbours keeps the training rows in the model and needs them in memory; it does not combine with --stream")
        }
        return try NeighbourIndex(features: x, labels: y, count: count, weight: trainer.neighbourWeight)
    }

    /// The model as it stands; with validation rows, the best epoch's network (the history keeps every epoch).
    public var checkpoint: SupervisedCheckpoint {
        let predictor = predictor(best?.network ?? network)
        return SupervisedCheckpoint(model: .init(predictor: predictor, maxActive: trainer.maxActive), history: history,
                                    resumeState: ResumeState(generator: generator, adam: adam.moments),
                                    trainingPoints: tally.rows, truncatedPoints: tally.truncated, pointsWithoutLabels: tally.unlabeled)
    }

    /// Minibatches of B rows over the rows an epoch visits (streamed: every row of the file).
    public var minibatchesPerEpoch: Int? {
        let rows = switch source {
        case .memory: trainingRows.count
        case .stream(let reader): reader.rows
        }
        return (rows + trainer.batchSize - 1) / trainer.batchSize
    }

    public static var runningObjectiveName: String { "loss" }

    public mutating func runEpoch(shouldStop: () -> Bool) throws -> SupervisedTrainer.EpochRecord {
        try runEpoch(shouldStop: shouldStop) { _ in }
    }

    /// One pass over the minibatches; `minibatchDone` hears the running loss per point after each. One BLAS thread:
    /// the products are small (a batch times the hidden layer), and a second thread's spinning between calls cost a
    /// core of system time (measured on bibtex).
    public mutating func runEpoch(shouldStop: () -> Bool, minibatchDone: (_ runningObjective: Double?) -> Void) throws
        -> SupervisedTrainer.EpochRecord
    {
        guard var network else { preconditionFailure("most-frequent has no epochs (SupervisedTrainer.epochs is 0)") }
        let started = Date()
        var lossSum = 0.0, processed = 0, minibatch = 0  // all rows (of every rank), unless stopped
        let (trainer, batchSize, scaling, divergence, group) = (self.trainer, self.trainer.batchSize, self.scaling, self.divergence, self.group)
        /// One step on this rank's share of the minibatch `rows` (positions `share` of it); whether to go on.
        func train(_ rows: MultiLabelRowReader.Rows, batchPoints: Int, share: Range<Int>, _ generator: inout SeededGenerator) throws -> Bool {
            var streams = PointStreams(stepOf: &generator, positions: share)
            let xb = try scaling.apply(rows.features)
            let (loss, stop) = trainer.step(&network, &adam, xb, rows.labels, batchPoints: batchPoints, streams: &streams, group: group,
                                            stopping: shouldStop)
            minibatch += 1
            guard loss.isFinite else { throw divergence(loss, minibatch, xb) }
            lossSum += loss * Double(batchPoints)
            processed += batchPoints
            minibatchDone(lossSum / Double(processed))
            if stop, !shouldStop() { Interruption.request() }  // another rank was interrupted: stop here too
            return !stop
        }
        try BLASThreads.with(1) {
            switch source {
            case .memory(let x, let y):
                var order = trainingRows
                order.shuffle(using: &generator)
                for first in stride(from: 0, to: order.count, by: batchSize) {
                    let batch = order[first..<min(order.count, first + batchSize)]
                    let share = group.share(of: batch.count)
                    let rows = Array(batch.dropFirst(share.lowerBound).prefix(share.count))
                    let mine = MultiLabelRowReader.Rows(features: x.gatheringRows(rows), labels: y.gatheringRows(rows))
                    guard try train(mine, batchPoints: batch.count, share: share, &generator) else { break }
                }
            case .stream(let reader) where group.size > 1:
                // Each rank reads 1/P of every buffer and receives its share of each batch (`RankShareReader`).
                try RankShareReader(reader, group: group).forEachShare(size: batchSize, using: &generator) { share, count, generator in
                    var (rows, points) = (share, count)
                    var first = group.share(of: count).lowerBound
                    if trainer.method == .sdlgm {
                        // As one process: the batch's labelled rows alone, numbered in batch order. The ranks tell
                        // each other how many their shares hold (an all-reduce of P numbers).
                        let labelled = (0..<rows.labels.rows).filter { rows.labels.indptr[$0 + 1] > rows.labels.indptr[$0] }
                        if labelled.count < rows.labels.rows { rows = MultiLabelRowReader.gathering(labelled, of: rows) }
                        var counts = [Double](repeating: 0, count: group.size)
                        counts[group.rank] = Double(labelled.count)
                        group.sum(&counts)
                        (points, first) = (Int(counts.reduce(0, +)), Int(counts[..<group.rank].reduce(0, +)))
                        guard points > 0 else { return true }
                    }
                    return try train(rows, batchPoints: points, share: first..<(first + rows.features.rows), &generator)
                }
            case .stream(let reader):
                try reader.forEachBatch(size: batchSize, using: &generator) { batch, generator in
                    var batch = batch
                    if trainer.method == .sdlgm {
                        let labelled = (0..<batch.labels.rows).filter { batch.labels.indptr[$0 + 1] > batch.labels.indptr[$0] }
                        guard !labelled.isEmpty else { return true }
                        if labelled.count < batch.labels.rows { batch = MultiLabelRowReader.gathering(labelled, of: batch) }
                    }
                    let (count, share) = (batch.features.rows, group.share(of: batch.features.rows))
                    if share.count < count { batch = MultiLabelRowReader.gathering(Array(share), of: batch) }
                    return try train(batch, batchPoints: count, share: share, &generator)
                }
            }
        }
        let loss = lossSum / Double(max(processed, 1))
        guard loss.isFinite else { throw TrainingDivergence("loss \(loss)") }
        guard network.parameters.allSatisfy(\.isFinite) else { throw TrainingDivergence("weights no longer finite") }
        self.network = network
        var record = SupervisedTrainer.EpochRecord(epoch: history.count + 1, loss: loss, seconds: Provenance.elapsed(since: started))
        if let validation {
            let precision = try validationPrecision(network, validation)
            record.validationPrecision = precision
            if best.map({ precision > $0.precision }) ?? true { best = (record.epoch, precision, network) }
        }
        history.append(record)
        return record
    }

    /// P@1 of `network` on the validation rows. Over MPI each rank predicts its share of them and the ranks add up
    /// the hits (one all-reduce per epoch), so that every rank has the same P@1 and all stop after the same epoch.
    private func validationPrecision(_ network: SupervisedNetwork, _ validation: MultiLabelRowReader.Rows) throws -> Double {
        let n = validation.features.rows
        let share = group.share(of: n)
        var rows = validation
        if share.count < n { rows = MultiLabelRowReader.gathering(Array(share), of: validation) }
        var hits = [0.0]
        if !share.isEmpty {
            let (ranking, _) = try BLASThreads.with(1) { try predictor(network).predict(rows.features, k: 1) }
            let precision = RankingMetrics.evaluate(ranking, truth: rows.labels, ks: [1])[0].precision
            guard group.size > 1 else { return precision }
            hits[0] = (precision * Double(share.count)).rounded()
        }
        group.sum(&hits)
        return hits[0] / Double(n)
    }

    /// The divergence of a minibatch whose loss is no longer finite, with what most often causes it.
    private func divergence(_ loss: Double, minibatch: Int, features: CSRMatrix) -> TrainingDivergence {
        let largest = features.values.lazy.map { abs($0) }.max() ?? 0
        let remedy = scaling.method == .none && largest > 100
            ? "scale them (--scale standardize or max-abs) or lower --learning-rate (\(trainer.learningRate))"
            : "lower --learning-rate (\(trainer.learningRate))"
        return TrainingDivergence(String(format: "the loss became %@ in minibatch %d; the %@ features reach |x| = %.3g: %@",
                                         "\(loss)", minibatch, scaling.method == .none ? "unscaled" : "scaled (\(scaling.method.rawValue))",
                                         Double(largest), remedy))
    }
}

/// A supervised multi-label model and its L0, as the training job writes it.
public struct SupervisedModel: TrainedModel {
    public var predictor: SupervisedPredictor
    public var maxActive: Int

    public var modelKind: ModelKind { .supervisedSDLGM }

    public func write(to file: HDF5File) throws { try predictor.write(to: file, maxActive: maxActive) }
}

/// A supervised model as training left it: the model, its history, the resume state, the number of training points
/// and the counts of those whose label sets were truncated to L0 or empty.
public struct SupervisedCheckpoint: TrainingCheckpoint {
    public var model: SupervisedModel
    public var history: [SupervisedTrainer.EpochRecord]
    public var resumeState: ResumeState
    public var trainingPoints: Int
    public var truncatedPoints: Int
    public var pointsWithoutLabels: Int

    /// The trained predictor.
    public var predictor: SupervisedPredictor { model.predictor }

    /// With validation rows: the first epoch that reached the best validation P@1, whose weights the model holds.
    public var bestEpoch: Int? {
        guard let best = history.compactMap(\.validationPrecision).max() else { return nil }
        return history.first { $0.validationPrecision == best }?.epoch
    }

    public func writeHistoryAndState(to file: HDF5File) throws {
        try SupervisedTrainer.EpochRecord.write(history, to: file)
        try resumeState.write(to: file)
    }

    /// The checkpoint a model file holds, to continue training it.
    public static func read(from file: HDF5File) throws -> SupervisedCheckpoint {
        let (predictor, maxActive) = try SupervisedPredictor.read(from: file)
        guard predictor.ensemble.isEmpty else {
            throw SparseKitError.badInput(file.path, "is an ensemble of \(predictor.members) models (sk-train sdlgm --ensemble), which "
                + "cannot be resumed; train it again with more --epochs")
        }
        return SupervisedCheckpoint(model: .init(predictor: predictor, maxActive: maxActive),
                                    history: try SupervisedTrainer.EpochRecord.read(from: file),
                                    resumeState: try ResumeState.read(from: file, adam: true), trainingPoints: 0, truncatedPoints: 0,
                                    pointsWithoutLabels: 0)
    }
}

extension SupervisedTrainer {
    /// Opens the session on a multilabel file's split: in memory, or streamed from disk with `stream` or when the
    /// split exceeds half of the machine's memory; continuing `resume` when given. Under mpirun with several ranks
    /// (`ProcessGroup.world`) the ranks train data-parallel (`SupervisedSession`).
    public func session(data: HDF5File, resume: HDF5File?) throws -> SupervisedSession {
        try validate()
        let group = ProcessGroup.launchedByMPIRun ? ProcessGroup.world : .single
        let checkpoint = try resume.map { try SupervisedCheckpoint.read(from: $0) }
        return try SupervisedSession(self, source: try source(data), resume: checkpoint, group: group)
    }

    /// The rows of `split` in `data`: in memory, or a reader streaming them with `stream` or when the split exceeds
    /// half of the machine's memory.
    func source(_ data: HDF5File) throws -> SupervisedSession.Source {
        let reader = try MultiLabelRowReader(file: data, split: split)
        if stream || reader.exceedsHalfOfMemory { return .stream(reader) }
        let rows = try MultiLabelDataset.read(from: data).rows(ofSplit: split, in: data.path)
        return .memory(features: rows.features, labels: rows.labels)
    }
}
