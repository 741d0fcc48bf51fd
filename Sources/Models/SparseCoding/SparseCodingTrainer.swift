import DataKit
import Foundation

/// One epoch of training, as recorded in the model file's `/history`.
public struct EpochRecord: TrainingRecord, Codable, Equatable {
    public var epoch: Int
    /// L per point at β = 1 on the full training data (σ², λ over all N).
    public var objective: Double
    public var posteriorEntropy: Double
    public var priorEntropy: Double
    public var noiseEntropy: Double
    public var sigma2: Double
    public var meanLambda: Double
    public var gini: Double
    public var betaPrior: Double
    public var seconds: Double
}

/// Trains ES-SC (`es-sc.md`, "Training schemes"):
/// - `em` (diagonal q): per minibatch, an E-step maximising L over that batch's q (by coordinate ascent,
///   `CoordinateAscentEStep`, or the authors' L-BFGS: `eStep`; from μ = 0, s = 1, or with `warmStart` the batch's
///   last q), then one gradient step on W = V/‖V‖ (the M-step); `elbo-mc` and `map-l1` run
///   on this path with their own E-steps (`SparseCodingTrainer+Baselines.swift`);
/// - `fullBatch` (diagonal or full q): one L-BFGS over V and every q_n;
/// - `adam` (amortized q): Adam over the encoder and V on each minibatch (`SparseCodingTrainer+Amortized.swift`).
/// Every epoch is recorded with L at β = 1 over all N (for amortized-lowrank, from one encoder pass over all N).
/// The configuration is validated once (`validate`); `SparseCodingSession` runs the epochs.
public struct SparseCodingTrainer: Trainer {
    public enum Scheme: String, Sendable, CaseIterable, Codable { case em, fullBatch = "full-batch", adam }

    /// Posterior family: diagonal Gaussians, full covariances (Cholesky factors; full-batch scheme only), or an
    /// encoder network giving diagonal Gaussians or diagonal-plus-rank-r ones (adam scheme only).
    public enum Posterior: String, Sendable, CaseIterable, Codable {
        case diagonal, full, amortized, amortizedLowRank = "amortized-lowrank"
        public var isAmortized: Bool { self == .amortized || self == .amortizedLowRank }
    }

    /// What is maximised: the entropy objective L (`es-sc.md`), or one of the baselines on the same code path:
    /// `elbo-mc` (the reparameterized Monte-Carlo ELBO with σ², λ learned) and `map-l1` (MAP codes by FISTA).
    public enum Objective: String, Sendable, CaseIterable, Codable { case entropy, elboMC = "elbo-mc", mapL1 = "map-l1", likelihood }

    /// How the em scheme's entropy E-steps fit a minibatch's diagonal q: per-point coordinate ascent with σ², λ
    /// re-estimated after every sweep (`CoordinateAscentEStep`), or one L-BFGS over the whole batch (the authors').
    public enum EStep: String, Sendable, CaseIterable, Codable { case coordinate, lbfgs }
    /// How `--objective likelihood` updates W, σ², λ after each minibatch's Gibbs sweeps: to the closed-form
    /// maximisers of running complete-data statistics (stochastic approximation EM), or by Adam along the
    /// Rao-Blackwellized gradient of log p(x) (`MarginalGradient`), which keeps moving W when σ² is small.
    public enum MStep: String, Sendable, CaseIterable, Codable { case em, adam }

