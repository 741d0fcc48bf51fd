import DataKit
import Distributed
import Foundation

/// Unsupervised SDLGM training in progress (`UnsupervisedTrainer`): the rows (in memory, or a reader streaming them
/// from disk), the model, Adam, the generator and the step count that drives the temperature and KL schedules.
/// Resumed, it continues all of them (the temperature schedule keeps the length it was given in the first run), so k
/// epochs and then j resumed ones give the model k + j epochs give when the schedule's length is the same
/// (`--tau START:END:EPOCHS`).
///
/// Over MPI (`mpirun -np P sk-train sdlgm --mode unsupervised`, data-parallel, `DataParallel`): every rank draws the
/// same global minibatches one process draws and trains on its share of each; the gradients, the batch's ELBO terms
/// and a stop flag are added up in one all-reduce per step before Adam's step, so every rank holds the same model.
/// Rows in memory are read whole by every rank; streamed (patches or whitened files), each rank reads 1/P of every
/// shuffling buffer and the ranks swap rows (`RankShareReader`).
public struct UnsupervisedSession: TrainingSession {
    /// Where the rows come from.
    public enum Source {
        case memory(Matrix)
        case stream(ShuffledRowReader)
    }

    let trainer: UnsupervisedTrainer
    let source: Source
    /// The ranks training together (one process alone: `single`).
    let group: ProcessGroup
    var model: UnsupervisedSDLGM
    var adam: Adam
    var generator: SeededGenerator
    var history: [UnsupervisedTrainer.EpochRecord] = []
    /// Adam steps taken so far, and the steps over which the temperatures fall.
    var step = 0
    var temperatureSteps: Int
    let batches: Int

    /// Validates `trainer` against the data and the checkpoint to resume, and sets up the model; with a `group` of
    /// several ranks, each trains on its share of every minibatch.
    public init(_ trainer: UnsupervisedTrainer, source: Source, resume: UnsupervisedCheckpoint? = nil, group: ProcessGroup = .single) throws {
        try trainer.validate()
        self.group = group
        let (rows, dimension): (Int, Int)
        switch source {
        case .memory(let x): (rows, dimension) = (x.rows, x.cols)
        case .stream(let reader): (rows, dimension) = (reader.rows, reader.cols)
        }
        guard rows > 0, dimension > 0 else { throw SparseKitError.usage("no training points") }
        let widths = [dimension] + trainer.hidden + [4 * trainer.latents]  // the encoder's layers, then K's logits and values
        let (batch, k) = (min(trainer.batchSize, rows), trainer.latents)
        try MemoryBudget.require(zip(widths, widths.dropFirst()).map { .floats("the encoder's \($0)×\($1) layer with Adam's moments", 3, $0, $1) } + [
            .floats("the decoder with Adam's moments", 3, k, dimension), .floats("the encoder's activations", 2, batch, widths.max()!),
            .floats("the samples", 4, trainer.samples, batch, k + dimension),
        ], for: "training with --latents \(k), --hidden \(trainer.hidden.map(String.init).joined(separator: ",")), --samples \(trainer.samples)")
        (self.trainer, self.source) = (trainer, source)
        generator = SeededGenerator(seed: trainer.seed)
        model = UnsupervisedSDLGM(dimension: dimension, latents: trainer.latents, maxActive: trainer.maxActive, hidden: trainer.hidden,
                                  decoder: trainer.decoder, likelihood: trainer.likelihood, generator: &generator)
        adam = Adam(learningRate: trainer.learningRate)
        batches = (rows + trainer.batchSize - 1) / trainer.batchSize
        temperatureSteps = (trainer.temperatures.epochs ?? trainer.epochs) * batches
        if let resume { try restore(resume) }
    }

