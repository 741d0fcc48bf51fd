import DataKit
import Foundation

/// One epoch of training, as recorded in the model file's `/history`.
public struct EpochRecord: Sendable, Codable, Equatable {
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
/// - `em` (diagonal q): per minibatch, an E-step maximising L over that batch's q by L-BFGS (from μ = 0, s = 1, or with
///   `warmStart` the batch's last q), then one gradient step on W = V/‖V‖ (the M-step); `elbo-mc` and `map-l1` run
///   on this path with their own E-steps (`SparseCodingTrainer+Baselines.swift`);
/// - `fullBatch` (diagonal or full q): one L-BFGS over V and every q_n;
/// - `adam` (amortized q): Adam over the encoder and V on each minibatch (`SparseCodingTrainer+Amortized.swift`).
/// Every epoch is recorded with L at β = 1 over all N (for amortized-lowrank, from one encoder pass over all N).
public struct SparseCodingTrainer: Sendable {
    public enum Scheme: String, Sendable, CaseIterable { case em, fullBatch = "full-batch", adam }

    /// Posterior family: diagonal Gaussians, full covariances (Cholesky factors; full-batch scheme only), or an
    /// encoder network giving diagonal Gaussians or diagonal-plus-rank-r ones (adam scheme only).
    public enum Posterior: String, Sendable, CaseIterable {
        case diagonal, full, amortized, amortizedLowRank = "amortized-lowrank"
        public var isAmortized: Bool { self == .amortized || self == .amortizedLowRank }
    }

    /// What is maximised: the entropy objective L (`es-sc.md`), or one of the baselines on the same code path:
    /// `elbo-mc` (the reparameterized Monte-Carlo ELBO with σ², λ learned) and `map-l1` (MAP codes by FISTA).
    public enum Objective: String, Sendable, CaseIterable { case entropy, elboMC = "elbo-mc", mapL1 = "map-l1" }

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
    /// L-BFGS iterations per E-step (em) or per epoch (full-batch).
    public var iterations = 100
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
    /// β_prior annealing: starts at `start`, falls linearly to 1 over `epochs` epochs (nil: β = 1 throughout).
    public var annealPrior: (start: Double, epochs: Int)?
    public var seed: UInt64 = 0
    /// Continue from a trained model (`sk-train --resume`): W (and the encoder, and σ², λ where they are learned)
    /// start from it, epochs are numbered on from its history, and annealing continues its schedule. Per-point
    /// posteriors are not stored in model files, so non-amortized q start afresh (the E-steps refit them), and Adam's
    /// moment estimates start afresh too.
    public var resume: Checkpoint?

    /// A trained model to continue from.
    public struct Checkpoint: Sendable {
        public var model: SparseCodingModel
        public var encoder: GaussianEncoder?
        public var history: [EpochRecord]

        public init(model: SparseCodingModel, encoder: GaussianEncoder?, history: [EpochRecord]) {
            self.model = model
            self.encoder = encoder
            self.history = history
        }
    }

    public init(latents: Int, scheme: Scheme, epochs: Int) {
        self.latents = latents
        self.scheme = scheme
        self.epochs = epochs
    }

    /// β_prior at `epoch` (0-based).
    public func betaPrior(epoch: Int) -> Double {
        guard let (start, span) = annealPrior, span > 0 else { return 1 }
        return max(1, start - (start - 1) * Double(epoch) / Double(span))
    }

    public struct Result: Sendable {
        public var model: SparseCodingModel
        public var history: [EpochRecord]
        /// The posterior means and log-scales of the training points (N × H); for map-l1 the MAP codes, and no
        /// log-scales (0 × 0).
        public var mu: Matrix
        public var rho: Matrix
        /// The encoder of amortized posteriors.
        public var encoder: GaussianEncoder?
        /// Why training stopped before its last epoch (divergence), if it did; the result is then the last good
        /// epoch's.
        public var stoppedEarly: String?
        /// Whether SIGINT/SIGTERM stopped training (after a minibatch; the last epoch in the history is that partial
        /// epoch, evaluated as it stood).
        public var interrupted = false
    }

    /// Trains on the rows of `x`. `report` sees each epoch's record; returning false stops early (keeping the model).
    public func train(_ x: Matrix, report: (EpochRecord) -> Bool = { _ in true }) throws -> Result {
        // Small problems (the bars) make many tiny BLAS calls: idle OpenBLAS threads would only spin.
        try BLASThreads.with(x.cols * latents < 10_000 ? 1 : BLASThreads.count) { try trainUnthreaded(x, report: report) }
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
    }

