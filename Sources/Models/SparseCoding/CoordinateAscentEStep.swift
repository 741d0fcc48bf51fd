import CKernels
import DataKit
import Distributed
import Foundation

/// The E-step of ES-SC's `em` scheme by minorize–maximize and batched coordinate ascent (issue 15), for diagonal
/// posteriors q_n = N(μ_n, diag(s_n²)), ρ = log s, at a fixed dictionary W.
///
/// The batch objective (`DiagonalEntropyObjective`) couples the points only through σ² and λ, which sit at their
/// closed forms over the batch. Since −log a ≥ 1 − a/â − log â, for any σ̂², λ̂ (equality at σ̂² = σ², λ̂ = λ):
///
///   B·L_β(μ, ρ) ≥ Σ_n f_n(μ_n, ρ_n) + const,
///   f_n = β_post Σ_h ρ_nh − β_prior Σ_h E|z_nh| / λ̂_h − β_lik/(2σ̂²) [‖x_n − W μ_n‖² + Σ_h ‖w_h‖² s_nh²],
///
/// so raising every f_n at σ̂², λ̂ and then setting σ̂², λ̂ to the new closed forms raises L_β, for any β (the
/// minorize–maximize step). Each f_n is concave in (μ_n, ρ_n) (E|z| is jointly convex in (μ, s) and increasing in
/// s, and s = e^ρ is convex), and separable given the other coordinates: with the Gram matrix G = WᵀW, c = Wᵀx_n
/// and u_h = c_h − Σ_{k≠h} G_hk μ_k, the part that depends on (μ_h, ρ_h) is
///
///   φ(μ, ρ) = β_post ρ − (β_prior/λ̂_h) E|z|(μ, e^ρ) − (a g/2)(μ² + e^{2ρ}) + a u μ,   a = β_lik/σ̂², g = G_hh,
///
/// with E|z| = s √(2/π) e^{−t²} + μ erf(t), t = μ/(√2 s). A sweep takes one damped Newton step on φ per latent
/// (analytic gradient and Hessian of the folded-normal moment; a step is halved until φ rises, at most four times,
/// else not taken), for eight points at once (`SIMD8`, lanes = points), keeping G μ_n up to date (one axpy of G's
/// column per coordinate: O(H) per coordinate and point, no B × D products). After every sweep σ̂², λ̂ move to the
/// closed forms and the sweeps stop when L_β rises by less than `tolerance` nats per point, or after `maxSweeps`.
public struct CoordinateAscentEStep: Sendable {
    public typealias Vector = SIMD8<Float>

    /// Most sweeps over the latents (with β_prior > 1, in each of the two phases `fit` describes).
    public var maxSweeps: Int
    /// Stop when a sweep raises L_β by less than this, in nats per point.
    public var tolerance: Double

    /// Threads a sweep is shared among (the result does not depend on it).
    public var workers: Int

    /// Run the sweeps through CKernels' AVX2 + FMA kernel (`sk_essc_sweep_blocks`) rather than the portable
    /// `SIMD8` code below; the default where the CPU has AVX2 and FMA. Both make the same updates up to rounding.
    public var usesVectorKernel: Bool

    /// The ranks that share the batch (`ProcessGroup`): each fits its own rows, and the batch sums behind σ̂², λ̂
    /// and L_β are added up over the ranks (one all-reduce of 3H + 2 numbers before the first sweep and after
    /// each), so every rank sweeps at
    /// the same σ̂², λ̂ and stops after the same sweep. Alone, the batch is `x`.
    public var group = ProcessGroup.single

    /// Whether this CPU runs the AVX2 + FMA kernel.
    public static let vectorKernelAvailable = sk_essc_sweep_available() == 1

    public init(maxSweeps: Int = 100, tolerance: Double = 1e-2, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                usesVectorKernel: Bool = vectorKernelAvailable) {
        self.maxSweeps = maxSweeps
        self.tolerance = tolerance
        self.workers = max(1, workers)
        self.usesVectorKernel = usesVectorKernel && Self.vectorKernelAvailable
    }