    public var latents: Int
    public var scheme: Scheme
    public var objective = Objective.entropy
    /// r of the amortized-lowrank covariances diag(s²) + U Uᵀ (reference: 5).
    public var rank = 5
    /// Monte-Carlo samples per point in each E-step (elbo-mc).
    public var samples = 1
    /// Adam's learning rate in the elbo-mc E-steps.
    public var monteCarloStepSize = 0.05
    /// α of the map-l1 energy ½‖x − W z‖² + α‖z‖₁.
    public var penalty = 0.1
    public var posterior = Posterior.diagonal
    public var epochs: Int
    public var batchSize = 512
    /// The em scheme's entropy E-step solver.
    public var eStep = EStep.coordinate
    /// L-BFGS iterations per E-step (em with `lbfgs` E-steps) or per epoch (full-batch); the most sweeps of a
    /// `coordinate` E-step.
    public var iterations = 100
    /// A `coordinate` E-step stops when a sweep raises L_β by less than this many nats per point.
    public var eStepTolerance = 1e-2
    /// Start each minibatch's E-step from its previous q (true) instead of the reference's μ = 0, s = 1 (false).
    /// Warm starts save iterations, but carry collapsed posteriors through β_prior annealing: with β ≫ 1 the
    /// batch's λ and s shrink together, and an E-step that starts there stays there (measured on natural patches,
    /// see docs/natural-patches.md).
    public var warmStart = false
    /// L-BFGS memory: (s, y) pairs kept. The reference keeps 20 in its E-steps and 200 in full-batch training;
    /// on the bars 20 reaches the same optimum as 200 at half the cost per iteration (see the issue note).
    public var lbfgsHistory = 20
    /// Gradient step size of the M-step on V (em), or Adam's learning rate (adam).
    public var learningRate = 0.5
    /// likelihood: the least σ² training may reach (nil: none; maximum likelihood may drive σ² towards 0).
    public var noiseFloor: Double?
    /// likelihood: the least step γ of the running complete-data statistics (about 1/γ minibatches are averaged; a
    /// smaller step averages away more of the Monte Carlo noise and follows the parameters more slowly).
    public var statisticsStep = 0.2
    /// likelihood: the update of W, σ², λ.
    public var mStep = MStep.em
    /// likelihood: the model (W, σ², λ) training starts from instead of the seeded W, with the file it came from
    /// (e.g. an ES-SC model, to fine-tune it by maximum likelihood). Not part of the stored configuration.
    public var initialModel: (model: SparseCodingModel, path: String)?
    /// β_prior annealing (nil: β = 1 throughout).
    public var annealPrior: Annealing?
    public var seed: UInt64 = 0
    /// Read minibatches from disk instead of loading the data (`SparseCodingTrainer+Streaming.swift`); also chosen
    /// when the data exceed half of the machine's memory.
    public var stream = false

    enum CodingKeys: String, CodingKey {
        case latents, scheme, objective, rank, samples, monteCarloStepSize, penalty, posterior, epochs, batchSize, eStep,
             iterations, eStepTolerance, warmStart, lbfgsHistory, learningRate, annealPrior, seed, noiseFloor, statisticsStep, mStep
    }

    public init(latents: Int, scheme: Scheme, epochs: Int) {
        self.latents = latents
        self.scheme = scheme
        self.epochs = epochs
    }

    /// Checks the configuration on its own (the data are checked by `session`): the one place that says which
    /// combinations train. Errors are usage errors naming the options.
    public func validate() throws {
        func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws {
            if !condition { throw SparseKitError.usage(problem()) }
        }
        try require(latents >= 1, "--latents must be at least 1")
        try require(posterior != .full || scheme == .fullBatch, "--posterior full trains with --scheme full-batch")
        try require(posterior.isAmortized == (scheme == .adam),
                    "--posterior amortized and amortized-lowrank train with --scheme adam, and --scheme adam trains only them")
        try require(objective == .entropy || (scheme == .em && posterior == .diagonal),
                    "--objective \(objective.rawValue) trains diagonal posteriors with --scheme em")
        try require(rank >= 1 && samples >= 1, "--rank and --samples must be at least 1")
        try require(posterior != .amortizedLowRank || rank <= latents,
                    "--rank \(rank) exceeds --latents \(latents): a rank-r factor of an H × H covariance has r ≤ H")
        try require(penalty > 0 && penalty.isFinite, "--penalty must be positive")
        try require(epochs >= 1 && batchSize >= 1 && iterations >= 1 && lbfgsHistory >= 1,
                    "--epochs, --batch-size, --iterations and --lbfgs-history must be at least 1")
        try require(learningRate > 0 && learningRate.isFinite, "--learning-rate must be positive")
        try require(eStepTolerance > 0 && eStepTolerance.isFinite, "--e-step-tolerance must be positive")
        try require(noiseFloor.map { $0 > 0 && $0.isFinite } ?? true, "--noise-floor must be positive")
        try require(statisticsStep > 0 && statisticsStep <= 1, "--statistics-step must lie in (0, 1]")
        try require(annealPrior?.isValid ?? true,
                    "--anneal-prior takes START:EPOCHS with START ≥ 1 (e.g. 10:5) or a list of β ≥ 1 (e.g. 10,8,6,4,2)")
        try require(!(warmStart && (scheme != .em || objective == .elboMC || objective == .likelihood)),
                    "--warm-start applies to the em scheme's entropy and map-l1 E-steps only")
    }

    /// β_prior at `epoch` (0-based).
    public func betaPrior(epoch: Int) -> Double {
        annealPrior?.betaPrior(epoch: epoch) ?? 1
    }

