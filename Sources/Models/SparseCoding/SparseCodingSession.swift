import DataKit
import Distributed
import Foundation

/// ES-SC training in progress (`SparseCodingTrainer`): the data (in memory, or a reader streaming it from disk),
/// the state every epoch updates, and the history. Fresh, it starts from the seeded W; resumed, from the
/// checkpoint's V (the unnormalised dictionary, so step sizes on W are as they were), Adam's moments, generator,
/// per-point posteriors (when they carry over) and learned σ², λ: k epochs and then j resumed ones give the model
/// k + j epochs give.
public struct SparseCodingSession: TrainingSession {
    /// Where the rows come from.
    public enum Source {
        case memory(Matrix)
        case stream(ShuffledRowReader)
    }

    let trainer: SparseCodingTrainer
    let source: Source
    /// The ranks training together (`SparseCodingTrainer+Distributed.swift`), and this rank's reader of its rows.
    let group: ProcessGroup
    var state: SparseCodingTrainer.State
    var adam: Adam
    var generator: SeededGenerator
    var history: [EpochRecord]
    /// The model as it stands: W = V/‖V‖ with σ², λ of the last epoch (closed forms, learned or estimated).
    var model: SparseCodingModel

    /// Validates `trainer` against the data and the checkpoint to resume, and sets up the starting state. With a
    /// `group` of several ranks the source must be a stream: each rank then reads only its rows of every minibatch.
    public init(_ trainer: SparseCodingTrainer, source: Source, resume: SparseCodingCheckpoint? = nil, group: ProcessGroup = .single) throws {
        try trainer.validate()
        let (n, d, h) = (source.shape.rows, source.shape.cols, trainer.latents)
        guard n > 0, d > 0 else { throw SparseKitError.usage("no data rows to train on") }
        if case .stream = source, let restriction = trainer.streamingRestriction { throw SparseKitError.usage(restriction) }
        self.group = group
        if group.size > 1 {
            if let restriction = trainer.distributedRestriction { throw SparseKitError.usage(restriction) }
            guard case .stream = source else { preconditionFailure("ranks train from a stream") }
        }
        let perPoint = source.isInMemory ? n : 0
        let stepValues = 2 * (trainer.lbfgsHistory + 1) * 2  // L-BFGS pairs and iterates over the batch's (μ, ρ)
        try MemoryBudget.require([
            .floats("the dictionary with Adam's moments", 4, d, h), .floats("the H × H products", h, h),
            .floats("the per-point posteriors", 2, perPoint, h), .floats("the full covariances", trainer.posterior == .full ? perPoint : 0, h, h),
            .floats("the E-step", stepValues, min(trainer.batchSize, n), h),
            .floats("the encoder", trainer.posterior.isAmortized ? 3 : 0, d + 1, h, 2 + trainer.rank),
        ], for: "training \(n) points of D = \(d) with --latents \(h)")
        (self.trainer, self.source) = (trainer, source)
        var encoder: GaussianEncoder?
        if trainer.posterior.isAmortized {
            var encoderGenerator = SeededGenerator(seed: trainer.seed &+ 2)
            encoder = GaussianEncoder(dimension: d, latents: h, rank: trainer.posterior == .amortizedLowRank ? trainer.rank : 0,
                                      generator: &encoderGenerator)
        }
        var sigma2 = 1.0
        if case .memory(let x) = source { sigma2 = max(x.storage.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n * d), 1e-6) }
        state = .init(v: SparseCodingModel.initial(dimension: d, latents: h, seed: trainer.seed).w,
                      mu: Matrix(rows: perPoint, cols: h), rho: Matrix(rows: perPoint, cols: h),
                      factors: [Float](repeating: 0, count: trainer.posterior == .full ? perPoint * h * h : 0),  // L_n = I
                      sigma2: sigma2, lambda: [Double](repeating: 1, count: h), encoder: encoder)
        adam = Adam(learningRate: trainer.learningRate)
        generator = SeededGenerator(seed: trainer.seed &+ 1)
        history = []
        model = SparseCodingModel(w: ColumnNormalization.normalized(state.v).w, lambda: [Float](repeating: 1, count: h),
                                  sigma2: Float(sigma2))
        if let resume {
            try restore(resume, points: perPoint)
        } else if let (start, path) = trainer.initialModel {
            guard start.dimension == d, start.latents == h else {
                throw SparseKitError.badInput(path, "has D = \(start.dimension), H = \(start.latents); the data and --latents give D = \(d), H = \(h)")
            }
            (state.v, state.sigma2, state.lambda) = (start.w, Double(start.sigma2), start.lambda.map(Double.init))
            model = start
        }
    }

    /// Continues from `checkpoint`, after checking that it fits the data and the configuration.
    private mutating func restore(_ checkpoint: SparseCodingCheckpoint, points: Int) throws {
        let (d, h) = (state.v.rows, state.v.cols)
        let path = checkpoint.resumeState.path
        guard checkpoint.model.dimension == d, checkpoint.model.latents == h else {
            throw SparseKitError.badInput(path, "has D = \(checkpoint.model.dimension), H = \(checkpoint.model.latents); "
                + "the data and --latents give D = \(d), H = \(h)")
        }
        guard (checkpoint.encoder != nil) == trainer.posterior.isAmortized,
              (checkpoint.encoder?.rank ?? 0) == (state.encoder?.rank ?? 0)
        else { throw SparseKitError.badInput(path, "was trained with other posteriors (an encoder exactly when amortized)") }
        let stored = checkpoint.resumeState
        state.v = try stored.matrix("v", rows: d, cols: h)
        if trainer.carriesPosteriors, points > 0 {
            state.mu = try stored.matrix("posterior_mu", rows: points, cols: h)
            if trainer.posteriorsHaveScales { state.rho = try stored.matrix("posterior_rho", rows: points, cols: h) }
            if trainer.posterior == .full {
                state.factors = try stored.matrix("posterior_factors", rows: points, cols: h * h).storage
            }
        }
        if trainer.learnsNoiseAndScales, let sigma2 = stored.vectors["sigma2"]?.first, let lambda = stored.vectors["lambda"],
           lambda.count == h {
            (state.sigma2, state.lambda) = (sigma2, lambda)
        }
        if trainer.objective == .likelihood, stored.vectors["statistics_xx"] != nil {
            state.statistics = try CompleteDataStatistics(vectors: stored.vectors, dimension: d, latents: h, path: path)
        }
        state.encoder = checkpoint.encoder ?? state.encoder
        if let moments = stored.adam { adam.moments = moments }
        generator = stored.generator
        history = checkpoint.history
        model = checkpoint.model
    }

    public var notes: [String: HDF5AttributeValue] {
        var notes: [String: HDF5AttributeValue] = ["streamed": .int(source.isInMemory ? 0 : 1)]
        if group.usesMPI { notes["ranks"] = .int(group.size) }  // trained by an MPI job of this many processes
        return notes
    }

    public var checkpoint: SparseCodingCheckpoint {
        var stored = ResumeState(generator: generator, adam: trainer.usesAdam ? adam.moments : nil)
        stored.matrices["v"] = state.v
        if trainer.carriesPosteriors, source.isInMemory {
            stored.matrices["posterior_mu"] = state.mu
            if trainer.posteriorsHaveScales { stored.matrices["posterior_rho"] = state.rho }
            if trainer.posterior == .full {
                stored.matrices["posterior_factors"] = Matrix(rows: state.mu.rows, cols: state.v.cols * state.v.cols, storage: state.factors)
            }
        }
        if trainer.learnsNoiseAndScales { stored.vectors = ["sigma2": [state.sigma2], "lambda": state.lambda] }
        if let statistics = state.statistics { stored.vectors.merge(statistics.vectors) { $1 } }
        let none = Matrix(rows: 0, cols: 0)
        return SparseCodingCheckpoint(model: model, encoder: state.encoder, history: history, mu: source.isInMemory ? state.mu : none,
                                      rho: source.isInMemory && trainer.posteriorsHaveScales ? state.rho : none, resumeState: stored)
    }

    /// Minibatches of B rows over N (none for the full-batch scheme: its epoch is one step).
    public var minibatchesPerEpoch: Int? {
        if trainer.objective == .entropy, trainer.scheme == .fullBatch { return nil }
        return (source.shape.rows + trainer.batchSize - 1) / trainer.batchSize
    }

    public mutating func runEpoch(shouldStop: () -> Bool) throws -> EpochRecord {
        let started = Date()
        let epoch = history.count
        let weights = EntropyWeights(prior: trainer.betaPrior(epoch: epoch))
        let (terms, gini): (DiagonalEntropyObjective.Terms, Double)
        switch source {
        case .memory(let x):
            // Small problems (the bars) make many tiny BLAS calls: idle OpenBLAS threads would only spin.
            terms = BLASThreads.with(x.cols * trainer.latents < 10_000 ? 1 : BLASThreads.count) {
                inMemoryEpoch(x, weights, shouldStop: shouldStop)
            }
            gini = Sparsity.meanGini(state.mu)
        case .stream(let reader):
            if group.size > 1 {
                (terms, gini) = try trainer.distributedEpoch(reader, group, &state, &adam, weights, &generator, shouldStop: shouldStop)
            } else {
                (terms, gini) = try trainer.streamingEpoch(reader, &state, &adam, weights, &generator, shouldStop: shouldStop)
            }
        }
        guard terms.value.isFinite else { throw TrainingDivergence("objective \(terms.value)") }
        guard state.v.isFinite, state.mu.isFinite, state.rho.isFinite, state.encoder?.parameters.allFinite ?? true else {
            throw TrainingDivergence("parameters no longer finite")
        }
        let h = trainer.latents
        model = SparseCodingModel(w: ColumnNormalization.normalized(state.v).w, lambda: terms.lambda.map { Float($0) },
                                  sigma2: Float(terms.sigma2))
        let record = EpochRecord(
            epoch: epoch + 1, objective: terms.value, posteriorEntropy: terms.posteriorEntropy,
            priorEntropy: terms.priorEntropy, noiseEntropy: terms.noiseEntropy, sigma2: terms.sigma2,
            meanLambda: terms.lambda.reduce(0, +) / Double(h), gini: gini,
            betaPrior: weights.prior, seconds: Provenance.elapsed(since: started))
        history.append(record)
        return record
    }

    /// One epoch on data in memory with the configured objective and scheme; the record's terms over all N.
    private mutating func inMemoryEpoch(_ x: Matrix, _ weights: EntropyWeights, shouldStop: () -> Bool) -> DiagonalEntropyObjective.Terms {
        let trainer = self.trainer
        switch (trainer.objective, trainer.scheme, trainer.posterior) {
        case (.elboMC, _, _): trainer.monteCarloEpoch(x, &state, &generator, shouldStop: shouldStop)
        case (.likelihood, _, _): trainer.likelihoodEpoch(x, &state, &adam, &generator, shouldStop: shouldStop)
        case (.mapL1, _, _): trainer.lassoEpoch(x, &state.v, &state.mu, &generator, shouldStop: shouldStop)
        case (.entropy, .em, _):  // diagonal (validated): the epoch's running record
            return trainer.emEpoch(x, &state.v, &state.mu, &state.rho, weights, &generator, shouldStop: shouldStop)
        case (.entropy, .adam, _): trainer.amortizedEpoch(x, &state, &adam, weights, &generator, shouldStop: shouldStop)
        case (.entropy, .fullBatch, .full): trainer.fullCovarianceEpoch(x, &state.v, &state.mu, &state.factors, weights)
        case (.entropy, .fullBatch, _): trainer.fullBatchEpoch(x, &state.v, &state.mu, &state.rho, weights)  // diagonal (validated)
        }
        if trainer.posterior == .full {
            state.rho = SparseCodingTrainer.marginalLogScales(state.factors, n: x.rows, h: trainer.latents)
        }
        return trainer.evaluate(x, state)
    }
}

