import CKernels
import DataKit
import Dispatch
import Foundation

/// Annealed importance sampling of an ES-SC model's log p(x) (Neal 2001; `es-sc.md`, "Evaluation"), and its
/// reverse for bidirectional Monte Carlo (Grosse, Ghahramani & Adams 2015).
///
/// Targets f_t(z) = p(z) p(x | z)^{β_t}, 0 = β_0 < … < β_T = 1. Forward, each of K chains per point starts from the
/// prior and
///   log w = Σ_{t=1…T} (β_t − β_{t−1}) log p(x | z_{t−1}),  z_t ~ one Gibbs sweep leaving f_t invariant (t < T);
/// log p̂(x) = log (1/K) Σ_k w_k is a stochastic lower bound (E w = p(x)). Reverse, each chain starts from an exact
/// posterior sample z_T (on data simulated from the model, the z that generated x) and
///   log w_rev = Σ_{t=T…1} (β_{t−1} − β_t) log p(x | z_t),  z_{t−1} ~ a sweep leaving f_{t−1} invariant (t > 1);
/// E w_rev = 1/p(x), so −log (1/K) Σ_k w_rev,k is a stochastic upper bound.
///
/// The transitions are `TemperedLaplaceGibbs` sweeps (coordinate-wise, O(H²)), or with `.blocked` the joint draws of
/// `ScaleMixtureGibbs` at noise variance σ²/β (O(D²H)), which keep mixing when σ² is so small that the latents
/// explain one another away and coordinate chains freeze. Each point draws from its own random stream
/// (`SeededGenerator(seed:stream:)` with the point's row in the data set), so estimates depend neither on how rows
/// are split into blocks nor on the number of threads; coordinate chains each draw from a stream of their own, seeded
/// from the point's, and run eight at a time in CKernels' `sk_ais_coordinate_chains` on CPUs with AVX-512 (the same
/// draws as the Swift chains up to the last bits of exp, log, cos and erfc). Points are spread over the cores.
public struct AnnealedImportanceSampling: Sendable {
    public let model: SparseCodingModel
    /// K: chains per point.
    public let chains: Int
    /// β_0 = 0, …, β_T = 1.
    public let schedule: [Double]
    let sampler: TemperedLaplaceGibbs
    /// How a chain moves between temperatures.
    public let transition: Transition
    let blockedSampler: ScaleMixtureGibbs
    /// Whether coordinate chains run eight at a time in CKernels (where the CPU can); false runs the Swift chains.
    var usesChainKernel = sk_ais_chains_available() != 0

    /// The Markov transitions of the chains.
    public enum Transition: String, Sendable, CaseIterable, Codable {
        /// A systematic sweep of exact one-coordinate draws (`TemperedLaplaceGibbs`): O(H²) per sweep.
        case coordinate
        /// τ | z and then z | τ, x jointly (`ScaleMixtureGibbs`): O(D²H) per sweep, for models with small σ².
        case blocked
        /// The blocked moves, with z integrated out of the weights: AIS over the scales τ, weighted by the
        /// τ-marginals of the tempered targets (`ScaleMixtureGibbs+Collapsed.swift`), whose ratios stay smooth as
        /// σ² → 0. About twice the blocked transition's cost; for H ≥ D and very small σ².
        case collapsed
    }

    /// How the temperatures β_1 … β_T are spaced.
    public enum Schedule: String, Sendable, CaseIterable, Codable {
        /// Grosse et al.'s sigmoid in β (`sigmoidSchedule`): the default, chosen by BDMC for σ² ≳ 0.005.
        case sigmoid
        /// Even in log β (`geometricSchedule`), so the tempered noise σ²/β falls geometrically: for very small σ², where
        /// the posterior changes most at β of order σ², which the sigmoid steps over in its first few temperatures.
        case geometric
    }

    /// Default T and K of `sk-eval --loglik`, chosen by bidirectional Monte Carlo (README, "Held-out likelihood").
    public static let defaultTemperatures = 1000
    public static let defaultChains = 16