    /// Whether per-point posteriors carry over from one epoch to the next (and are kept with a resumable model):
    /// with warm starts, in full-batch training, and for elbo-mc (always warm).
    public var carriesPosteriors: Bool { warmStart || scheme == .fullBatch || objective == .elboMC || objective == .likelihood }

    /// Whether the per-point posteriors have scales (log s) besides their means: not map-l1's codes, nor
    /// likelihood's chain states.
    var posteriorsHaveScales: Bool { objective != .mapL1 && objective != .likelihood }

    /// Whether training steps Adam (the amortized scheme; likelihood with `--m-step adam`), whose moments a resumable
    /// model keeps.
    public var usesAdam: Bool { scheme == .adam || (objective == .likelihood && mStep == .adam) }

    /// Whether σ² and λ are learned parameters kept with a resumable model (elbo-mc, likelihood) rather than closed
    /// forms or estimates.
    var learnsNoiseAndScales: Bool { objective == .elboMC || objective == .likelihood }

    /// Trains `epochs` epochs on the rows of `x` from the start (or `resume`); the convenience tests and benchmarks
    /// use. `shouldStop` is asked after every minibatch. A divergence throws `TrainingDivergence`.
    public func train(_ x: Matrix, resume: SparseCodingCheckpoint? = nil, shouldStop: () -> Bool = { false }) throws
        -> SparseCodingCheckpoint
    {
        var session = try SparseCodingSession(self, source: .memory(x), resume: resume)
        for _ in 0..<epochs where !shouldStop() { _ = try session.runEpoch(shouldStop: shouldStop) }
        return session.checkpoint
    }

    /// As `train(_:)`, reading minibatches from disk (`SparseCodingTrainer+Streaming.swift`).
    public func train(streaming reader: ShuffledRowReader, resume: SparseCodingCheckpoint? = nil,
                      shouldStop: () -> Bool = { false }) throws -> SparseCodingCheckpoint {
        var session = try SparseCodingSession(self, source: .stream(reader), resume: resume)
        for _ in 0..<epochs where !shouldStop() { _ = try session.runEpoch(shouldStop: shouldStop) }
        return session.checkpoint
    }

    /// Everything training updates: V (W = V/‖V‖), the posteriors, and σ², λ where they are learned (elbo-mc).
    struct State {
        var v: Matrix
        var mu: Matrix
        var rho: Matrix
        var factors: [Float]
        var sigma2: Double
        var lambda: [Double]
        var encoder: GaussianEncoder?
        /// likelihood's running complete-data statistics (nil before its first minibatch and for other objectives).
        var statistics: CompleteDataStatistics?
    }

    /// The epoch's record terms over all N: for `entropy`, L at β = 1 with σ², λ at their closed forms; for
    /// `elbo-mc`, the exact (analytic) ELBO with the learned σ², λ, split as H[q] − (−E log p(z)) − (−E log p(x|z));
    /// for `map-l1`, minus the MAP energy per point (entropies NaN) with σ², λ estimated from the codes.
    func evaluate(_ x: Matrix, _ state: State) -> DiagonalEntropyObjective.Terms {
        let w = ColumnNormalization.normalized(state.v).w
        switch objective {
        case .entropy:
            if posterior == .amortizedLowRank, let encoder = state.encoder {  // L of the low-rank posteriors themselves
                let (output, _) = encoder.forward(x)
                var none: LowRankEntropyObjective.Gradients?
                return LowRankEntropyObjective(x: x, rank: rank).evaluate(
                    w: w, mu: output.mu, scale: output.scale, factors: output.factors!, gradients: &none)
            }
            if posterior == .full {
                return FullCovarianceEntropyObjective(x: x).evaluate(w: w, mu: state.mu, factors: state.factors)
            }
            return DiagonalEntropyObjective.terms(x: x, w: w, mu: state.mu, rho: state.rho)
        case .elboMC:
            return ExactELBO.terms(x, w: w, sigma2: state.sigma2, lambda: state.lambda, mu: state.mu, rho: state.rho)
        case .mapL1:
            return lassoTerms(x, w: w, codes: state.mu)
        case .likelihood:
            return likelihoodTerms(x, v: state.v, chains: state.mu, sigma2: state.sigma2, lambda: state.lambda)
        }
    }

