import DataKit

/// A trained model as the training job writes it: its parameters under `/model` and the root attributes that say
/// what it is (`ModelKind`). Reading stays with each model (`SparseCodingModel.read(from:)` and its twins).
public protocol TrainedModel: Sendable {
    var modelKind: ModelKind { get }
    func write(to file: HDF5File) throws
}

/// One epoch's record in a model's `/history`.
public protocol TrainingRecord: Sendable, Encodable {
    /// The epoch's number, counted from the first epoch of the model's first run (resumed runs number on).
    var epoch: Int { get }
}

/// A model as training left it after an epoch: the model, its history, and what a resumed run needs to continue
/// exactly (`ResumeState`).
public protocol TrainingCheckpoint: Sendable {
    associatedtype Model: TrainedModel
    associatedtype Record: TrainingRecord
    var model: Model { get }
    var history: [Record] { get }
    /// Writes what belongs to the model beyond its parameters: the history and the resume state.
    func writeHistoryAndState(to file: HDF5File) throws
}

/// One training run in progress: its data, its state and the history so far.
public protocol TrainingSession {
    associatedtype Checkpoint: TrainingCheckpoint
    /// The state after the last completed epoch (for a resumed run before its first epoch: the resumed model).
    var checkpoint: Checkpoint { get }
    /// Runs one more epoch. `shouldStop` is asked after every minibatch; once it answers true the epoch ends there,
    /// and its record covers the state as it stands. Throws `TrainingDivergence` when the objective or a parameter
    /// is no longer finite (the checkpoint is then unusable: the job keeps the previous one).
    mutating func runEpoch(shouldStop: () -> Bool) throws -> Checkpoint.Record
    /// Facts about this run for `/config` beyond the hyper-parameters (streamed from disk, points truncated, ...).
    var notes: [String: HDF5AttributeValue] { get }
    /// Whether training has reached its end before the epochs asked for (early stopping); the job then writes the
    /// checkpoint as it stands.
    var isComplete: Bool { get }
    /// The minibatches an epoch runs, when the session knows (the total of `sk-train`'s progress line); nil by
    /// default.
    var minibatchesPerEpoch: Int? { get }
    /// What the running objective `runEpoch(shouldStop:minibatchDone:)` reports is called, e.g. "ELBO".
    static var runningObjectiveName: String { get }
    /// Runs one more epoch as `runEpoch(shouldStop:)` does, calling `minibatchDone` after every minibatch with the
    /// running objective (per point, over the epoch's minibatches so far) when the session keeps one. By default
    /// it counts the calls of `shouldStop`, which sessions make between minibatches, and reports no objective.
    mutating func runEpoch(shouldStop: () -> Bool, minibatchDone: (_ runningObjective: Double?) -> Void) throws -> Checkpoint.Record
}

extension TrainingSession {
    public var isComplete: Bool { false }

    public var minibatchesPerEpoch: Int? { nil }

    public static var runningObjectiveName: String { "objective" }

    public mutating func runEpoch(shouldStop: () -> Bool, minibatchDone: (_ runningObjective: Double?) -> Void) throws
        -> Checkpoint.Record
    {
        try runEpoch(shouldStop: {
            minibatchDone(nil)
            return shouldStop()
        })
    }
}

/// A trainer's configuration: its hyper-parameters (written to `/config` as attributes), checked on their own and
/// then against the data and the model to resume, all before the first epoch.
public protocol Trainer: Sendable, Encodable {
    associatedtype Session: TrainingSession
    /// The epochs this run adds.
    var epochs: Int { get }
    /// The seed of everything random (a resumed run continues the resumed model's generator instead).
    var seed: UInt64 { get set }
    /// Whether a model this trainer wrote can be trained on (`--resume`); true by default. (A requirement, so that
    /// `TrainingJob` sees a trainer's own answer.)
    static var resumable: Bool { get }
    /// Opens a session on `data`, continuing `resume` when given: validates the whole configuration against the
    /// data (and the resumed model) and loads what training needs. No epoch runs here.
    func session(data: HDF5File, resume: HDF5File?) throws -> Session
}

extension Trainer {
    /// Whether a model this trainer wrote can be trained on (`--resume`); baselines are fitted from the start.
    public static var resumable: Bool { true }
}

/// Training stopped because the objective or a parameter stopped being finite.
public struct TrainingDivergence: Error, Sendable {
    /// What stopped being finite, e.g. "objective nan".
    public var cause: String

    public init(_ cause: String) { self.cause = cause }
}