extension SparseCodingSession.Source {
    /// Rows and columns of the data.
    var shape: (rows: Int, cols: Int) {
        switch self {
        case .memory(let x): return (x.rows, x.cols)
        case .stream(let reader): return (reader.rows, reader.cols)
        }
    }

    var isInMemory: Bool { if case .memory = self { return true } else { return false } }
}

/// An ES-SC model as training left it: the model (W, λ, σ²), the amortized encoder, the history, the training
/// points' posteriors (N × H means and log-scales; for map-l1 the codes and no log-scales; 0 × 0 when streamed),
/// and the state a resumed run continues from.
public struct SparseCodingCheckpoint: TrainingCheckpoint {
    public var model: SparseCodingModel
    public var encoder: GaussianEncoder?
    public var history: [EpochRecord]
    public var mu: Matrix
    public var rho: Matrix
    public var resumeState: ResumeState

    public func writeHistoryAndState(to file: HDF5File) throws {
        try encoder?.write(to: file)
        try EpochRecord.write(history, to: file)
        try resumeState.write(to: file)
    }

    /// The checkpoint a model file holds, for `trainer` to continue: the model, the encoder, the history and the
    /// resume state its configuration needs; the file's posterior family and objective must be the trainer's.
    public static func read(from file: HDF5File, for trainer: SparseCodingTrainer) throws -> SparseCodingCheckpoint {
        let model = try SparseCodingModel.read(from: file)
        for (name, value) in [("posterior", trainer.posterior.rawValue), ("objective", trainer.objective.rawValue)] {
            let stored = try file.attribute(name, of: "/config")?.stringValue ?? (name == "objective" ? "entropy" : "diagonal")
            guard stored == value else { throw SparseKitError.badInput(file.path, "was trained with --\(name) \(stored), not \(value)") }
        }
        let encoder = try GaussianEncoder.read(from: file, dimension: model.dimension, latents: model.latents)
        var matrices = ["v"]
        if trainer.carriesPosteriors {
            matrices.append("posterior_mu")
            if trainer.posteriorsHaveScales { matrices.append("posterior_rho") }
            if trainer.posterior == .full { matrices.append("posterior_factors") }
        }
        let state = try ResumeState.read(from: file, matrices: matrices, vectors: (trainer.learnsNoiseAndScales ? ["sigma2", "lambda"] : [])
                                            + (trainer.objective == .likelihood && trainer.mStep == .em ? CompleteDataStatistics.vectorNames : []),
                                         adam: trainer.usesAdam)
        let none = Matrix(rows: 0, cols: 0)
        return SparseCodingCheckpoint(model: model, encoder: encoder, history: try EpochRecord.read(from: file), mu: none, rho: none,
                                      resumeState: state)
    }
}

