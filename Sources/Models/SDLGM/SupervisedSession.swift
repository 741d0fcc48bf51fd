import DataKit
import Foundation

/// Supervised SDLGM training in progress (`SupervisedTrainer`): the rows (in memory, or a reader streaming them from
/// disk), the label statistics, the network, Adam and the generator. Resumed, it continues the checkpoint's network,
/// Adam's moments and generator, so k epochs and then j resumed ones give the model k + j epochs give.
public struct SupervisedSession: TrainingSession {
    /// Where the rows come from.
    public enum Source {
        case memory(features: CSRMatrix, labels: CSRMatrix)
        case stream(MultiLabelRowReader)
    }

    let trainer: SupervisedTrainer
    let source: Source
    let tally: SupervisedTrainer.LabelTally
    /// The rows an epoch visits in memory (sdlgm: the labelled ones; a level L ≥ 1 cannot describe an empty set).
    let trainingRows: [Int]
    var network: SupervisedNetwork?
    var adam: Adam
    var generator: SeededGenerator
    var history: [SupervisedTrainer.EpochRecord] = []

    /// Validates `trainer` against the rows and the checkpoint to resume, counts the labels and sets up the network.
    public init(_ trainer: SupervisedTrainer, source: Source, resume: SupervisedCheckpoint? = nil) throws {
        try trainer.validate()
        let (featureCount, labelCount) = switch source {
        case .memory(let x, let y): (x.cols, y.cols)
        case .stream(let reader): (reader.featureCount, reader.labelCount)
        }
        let widths = [featureCount] + (trainer.method == .sdlgm ? trainer.hidden : []) + [labelCount]
        try MemoryBudget.require(zip(widths, widths.dropFirst()).map { .floats("the \($0)×\($1) layer with Adam's moments", 3, $0, $1) }
            + [.floats("the activations", 4, trainer.batchSize, widths.dropFirst().max()!), .words("the label counts", labelCount)],
            for: "training with \(featureCount) features, \(labelCount) labels"
                + (trainer.method == .sdlgm ? " and --hidden \(trainer.hidden.map(String.init).joined(separator: ","))" : ""))
        var tally: SupervisedTrainer.LabelTally
        let (features, typicalNonZeros): (Int, Int)
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
            (features, typicalNonZeros) = (x.cols, max(1, x.nonZeros / x.rows))
            trainingRows = trainer.method == .sdlgm ? (0..<x.rows).filter { y.indptr[$0 + 1] > y.indptr[$0] } : Array(0..<x.rows)
        case .stream(let reader):
            guard reader.rows > 0 else { throw SparseKitError.usage("no training points") }
            try requireLevelsWithin(reader.labelCount)
            tally = .init(labels: reader.labelCount)
            var featureNonZeros = 0
            for first in stride(from: 0, to: reader.rows, by: reader.blockRows) {  // a first pass over labels and row lengths
                let range = first..<min(reader.rows, first + reader.blockRows)
                tally.add(try reader.readLabels(range), maxActive: trainer.maxActive)
                featureNonZeros += try reader.featureCounts(range).reduce(0, +)
            }
            (features, typicalNonZeros) = (reader.featureCount, max(1, featureNonZeros / reader.rows))
            trainingRows = []
        }
        (self.trainer, self.source, self.tally) = (trainer, source, tally)
        generator = SeededGenerator(seed: trainer.seed)
        adam = Adam(learningRate: trainer.learningRate)
        if trainer.method != .mostFrequent {
            network = SupervisedNetwork(
                features: features, labels: tally.occurrences.count, hidden: trainer.method == .sdlgm ? trainer.hidden : [],
                maxActive: trainer.method == .sdlgm ? trainer.maxActive : nil, typicalNonZeros: typicalNonZeros, generator: &generator)
        }
        if let resume { try restore(resume, features: features) }
    }

    /// Continues from `checkpoint`, after checking that it has this trainer's method, sizes and data shape.
    private mutating func restore(_ checkpoint: SupervisedCheckpoint, features: Int) throws {
        let predictor = checkpoint.model.predictor
        let sizes = predictor.network.map { [$0.input.outputs] + $0.hidden.map(\.outputs) }
        guard trainer.method != .mostFrequent, predictor.method == trainer.method, checkpoint.model.maxActive == trainer.maxActive,
              let stored = predictor.network, stored.input.inputs == features, stored.labels == tally.occurrences.count,
              trainer.method == .oneVsAll || sizes == trainer.hidden
        else {
            throw SparseKitError.badInput(checkpoint.resumeState.path, "was trained with another --method, --max-active, --hidden or data shape; "
                + "resume with the same")
        }
        network = stored
        if let moments = checkpoint.resumeState.adam { adam.moments = moments }
        generator = checkpoint.resumeState.generator
        history = checkpoint.history
    }

    public var notes: [String: HDF5AttributeValue] {
        var streamed = 0
        if case .stream = source { streamed = 1 }
        return ["streamed": .int(streamed), "truncated_points": .int(tally.truncated), "points_without_labels": .int(tally.unlabeled)]
    }

    public var checkpoint: SupervisedCheckpoint {
        let predictor = SupervisedPredictor(method: trainer.method, network: network, labelFrequencies: tally.frequencies,
                                            meanLabelCount: tally.meanCount, trainingPoints: tally.rows)
        return SupervisedCheckpoint(model: .init(predictor: predictor, maxActive: trainer.maxActive), history: history,
                                    resumeState: ResumeState(generator: generator, adam: adam.moments),
                                    trainingPoints: tally.rows, truncatedPoints: tally.truncated, pointsWithoutLabels: tally.unlabeled)
    }

    /// One pass over the minibatches. One BLAS thread: the products are small (a batch times the hidden layer), and
    /// a second thread's spinning between calls cost a core of system time (measured on bibtex).
    public mutating func runEpoch(shouldStop: () -> Bool) throws -> SupervisedTrainer.EpochRecord {
        guard var network else { preconditionFailure("most-frequent has no epochs (SupervisedTrainer.epochs is 0)") }
        let started = Date()
        var lossSum = 0.0, processed = 0  // all rows, unless stopped
        let (trainer, batchSize) = (self.trainer, self.trainer.batchSize)
        try BLASThreads.with(1) {
            switch source {
            case .memory(let x, let y):
                var order = trainingRows
                order.shuffle(using: &generator)
                for first in stride(from: 0, to: order.count, by: batchSize) {
                    if first > 0, shouldStop() { break }
                    let rows = Array(order[first..<min(order.count, first + batchSize)])
                    lossSum += trainer.step(&network, &adam, x.gatheringRows(rows), y.gatheringRows(rows), &generator) * Double(rows.count)
                    processed += rows.count
                }
            case .stream(let reader):
                try reader.forEachBatch(size: batchSize, using: &generator) { batch, generator in
                    var batch = batch
                    if trainer.method == .sdlgm {
                        let labelled = (0..<batch.labels.rows).filter { batch.labels.indptr[$0 + 1] > batch.labels.indptr[$0] }
                        guard !labelled.isEmpty else { return true }
                        if labelled.count < batch.labels.rows { batch = MultiLabelRowReader.gathering(labelled, of: batch) }
                    }
                    lossSum += trainer.step(&network, &adam, batch.features, batch.labels, &generator) * Double(batch.features.rows)
                    processed += batch.features.rows
                    return !shouldStop()
                }
            }
        }
        let loss = lossSum / Double(max(processed, 1))
        guard loss.isFinite else { throw TrainingDivergence("loss \(loss)") }
        guard network.parameters.allSatisfy(\.isFinite) else { throw TrainingDivergence("weights no longer finite") }
        self.network = network
        let record = SupervisedTrainer.EpochRecord(epoch: history.count + 1, loss: loss, seconds: Provenance.elapsed(since: started))
        history.append(record)
        return record
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

    public func writeHistoryAndState(to file: HDF5File) throws {
        try SupervisedTrainer.EpochRecord.write(history, to: file)
        try resumeState.write(to: file)
    }

    /// The checkpoint a model file holds, to continue training it.
    public static func read(from file: HDF5File) throws -> SupervisedCheckpoint {
        let (predictor, maxActive) = try SupervisedPredictor.read(from: file)
        return SupervisedCheckpoint(model: .init(predictor: predictor, maxActive: maxActive),
                                    history: try SupervisedTrainer.EpochRecord.read(from: file),
                                    resumeState: try ResumeState.read(from: file, adam: true), trainingPoints: 0, truncatedPoints: 0,
                                    pointsWithoutLabels: 0)
    }
}

extension SupervisedTrainer {
    /// Opens the session on a multilabel file's split: in memory, or streamed from disk with `stream` or when the
    /// split exceeds half of the machine's memory; continuing `resume` when given.
    public func session(data: HDF5File, resume: HDF5File?) throws -> SupervisedSession {
        try validate()
        let reader = try MultiLabelRowReader(file: data, split: split)
        let checkpoint = try resume.map { try SupervisedCheckpoint.read(from: $0) }
        if stream || reader.exceedsHalfOfMemory { return try SupervisedSession(self, source: .stream(reader), resume: checkpoint) }
        let rows = try MultiLabelDataset.read(from: data).rows(ofSplit: split, in: data.path)
        return try SupervisedSession(self, source: .memory(features: rows.features, labels: rows.labels), resume: checkpoint)
    }
}