    /// Continues from `checkpoint`, after checking that it has this trainer's sizes, likelihood and decoder.
    private mutating func restore(_ checkpoint: UnsupervisedCheckpoint) throws {
        let stored = checkpoint.model
        guard stored.dimension == model.dimension, stored.latents == model.latents, stored.maxActive == model.maxActive,
              stored.likelihood == model.likelihood, stored.decoderKind == model.decoderKind,
              stored.encoder.layers.map(\.outputs) == model.encoder.layers.map(\.outputs)
        else {
            throw SparseKitError.badInput(checkpoint.resumeState.path, "was trained with D = \(stored.dimension), --latents \(stored.latents), "
                + "--max-active \(stored.maxActive), --likelihood \(stored.likelihood.rawValue), --decoder \(stored.decoderKind.rawValue) "
                + "or other --hidden sizes; resume with the same")
        }
        model = stored
        if let moments = checkpoint.resumeState.adam { adam.moments = moments }
        generator = checkpoint.resumeState.generator
        step = checkpoint.resumeState.counters["step"] ?? 0
        temperatureSteps = trainer.temperatures.epochs.map { $0 * batches } ?? checkpoint.resumeState.counters["temperature_steps"] ?? 0
        history = checkpoint.history
    }

    public var notes: [String: HDF5AttributeValue] {
        var streamed = 0
        if case .stream = source { streamed = 1 }
        var notes: [String: HDF5AttributeValue] = ["mode": .string("unsupervised"), "streamed": .int(streamed)]
        if group.usesMPI { notes["ranks"] = .int(group.size) }  // trained by an MPI job of this many processes
        return notes
    }

    public var checkpoint: UnsupervisedCheckpoint {
        var state = ResumeState(generator: generator, adam: adam.moments)
        state.counters = ["step": step, "temperature_steps": temperatureSteps]
        return UnsupervisedCheckpoint(model: model, history: history, resumeState: state)
    }

    public var minibatchesPerEpoch: Int? { batches }

    public static var runningObjectiveName: String { "ELBO" }

    public mutating func runEpoch(shouldStop: () -> Bool) throws -> UnsupervisedTrainer.EpochRecord {
        try runEpoch(shouldStop: shouldStop) { _ in }
    }

    /// One epoch; `minibatchDone` hears the running ELBO per point after every minibatch.
    public mutating func runEpoch(shouldStop: () -> Bool, minibatchDone: (_ runningObjective: Double?) -> Void) throws
        -> UnsupervisedTrainer.EpochRecord
    {
        let started = Date()
        var sums = UnsupervisedObjective.Terms()
        var processed = 0  // all rows, unless stopped
        var tau = trainer.temperature(step: step, total: temperatureSteps)
        let (trainer, batchSize, group) = (self.trainer, self.trainer.batchSize, self.group)
        let warmupSteps = trainer.klWarmup * batches
        /// One step on this rank's rows `xb` (positions `share`) of a minibatch of `batchPoints`; whether to go on.
        func train(_ xb: Matrix, batchPoints: Int, share: Range<Int>, _ generator: inout SeededGenerator) -> Bool {
            tau = trainer.temperature(step: step, total: temperatureSteps)
            let klWeight = warmupSteps > 0 ? min(1, Double(step + 1) / Double(warmupSteps)) : 1
            var streams = PointStreams(stepOf: &generator, positions: share)
            let stop = trainer.step(&model, &adam, xb, batchPoints: batchPoints, tau: tau, klWeight: klWeight, &sums, streams: &streams,
                                    group: group, stopping: shouldStop)
            processed += batchPoints
            step += 1
            minibatchDone(sums.elbo / Double(processed))
            if stop, !shouldStop() { Interruption.request() }  // another rank was interrupted: stop here too
            return !stop
        }
        switch source {
        case .memory(let x):
            var order = Array(0..<x.rows)
            order.shuffle(using: &generator)
            for first in stride(from: 0, to: x.rows, by: batchSize) {
                let batch = order[first..<min(x.rows, first + batchSize)]
                let share = group.share(of: batch.count)
                guard train(x.gathering(Array(batch.dropFirst(share.lowerBound).prefix(share.count))), batchPoints: batch.count,
                            share: share, &generator) else { break }
            }
        case .stream(let reader) where group.size > 1:
            try RankShareReader(reader, group: group).forEachShare(size: batchSize, using: &generator) { xb, batchPoints, generator in
                train(xb, batchPoints: batchPoints, share: group.share(of: batchPoints), &generator)
            }
        case .stream(let reader):
            try reader.forEachBatch(size: batchSize, using: &generator) { xb, generator in
                train(xb, batchPoints: xb.rows, share: 0..<xb.rows, &generator)
            }
        }
        let n = Double(max(processed, 1))
        let record = UnsupervisedTrainer.EpochRecord(
            epoch: history.count + 1, elbo: sums.elbo / n, logLikelihood: sums.logLikelihood / n, levelKL: sums.levelKL / n,
            supportKL: sums.supportKL / n, valueKL: sums.valueKL / n,
            meanSquaredError: sums.squaredError / (n * Double(model.dimension)), active: sums.active / n, temperature: tau,
            sigma2: exp(Double(model.logNoiseVariance)), seconds: Provenance.elapsed(since: started))
        guard record.elbo.isFinite else { throw TrainingDivergence("ELBO \(record.elbo)") }
        guard model.encoder.layers.parameters.allSatisfy(\.isFinite), model.decoder.layers.parameters.allSatisfy(\.isFinite),
              model.logNoiseVariance.isFinite else {
            throw TrainingDivergence("weights no longer finite")
        }
        history.append(record)
        return record
    }
}

