import CBLAS
import DataKit
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

    // Work buffers, reused across evaluations.
    private var residual: Matrix
    private var rw: Matrix
    /// Per element of the batch: s, ∂E|z|/∂μ and ∂E|z|/∂s, computed once in the forward pass.
    private var scales: [Double] = []
    private var foldedDMu: [Double] = []
    private var foldedDS: [Double] = []

    public init(x: Matrix, weights: EntropyWeights = .one) {
        self.x = x
        self.weights = weights
        residual = Matrix(rows: x.rows, cols: x.cols)
        rw = Matrix(rows: 0, cols: 0)
    }

    static let halfLogTwoPiE = 0.5 * log(2 * Double.pi * M_E)

    /// Evaluates L_β for means `mu` and log-scales `rho` (both B × H). Gradients are written where given
    /// (same shapes; W's gradient D × H); a nil buffer is not computed.
    public mutating func evaluate(w: Matrix, mu: Matrix, rho: Matrix, gradMu: UnsafeMutablePointer<Float>? = nil,
                                  gradRho: UnsafeMutablePointer<Float>? = nil, gradW: UnsafeMutablePointer<Float>? = nil) -> Terms
    {
        let (b, d, h) = (x.rows, x.cols, w.cols)
        precondition(mu.rows == b && mu.cols == h && rho.rows == b && rho.cols == h && w.rows == d, "shape mismatch")
        // R = X − M Wᵀ.
        residual.storage = x.storage
        Matrix.gemm(mu, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let residualSquares = residual.storage.withUnsafeBufferPointer { Double(cblas_snrm2(Int32($0.count), $0.baseAddress, 1)) }
        var norms = [Double](repeating: 0, count: h)
        w.storage.withUnsafeBufferPointer { pw in for r in 0..<d { for c in 0..<h { norms[c] += Double(pw[r * h + c] * pw[r * h + c]) } } }

        var traceTerm = 0.0, logS = 0.0
        var sumS2 = [Double](repeating: 0, count: h)
        var lambda = [Double](repeating: 0, count: h)
        if scales.count != b * h {
            scales = [Double](repeating: 0, count: b * h)
            foldedDMu = scales
            foldedDS = scales
        }
        mu.storage.withUnsafeBufferPointer { m in
            rho.storage.withUnsafeBufferPointer { r in
                for n in 0..<b {
                    for c in 0..<h {
                        let i = n * h + c
                        let s = exp(Double(r[i]))
                        let folded = FoldedNormal.meanAbs(Double(m[i]), s)
                        scales[i] = s
                        foldedDMu[i] = folded.dMu
                        foldedDS[i] = folded.dS
                        sumS2[c] += s * s
                        logS += Double(r[i])
                        lambda[c] += folded.value
                    }
                }
            }
        }
        for c in 0..<h { traceTerm += sumS2[c] * norms[c]; lambda[c] /= Double(b) }
        let sigma2 = (residualSquares * residualSquares + traceTerm) / Double(b * d)
        let posterior = logS / Double(b) + Double(h) * DiagonalEntropyObjective.halfLogTwoPiE
        let prior = lambda.reduce(0) { $0 + log(2 * M_E * $1) }
        let noise = Double(d) / 2 * log(2 * Double.pi * M_E * sigma2)
        let terms = Terms(value: weights.posterior * posterior - weights.prior * prior - weights.likelihood * noise,
                          posteriorEntropy: posterior, priorEntropy: prior, noiseEntropy: noise, sigma2: sigma2, lambda: lambda)

        let likelihoodScale = weights.likelihood / (Double(b) * sigma2)
        if gradMu != nil || gradRho != nil {
            if gradMu != nil {
                if rw.rows != b || rw.cols != h { rw = Matrix(rows: b, cols: h) }
                Matrix.gemm(residual, w, alpha: Float(likelihoodScale), beta: 0, into: &rw)  // β_lik (R W)/(Bσ²)
            }
            for n in 0..<b {
                for c in 0..<h {
                    let i = n * h + c
                    let s = scales[i]
                    if let gradMu {
                        gradMu[i] = Float(Double(rw.storage[i]) - weights.prior * foldedDMu[i] / (Double(b) * lambda[c]))
                    }
                    if let gradRho {
                        let dS = (weights.posterior / s - weights.likelihood * s * norms[c] / sigma2
                            - weights.prior * foldedDS[i] / lambda[c]) / Double(b)
                        gradRho[i] = Float(dS * s)
                    }
                }
            }
        }
        if let gradW {
            // β_lik/(Bσ²) (Rᵀ M − W S)
            var g = Matrix(rows: d, cols: h)
            Matrix.gemm(residual, transposeA: true, mu, alpha: Float(likelihoodScale), beta: 0, into: &g)
            for r in 0..<d { for c in 0..<h { gradW[r * h + c] = g[r, c] - Float(likelihoodScale * sumS2[c]) * w[r, c] } }
        }
        return terms
    }
}