    private func trainUnthreaded(_ x: Matrix, report: (EpochRecord) -> Bool) throws -> Result {
        let (n, d, h) = (x.rows, x.cols, latents)
        guard n > 0, d > 0, h > 0 else { throw SparseKitError.usage("empty data or no latents") }
        guard posterior != .full || scheme == .fullBatch else {
            throw SparseKitError.usage("full-covariance posteriors train with the full-batch scheme")
        }
        guard posterior.isAmortized == (scheme == .adam) else {
            throw SparseKitError.usage("amortized posteriors, and only they, train with the adam scheme")
        }
        guard objective == .entropy || (scheme == .em && posterior == .diagonal) else {
            throw SparseKitError.usage("the \(objective.rawValue) baseline trains diagonal posteriors with the em scheme")
        }
        let start = try startingPoint(dimension: d)
        var state = State(
            v: start.v, mu: Matrix(rows: n, cols: h), rho: Matrix(rows: n, cols: h),
            factors: [Float](repeating: 0, count: posterior == .full ? n * h * h : 0),  // L_n = I
            sigma2: max(x.storage.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n * d), 1e-6),
            lambda: [Double](repeating: 1, count: h), encoder: start.encoder)
        if let resume {
            (state.sigma2, state.lambda) = (Double(resume.model.sigma2), resume.model.lambda.map(Double.init))
        }
        var history = start.history
        let firstEpoch = history.count
        var adam = Adam(learningRate: learningRate)
        var lastGood: State?
        var generator = SeededGenerator(seed: seed &+ 1 &+ UInt64(firstEpoch))
        for epoch in firstEpoch..<(firstEpoch + epochs) {
            let started = Date()
            let weights = EntropyWeights(prior: betaPrior(epoch: epoch))
            switch (objective, scheme, posterior) {
            case (.elboMC, _, _): monteCarloEpoch(x, &state, &generator)
            case (.mapL1, _, _): lassoEpoch(x, &state.v, &state.mu, &generator)
            case (.entropy, .em, _): emEpoch(x, &state.v, &state.mu, &state.rho, weights, &generator)
            case (.entropy, .adam, _): amortizedEpoch(x, &state, &adam, weights, &generator)
            case (.entropy, .fullBatch, .diagonal): fullBatchEpoch(x, &state.v, &state.mu, &state.rho, weights)
            case (.entropy, .fullBatch, .full): fullCovarianceEpoch(x, &state.v, &state.mu, &state.factors, weights)
            case (.entropy, .fullBatch, .amortized), (.entropy, .fullBatch, .amortizedLowRank):
                preconditionFailure("amortized posteriors are rejected above")
            }
            if posterior == .full { state.rho = SparseCodingTrainer.marginalLogScales(state.factors, n: n, h: h) }
            let terms = evaluate(x, state)
            guard terms.value.isFinite, state.v.isFinite, state.mu.isFinite, state.rho.isFinite else {
                guard let lastGood else {
                    throw SparseKitError.badInput(nil, "training diverged in its first epoch (objective \(terms.value))")
                }
                var result = finish(x, lastGood, history)
                result.stoppedEarly = "training diverged at epoch \(epoch + 1) (objective \(terms.value)); "
                    + "kept epoch \(epoch)"
                return result
            }
            lastGood = state
            let record = EpochRecord(
                epoch: epoch + 1, objective: terms.value, posteriorEntropy: terms.posteriorEntropy,
                priorEntropy: terms.priorEntropy, noiseEntropy: terms.noiseEntropy, sigma2: terms.sigma2,
                meanLambda: terms.lambda.reduce(0, +) / Double(h), gini: Sparsity.meanGini(state.mu),
                betaPrior: weights.prior, seconds: Date().timeIntervalSince(started))
            history.append(record)
            if !report(record) { break }
            if Interruption.requested {
                var result = finish(x, state, history)
                result.interrupted = true
                return result
            }
        }
        return finish(x, state, history)
    }

    /// Where training starts: V seeded (W = V/‖V‖ at the data dimension `d`), a seeded encoder for amortized q, and
    /// no history; or W, the encoder and the history of the `resume` checkpoint, after checking they fit.
    func startingPoint(dimension d: Int) throws -> (v: Matrix, encoder: GaussianEncoder?, history: [EpochRecord]) {
        let h = latents
        var encoder: GaussianEncoder?
        if posterior.isAmortized {
            var encoderGenerator = SeededGenerator(seed: seed &+ 2)
            encoder = GaussianEncoder(dimension: d, latents: h, rank: posterior == .amortizedLowRank ? rank : 0,
                                      generator: &encoderGenerator)
        }
        guard let resume else { return (SparseCodingModel.initial(dimension: d, latents: h, seed: seed).w, encoder, []) }
        guard resume.model.dimension == d, resume.model.latents == h else {
            throw SparseKitError.usage("the model to resume has D = \(resume.model.dimension), H = \(resume.model.latents); "
                + "the data and --latents give D = \(d), H = \(h)")
        }
        guard (resume.encoder != nil) == posterior.isAmortized, (resume.encoder?.rank ?? 0) == (encoder?.rank ?? 0) else {
            throw SparseKitError.usage("the model to resume was trained with other posteriors (an encoder exactly when amortized)")
        }
        return (resume.model.w, resume.encoder ?? encoder, resume.history)
    }