    /// How the fit went.
    public struct Outcome: Sendable {
        /// Sweeps run (with β_prior > 1, those at β_prior = 1 included).
        public var sweeps: Int
        /// The objective maximised, per point, after the last sweep: L_β with σ² and λ at their closed forms over
        /// the batch; with β_prior > 1, λ held at its β_prior = 1 optimum (see `fit`).
        public var objective: Double
        /// σ²'s closed form over the batch at the result, and the λ of the objective: its closed form (with
        /// β_prior > 1, the β_prior = 1 optimum it was held at).
        public var sigma2: Double
        public var lambda: [Double]
    }

    static let rootTwoOverPi: Float = 0.797_884_56  // √(2/π)

    /// Fits the batch's posteriors in place: `mu` and `rho` (B × H) are the starting point and the result.
    ///
    /// With β_prior > 1 (entropy annealing) L_β has no maximum: shrinking μ_nh, s_nh of one latent h for every
    /// point together with λ_h = mean E|z_nh| by a factor c raises it by (β_prior − 1) log(1/c) without bound, and a
    /// solver run to convergence collapses λ (an L-BFGS capped at 100 iterations only slows the collapse down).
    /// So λ is profiled at β_prior = 1: the sweeps first maximise L at β_prior = 1, then continue at β_prior with
    /// λ held at the result, maximising β_post H_post − β_prior Σ_h [log(2λ_h) + E|z_h|/λ_h] − β_lik H_noise, which is
    /// bounded: annealing weighs the prior's pull on every posterior by β_prior, at the λ the data support.
    @discardableResult
    public func fit(x: Matrix, w: Matrix, mu: inout Matrix, rho: inout Matrix, weights: EntropyWeights = .one) -> Outcome {
        let (b, d, h) = (x.rows, x.cols, w.cols)
        precondition(w.rows == d && mu.rows == b && mu.cols == h && rho.rows == b && rho.cols == h, "shape mismatch")
        var gram = Matrix(rows: h, cols: h)
        Matrix.gram(w, into: &gram)
        let c = Matrix.product(x, w)  // B × H: Wᵀx_n in row n
        let a = Matrix.product(mu, gram)  // G μ_n
        var state = Lanes(points: b, latents: h, mu: mu, rho: rho, c: c, gramMu: a)
        let problem = Problem(gram: gram, xSquared: (0..<b).map { n in x.row(n).reduce(0.0) { $0 + Double($1) * Double($1) } },
                              norms: (0..<h).map { Double(gram[$0, $0]) }, dimension: d)
        var outcome: Outcome
        if weights.prior > 1 {
            var unannealed = weights
            unannealed.prior = 1
            let profile = ascend(&state, problem, weights: unannealed, fixedLambda: nil, sweepsLeft: maxSweeps)
            // The second phase starts where the first ended: from its sums, without adding them up (over the ranks) again.
            outcome = ascend(&state, problem, weights: weights, fixedLambda: profile.outcome.lambda, sweepsLeft: maxSweeps,
                             startingSums: profile.sums).outcome
            outcome.sweeps += profile.outcome.sweeps
        } else {
            outcome = ascend(&state, problem, weights: weights, fixedLambda: nil, sweepsLeft: maxSweeps).outcome
        }
        state.write(mu: &mu, rho: &rho)
        return outcome
    }

    /// What the sweeps of one batch share.
    struct Problem {
        let gram: Matrix
        let xSquared: [Double]
        let norms: [Double]
        let dimension: Int
    }

