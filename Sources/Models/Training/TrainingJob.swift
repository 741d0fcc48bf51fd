import DataKit

/// The one way every trainer runs (`sk-train sc`, `sk-train sdlgm`): the contract that `--resume`, divergence,
/// interruption and output share.
///
/// 1. Before any work: the output must be creatable (a temporary file is made and removed: exit 73), the data
///    file's patch geometry must fit its rows (65), and the trainer opens its session, which validates the whole
///    configuration against the data and the model to resume.
/// 2. Epochs run one after another, until the session is complete (early stopping); `progressLine` shows each as it
///    runs, `progress` sees each record.
/// 3. Divergence (a non-finite objective or parameter): the last good epoch's model is written, with its resume
///    state, and the job fails with exit 65 naming the epoch and the cause. A run whose first epoch diverges writes
///    nothing (a model to resume is left as it was).
/// 4. Interruption: `shouldStop` is asked after every minibatch; once it answers true the epoch ends, the model as
///    it stands is written (resumable) and the job fails with `.interrupted` (exit 130).
/// 5. The model file is committed atomically: the model and the resume state (from the checkpoint), the trainer's
///    hyper-parameters as `/config` attributes, the training data's `/whitening` and patch geometry, provenance.
public struct TrainingJob<T: Trainer> {
    public var trainer: T
    public var input: String
    public var output: String
    /// A model file to continue from (may equal `output`: the output is replaced only once complete).
    public var resume: String?
    /// The provenance line of this run, appended to the data file's history.
    public var provenance: String
    /// Asked after every minibatch; true stops training at that point with a resumable model.
    public var shouldStop: () -> Bool = { false }
    /// Whether the user chose the trainer's seed (else a resumed run takes the resumed model's).
    public var seedGiven = true
    /// Sees every epoch's record with the epoch count training will reach.
    public var progress: (T.Session.Checkpoint.Record, _ lastEpoch: Int) -> Void = { _, _ in }
    /// Shows each epoch as it runs (minibatches done of the session's total, rate, ETA of the epoch and of the run,
    /// the running objective), erased before `progress` sees the record; nil: nothing.
    public var progressLine: ProgressReporter?

    public init(trainer: T, input: String, output: String, resume: String?, provenance: String) {
        self.trainer = trainer
        self.input = input
        self.output = output
        self.resume = resume
        self.provenance = provenance
    }

    /// The seed of a resumed run: the resumed model's (its stored generator continues); a `--seed` given that
    /// differs would be ignored, so it is refused.
    func seed(resuming resumed: HDF5File) throws -> UInt64 {
        guard let stored = try resumed.attribute("seed", of: "/config")?.intValue else { return trainer.seed }
        let seed = UInt64(bitPattern: Int64(stored))
        if seedGiven, seed != trainer.seed {
            throw SparseKitError.usage("--seed \(trainer.seed) differs from the seed \(seed) that \(resumed.path) was trained with; a "
                + "resumed run continues that model's random stream (leave --seed out or give the same)")
        }
        return seed
    }

    /// Trains and writes the model; returns the checkpoint written.
    public func run() throws -> T.Session.Checkpoint {
        let atomic = try AtomicOutput(path: output)
        try atomic.checkCreatable()
        let data = try HDF5File.open(input)
        let kind = try data.fileKind()
        let geometry = kind == .patches || kind == .whitened ? try data.patchRows(kind).geometry : nil
        let resumed = try resume.map { try HDF5File.open($0) }
        var trainer = self.trainer
        if let resumed { trainer.seed = try seed(resuming: resumed) }
        var session = try trainer.session(data: data, resume: resumed)
        var good: T.Session.Checkpoint? = resume == nil && trainer.epochs > 0 ? nil : session.checkpoint
        let lastEpoch = (good?.history.count ?? 0) + trainer.epochs
        func write(_ checkpoint: T.Session.Checkpoint) throws {
            try atomic.commit { path in
                let file = try HDF5File.create(path)
                try checkpoint.model.write(to: file)
                try checkpoint.writeHistoryAndState(to: file)
                try file.createGroup("/config")
                var configuration = try HDF5AttributeEncoder.attributes(of: trainer)
                configuration.merge(session.notes) { _, note in note }
                configuration["resumed_from"] = .string(resume ?? "none")
                for (name, value) in configuration.sorted(by: { $0.key < $1.key }) { try file.setAttribute(name, value, on: "/config") }
                if data.kind(of: WhiteningTransform.group) == .group { try file.copy(WhiteningTransform.group, from: data) }
                try geometry?.write(to: file)
                try file.writeHeader(kind: .model, history: try data.history() + [provenance])
                try file.close()
            }
        }
        for _ in 0..<trainer.epochs where !session.isComplete {
            let record: T.Session.Checkpoint.Record
            do {
                let epoch = (good?.history.count ?? 0) + 1
                progressLine?.begin("\(T.resumable ? "epoch" : "step") \(epoch)/\(lastEpoch)", total: session.minibatchesPerEpoch,
                                    unit: "batches", stagesAfter: lastEpoch - epoch, valueName: T.Session.runningObjectiveName)
                defer { progressLine?.finish() }
                var done = 0
                record = try session.runEpoch(shouldStop: shouldStop) { running in
                    done += 1
                    progressLine?.update(done, value: running)
                }
            } catch let divergence as TrainingDivergence {
                let failed = (good?.history.count ?? 0) + 1
                guard let good else {
                    throw SparseKitError.badInput(input, "training diverged in epoch \(failed) (\(divergence.cause)); no model written")
                }
                try write(good)
                throw SparseKitError.badInput(input, "training diverged in epoch \(failed) (\(divergence.cause)); "
                    + "the model after epoch \(failed - 1) is written to \(output)")
            }
            good = session.checkpoint
            progress(record, lastEpoch)
            if shouldStop() {
                try write(good!)
                let epochs = good!.history.count
                guard T.resumable else {
                    throw SparseKitError.interrupted(output, "interrupted; the model after \(epochs) of \(lastEpoch) steps is written here")
                }
                throw SparseKitError.interrupted(output, "interrupted; the model after \(epochs) epoch\(epochs == 1 ? "" : "s") "
                    + "(the last one partial) is written here, continue with --resume \(output)")
            }
        }
        guard let good else { throw SparseKitError.usage("no epochs to train") }
        try write(good)
        return good
    }
}