    /// The epoch's record terms over all N: for `entropy`, L at β = 1 with σ², λ at their closed forms; for
    /// `elbo-mc`, the exact (analytic) ELBO with the learned σ², λ, split as H[q] − (−E log p(z)) − (−E log p(x|z));
    /// for `map-l1`, minus the MAP energy per point (entropies NaN) with σ², λ estimated from the codes.
    private func evaluate(_ x: Matrix, _ state: State) -> DiagonalEntropyObjective.Terms {
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

    /// The model at the final state: W normalised; σ², λ at their closed forms over all N (entropy), as learned
    /// (elbo-mc), or estimated from the MAP codes (map-l1).
    private func finish(_ x: Matrix, _ state: State, _ history: [EpochRecord]) -> Result {
        let w = ColumnNormalization.normalized(state.v).w
        let terms = evaluate(x, state)
        let model = SparseCodingModel(w: w, lambda: terms.lambda.map { Float($0) }, sigma2: Float(terms.sigma2))
        let rho = objective == .mapL1 ? Matrix(rows: 0, cols: 0) : state.rho
        return Result(model: model, history: history, mu: state.mu, rho: rho, encoder: state.encoder, stoppedEarly: nil)
    }

    /// One pass over shuffled minibatches: E-step by L-BFGS on the batch's q, then a gradient step on V.
    func emEpoch(_ x: Matrix, _ v: inout Matrix, _ mu: inout Matrix, _ rho: inout Matrix, _ weights: EntropyWeights,
                 _ generator: inout SeededGenerator)
    {
        let n = x.rows
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        BLASThreads.with(1) {  // see emStep
            for start in stride(from: 0, to: n, by: batchSize) where !Interruption.requested {
                let rows = Array(order[start..<min(n, start + batchSize)])
                let (muB, rhoB, _) = emStep(x.gathering(rows), &v, from: initialPosteriors(rows, mu, rho), weights)
                mu.scattering(muB, to: rows)
                rho.scattering(rhoB, to: rows)
            }
        }
    }

    /// The em scheme on one minibatch `xb`: the E-step maximises B·L over the batch's (μ, ρ), flattened in `start`,
    /// at fixed W = V/‖V‖; then the M-step takes one ascent step on V along ∂L/∂V. Returns the fitted (μ, ρ) and the
    /// W they were fitted at. Run with one BLAS thread: the E-step's products are small (B×H×H), and idle OpenBLAS
    /// threads spin between them (one epoch on 10,240 patches: 2.6 s with one thread, 3.1 s with two).
    func emStep(_ xb: Matrix, _ v: inout Matrix, from start: [Float], _ weights: EntropyWeights) -> (mu: Matrix, rho: Matrix, w: Matrix) {
        let (b, d, h) = (xb.rows, xb.cols, latents)
        var parameters = start
        let (w, norms) = ColumnNormalization.normalized(v)
        var objective = DiagonalEntropyObjective(x: xb, weights: weights)
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
        let muB = Matrix(rows: b, cols: h, storage: Array(parameters[0..<(b * h)]))
        let rhoB = Matrix(rows: b, cols: h, storage: Array(parameters[(b * h)...]))
        var gradW = [Float](repeating: 0, count: d * h)
        gradW.withUnsafeMutableBufferPointer { _ = objective.evaluate(w: w, mu: muB, rho: rhoB, gradW: $0.baseAddress!) }
        ascend(&v, w: w, norms: norms, gradW: gradW)
        return (muB, rhoB, w)
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

/// Sparsity measures.
public enum Sparsity {
    /// The Gini coefficient of |a| (Hurley & Rickard): 1 − 2 Σ_k (a_(k)/‖a‖₁) (H − k + ½)/H over the sorted
    /// magnitudes; 0 for equal magnitudes, → 1 for one non-zero.
    public static func gini(_ a: ArraySlice<Float>) -> Double {
        let sorted = a.map { Double(abs($0)) }.sorted()
        let total = sorted.reduce(0, +)
        guard total > 0 else { return 0 }
        let h = Double(sorted.count)
        var sum = 0.0
        for (k, value) in sorted.enumerated() { sum += value / total * (h - Double(k + 1) + 0.5) / h }
        return 1 - 2 * sum
    }

    /// The mean over rows of the Gini coefficient of each row.
    public static func meanGini(_ m: Matrix) -> Double {
        guard m.rows > 0 else { return 0 }
        return (0..<m.rows).reduce(0.0) { $0 + gini(m.row($1)) } / Double(m.rows)
    }
}
