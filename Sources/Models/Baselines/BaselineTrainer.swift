import DataKit
import Foundation

/// Fits a baseline density through the training job (`sk-train baseline`): the closed-form Gaussian and Laplace fits
/// in one step, ICA in one step per smoothing stage (`ICAFit.Run`), each step recorded in `/history` with its exact
/// training log-likelihood. An interrupted ICA fit writes the model of its last finished stage. Baselines are
/// fitted from the start every time: there is nothing to resume.
public struct BaselineTrainer: Trainer {
    public var model: BaselineDensity.Kind
    /// The ICA fit's settings (iterations per stage, seed of the starting rotation, smoothings).
    public var ica = ICAFit()

    public init(model: BaselineDensity.Kind) { self.model = model }

    public static var resumable: Bool { false }

    /// One step per smoothing stage for ICA, one for the closed forms.
    public var epochs: Int { model == .ica ? ica.smoothings.count : 1 }

    public var seed: UInt64 {
        get { ica.seed }
        set { ica.seed = newValue }
    }

    enum CodingKeys: String, CodingKey { case model, iterations, seed, smoothings }

    /// The model, and for ICA the fit's settings (the closed forms have none).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        guard model == .ica else { return }
        try container.encode(ica.iterations, forKey: .iterations)
        try container.encode(ica.seed, forKey: .seed)
        try container.encode(ica.smoothings, forKey: .smoothings)
    }

    public func session(data: HDF5File, resume: HDF5File?) throws -> BaselineSession {
        try SingleProcess.require("sk-train baseline")
        guard resume == nil else { throw SparseKitError.usage("baselines are fitted from the start; there is nothing to resume") }
        guard ica.iterations >= 1 else { throw SparseKitError.usage("--iterations must be at least 1") }
        let x = try data.readDataMatrix()
        do {
            return BaselineSession(trainer: self, x: x, ica: model == .ica ? try ICAFit.Run(ica, x) : nil)
        } catch let error as SparseKitError where error.file == nil && error.kind == .badInput {
            throw SparseKitError.badInput(data.path, error.problem)
        }
    }
}

/// One record of a baseline's fit: the exact training log-likelihood after a step, and the ICA stage it was.
public struct BaselineRecord: TrainingRecord, Codable {
    public var epoch: Int
    public var logLikelihood: Double
    public var seconds: Double
    /// The ICA smoothing stage (nil for the closed-form fits).
    public var stage: ICAFit.Stage?
}

/// A baseline fit in progress.
public struct BaselineSession: TrainingSession {
    let trainer: BaselineTrainer
    let x: Matrix
    var ica: ICAFit.Run?
    var density: BaselineDensity?
    var history: [BaselineRecord] = []

    public var notes: [String: HDF5AttributeValue] {
        if case .gaussian(let gaussian)? = density { return ["ridge": .double(gaussian.ridge)] }
        return [:]
    }

    public var checkpoint: BaselineCheckpoint {
        guard let density else { preconditionFailure("a baseline is written after its first step") }
        return BaselineCheckpoint(model: density, history: history, points: x.rows)
    }

    public mutating func runEpoch(shouldStop: () -> Bool) throws -> BaselineRecord {
        let clock = Date()
        var stage: ICAFit.Stage?
        switch trainer.model {
        case .gaussian: density = .gaussian(try GaussianDensity.fit(x))
        case .laplace: density = .laplace(try LaplaceDensity.fit(x))
        case .ica:
            density = .ica(try ica!.nextStage())
            stage = ica!.stages.last
        }
        let logLikelihood = stage?.logLikelihood ?? BaselineEvaluation.run(density!, on: x).logLikelihood.mean
        let record = BaselineRecord(epoch: history.count + 1, logLikelihood: logLikelihood,
                                    seconds: stage?.seconds ?? Provenance.elapsed(since: clock), stage: stage)
        history.append(record)
        return record
    }
}

/// A fitted baseline with its history (one record per step) and the number of training points.
public struct BaselineCheckpoint: TrainingCheckpoint {
    public var model: BaselineDensity
    public var history: [BaselineRecord]
    public var points: Int

    public func writeHistoryAndState(to file: HDF5File) throws {
        try file.write(history.map(\.logLikelihood), shape: [history.count], to: "/history/objective")
        try file.write(history.map(\.seconds), shape: [history.count], to: "/history/seconds")
    }
}