    /// log s_nh = log ‖L_n[h, :]‖, the marginal posterior scales of full-covariance posteriors.
    static func marginalLogScales(_ factors: [Float], n: Int, h: Int) -> Matrix {
        var rho = Matrix(rows: n, cols: h)
        for p in 0..<n { for i in 0..<h {
            var norm = 0.0
            for j in 0...i {
                let raw = Double(factors[FullCovarianceEntropyObjective.index(p, i, j, h)])
                let value = i == j ? exp(raw) : raw
                norm += value * value
            }
            rho[p, i] = Float(0.5 * log(norm))
        } }
        return rho
    }

    /// One pass over shuffled minibatches: an E-step on the batch's q, then a gradient step on V. Returns the
    /// epoch's running L at β = 1 (`DiagonalEntropyObjective.terms`): each batch's sums at the W and q of its own
    /// E-step, σ², λ at their closed forms over the epoch's totals, as the streaming and distributed epochs do.
    /// (L over all N at the epoch's final W and the q's stored along the way, the authors' record, understates the
    /// model when σ² is small: each q is stale by the M-steps after its batch. On 16×16 patches at H = 256,
    /// σ² ≈ 0.002, it lay 42 nats/point below L with every q fitted at that W, and its σ² was 40% too large.)
    func emEpoch(_ x: Matrix, _ v: inout Matrix, _ mu: inout Matrix, _ rho: inout Matrix, _ weights: EntropyWeights,
                 _ generator: inout SeededGenerator, shouldStop: () -> Bool) -> DiagonalEntropyObjective.Terms
    {
        let n = x.rows
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        var totals = DiagonalEntropyObjective.Sums.none(latents: latents)
        var points = 0
        BLASThreads.with(1) {  // see emStep
            for start in stride(from: 0, to: n, by: batchSize) {
                if start > 0, shouldStop() { break }
                let rows = Array(order[start..<min(n, start + batchSize)])
                let xb = x.gathering(rows)
                let (muB, rhoB, sums) = emStep(xb, &v, from: initialPosteriors(rows, mu, rho), weights)
                totals.add(sums)
                points += rows.count
                mu.scattering(muB, to: rows)
                rho.scattering(rhoB, to: rows)
            }
        }
        return DiagonalEntropyObjective.terms(totals, points: points, dimension: x.cols,
                                              norms: [Double](repeating: 1, count: latents), weights: .one)
    }

    /// The em scheme on one minibatch `xb`: the E-step maximises B·L over the batch's (μ, ρ), flattened in `start`,
    /// at fixed W = V/‖V‖; then the M-step takes one ascent step on V along ∂L/∂V. Returns the fitted (μ, ρ) and the
    /// batch's sums behind L at them and at that W (the epoch's running record), from the M-step's gradient pass. Run
    /// with one BLAS thread: the E-step's products are small (B×H×H), and idle OpenBLAS threads spin between them
    /// (one epoch on 10,240 patches: 2.6 s with one thread, 3.1 s with two).
    func emStep(_ xb: Matrix, _ v: inout Matrix, from start: [Float], _ weights: EntropyWeights)
        -> (mu: Matrix, rho: Matrix, sums: DiagonalEntropyObjective.Sums)
    {
        let (b, d, h) = (xb.rows, xb.cols, latents)
        let (w, norms) = ColumnNormalization.normalized(v)
        var objective = DiagonalEntropyObjective(x: xb, weights: weights)
        var muB = Matrix(rows: b, cols: h, storage: Array(start[0..<(b * h)]))
        var rhoB = Matrix(rows: b, cols: h, storage: Array(start[(b * h)...]))
        if eStep == .coordinate {
            CoordinateAscentEStep(maxSweeps: iterations, tolerance: eStepTolerance)
                .fit(x: xb, w: w, mu: &muB, rho: &rhoB, weights: weights)
        } else {
            (muB, rhoB) = lbfgsEStep(&objective, w: w, from: start)
        }
        var gradW = [Float](repeating: 0, count: d * h)
        let sums = gradW.withUnsafeMutableBufferPointer { objective.dictionaryGradient(w: w, mu: muB, rho: rhoB, into: $0.baseAddress!) }
        ascend(&v, w: w, norms: norms, gradW: gradW)
        return (muB, rhoB, sums)
    }