    /// Sweeps until the objective rises by less than `tolerance` per point, or `sweepsLeft` sweeps. Returns the
    /// outcome and the batch's sums (over every rank) at the result; `startingSums`, when given, are those at the
    /// start (spares one all-reduce per batch over MPI).
    private func ascend(_ state: inout Lanes, _ problem: Problem, weights: EntropyWeights, fixedLambda: [Double]?,
                        sweepsLeft: Int, startingSums: (DiagonalEntropyObjective.Sums, Int)? = nil)
        -> (outcome: Outcome, sums: (DiagonalEntropyObjective.Sums, Int))
    {
        var (latest, last) = (startingSums, startingSums)
        func objective() -> (value: Double, sigma2: Double, lambda: [Double]) {
            let (sums, points) = latest ?? state.sums(problem).summed(over: group, points: state.points)
            latest = nil
            last = (sums, points)
            let terms = DiagonalEntropyObjective.terms(sums, points: points, dimension: problem.dimension,
                                                       norms: problem.norms, weights: weights)
            guard let fixedLambda else { return (terms.value, terms.sigma2, terms.lambda) }
            // The prior's cross-entropy at λ̂: Σ_h log(2λ̂_h) + λ_h/λ̂_h, where L_β has Σ_h log(2e λ_h).
            let prior = zip(terms.lambda, fixedLambda).reduce(0.0) { $0 + log(2 * $1.1) + $1.0 / $1.1 }
            return (terms.value + weights.prior * (terms.priorEntropy - prior), terms.sigma2, fixedLambda)
        }
        var current = objective()
        var sweeps = 0
        while sweeps < sweepsLeft {
            state.sweep(gram: problem.gram, sigma2: current.sigma2, lambda: current.lambda, weights: weights, workers: workers,
                        vectorKernel: usesVectorKernel)
            sweeps += 1
            let before = current.value
            current = objective()
            if current.value - before < tolerance { break }
        }
        return (Outcome(sweeps: sweeps, objective: current.value, sigma2: current.sigma2, lambda: current.lambda), last!)
    }

    /// The batch in blocks of eight points, latent-major within a block: element (block, h) holds latent h of the
    /// block's eight points. Lanes past B (the last block's padding) have x = 0 and are left out of every sum.
    struct Lanes {
        let points: Int
        let latents: Int
        let blocks: Int
        var mu: [Vector]
        var rho: [Vector]
        /// Wᵀx per point.
        let c: [Vector]
        /// G μ per point, kept up to date.
        var gramMu: [Vector]
        /// e^{−t²} and erf(t) at the current (μ, ρ), t = μ/(√2 s).
        /// s = e^ρ, e^{−t²} and erf(t) at the current (μ, ρ), t = μ/(√2 s).
        var scale: [Vector]
        var gauss: [Vector]
        var erf: [Vector]

        init(points: Int, latents: Int, mu: Matrix, rho: Matrix, c: Matrix, gramMu: Matrix) {
            self.points = points
            self.latents = latents
            let blocks = (points + 7) / 8
            self.blocks = blocks
            func lanes(_ m: Matrix) -> [Vector] {
                var out = [Vector](repeating: .zero, count: blocks * latents)
                guard points > 0 else { return out }  // a rank's empty share of a small last batch
                out.withUnsafeMutableBufferPointer { out in
                    let lanes = UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: Float.self)
                    m.storage.withUnsafeBufferPointer { m in
                        for n in 0..<points {
                            let (row, target) = (m.baseAddress! + n * latents, lanes + (n / 8) * latents * 8 + n % 8)
                            for k in 0..<latents { target[k * 8] = row[k] }
                        }
                    }
                }
                return out
            }
            self.mu = lanes(mu)
            self.rho = lanes(rho)
            self.c = lanes(c)
            self.gramMu = lanes(gramMu)
            gauss = [Vector](repeating: .zero, count: blocks * latents)
            (erf, scale) = (gauss, gauss)
            for i in self.mu.indices {
                scale[i] = VectorMath.exp(self.rho[i])
                (gauss[i], erf[i]) = Self.moments(self.mu[i], scale[i])
            }
        }

        /// e^{−t²} and erf(t), t = μ/(√2 s).
        @inline(__always)
        static func moments(_ mu: Vector, _ s: Vector) -> (Vector, Vector) {
            let t = mu / s * 0.707_106_77
            let e = VectorMath.exp(-t * t)
            return (e, VectorMath.erf(t, expMinusSquare: e))
        }

