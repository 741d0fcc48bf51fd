import CBLAS
import DataKit
import Distributed
import Foundation

/// The entropy objective of ES-SC for diagonal Gaussian posteriors q_n = N(μ_n, diag(s_n²)) (`es-sc.md`), on a
/// batch of B points, with σ² and λ at their closed forms over the batch:
///
///   σ²  = (1/(B D)) Σ_n [ ‖x_n − W μ_n‖² + Σ_h s_nh² ‖w_h‖² ]
///   λ_h = (1/B) Σ_n E|z_nh|
///   L   = (1/B) Σ_n Σ_h [log s_nh + ½ log(2πe)] − Σ_h log(2e λ_h) − (D/2) log(2πe σ²)
///         [posterior entropy H_post]             [prior H_prior]      [noise H_noise]
///
/// and L_β = β_post H_post − β_prior H_prior − β_lik H_noise. Gradients (per point, ÷B), with R = X − M Wᵀ:
///   ∂L/∂μ_n = β_lik (1/(Bσ²)) (R W)_n − β_prior (1/B) [erf(μ_nh/(√2 s_nh)) / λ_h]_h
///   ∂L/∂s_nh = (1/B) [β_post / s_nh − β_lik s_nh ‖w_h‖²/σ² − β_prior √(2/π) exp(−μ²/(2s²)) / λ_h]
///   ∂L/∂W = β_lik (1/(B σ²)) (Rᵀ M − W S),  S = diag(Σ_n s_nh²)
/// The scale s is parameterised by ρ = log s (so ∂L/∂ρ = s ∂L/∂s).
///
/// For an E-step (many evaluations at one W), `fixDictionary(_:)` precomputes X W, WᵀW and ‖X‖²; then
/// `evaluate(mu:rho:gradMu:gradRho:)` never forms R: ‖R‖² = ‖X‖² − 2⟨M, XW⟩ + ⟨M, M WᵀW⟩ and R W = XW − M WᵀW,
/// one B×H×H product per evaluation instead of two B×D×H ones.
public struct DiagonalEntropyObjective {
    /// The value and its parts, per point.
    public struct Terms: Sendable, Equatable {
        public var value: Double
        public var posteriorEntropy: Double
        public var priorEntropy: Double
        public var noiseEntropy: Double
        public var sigma2: Double
        public var lambda: [Double]

        /// L at β = 1: H_post − H_prior − H_noise (an ELBO, whatever the weights used for training).
        public var elbo: Double { posteriorEntropy - priorEntropy - noiseEntropy }
    }

    public let x: Matrix
    public var weights: EntropyWeights

    /// Work buffers, reused across evaluations (scratch only: copies of the objective share them).
    private let workspace: Workspace
    /// W, X W, WᵀW and ‖X‖², after `fixDictionary`.
    private var fixed: (w: Matrix, xw: [Float], gram: Matrix, xSquared: Double, norms: [Double])?

    public init(x: Matrix, weights: EntropyWeights = .one) {
        self.x = x
        self.weights = weights
        workspace = Workspace(x: x)
    }

    static let halfLogTwoPiE = 0.5 * log(2 * Double.pi * M_E)

    /// Evaluates L_β for means `mu` and log-scales `rho` (both B × H). Gradients are written where given
    /// (same shapes; W's gradient D × H); a nil buffer is not computed. With a `group` of several ranks, x is this
    /// rank's share of a minibatch shared among them: σ̂², λ̂ and L_β are those of the whole minibatch (its sums
    /// added up over the ranks, one all-reduce of 3H + 2 numbers), the gradients this share's part of its gradients
    /// (∂L/∂W added up over the ranks is the minibatch's).
    public mutating func evaluate(w: Matrix, mu: Matrix, rho: Matrix, gradMu: UnsafeMutablePointer<Float>? = nil,
                                  gradRho: UnsafeMutablePointer<Float>? = nil, gradW: UnsafeMutablePointer<Float>? = nil,
                                  group: ProcessGroup = .single) -> Terms
    {
        precondition(mu.rows == x.rows && mu.cols == w.cols && rho.rows == x.rows && rho.cols == w.cols, "shape mismatch")
        return mu.storage.withUnsafeBufferPointer { m in
            rho.storage.withUnsafeBufferPointer { r in
                evaluate(w: w, mu: m.baseAddress!, rho: r.baseAddress!, gradMu: gradMu, gradRho: gradRho, gradW: gradW, group: group)
            }
        }
    }