    /// The authors' E-step: one L-BFGS over the batch's (μ, ρ), flattened in `start`, maximising B·L_β.
    func lbfgsEStep(_ objective: inout DiagonalEntropyObjective, w: Matrix, from start: [Float]) -> (mu: Matrix, rho: Matrix) {
        let (b, h) = (objective.x.rows, latents)
        var parameters = start
        objective.fixDictionary(w)
        LBFGS(history: lbfgsHistory, maxIterations: iterations).minimize(&parameters) { p, g in
            let terms = p.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { gp in
                    objective.evaluate(mu: p.baseAddress!, rho: p.baseAddress! + b * h, gradMu: gp.baseAddress!,
                                       gradRho: gp.baseAddress! + b * h)
                }
            }
            scale(&g, -Double(b))
            return -Double(b) * terms.value
        }
        return (Matrix(rows: b, cols: h, storage: Array(parameters[0..<(b * h)])),
                Matrix(rows: b, cols: h, storage: Array(parameters[(b * h)...])))
    }

    /// A minibatch's starting (μ, ρ), flattened: its previous values with `warmStart`, else μ = 0, ρ = log s = 0.
    func initialPosteriors(_ rows: [Int], _ mu: Matrix, _ rho: Matrix) -> [Float] {
        guard warmStart else { return [Float](repeating: 0, count: 2 * rows.count * latents) }
        return mu.gathering(rows).storage + rho.gathering(rows).storage
    }

    /// The M-step of the minibatch schemes: V ← V + lr ∂/∂V, from the gradient w.r.t. W = V/‖V‖.
    func ascend(_ v: inout Matrix, w: Matrix, norms: [Float], gradW: [Float]) {
        var gradV = [Float](repeating: 0, count: gradW.count)
        gradW.withUnsafeBufferPointer { ColumnNormalization.backward(w: w, norms: norms, gradW: $0.baseAddress!, into: &gradV) }
        axpy(learningRate, gradV, &v.storage)
    }

    /// One L-BFGS run over V, every μ_n and every Cholesky factor L_n (only their H(H+1)/2 used entries).
    func fullCovarianceEpoch(_ x: Matrix, _ v: inout Matrix, _ mu: inout Matrix, _ factors: inout [Float],
                             _ weights: EntropyWeights)
    {
        let (n, d, h) = (x.rows, x.cols, latents)
        let packing = TriangularPacking(points: n, size: h)
        var parameters = v.storage + mu.storage + packing.pack(factors)
        let objective = FullCovarianceEntropyObjective(x: x, weights: weights)
        let (vEnd, muEnd) = (d * h, d * h + n * h)
        var gradFactors = [Float](repeating: 0, count: n * h * h)
        LBFGS(history: lbfgsHistory, maxIterations: iterations).minimize(&parameters) { p, g in
            let (w, norms) = ColumnNormalization.normalized(Matrix(rows: d, cols: h, storage: Array(p[0..<vEnd])))
            let muN = Matrix(rows: n, cols: h, storage: Array(p[vEnd..<muEnd]))
            var gradW = [Float](repeating: 0, count: d * h)
            let terms = g.withUnsafeMutableBufferPointer { gp in
                gradW.withUnsafeMutableBufferPointer { gw in
                    gradFactors.withUnsafeMutableBufferPointer { gf in
                        objective.evaluate(w: w, mu: muN, factors: packing.unpack(p[muEnd...]), gradMu: gp.baseAddress! + vEnd,
                                           gradFactors: gf.baseAddress!, gradW: gw.baseAddress!)
                    }
                }
            }
            g.withUnsafeMutableBufferPointer { gp in
                gradW.withUnsafeBufferPointer { ColumnNormalization.backward(w: w, norms: norms, gradW: $0.baseAddress!, into: gp.baseAddress!) }
                packing.pack(gradFactors, into: gp.baseAddress! + muEnd)
            }
            scale(&g, -Double(n))
            return -Double(n) * terms.value
        }
        v = Matrix(rows: d, cols: h, storage: Array(parameters[0..<vEnd]))
        mu = Matrix(rows: n, cols: h, storage: Array(parameters[vEnd..<muEnd]))
        factors = packing.unpack(parameters[muEnd...])
    }

    /// One L-BFGS run of `iterations` iterations over V and every q_n.
    func fullBatchEpoch(_ x: Matrix, _ v: inout Matrix, _ mu: inout Matrix, _ rho: inout Matrix, _ weights: EntropyWeights) {
        let (n, d, h) = (x.rows, x.cols, latents)
        var parameters = v.storage + mu.storage + rho.storage
        var objective = DiagonalEntropyObjective(x: x, weights: weights)
        LBFGS(history: lbfgsHistory, maxIterations: iterations).minimize(&parameters) { p, g in
            let (w, norms) = ColumnNormalization.normalized(Matrix(rows: d, cols: h, storage: Array(p[0..<(d * h)])))
            let muN = Matrix(rows: n, cols: h, storage: Array(p[(d * h)..<(d * h + n * h)]))
            let rhoN = Matrix(rows: n, cols: h, storage: Array(p[(d * h + n * h)...]))
            var gradW = [Float](repeating: 0, count: d * h)
            let terms = g.withUnsafeMutableBufferPointer { gp in
                gradW.withUnsafeMutableBufferPointer { gw in
                    objective.evaluate(w: w, mu: muN, rho: rhoN, gradMu: gp.baseAddress! + d * h,
                                       gradRho: gp.baseAddress! + d * h + n * h, gradW: gw.baseAddress!)
                }
            }
            g.withUnsafeMutableBufferPointer { gp in
                gradW.withUnsafeBufferPointer { ColumnNormalization.backward(w: w, norms: norms, gradW: $0.baseAddress!, into: gp.baseAddress!) }
            }
            scale(&g, -Double(n))
            return -Double(n) * terms.value
        }
        v = Matrix(rows: d, cols: h, storage: Array(parameters[0..<(d * h)]))
        mu = Matrix(rows: n, cols: h, storage: Array(parameters[(d * h)..<(d * h + n * h)]))
        rho = Matrix(rows: n, cols: h, storage: Array(parameters[(d * h + n * h)...]))
    }
}