    public init(model: SparseCodingModel, temperatures: Int = defaultTemperatures, chains: Int = defaultChains,
                transition: Transition = .coordinate, schedule kind: Schedule = .sigmoid) {
        precondition(temperatures >= 1 && chains >= 1, "at least one temperature and one chain")
        self.model = model
        self.chains = chains
        self.transition = transition
        schedule = kind == .geometric ? Self.geometricSchedule(temperatures, model: model) : Self.sigmoidSchedule(temperatures)
        sampler = TemperedLaplaceGibbs(model: model)
        blockedSampler = ScaleMixtureGibbs(model: model)
    }

    public var temperatures: Int { schedule.count - 1 }

    /// ", blocked, geometric" and the like for reports: the choices that are not the defaults.
    public static func describe(_ transition: Transition, _ schedule: Schedule) -> String {
        (transition == .coordinate ? "" : ", \(transition.rawValue)") + (schedule == .sigmoid ? "" : ", \(schedule.rawValue)")
    }

    /// β_0 = 0, then β_1 … β_T = 1 evenly spaced in log β from β_1 = σ²/(100 v̄), v̄ the model's mean variance per
    /// dimension: the noise variance σ²/β of the tempered targets falls geometrically from 100 v̄ to σ².
    public static func geometricSchedule(_ temperatures: Int, model: SparseCodingModel) -> [Double] {
        guard temperatures > 1 else { return [0, 1] }
        let (d, h) = (model.dimension, model.latents)
        var variance = Double(model.sigma2)
        for i in 0..<d { for j in 0..<h { variance += 2 * Double(model.lambda[j] * model.lambda[j]) * Double(model.w[i, j] * model.w[i, j]) / Double(d) } }
        let first = min(Double(model.sigma2) / (100 * variance), 0.01)
        var schedule = [0.0] + (1...temperatures).map { t in exp(log(first) * Double(temperatures - t) / Double(temperatures - 1)) }
        schedule[temperatures] = 1
        return schedule
    }

    /// The sigmoid schedule of Grosse et al. (2015): β̃_t = σ(δ (2t/T − 1)) with δ = 4, rescaled so that β_0 = 0 and
    /// β_T = 1; its steps are smallest near both ends, where log p(x | z) changes fastest.
    public static func sigmoidSchedule(_ temperatures: Int, sharpness delta: Double = 4) -> [Double] {
        guard temperatures > 1 else { return [0, 1] }
        let raw = (0...temperatures).map { t in 1 / (1 + exp(-delta * (2 * Double(t) / Double(temperatures) - 1))) }
        let (low, high) = (raw.first!, raw.last!)
        var schedule = raw.map { ($0 - low) / (high - low) }
        schedule[0] = 0
        schedule[temperatures] = 1
        return schedule
    }

    /// One point's result: log of the mean weight (a lower bound forward; the negated log mean reverse weight,
    /// an upper bound, in reverse), the sample variance of the K chains' log-weights, and the weights' effective
    /// sample size (Σw)²/Σw².
    public struct PointEstimate: Sendable, Equatable {
        public var logLikelihood: Double
        public var logWeightVariance: Double
        public var effectiveSampleSize: Double
    }

    /// Forward AIS for each row of `x`; `firstRow` is the index of x's first row in the whole data set (it picks
    /// the random streams).
    public func forward(_ x: Matrix, firstRow: Int = 0, seed: UInt64) -> [PointEstimate] {
        run(x, exactLatents: nil, firstRow: firstRow, seed: seed)
    }

    /// Reverse AIS for each row of `x` from its exact posterior sample (the row of `latents`): upper bounds.
    public func reverse(_ x: Matrix, exactLatents latents: Matrix, firstRow: Int = 0, seed: UInt64) -> [PointEstimate] {
        precondition(latents.rows == x.rows && latents.cols == model.latents, "one latent vector per row")
        return run(x, exactLatents: latents, firstRow: firstRow, seed: seed)
    }

