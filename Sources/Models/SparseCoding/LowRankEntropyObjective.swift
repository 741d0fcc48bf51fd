import DataKit
import Foundation

/// The entropy objective of ES-SC for diagonal-plus-low-rank Gaussian posteriors (`es-sc.md`, `amortized-lowrank`):
/// q_n = N(μ_n, Σ_n), Σ_n = diag(d_n) + U_n U_nᵀ, d_nh = t_nh² (t > 0 the diagonal scales), U_n ∈ R^{H×r}.
/// With G = WᵀW and M_n = I_r + U_nᵀ diag(d_n)⁻¹ U_n:
///   H[q_n] = ½ [Σ_h log d_nh + log det M_n] + (H/2) log(2πe)
///   tr(G Σ_n) = Σ_h G_hh d_nh + ‖W U_n‖²_F,   s_nh² = d_nh + ‖U_n[h, :]‖²
/// and σ², λ, L_β as for diagonal posteriors. Gradients per point (÷N), by Woodbury (Σ⁻¹ = D⁻¹ − D⁻¹U M⁻¹UᵀD⁻¹):
///   ∂H/∂d_h = ½ (Σ⁻¹)_hh = ½ [1/d_h − (U M⁻¹ Uᵀ)_hh / d_h²],   ∂H/∂U = D⁻¹ U M⁻¹
///   ∂tr/∂d_h = G_hh,  ∂tr/∂U = 2 G U,   ∂s_h/∂d_h = 1/(2 s_h),  ∂s_h/∂U_hj = U_hj / s_h
///   ∂L/∂W = β_lik (Rᵀ M − W S)/(N σ²),  S = Σ_n Σ_n.
///
/// Layout: the factors of all points form one (N·r) × H matrix F whose rows r·n … r·n + r − 1 are U_nᵀ (an encoder
/// head's N × (r·H) output, as is). Then F G stacks the (G U_n)ᵀ, ‖W U_n‖² sums to ⟨F, F G⟩, and Σ_n U_n U_nᵀ = FᵀF.
public struct LowRankEntropyObjective {
    public let x: Matrix
    public let rank: Int
    public var weights: EntropyWeights

    public init(x: Matrix, rank: Int, weights: EntropyWeights = .one) {
        self.x = x
        self.rank = rank
        self.weights = weights
    }

    /// Gradients w.r.t. the parameters (layouts as the inputs; `factors` N × (r·H)).
    public struct Gradients {
        public var mu: Matrix
        public var scale: Matrix
        public var factors: Matrix?
        public var w: Matrix
    }