    /// The same on raw row-major B × H buffers, for optimizers that hold (μ, ρ) in one vector.
    public mutating func evaluate(w: Matrix, mu: UnsafePointer<Float>, rho: UnsafePointer<Float>,
                                  gradMu: UnsafeMutablePointer<Float>? = nil, gradRho: UnsafeMutablePointer<Float>? = nil,
                                  gradW: UnsafeMutablePointer<Float>? = nil, group: ProcessGroup = .single) -> Terms
    {
        evaluated(w: w, mu: mu, rho: rho, gradMu: gradMu, gradRho: gradRho, gradW: gradW, group: group).terms
    }

    /// ∂L_β/∂W at (μ, ρ) into `gradW` (D × H), for an M-step; returns the batch's sums behind L, from the same pass,
    /// for an epoch's running record (`terms(_:points:dimension:norms:weights:)`).
    func dictionaryGradient(w: Matrix, mu: Matrix, rho: Matrix, into gradW: UnsafeMutablePointer<Float>) -> Sums {
        mu.storage.withUnsafeBufferPointer { m in
            rho.storage.withUnsafeBufferPointer { r in
                evaluated(w: w, mu: m.baseAddress!, rho: r.baseAddress!, gradMu: nil, gradRho: nil, gradW: gradW, group: .single).sums
            }
        }
    }