        /// One pass over every latent of every point at fixed σ̂², λ̂ (see the type's documentation). The blocks are
        /// independent given σ̂², λ̂: they are shared out among the cores, and the result does not depend on how.
        mutating func sweep(gram: Matrix, sigma2: Double, lambda: [Double], weights: EntropyWeights, workers: Int,
                            vectorKernel: Bool) {
            let parameters = SweepParameters(
                latents: latents, a: Float(weights.likelihood / sigma2), q: Float(weights.posterior),
                p: lambda.map { Float(weights.prior / $0) })
            let blocks = blocks
            guard blocks > 0 else { return }
            let workers = max(1, min(workers, blocks / 4))
            gram.storage.withUnsafeBufferPointer { g in
                mu.withUnsafeMutableBufferPointer { mu in
                rho.withUnsafeMutableBufferPointer { rho in
                gramMu.withUnsafeMutableBufferPointer { gm in
                scale.withUnsafeMutableBufferPointer { scale in
                gauss.withUnsafeMutableBufferPointer { gauss in
                erf.withUnsafeMutableBufferPointer { erf in
                c.withUnsafeBufferPointer { c in
                    nonisolated(unsafe) let buffers = SweepBuffers(g: g, mu: mu, rho: rho, gramMu: gm, scale: scale, gauss: gauss,
                                                                         erf: erf, c: c)
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let range = (blocks * worker / workers)..<(blocks * (worker + 1) / workers)
                        if vectorKernel {
                            func floats(_ p: UnsafeMutableBufferPointer<Vector>) -> UnsafeMutablePointer<Float> {
                                UnsafeMutableRawPointer(p.baseAddress!).assumingMemoryBound(to: Float.self)
                            }
                            parameters.p.withUnsafeBufferPointer { p in
                                sk_essc_sweep_blocks(range.lowerBound, range.upperBound, parameters.latents, buffers.g.baseAddress,
                                                     p.baseAddress, parameters.a, parameters.q, floats(buffers.mu), floats(buffers.rho),
                                                     floats(buffers.gramMu), floats(buffers.scale), floats(buffers.gauss), floats(buffers.erf),
                                                     UnsafeRawPointer(buffers.c.baseAddress!).assumingMemoryBound(to: Float.self))
                            }
                        } else {
                            for block in range { Self.sweep(block: block, buffers, parameters) }
                        }
                    }
                }
                }
                }
                }
                }
                }
                }
            }
        }

        struct SweepParameters: Sendable {
            let latents: Int
            /// β_lik/σ̂², β_post, and β_prior/λ̂_h per latent.
            let a: Float, q: Float, p: [Float]
        }

        struct SweepBuffers {
            let g: UnsafeBufferPointer<Float>
            let mu, rho, gramMu, scale, gauss, erf: UnsafeMutableBufferPointer<Vector>
            let c: UnsafeBufferPointer<Vector>
        }

        /// One damped Newton step on φ for every latent of one block of eight points.
        static func sweep(block: Int, _ buffers: SweepBuffers, _ parameters: SweepParameters) {
            let h = parameters.latents
            let (g, mu, rho, gm, scale, gauss, erf, c) = (buffers.g, buffers.mu, buffers.rho, buffers.gramMu, buffers.scale,
                                                          buffers.gauss, buffers.erf, buffers.c)
            let a = Vector(repeating: parameters.a), q = Vector(repeating: parameters.q)
            let k2 = Vector(repeating: CoordinateAscentEStep.rootTwoOverPi)
            let base = block * h
            for k in 0..<h {
                let i = base + k
                let gkk = Vector(repeating: g[k * h + k])
                let p = Vector(repeating: parameters.p[k])
                let (m, r) = (mu[i], rho[i])
                let s = scale[i]
                let u = c[i] - gm[i] + gkk * m
                let kE = k2 * gauss[i]  // √(2/π) e^{−t²}
                let ag = a * gkk
                // Gradient and Hessian of φ in (μ, ρ).
                let fm = a * (u - gkk * m) - p * erf[i]
                let fr = q - p * kE * s - ag * s * s
                let hmm = -(ag + p * kE / s)
                let hrr = -(p * kE * (s + m * m / s) + 2 * ag * s * s)
                let hmr = p * kE * m / s
                let det = hmm * hrr - hmr * hmr
                var dm = (hmr * fr - hrr * fm) / det
                var dr = (hmr * fm - hmm * fr) / det
                dr.clamp(lowerBound: Vector(repeating: -2), upperBound: Vector(repeating: 2))
                dm.replace(with: 0, where: .!(det .> 0))
                dr.replace(with: 0, where: .!(det .> 0))
                // φ relative to its q ρ term, at the current point; a step is taken where it raises φ.
                let old = -p * (s * kE + m * erf[i]) - 0.5 * ag * (m * m + s * s) + a * u * m
                var newM = m, newR = r, newS = s, newE = gauss[i], newErf = erf[i]
                var open = SIMDMask<SIMD8<Int32>>(repeating: true)
                for _ in 0..<5 where any(open) {
                    let cm = m + dm, cr = r + dr
                    let cs = VectorMath.exp(cr)
                    let (ce, cf) = moments(cm, cs)
                    let value = q * dr - p * (cs * k2 * ce + cm * cf) - 0.5 * ag * (cm * cm + cs * cs) + a * u * cm
                    let better = open .& (value .>= old)
                    newM.replace(with: cm, where: better)
                    newR.replace(with: cr, where: better)
                    newS.replace(with: cs, where: better)
                    newE.replace(with: ce, where: better)
                    newErf.replace(with: cf, where: better)
                    open = open .& .!better
                    dm *= 0.5
                    dr *= 0.5
                }
                let delta = newM - m
                mu[i] = newM
                rho[i] = newR
                scale[i] = newS
                gauss[i] = newE
                erf[i] = newErf
                if any(delta .!= 0) {
                    let column = k * h  // G is symmetric: its row k is column k
                    for j in 0..<h { gm[base + j] += Vector(repeating: g[column + j]) * delta }
                }
            }
        }

        /// The batch sums L_β is made of (`DiagonalEntropyObjective.Sums`), from G μ_n kept by the sweeps:
        /// ‖x_n − W μ_n‖² = ‖x_n‖² − 2 μ_nᵀ(Wᵀx_n) + μ_nᵀ(G μ_n).
        func sums(_ problem: Problem) -> DiagonalEntropyObjective.Sums {
            let h = latents
            var residual = 0.0
            var sumS2 = [Vector](repeating: .zero, count: h), absMean = sumS2, logS = sumS2
            let k2 = Vector(repeating: CoordinateAscentEStep.rootTwoOverPi)
            for block in 0..<blocks {
                let used = min(8, points - block * 8)
                var inBatch = Vector.zero  // 1 on the lanes that hold points, 0 on padding
                for lane in 0..<used { inBatch[lane] = 1 }
                var dot = Vector.zero
                for k in 0..<h {
                    let i = block * h + k
                    let (m, r) = (mu[i], rho[i])
                    let s = scale[i]
                    dot += m * (gramMu[i] - 2 * c[i])
                    sumS2[k] += inBatch * s * s
                    absMean[k] += inBatch * (s * k2 * gauss[i] + m * erf[i])
                    logS[k] += inBatch * r
                }
                for lane in 0..<used { residual += problem.xSquared[block * 8 + lane] + Double(dot[lane]) }
            }
            func total(_ v: Vector) -> Double { (0..<8).reduce(0.0) { $0 + Double(v[$1]) } }
            return DiagonalEntropyObjective.Sums(residualSquares: residual, sumS2: sumS2.map(total), absMean: absMean.map(total),
                                                 logS: logS.map(total))
        }

        /// Back to B × H matrices.
        func write(mu: inout Matrix, rho: inout Matrix) {
            guard points > 0 else { return }
            func unlane(_ source: [Vector], into m: inout Matrix) {
                source.withUnsafeBufferPointer { source in
                    let lanes = UnsafeRawPointer(source.baseAddress!).assumingMemoryBound(to: Float.self)
                    m.storage.withUnsafeMutableBufferPointer { m in
                        for n in 0..<points {
                            let (row, origin) = (m.baseAddress! + n * latents, lanes + (n / 8) * latents * 8 + n % 8)
                            for k in 0..<latents { row[k] = origin[k * 8] }
                        }
                    }
                }
            }
            unlane(self.mu, into: &mu)
            unlane(self.rho, into: &rho)
        }
    }
}
