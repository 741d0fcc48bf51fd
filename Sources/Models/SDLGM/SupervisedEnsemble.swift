import DataKit
import Distributed

/// An ensemble of supervised models (`sk-train sdlgm --ensemble M`): M members trained one after another on the same
/// rows with the same settings, member m (1…M) with the seed `seed + m − 1`, so member m is exactly the model a single
/// run with that seed writes. All of them go to one model file (`/model` and `/model/member<m>`,
/// `SupervisedPredictor.write`), and predictions average the members' probabilities (`EnsembleScores`).
///
/// What a member cannot share with the others is refused (`refuseCombinations`): a resumed run (the file keeps no
/// resume state per member), rows held out (`--validation-fold I/K` draws its folds from the seed, so the members
/// would hold out different rows and the ensemble would have seen every row of the fold), and an MPI job.
public struct SupervisedEnsembleTrainer: Trainer {
    /// Every member's settings; its seed is member 1's.
    public var member: SupervisedTrainer
    /// M ≥ 2 (one member is the single model: `sk-train sdlgm` without `--ensemble`).
    public var members: Int

    /// The most members a model file may hold.
    public static let mostMembers = 1000

    public init(member: SupervisedTrainer, members: Int) {
        (self.member, self.members) = (member, members)
    }

    /// Every member's epochs, one after another.
    public var epochs: Int { member.epochs * members }

    public var seed: UInt64 {
        get { member.seed }
        set { member.seed = newValue }
    }

    /// Its file holds no resume state.
    public static var resumable: Bool { false }

    /// The settings `--ensemble` cannot be combined with, and why (a usage error naming the first one given).
    public static let incompatible: [(SupervisedTrainer.Setting, String)] = [
        (.resume, "an ensemble's file keeps no resume state; train it again with more --epochs"),
        (.validation, "its members would hold out different rows, drawn from their seeds"),
        (.validationFold, "its members would hold out different folds, drawn from their seeds, and together see every row"),
    ]

    /// Refuses the first of the `given` settings that `--ensemble` cannot be combined with, and an MPI job.
    public static func refuseCombinations(_ given: [SupervisedTrainer.Setting]) throws {
        if let (setting, reason) = incompatible.first(where: { given.contains($0.0) }) {
            throw SparseKitError.usage("--ensemble cannot be combined with --\(setting.rawValue): \(reason)")
        }
        if ProcessGroup.launchedByMPIRun, ProcessGroup.world.size > 1 {
            throw SparseKitError.usage("--ensemble cannot be combined with mpirun: run it as one process (the members train one after another)")
        }
    }

    /// Member `m`'s settings (0-based): the common ones with the seed `seed + m`.
    func member(_ m: Int) -> SupervisedTrainer {
        var trainer = member
        trainer.seed = member.seed &+ UInt64(m)
        return trainer
    }

    public func validate() throws {
        try member.validate()
        guard members >= 2, members <= Self.mostMembers else {
            throw SparseKitError.usage("--ensemble takes a member count in 1...\(Self.mostMembers)")
        }
        try Self.refuseCombinations((member.validation != nil ? [.validation] : []) + (member.validationFold != nil ? [.validationFold] : []))
    }

    public func session(data: HDF5File, resume: HDF5File?) throws -> SupervisedEnsembleSession {
        try validate()
        if resume != nil { try Self.refuseCombinations([.resume]) }
        return try SupervisedEnsembleSession(self, source: try member.source(data))
    }

    /// The member settings as `/config` attributes, and the member count as `ensemble_members`.
    public func encode(to encoder: any Encoder) throws {
        try member.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(members, forKey: .ensembleMembers)
    }

    enum CodingKeys: String, CodingKey { case ensembleMembers }
}

/// An ensemble being trained: the members finished so far and the one in training, all on the same rows.
public struct SupervisedEnsembleSession: TrainingSession {
    let trainer: SupervisedEnsembleTrainer
    let source: SupervisedSession.Source
    var finished: [SupervisedCheckpoint] = []
    var current: SupervisedSession

    init(_ trainer: SupervisedEnsembleTrainer, source: SupervisedSession.Source) throws {
        (self.trainer, self.source) = (trainer, source)
        current = try SupervisedSession(trainer.member(0), source: source)
    }

    /// The members finished and the one in training as it stands.
    public var checkpoint: SupervisedEnsembleCheckpoint { SupervisedEnsembleCheckpoint(members: finished + [current.checkpoint]) }

    public var notes: [String: HDF5AttributeValue] { current.notes }

    public var minibatchesPerEpoch: Int? { current.minibatchesPerEpoch }

    public static var runningObjectiveName: String { SupervisedSession.runningObjectiveName }

    public mutating func runEpoch(shouldStop: () -> Bool) throws -> SupervisedTrainer.EpochRecord {
        try runEpoch(shouldStop: shouldStop) { _ in }
    }

    /// One epoch of the member in training; once it has had its epochs, the next member starts.
    public mutating func runEpoch(shouldStop: () -> Bool, minibatchDone: (_ runningObjective: Double?) -> Void) throws
        -> SupervisedTrainer.EpochRecord
    {
        if current.history.count == trainer.member.epochs {
            finished.append(current.checkpoint)
            current = try SupervisedSession(trainer.member(finished.count), source: source)
        }
        var record = try current.runEpoch(shouldStop: shouldStop, minibatchDone: minibatchDone)
        record.member = finished.count + 1
        return record
    }
}

/// An ensemble as training left it: one checkpoint per member trained (the last one possibly partial).
public struct SupervisedEnsembleCheckpoint: TrainingCheckpoint {
    public var members: [SupervisedCheckpoint]

    /// Member 1's model with the other members' networks as its ensemble.
    public var model: SupervisedModel {
        var model = members[0].model
        model.predictor.ensemble = members.dropFirst().compactMap(\.predictor.network)
        return model
    }

    /// Every member's epochs, member 1's first, each record naming its member.
    public var history: [SupervisedTrainer.EpochRecord] {
        members.enumerated().flatMap { m, checkpoint in
            checkpoint.history.map { record in
                var record = record
                record.member = m + 1
                return record
            }
        }
    }

    public func writeHistoryAndState(to file: HDF5File) throws {
        try SupervisedTrainer.EpochRecord.write(history, to: file)
    }
}
