import DataKit
import Foundation

/// The entropy objective of ES-SC for full-covariance Gaussian posteriors q_n = N(μ_n, L_n L_nᵀ) (`es-sc.md`),
/// L_n lower triangular with a positive diagonal, parameterised by its strictly lower entries and the LOG of its
/// diagonal. With G = WᵀW:
///   ½ log det(2πe Σ_n) = Σ_h log L_n,hh + (H/2) log(2πe),  tr(WᵀW Σ_n) = tr(L_nᵀ G L_n),  s_nh = ‖L_n[h, :]‖
/// and σ², λ, L_β as for diagonal posteriors. Gradients w.r.t. L_n (per point, ÷N):
///   −β_lik (G L_n)/(Nσ²) − β_prior [∂E|z_h|/∂s_h / λ_h · L_n[h, :]/s_h]_h + β_post diag(1/L_n,hh)/N
/// and ∂L/∂W = β_lik (Rᵀ M − W S)/(N σ²) with S = Σ_n Σ_n.
public struct FullCovarianceEntropyObjective {
    public let x: Matrix
    public var weights: EntropyWeights

    public init(x: Matrix, weights: EntropyWeights = .one) {
        self.x = x
        self.weights = weights
    }

    /// Index of L_n[i, j] in the packed N × H × H buffer (upper entries unused, their gradient 0).
    @inline(__always) static func index(_ n: Int, _ i: Int, _ j: Int, _ h: Int) -> Int { (n * h + i) * h + j }

    /// L_β for means `mu` (N × H) and raw factors `factors` (N·H·H: row-major H × H per point; the diagonal holds
    /// log L_hh). Gradients are written where given (same layouts; W's D × H).
    public func evaluate(w: Matrix, mu: Matrix, factors: [Float], gradMu: UnsafeMutablePointer<Float>? = nil,
                         gradFactors: UnsafeMutablePointer<Float>? = nil, gradW: UnsafeMutablePointer<Float>? = nil)
        -> DiagonalEntropyObjective.Terms
    {
        let (n, d, h) = (x.rows, x.cols, w.cols)
        precondition(mu.rows == n && mu.cols == h && factors.count == n * h * h, "shape mismatch")
        var residual = x
        Matrix.gemm(mu, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let residualSquares = residual.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
        let gram = Matrix.product(w, transposeA: true, w)  // G = WᵀW
        // Per point: L, G L, s, and the folded-normal terms.
        var l = [Double](repeating: 0, count: n * h * h), gl = l
        var s = [Double](repeating: 0, count: n * h), dMu = s, dS = s
        var lambda = [Double](repeating: 0, count: h)
        var traceTerm = 0.0, logDet = 0.0
        var scatter = [Double](repeating: 0, count: h * h)  // S = Σ_n L_n L_nᵀ
        for p in 0..<n {
            for i in 0..<h {
                for j in 0...i {
                    let raw = Double(factors[Self.index(p, i, j, h)])
                    l[Self.index(p, i, j, h)] = i == j ? exp(raw) : raw
                }
                logDet += Double(factors[Self.index(p, i, i, h)])
            }
            for i in 0..<h {
                var norm = 0.0
                for j in 0...i { norm += l[Self.index(p, i, j, h)] * l[Self.index(p, i, j, h)] }
                s[p * h + i] = norm.squareRoot()
                let folded = FoldedNormal.meanAbs(Double(mu[p, i]), s[p * h + i])
                dMu[p * h + i] = folded.dMu
                dS[p * h + i] = folded.dS
                lambda[i] += folded.value / Double(n)
                for j in 0..<h {
                    var acc = 0.0  // (G L)_ij
                    for k in j..<h { acc += Double(gram[i, k]) * l[Self.index(p, k, j, h)] }
                    gl[Self.index(p, i, j, h)] = acc
                }
            }
            for i in 0..<h { for j in 0...i { traceTerm += gl[Self.index(p, i, j, h)] * l[Self.index(p, i, j, h)] } }
            for a in 0..<h { for b in 0..<h {
                var acc = 0.0
                for k in 0...min(a, b) { acc += l[Self.index(p, a, k, h)] * l[Self.index(p, b, k, h)] }
                scatter[a * h + b] += acc
            } }
        }
        let sigma2 = (residualSquares + traceTerm) / Double(n * d)
        let posterior = logDet / Double(n) + Double(h) * DiagonalEntropyObjective.halfLogTwoPiE
        let prior = lambda.reduce(0) { $0 + log(2 * M_E * $1) }
        let noise = Double(d) / 2 * log(2 * Double.pi * M_E * sigma2)
        let terms = DiagonalEntropyObjective.Terms(
            value: weights.posterior * posterior - weights.prior * prior - weights.likelihood * noise,
            posteriorEntropy: posterior, priorEntropy: prior, noiseEntropy: noise, sigma2: sigma2, lambda: lambda)

        let likelihoodScale = weights.likelihood / (Double(n) * sigma2)
        if let gradMu {
            let rw = Matrix.product(residual, w)
            for p in 0..<n { for i in 0..<h {
                gradMu[p * h + i] = Float(likelihoodScale * Double(rw[p, i]) - weights.prior * dMu[p * h + i] / (Double(n) * lambda[i]))
            } }
        }
        if let gradFactors {
            for p in 0..<n {
                for i in 0..<h {
                    let priorScale = weights.prior * dS[p * h + i] / (lambda[i] * max(s[p * h + i], 1e-300) * Double(n))
                    for j in 0..<h {
                        let k = Self.index(p, i, j, h)
                        guard j <= i else { gradFactors[k] = 0; continue }
                        var g = -likelihoodScale * gl[k] - priorScale * l[k]
                        if i == j { g = (g + weights.posterior / (Double(n) * l[k])) * l[k] }  // raw = log L_ii
                        gradFactors[k] = Float(g)
                    }
                }
            }
        }
        if let gradW {
            var g = Matrix(rows: d, cols: h)
            Matrix.gemm(residual, transposeA: true, mu, alpha: Float(likelihoodScale), beta: 0, into: &g)
            for r in 0..<d { for c in 0..<h {
                var ws = 0.0
                for k in 0..<h { ws += Double(w[r, k]) * scatter[k * h + c] }
                gradW[r * h + c] = g[r, c] - Float(likelihoodScale * ws)
            } }
        }
        return terms
    }
}