    private func run(_ x: Matrix, exactLatents: Matrix?, firstRow: Int, seed: UInt64) -> [PointEstimate] {
        precondition(x.cols == model.dimension, "rows of dimension D")
        let n = x.rows
        let w = model.w.storage.map(Double.init)
        var results = [PointEstimate](repeating: PointEstimate(logLikelihood: 0, logWeightVariance: 0, effectiveSampleSize: 0),
                                      count: n)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, n))
        // One BLAS thread: the points already run on every core, and the blocked and collapsed moves' small D × D
        // calls (dsyrk, dpotrf) otherwise wake OpenBLAS's own threads on each one (measured: 3/4 of the time spent in
        // its hand-offs and sched_yield: BDMC on a collapsed run took 49.4 s instead of 8.0 s).
        let lambda = model.lambda.map(Double.init)
        BLASThreads.with(1) {
            results.withUnsafeMutableBufferPointer { slots in
            sampler.gram.withUnsafeBufferPointer { gram in
            sampler.inverseScales.withUnsafeBufferPointer { inverseScales in
            lambda.withUnsafeBufferPointer { scales in
            schedule.withUnsafeBufferPointer { schedule in
                nonisolated(unsafe) let slots = slots
                nonisolated(unsafe) let kernel = sk_ais_chains_model(
                    latents: model.latents, gram: gram.baseAddress, inverse_scales: inverseScales.baseAddress,
                    scales: scales.baseAddress, sigma2: sampler.sigma2, log_noise_normalizer: sampler.logNoiseNormalizer,
                    schedule: schedule.baseAddress, temperatures: temperatures, refresh_interval: Self.refreshInterval)
                let useKernel = transition == .coordinate && usesChainKernel
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var workspace = Workspace(chains: chains, latents: model.latents)
                    var blocked = ScaleMixtureGibbs.Workspace(dimension: model.dimension, latents: model.latents)
                    for point in stride(from: worker, to: n, by: workers) {
                        var generator = SeededGenerator(seed: seed, stream: UInt64(firstRow + point))
                        let xRow = x.row(point).map(Double.init)
                        // c = Wᵀx in double, row by row: a product of the whole block would round each row according to
                        // the block's shape (OpenBLAS's edge kernels), and the estimates would depend on the blocking.
                        var cRow = [Double](repeating: 0, count: model.latents)
                        for (i, xi) in xRow.enumerated() { for j in 0..<model.latents { cRow[j] += xi * w[i * model.latents + j] } }
                        let squaredNorm = xRow.reduce(0.0) { $0 + $1 * $1 }
                        let start = exactLatents.map { z in z.row(point).map(Double.init) }
                        slots[point] = chainsOfOnePoint(x: xRow, squaredNorm: squaredNorm, c: cRow, exactLatent: start,
                                                        kernel: useKernel ? kernel : nil, workspace: &workspace,
                                                        blocked: &blocked, generator: &generator)
                    }
                }
            } } } } }
        }
        return results
    }

    /// Per-worker buffers: z and v = c − G z of K chains (K × H), and the chains' log-weights; for the kernel, the
    /// same of eight lanes (H × 8) and their generators' states.
    struct Workspace {
        var z: [Double]
        var v: [Double]
        var logWeights: [Double]
        var laneZ: [Double]
        var laneV: [Double]
        var laneStates = [UInt64](repeating: 0, count: 32)
        var laneWeights = [Double](repeating: 0, count: 8)
        init(chains: Int, latents: Int) {
            z = [Double](repeating: 0, count: chains * latents)
            v = z
            logWeights = [Double](repeating: 0, count: chains)
            laneZ = [Double](repeating: 0, count: 8 * latents)
            laneV = laneZ
        }
    }

    /// Rounding drift of v is removed by an exact recomputation every so many sweeps.
    static let refreshInterval = 64

    /// The K chains of one point and their summary. Coordinate chains each take a stream seeded from the point's
    /// (eight at a time in `sk_ais_coordinate_chains` when `kernel` is given); blocked and collapsed chains draw in
    /// turn from the point's stream.
    private func chainsOfOnePoint(x: [Double], squaredNorm: Double, c: [Double], exactLatent: [Double]?,
                                  kernel: sk_ais_chains_model?, workspace: inout Workspace,
                                  blocked: inout ScaleMixtureGibbs.Workspace, generator: inout SeededGenerator) -> PointEstimate {
        if transition == .coordinate {
            let chainSeeds = (0..<chains).map { _ in generator.next() }
            if var kernel {
                for first in stride(from: 0, to: chains, by: 8) {
                    let lanes = min(8, chains - first)
                    for lane in 0..<8 {  // lanes past the last chain repeat the block's first chain; they are dropped
                        let state = SeededGenerator(seed: chainSeeds[first + (lane < lanes ? lane : 0)]).state
                        for word in 0..<4 { workspace.laneStates[word * 8 + lane] = state[word] }
                    }
                    func run(_ exact: UnsafePointer<Double>?) {
                        sk_ais_coordinate_chains(&kernel, c, squaredNorm, exact, &workspace.laneStates, &workspace.laneZ,
                                                 &workspace.laneV, &workspace.laneWeights)
                    }
                    if let exactLatent { exactLatent.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                    for lane in 0..<lanes { workspace.logWeights[first + lane] = workspace.laneWeights[lane] }
                }
            } else {
                for k in 0..<chains {
                    var own = SeededGenerator(seed: chainSeeds[k])
                    workspace.logWeights[k] = oneChain(k, x: x, squaredNorm: squaredNorm, c: c, exactLatent: exactLatent,
                                                       workspace: &workspace, blocked: &blocked, generator: &own)
                }
            }
        } else {
            for k in 0..<chains {
                workspace.logWeights[k] = oneChain(k, x: x, squaredNorm: squaredNorm, c: c, exactLatent: exactLatent,
                                                   workspace: &workspace, blocked: &blocked, generator: &generator)
            }
        }
        let summary = LogWeights(workspace.logWeights)
        return PointEstimate(logLikelihood: exactLatent == nil ? summary.logMean : -summary.logMean,
                             logWeightVariance: summary.variance, effectiveSampleSize: summary.effectiveSampleSize)
    }

    /// Chain k through the whole schedule (in the workspace's k-th z and v): its log-weight.
    private func oneChain(_ k: Int, x: [Double], squaredNorm: Double, c: [Double], exactLatent: [Double]?,
                          workspace: inout Workspace, blocked: inout ScaleMixtureGibbs.Workspace,
                          generator: inout SeededGenerator) -> Double {
        let h = model.latents, temperatures = self.temperatures
        return c.withUnsafeBufferPointer { c in
            workspace.z.withUnsafeMutableBufferPointer { zs in
                workspace.v.withUnsafeMutableBufferPointer { vs in
                    let z = zs.baseAddress! + k * h, v = vs.baseAddress! + k * h
                    if let exactLatent {
                        for j in 0..<h { z[j] = exactLatent[j] }
                    } else {
                        for j in 0..<h { z[j] = generator.laplace(scale: Double(model.lambda[j])) }
                    }
                    if transition == .collapsed {
                        return collapsedChain(x: x, z: z, exactLatent: exactLatent, blocked: &blocked, generator: &generator)
                    }
                    sampler.residualCorrelation(c: c.baseAddress!, z: z, into: v)
                    var logWeight = 0.0
                    if exactLatent == nil {
                        for t in 1...temperatures {
                            logWeight += (schedule[t] - schedule[t - 1])
                                * logLikelihood(x: x, squaredNorm: squaredNorm, c: c.baseAddress!, z: z, v: v)
                            if t < temperatures {
                                move(x: x, z: z, v: v, c: c.baseAddress!, t: t, blocked: &blocked, generator: &generator)
                            }
                        }
                    } else {
                        for t in stride(from: temperatures, through: 1, by: -1) {
                            logWeight += (schedule[t - 1] - schedule[t])
                                * logLikelihood(x: x, squaredNorm: squaredNorm, c: c.baseAddress!, z: z, v: v)
                            if t > 1 { move(x: x, z: z, v: v, c: c.baseAddress!, t: t - 1, blocked: &blocked, generator: &generator) }
                        }
                    }
                    return logWeight
                }
            }
        }
    }

    /// One chain of the `.collapsed` transition: forward from a prior draw of (τ, z), or in reverse from the exact
    /// latent with τ | z drawn, weighted by g_{β_t}(τ) − g_{β_{t−1}}(τ) at the state's τ (g_0 = 0); the sweep at β_t
    /// leaves its factor for g_{β_t} at the τ it drew. Returns the chain's log-weight.
    private func collapsedChain(x: [Double], z: UnsafeMutablePointer<Double>, exactLatent: [Double]?,
                                blocked: inout ScaleMixtureGibbs.Workspace, generator: inout SeededGenerator) -> Double {
        let sampler = blockedSampler, temperatures = self.temperatures
        func g(_ t: Int) -> Double { sampler.collapsedLogDensity(x: x, beta: schedule[t], workspace: &blocked) }
        func sweep(_ t: Int) -> Double {
            sampler.sweep(x: x, z: z, beta: schedule[t], workspace: &blocked, generator: &generator)
                ? sampler.collapsedLogDensityOfFactor(x: x, beta: schedule[t], workspace: &blocked) : g(t)
        }
        var logWeight = 0.0
        if let exactLatent {
            for j in 0..<model.latents { z[j] = exactLatent[j] }
            sampler.drawScales(z: z, workspace: &blocked, generator: &generator)
            var current = g(temperatures)
            for t in stride(from: temperatures, through: 1, by: -1) {
                logWeight += g(t - 1) - current
                if t > 1 { current = sweep(t - 1) }
            }
        } else {
            sampler.drawFromPrior(z: z, workspace: &blocked, generator: &generator)
            var current = 0.0
            for t in 1...temperatures {
                logWeight += g(t) - current
                if t < temperatures { current = sweep(t) }
            }
        }
        return logWeight
    }

    /// One transition leaving f_t invariant. The coordinate sweep keeps v = c − G z up to date; the blocked one
    /// does not use it.
    @inline(__always)
    private func move(x: [Double], z: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, c: UnsafePointer<Double>,
                      t: Int, blocked: inout ScaleMixtureGibbs.Workspace, generator: inout SeededGenerator) {
        switch transition {
        case .coordinate:
            sampler.sweep(z: z, v: v, beta: schedule[t], generator: &generator)
            if t % Self.refreshInterval == 0 { sampler.residualCorrelation(c: c, z: z, into: v) }
        case .blocked, .collapsed:
            blockedSampler.sweep(x: x, z: z, beta: schedule[t], workspace: &blocked, generator: &generator)
        }
    }

    /// log p(x | z): in O(H) from v for coordinate chains, from the residual x − W z for blocked ones.
    @inline(__always)
    private func logLikelihood(x: [Double], squaredNorm: Double, c: UnsafePointer<Double>, z: UnsafePointer<Double>,
                               v: UnsafePointer<Double>) -> Double {
        switch transition {
        case .coordinate: return sampler.logLikelihood(squaredNorm: squaredNorm, c: c, z: z, v: v)
        case .blocked, .collapsed: return sampler.logNoiseNormalizer - blockedSampler.squaredResidual(x: x, z: z) / (2 * sampler.sigma2)
        }
    }
}

/// Summaries of a set of log-weights: log of the mean weight (by log-sum-exp), the log-weights' sample variance and
/// the weights' effective sample size (Σw)²/Σw².
public struct LogWeights: Sendable {
    public let logMean: Double
    public let variance: Double
    public let effectiveSampleSize: Double

    public init(_ logWeights: [Double]) {
        let top = logWeights.max()!
        var sum = 0.0, sumSquares = 0.0
        var moments = RunningMoments()
        for value in logWeights {
            let w = exp(value - top)
            sum += w
            sumSquares += w * w
            moments.add(value)
        }
        logMean = top + log(sum / Double(logWeights.count))
        variance = moments.variance
        effectiveSampleSize = sum * sum / sumSquares
    }
}