    /// `evaluate`'s work: L_β and the gradients asked for, with this share's sums behind L.
    private func evaluated(w: Matrix, mu: UnsafePointer<Float>, rho: UnsafePointer<Float>, gradMu: UnsafeMutablePointer<Float>?,
                           gradRho: UnsafeMutablePointer<Float>?, gradW: UnsafeMutablePointer<Float>?,
                           group: ProcessGroup) -> (terms: Terms, sums: Sums)
    {
        let (b, d, h) = (x.rows, x.cols, w.cols)
        precondition(w.rows == d, "W must have D = \(d) rows")
        let sums = self.sums(w: w, mu: mu, rho: rho)
        let (all, points) = sums.summed(over: group, points: b)
        let norms = w.columnSquaredNorms()
        let terms = Self.terms(all, points: points, dimension: d, norms: norms, weights: weights)
        let sumS2 = sums.sumS2  // this share's: the W S of every share adds up to the minibatch's
        let work = workspace
        let likelihoodScale = weights.likelihood / (Double(points) * terms.sigma2)
        if let gradMu {
            // β_lik (R W)/(Bσ²)
            w.storage.withUnsafeBufferPointer { pw in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(b), Int32(h), Int32(d), Float(likelihoodScale),
                            work.residual, Int32(d), pw.baseAddress, Int32(h), 0, gradMu, Int32(h))
            }
        }
        posteriorGradients(terms, points: points, latents: h, norms: norms, gradMu: gradMu, gradRho: gradRho)
        if let gradW {
            // β_lik/(Bσ²) (Rᵀ M − W S)
            w.storage.withUnsafeBufferPointer { pw in
                for r in 0..<d { for c in 0..<h { gradW[r * h + c] = -Float(likelihoodScale * sumS2[c]) * pw[r * h + c] } }
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(h), Int32(b), Float(likelihoodScale),
                        work.residual, Int32(d), mu, Int32(h), 1, gradW, Int32(h))
        }
        return (terms, sums)
    }

    /// The parts of ∂L/∂W = β_lik/(Bσ²) (Rᵀ M − W S) that are sums over this batch's points, for a batch shared
    /// among ranks (`SparseCodingTrainer+Distributed.swift`): Rᵀ M (D × H, row-major) with R = X − M Wᵀ, and the
    /// sums behind σ², λ and L. Added up over the ranks, they give the whole batch's gradient and terms.
    func dictionaryGradientParts(w: Matrix, mu: Matrix, rho: Matrix) -> (residualTimesMu: [Float], sums: Sums) {
        let (b, d, h) = (x.rows, x.cols, w.cols)
        var product = [Float](repeating: 0, count: d * h)
        guard b > 0 else {
            let zeros = [Double](repeating: 0, count: h)
            return (product, Sums(residualSquares: 0, sumS2: zeros, absMean: zeros, logS: zeros))
        }
        let sums = mu.storage.withUnsafeBufferPointer { m in
            rho.storage.withUnsafeBufferPointer { r in self.sums(w: w, mu: m.baseAddress!, rho: r.baseAddress!) }
        }
        mu.storage.withUnsafeBufferPointer { m in
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(h), Int32(b), 1,
                        workspace.residual, Int32(d), m.baseAddress, Int32(h), 0, &product, Int32(h))
        }
        return (product, sums)
    }

    /// Fixes W for the evaluations of `evaluate(mu:rho:gradMu:gradRho:)`: computes X W, WᵀW and ‖X‖² once.
    public mutating func fixDictionary(_ w: Matrix) {
        precondition(w.rows == x.cols, "W must have D = \(x.cols) rows")
        var xw = Matrix(rows: x.rows, cols: w.cols), gram = Matrix(rows: w.cols, cols: w.cols)
        Matrix.gemm(x, w, into: &xw)
        Matrix.gram(w, into: &gram)
        let xSquared = x.storage.withUnsafeBufferPointer { cblas_dsdot(Int32($0.count), $0.baseAddress, 1, $0.baseAddress, 1) }
        fixed = (w, xw.storage, gram, xSquared, w.columnSquaredNorms())
    }

    /// L_β and its gradients w.r.t. μ and ρ at the W given to `fixDictionary` (which must have been called),
    /// without forming the residual (see the type's documentation).
    public mutating func evaluate(mu: UnsafePointer<Float>, rho: UnsafePointer<Float>,
                                  gradMu: UnsafeMutablePointer<Float>? = nil, gradRho: UnsafeMutablePointer<Float>? = nil) -> Terms
    {
        guard let fixed else { preconditionFailure("fixDictionary(_:) must be called first") }
        let (b, h) = (x.rows, fixed.w.cols)
        let work = workspace.prepared(latents: h)
        let product = work.product  // P = M WᵀW
        fixed.gram.storage.withUnsafeBufferPointer { g in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(b), Int32(h), Int32(h), 1, mu, Int32(h),
                        g.baseAddress, Int32(h), 0, product, Int32(h))
        }
        let count = Int32(b * h)
        let residualSquares = fixed.xw.withUnsafeBufferPointer { xw in
            fixed.xSquared - 2 * cblas_dsdot(count, mu, 1, xw.baseAddress, 1) + cblas_dsdot(count, mu, 1, product, 1)
        }
        let sums = moments(mu: mu, rho: rho, latents: h, residualSquares: residualSquares)
        let terms = Self.terms(sums, points: b, dimension: x.cols, norms: fixed.norms, weights: weights)
        if let gradMu {
            // β_lik (R W)/(Bσ²) = β_lik (XW − P)/(Bσ²)
            let likelihoodScale = Float(weights.likelihood / (Double(b) * terms.sigma2))
            fixed.xw.withUnsafeBufferPointer { xw in
                for i in 0..<(b * h) { gradMu[i] = likelihoodScale * (xw[i] - product[i]) }
            }
        }
        posteriorGradients(terms, points: b, latents: h, norms: fixed.norms, gradMu: gradMu, gradRho: gradRho)
        return terms
    }

    /// The batch sums L is made of: ‖R‖², and per latent Σ_n s_nh², Σ_n E|z_nh|, Σ_n log s_nh.
    struct Sums {
        var residualSquares: Double
        var sumS2: [Double]
        var absMean: [Double]
        var logS: [Double]

        /// The sums of no points, for `latents` latents.
        static func none(latents: Int) -> Self {
            let zeros = [Double](repeating: 0, count: latents)
            return .init(residualSquares: 0, sumS2: zeros, absMean: zeros, logS: zeros)
        }

        mutating func add(_ other: Sums) {
            residualSquares += other.residualSquares
            for c in sumS2.indices {
                sumS2[c] += other.sumS2[c]
                absMean[c] += other.absMean[c]
                logS[c] += other.logS[c]
            }
        }
    }

    /// The folded-normal moments of every element (into the workspace) and their column sums.
    private func moments(mu: UnsafePointer<Float>, rho: UnsafePointer<Float>, latents h: Int, residualSquares: Double) -> Sums {
        let work = workspace
        // Folded-normal moments per element, eight at a time (VectorMath), then column sums in double precision.
        let (b, count) = (x.rows, x.rows * h)
        let (scales, dMu, dS, absMean) = (work.scales, work.foldedDMu, work.foldedDS, work.absMean)
        for i in stride(from: 0, to: count, by: 8) {
            let m = VectorMath.load(mu, at: i, count: count), r = VectorMath.load(rho, at: i, count: count)
            let s = VectorMath.exp(r)
            let t = m / s * 0.707_106_77  // μ/(√2 s)
            let e = VectorMath.exp(-t * t)
            let f = VectorMath.erf(t, expMinusSquare: e)
            let slope = 0.797_884_56 * e  // ∂E|z|/∂s = √(2/π) e^(−t²)
            VectorMath.store(s, scales, at: i, count: count)
            VectorMath.store(f, dMu, at: i, count: count)  // ∂E|z|/∂μ = erf(t)
            VectorMath.store(slope, dS, at: i, count: count)
            VectorMath.store(s * slope + m * f, absMean, at: i, count: count)  // E|z|
        }
        return Sums(residualSquares: residualSquares, sumS2: Self.columnSums(scales, rows: b, cols: h, squared: true),
                    absMean: Self.columnSums(absMean, rows: b, cols: h), logS: Self.columnSums(rho, rows: b, cols: h))
    }

    /// σ², λ and the terms of L_β from the sums over B points.
    static func terms(_ sums: Sums, points b: Int, dimension d: Int, norms: [Double], weights: EntropyWeights) -> Terms {
        let h = sums.sumS2.count
        let lambda = sums.absMean.map { $0 / Double(b) }
        let traceTerm = zip(sums.sumS2, norms).reduce(0) { $0 + $1.0 * $1.1 }
        let sigma2 = (sums.residualSquares + traceTerm) / Double(b * d)
        let posterior = sums.logS.reduce(0, +) / Double(b) + Double(h) * DiagonalEntropyObjective.halfLogTwoPiE
        let prior = lambda.reduce(0) { $0 + log(2 * M_E * $1) }
        let noise = Double(d) / 2 * log(2 * Double.pi * M_E * sigma2)
        return Terms(value: weights.posterior * posterior - weights.prior * prior - weights.likelihood * noise,
                     posteriorEntropy: posterior, priorEntropy: prior, noiseEntropy: noise, sigma2: sigma2, lambda: lambda)
    }

    /// L_β over all rows of x at W and q (no gradients), `chunk` rows at a time, so the work buffers stay
    /// chunk-sized however many rows there are.
    public static func terms(x: Matrix, w: Matrix, mu: Matrix, rho: Matrix, weights: EntropyWeights = .one, chunk: Int = 4096) -> Terms {
        precondition(mu.rows == x.rows && rho.rows == x.rows && mu.cols == w.cols && rho.cols == w.cols && w.rows == x.cols,
                     "shape mismatch")
        var total: Sums?
        for first in stride(from: 0, to: x.rows, by: chunk) {
            let rows = first..<min(x.rows, first + chunk)
            let sums = sums(x: x.rowSlice(rows), w: w, mu: mu.rowSlice(rows), rho: rho.rowSlice(rows))
            if total == nil { total = sums } else { total!.add(sums) }
        }
        guard let total else { preconditionFailure("no rows") }
        return terms(total, points: x.rows, dimension: x.cols, norms: w.columnSquaredNorms(), weights: weights)
    }

    /// The sums behind L over the rows of `x` at W and q, to be added up over batches and turned into L by
    /// `terms(_:points:dimension:norms:weights:)`.
    static func sums(x: Matrix, w: Matrix, mu: Matrix, rho: Matrix) -> Sums {
        let part = DiagonalEntropyObjective(x: x)
        return mu.storage.withUnsafeBufferPointer { m in
            rho.storage.withUnsafeBufferPointer { r in part.sums(w: w, mu: m.baseAddress!, rho: r.baseAddress!) }
        }
    }

    /// R = X − M Wᵀ into the workspace, and the sums of L.
    private func sums(w: Matrix, mu: UnsafePointer<Float>, rho: UnsafePointer<Float>) -> Sums {
        let (b, d, h) = (x.rows, x.cols, w.cols)
        let work = workspace.prepared(latents: h)
        work.residual.update(from: x.storage, count: b * d)
        w.storage.withUnsafeBufferPointer { pw in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(b), Int32(d), Int32(h), -1, mu, Int32(h),
                        pw.baseAddress, Int32(h), 1, work.residual, Int32(d))
        }
        let residualNorm = Double(cblas_snrm2(Int32(b * d), work.residual, 1))
        return moments(mu: mu, rho: rho, latents: h, residualSquares: residualNorm * residualNorm)
    }

    /// Adds the prior's part to ∂L/∂μ (which holds the likelihood's part) and writes ∂L/∂ρ, from the moments
    /// that `moments` left in the workspace.
    private func posteriorGradients(_ terms: Terms, points: Int, latents h: Int, norms: [Double], gradMu: UnsafeMutablePointer<Float>?,
                                    gradRho: UnsafeMutablePointer<Float>?)
    {
        let (b, batch) = (x.rows, Double(points))  // this share's rows, the minibatch's points
        let (scales, dMu, dS) = (workspace.scales, workspace.foldedDMu, workspace.foldedDS)
        let prior = terms.lambda.map { Float(weights.prior / (batch * $0)) }
        prior.withUnsafeBufferPointer { prior in
            if let gradMu {
                // − β_prior erf(t)/(B λ)
                for n in 0..<b { for c in 0..<h { gradMu[n * h + c] -= prior[c] * dMu[n * h + c] } }
            }
            if let gradRho {
                // s ∂L/∂s = (β_post − β_lik s² ‖w_h‖²/σ² − β_prior s ∂E|z|/∂s / λ_h) / B
                let post = Float(weights.posterior / batch)
                let likelihood = norms.map { Float(weights.likelihood * $0 / (batch * terms.sigma2)) }
                likelihood.withUnsafeBufferPointer { likelihood in
                    for n in 0..<b {
                        for c in 0..<h {
                            let i = n * h + c, s = scales[i]
                            gradRho[i] = post - likelihood[c] * s * s - prior[c] * s * dS[i]
                        }
                    }
                }
            }
        }
    }

    /// Σ_n a_nc (or Σ_n a_nc²) per column of a row-major matrix, in double precision.
    private static func columnSums(_ a: UnsafePointer<Float>, rows: Int, cols: Int, squared: Bool = false) -> [Double] {
        var sums = [Double](repeating: 0, count: cols)
        sums.withUnsafeMutableBufferPointer { sums in
            for n in 0..<rows {
                let row = a + n * cols
                if squared {
                    for c in 0..<cols { sums[c] += Double(row[c]) * Double(row[c]) }
                } else {
                    for c in 0..<cols { sums[c] += Double(row[c]) }
                }
            }
        }
        return sums
    }

    /// The residual and the per-element moments of one batch, allocated once.
    private final class Workspace {
        let points: Int, dimension: Int
        private(set) var latents = 0
        let residual: UnsafeMutablePointer<Float>
        private(set) var scales: UnsafeMutablePointer<Float>
        private(set) var foldedDMu: UnsafeMutablePointer<Float>
        private(set) var foldedDS: UnsafeMutablePointer<Float>
        private(set) var absMean: UnsafeMutablePointer<Float>
        private(set) var product: UnsafeMutablePointer<Float>

        init(x: Matrix) {
            (points, dimension) = (x.rows, x.cols)
            residual = .allocate(capacity: max(1, x.rows * x.cols))
            (scales, foldedDMu, foldedDS, absMean, product) = (.allocate(capacity: 1), .allocate(capacity: 1),
                                                               .allocate(capacity: 1), .allocate(capacity: 1), .allocate(capacity: 1))
        }

        /// Sized for H latents.
        func prepared(latents h: Int) -> Workspace {
            if h != latents {
                for buffer in [scales, foldedDMu, foldedDS, absMean, product] { buffer.deallocate() }
                let size = max(1, points * h)
                (scales, foldedDMu, foldedDS, absMean, product) = (.allocate(capacity: size), .allocate(capacity: size),
                                                                   .allocate(capacity: size), .allocate(capacity: size),
                                                                   .allocate(capacity: size))
                latents = h
            }
            return self
        }

        deinit {
            for buffer in [residual, scales, foldedDMu, foldedDS, absMean, product] { buffer.deallocate() }
        }
    }
}