    /// L_β for means `mu` (N × H), diagonal scales `scale` (t, N × H) and `factors` (N × (r·H), rows U_nᵀ).
    public func evaluate(w: Matrix, mu: Matrix, scale: Matrix, factors: Matrix, gradients: inout Gradients?)
        -> DiagonalEntropyObjective.Terms
    {
        let (n, d, h, r) = (x.rows, x.cols, w.cols, rank)
        precondition(mu.rows == n && scale.rows == n && factors.rows == n && factors.cols == r * h, "shape mismatch")
        var residual = x  // R = X − M Wᵀ
        Matrix.gemm(mu, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let gram = Matrix.product(w, transposeA: true, w)
        let f = Matrix(rows: n * r, cols: h, storage: factors.storage)
        let fg = Matrix.product(f, gram)  // rows (G U_n)ᵀ
        var traceTerm = dot(f.storage, fg.storage), logDet = 0.0
        var s = [Double](repeating: 0, count: n * h), dMu = s, dS = s
        var sigmaInverseDiagonal = s  // (Σ_n⁻¹)_hh
        var entropyGradU = [Double](repeating: 0, count: n * r * h)  // D⁻¹ U M⁻¹, laid out as F
        var lambda = [Double](repeating: 0, count: h)
        var workspace = SmallCholesky(size: r)  // reused for every point: no per-point allocation
        for p in 0..<n {
            // M = I + Uᵀ D⁻¹ U (r × r), its Cholesky factor, log det and inverse.
            workspace.reset()
            for c in 0..<h {
                let t = Double(scale[p, c]), dc = t * t
                traceTerm += Double(gram[c, c]) * dc
                logDet += log(dc)
                var norm = dc
                for a in 0..<r {
                    let ua = Double(f[p * r + a, c])
                    norm += ua * ua
                    for b in 0...a { workspace.matrix[a * r + b] += ua * Double(f[p * r + b, c]) / dc }
                }
                s[p * h + c] = norm.squareRoot()
            }
            logDet += workspace.invert()
            let inverse = workspace.inverse
            for c in 0..<h {
                let i = p * h + c
                let dc = Double(scale[p, c]) * Double(scale[p, c])
                var quadratic = 0.0  // (U M⁻¹ Uᵀ)_cc
                for a in 0..<r {
                    var row = 0.0  // (U M⁻¹)_ca
                    for b in 0..<r { row += Double(f[p * r + b, c]) * inverse[b * r + a] }
                    quadratic += row * Double(f[p * r + a, c])
                    entropyGradU[(p * r + a) * h + c] = row / dc
                }
                sigmaInverseDiagonal[i] = 1 / dc - quadratic / (dc * dc)
                let folded = FoldedNormal.meanAbs(Double(mu[p, c]), s[i])
                (dMu[i], dS[i]) = (folded.dMu, folded.dS)
                lambda[c] += folded.value / Double(n)
            }
        }
        let sigma2 = (dot(residual.storage, residual.storage) + traceTerm) / Double(n * d)
        let posterior = 0.5 * logDet / Double(n) + Double(h) * DiagonalEntropyObjective.halfLogTwoPiE
        let prior = lambda.reduce(0) { $0 + log(2 * M_E * $1) }
        let noise = Double(d) / 2 * log(2 * Double.pi * M_E * sigma2)
        let terms = DiagonalEntropyObjective.Terms(
            value: weights.posterior * posterior - weights.prior * prior - weights.likelihood * noise,
            posteriorEntropy: posterior, priorEntropy: prior, noiseEntropy: noise, sigma2: sigma2, lambda: lambda)
        guard gradients != nil else { return terms }

        let (likelihoodScale, perPoint) = (weights.likelihood / (Double(n) * sigma2), 1 / Double(n))
        let rw = Matrix.product(residual, w)
        var gMu = Matrix(rows: n, cols: h), gScale = gMu, gFactors = Matrix(rows: n, cols: r * h)
        for p in 0..<n {
            for c in 0..<h {
                let i = p * h + c
                let t = Double(scale[p, c])
                let priorPerS = weights.prior * dS[i] / (lambda[c] * max(s[i], 1e-300)) * perPoint  // β_prior ∂E|z|/∂s / (λ s N)
                gMu.storage[i] = Float(likelihoodScale * Double(rw.storage[i]) - weights.prior * dMu[i] / lambda[c] * perPoint)
                // ∂/∂d, then ∂d/∂t = 2t.
                let gD = -likelihoodScale * 0.5 * Double(gram[c, c]) - 0.5 * priorPerS + weights.posterior * 0.5 * sigmaInverseDiagonal[i] * perPoint
                gScale.storage[i] = Float(gD * 2 * t)
                for a in 0..<r {
                    let k = (p * r + a) * h + c
                    gFactors.storage[k] = Float(-likelihoodScale * Double(fg.storage[k]) - priorPerS * Double(f.storage[k])
                        + weights.posterior * entropyGradU[k] * perPoint)
                }
            }
        }
        var scatter = Matrix(rows: h, cols: h)
        Matrix.gram(f, into: &scatter)  // Σ_n U_n U_nᵀ
        for p in 0..<n { for c in 0..<h { scatter[c, c] += scale[p, c] * scale[p, c] } }
        var gW = Matrix.product(w, scatter)
        Matrix.gemm(residual, transposeA: true, mu, alpha: Float(likelihoodScale), beta: Float(-likelihoodScale), into: &gW)
        gradients = Gradients(mu: gMu, scale: gScale, factors: gFactors, w: gW)
        return terms
    }
}

/// Cholesky inversion of a small symmetric positive-definite r × r matrix (r is the rank) in double precision, in
/// buffers allocated once and reused.
struct SmallCholesky {
    let size: Int
    /// The matrix to invert: its lower triangle, row-major (set it after `reset`).
    var matrix: [Double]
    private var factor: [Double]
    private var column: [Double]
    /// M⁻¹ after `invert`.
    private(set) var inverse: [Double]

    init(size: Int) {
        self.size = size
        matrix = [Double](repeating: 0, count: size * size)
        factor = matrix
        inverse = matrix
        column = [Double](repeating: 0, count: size)
    }

    /// Sets the matrix to the identity.
    mutating func reset() {
        for i in matrix.indices { matrix[i] = 0 }
        for a in 0..<size { matrix[a * size + a] = 1 }
    }

    /// Inverts the matrix into `inverse` (L Lᵀ = M, then M⁻¹ column by column by forward and back substitution);
    /// returns log det M.
    mutating func invert() -> Double {
        let r = size
        var logDet = 0.0
        for i in 0..<r {
            for j in 0...i {
                var sum = matrix[i * r + j]
                for k in 0..<j { sum -= factor[i * r + k] * factor[j * r + k] }
                factor[i * r + j] = i == j ? max(sum, 1e-300).squareRoot() : sum / factor[j * r + j]
            }
            logDet += 2 * log(factor[i * r + i])
        }
        for target in 0..<r {
            for i in 0..<r {
                var sum = i == target ? 1.0 : 0.0
                for k in 0..<i { sum -= factor[i * r + k] * column[k] }
                column[i] = sum / factor[i * r + i]
            }
            for i in stride(from: r - 1, through: 0, by: -1) {
                var sum = column[i]
                for k in (i + 1)..<r { sum -= factor[k * r + i] * inverse[k * r + target] }
                inverse[i * r + target] = sum / factor[i * r + i]
            }
        }
        return logDet
    }
}