/// An unsupervised SDLGM model as training left it: the model, its history and the resume state.
public struct UnsupervisedCheckpoint: TrainingCheckpoint {
    public var model: UnsupervisedSDLGM
    public var history: [UnsupervisedTrainer.EpochRecord]
    public var resumeState: ResumeState

    public func writeHistoryAndState(to file: HDF5File) throws {
        try UnsupervisedTrainer.EpochRecord.write(history, to: file)
        try resumeState.write(to: file)
    }

    /// The checkpoint a model file holds, to continue training it.
    public static func read(from file: HDF5File) throws -> UnsupervisedCheckpoint {
        UnsupervisedCheckpoint(model: try UnsupervisedSDLGM.read(from: file), history: try UnsupervisedTrainer.EpochRecord.read(from: file),
                               resumeState: try ResumeState.read(from: file, counters: ["step", "temperature_steps"], adam: true))
    }
}

extension UnsupervisedTrainer {
    /// Opens the session: the rows of a patches or whitened file (streamed from disk with `stream` or when they
    /// exceed half of the machine's memory), or the densified features of a multilabel file's split; continuing
    /// `resume` when given. Bernoulli data must lie in [0, 1]. Under mpirun with several ranks (`ProcessGroup.world`)
    /// the ranks train data-parallel (`UnsupervisedSession`).
    public func session(data: HDF5File, resume: HDF5File?) throws -> UnsupervisedSession {
        try validate()
        let group = ProcessGroup.launchedByMPIRun ? ProcessGroup.world : .single
        let checkpoint = try resume.map { try UnsupervisedCheckpoint.read(from: $0) }
        if try data.requireKind(.patches, .whitened, .multilabel) != .multilabel {
            var reader = try ShuffledRowReader(file: data)
            reader.allowedRange = likelihood == .bernoulli ? 0...1 : nil
            if stream || reader.exceedsHalfOfMemory { return try UnsupervisedSession(self, source: .stream(reader), resume: checkpoint, group: group) }
        } else if stream {
            throw SparseKitError.usage("--stream reads patches or whitened files; \(data.path) is a multilabel file")
        }
        let x = try data.fileKind() == .multilabel
            ? MultiLabelDataset.read(from: data).rows(ofSplit: split, in: data.path).features.dense() : data.readDataMatrix()
        if likelihood == .bernoulli, let bad = x.storage.first(where: { !(0...1).contains($0) }) {
            throw SparseKitError.badInput(data.path, "holds \(bad): Bernoulli data must lie in [0, 1]")
        }
        return try UnsupervisedSession(self, source: .memory(x), resume: checkpoint, group: group)
    }
}