extension SparseCodingTrainer {
    /// Opens the session on a data file: in memory, or streamed from disk with `stream` or when `/data` exceeds half
    /// of the machine's memory; continuing `resume` when given.
    /// Under mpirun with several ranks (`ProcessGroup.world`) the rows are always streamed, each rank reading its
    /// share of every minibatch (`SparseCodingTrainer+Distributed.swift`).
    public func session(data: HDF5File, resume: HDF5File?) throws -> SparseCodingSession {
        try validate()
        let group = ProcessGroup.launchedByMPIRun ? ProcessGroup.world : .single
        if group.size > 1, let distributedRestriction { throw SparseKitError.usage(distributedRestriction) }
        let reader = try ShuffledRowReader(file: data)
        let streaming = stream || reader.exceedsHalfOfMemory || group.size > 1
        if streaming, let streamingRestriction {
            throw SparseKitError.usage(stream ? "--stream: \(streamingRestriction)"
                : "\(data.path): /data takes \(reader.dataBytes >> 20) MiB, more than half of this machine's memory, so it must be "
                    + "streamed from disk, but \(streamingRestriction)")
        }
        let checkpoint = try resume.map { try SparseCodingCheckpoint.read(from: $0, for: self) }
        return try SparseCodingSession(self, source: streaming ? .stream(reader) : .memory(data.readDataMatrix()), resume: checkpoint,
                                       group: group)
    }
}