extension SparseCodingTrainer {
    /// The settings whose meaning depends on the configuration; `sk-train sc` refuses one given where it does not
    /// apply instead of ignoring it.
    public enum Setting: String, Sendable, CaseIterable {
        case rank, samples, penalty, batchSize = "batch-size", iterations, lbfgsHistory = "lbfgs-history", warmStart = "warm-start"
        case eStep = "e-step", eStepTolerance = "e-step-tolerance"
        case learningRate = "learning-rate", annealPrior = "anneal-prior", noiseFloor = "noise-floor", initialModel = "init", statisticsStep = "statistics-step"
        case mStep = "m-step"
    }

    /// Where `setting` applies, in words, or nil when it applies to this configuration.
    public func inapplicability(of setting: Setting) -> String? {
        switch setting {
        case .rank: return posterior == .amortizedLowRank ? nil : "applies to --posterior amortized-lowrank only"
        case .samples: return objective == .elboMC || objective == .likelihood ? nil : "applies to --objective elbo-mc or likelihood only"
        case .penalty: return objective == .mapL1 ? nil : "applies to --objective map-l1 only"
        case .batchSize: return scheme != .fullBatch ? nil : "does not apply to --scheme full-batch (every point in one step)"
        case .iterations:
            if objective == .likelihood { return "does not apply to --objective likelihood (its E-step is --samples Gibbs sweeps)" }
            return scheme != .adam ? nil : "does not apply to --scheme adam (one step per minibatch)"
        case .lbfgsHistory:
            return objective == .entropy && (scheme == .fullBatch || (scheme == .em && eStep == .lbfgs)) ? nil
                : "applies to the L-BFGS of --objective entropy with --scheme full-batch, or --scheme em with --e-step lbfgs, only"
        case .eStep: return scheme == .em && objective == .entropy ? nil : "applies to --scheme em with --objective entropy only"
        case .eStepTolerance:
            return scheme == .em && objective == .entropy && eStep == .coordinate ? nil
                : "applies to --scheme em with --objective entropy and --e-step coordinate only"
        case .warmStart:
            return scheme == .em && (objective == .entropy || objective == .mapL1) ? nil
                : "applies to --scheme em with --objective entropy or map-l1 only"
        case .learningRate:
            if objective == .likelihood { return mStep == .adam ? nil : "applies to --objective likelihood with --m-step adam only" }
            return scheme != .fullBatch ? nil : "does not apply to --scheme full-batch (L-BFGS takes its own steps)"
        case .annealPrior: return objective == .entropy ? nil : "applies to --objective entropy only"
        case .noiseFloor, .initialModel, .mStep: return objective == .likelihood ? nil : "applies to --objective likelihood only"
        case .statisticsStep: return objective == .likelihood && mStep == .em ? nil : "applies to --objective likelihood with --m-step em only"
        }
    }

    /// Refuses the first of the `given` settings that does not apply (a usage error naming the option).
    public func refuseInapplicable(_ given: [Setting]) throws {
        for setting in given {
            if let reason = inapplicability(of: setting) { throw SparseKitError.usage("--\(setting.rawValue) \(reason)") }
        }
    }
}
