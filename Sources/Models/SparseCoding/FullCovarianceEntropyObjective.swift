import CBLAS
import DataKit
import Foundation

/// The entropy objective of ES-SC for full-covariance Gaussian posteriors q_n = N(μ_n, L_n L_nᵀ) (`es-sc.md`),
/// L_n lower triangular with a positive diagonal, parameterised by its strictly lower entries and the LOG of its
/// diagonal. With G = WᵀW:
///   ½ log det(2πe Σ_n) = Σ_h log L_n,hh + (H/2) log(2πe),  tr(WᵀW Σ_n) = tr(L_nᵀ G L_n),  s_nh = ‖L_n[h, :]‖
/// and σ², λ, L_β as for diagonal posteriors. Gradients w.r.t. L_n (per point, ÷N):
///   −β_lik (G L_n)/(Nσ²) − β_prior [∂E|z_h|/∂s_h / λ_h · L_n[h, :]/s_h]_h + β_post diag(1/L_n,hh)/N
/// and ∂L/∂W = β_lik (Rᵀ M − W S)/(N σ²) with S = Σ_n Σ_n.
///
/// Layout: the factors are stored COLUMN by column, i.e. the N × H × H buffer holds U_n = L_nᵀ row-major. Stacked,
/// the U_n form an (N·H) × H matrix U, so every per-point product is one BLAS call over all points:
/// U G holds (G L_n)ᵀ entry-aligned with U, tr Σ_n L_nᵀ G L_n = ⟨U, U G⟩, and S = Σ_n U_nᵀ U_n = UᵀU.
public struct FullCovarianceEntropyObjective {
    public let x: Matrix
    public var weights: EntropyWeights

    public init(x: Matrix, weights: EntropyWeights = .one) {
        self.x = x
        self.weights = weights
    }

    /// Index of L_n[i, j] in the N·H·H buffer (entries above the diagonal unused, their gradient 0).
    @inline(__always) static func index(_ n: Int, _ i: Int, _ j: Int, _ h: Int) -> Int { (n * h + j) * h + i }

    /// The stacked factors U ((N·H) × H, U_n = L_nᵀ) from the raw parameters: diagonal exponentiated, unused
    /// entries zero.
    static func factorMatrix(_ factors: [Float], n: Int, h: Int) -> Matrix {
        var u = Matrix(rows: n * h, cols: h, storage: factors)
        u.storage.withUnsafeMutableBufferPointer { p in
            for block in 0..<(n * h) {
                let a = block % h  // row a of U_n is column a of L_n: entries L_n[c, a], valid for c ≥ a
                for c in 0..<a { p[block * h + c] = 0 }
                p[block * h + a] = Foundation.exp(p[block * h + a])
            }
        }
        return u
    }

    /// L_β for means `mu` (N × H) and raw factors `factors` (N·H·H, see the layout above; the diagonal holds
    /// log L_hh). Gradients are written where given (same layouts; W's D × H).
    public func evaluate(w: Matrix, mu: Matrix, factors: [Float], gradMu: UnsafeMutablePointer<Float>? = nil,
                         gradFactors: UnsafeMutablePointer<Float>? = nil, gradW: UnsafeMutablePointer<Float>? = nil)
        -> DiagonalEntropyObjective.Terms
    {
        let (n, d, h) = (x.rows, x.cols, w.cols)
        precondition(mu.rows == n && mu.cols == h && factors.count == n * h * h, "shape mismatch")
        var residual = x  // R = X − M Wᵀ
        Matrix.gemm(mu, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let residualSquares = dot(residual.storage, residual.storage)
        let u = Self.factorMatrix(factors, n: n, h: h)
        let ug = Matrix.product(u, Matrix.product(w, transposeA: true, w))  // U G: entry k is (G L_n) at k
        let traceTerm = dot(u.storage, ug.storage)
        var logDet = 0.0
        // s_nh² = Σ_a U_n[a, h]², and the folded-normal terms of every (n, h).
        var s = [Double](repeating: 0, count: n * h), dMu = s, dS = s
        var lambda = [Double](repeating: 0, count: h)
        u.storage.withUnsafeBufferPointer { pu in factors.withUnsafeBufferPointer { raw in mu.storage.withUnsafeBufferPointer { pm in
            for p in 0..<n {
                for a in 0..<h {
                    logDet += Double(raw[(p * h + a) * h + a])
                    for c in a..<h { s[p * h + c] += Double(pu[(p * h + a) * h + c] * pu[(p * h + a) * h + c]) }
                }
                for c in 0..<h {
                    let i = p * h + c
                    s[i] = s[i].squareRoot()
                    let folded = FoldedNormal.meanAbs(Double(pm[i]), s[i])
                    (dMu[i], dS[i]) = (folded.dMu, folded.dS)
                    lambda[c] += folded.value / Double(n)
                }
            }
        } } }
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
            for i in 0..<(n * h) {
                gradMu[i] = Float(likelihoodScale * Double(rw.storage[i]) - weights.prior * dMu[i] / (Double(n) * lambda[i % h]))
            }
        }
        if let gradFactors {
            u.storage.withUnsafeBufferPointer { pu in
                ug.storage.withUnsafeBufferPointer { pg in
                    for p in 0..<n { for a in 0..<h {
                        let row = (p * h + a) * h
                        for c in 0..<a { gradFactors[row + c] = 0 }
                        for c in a..<h {  // the entry L_n[c, a]
                            let priorScale = weights.prior * dS[p * h + c] / (lambda[c] * max(s[p * h + c], 1e-300) * Double(n))
                            let value = Double(pu[row + c])
                            var g = -likelihoodScale * Double(pg[row + c]) - priorScale * value
                            if c == a { g = (g + weights.posterior / (Double(n) * value)) * value }  // raw = log L_aa
                            gradFactors[row + c] = Float(g)
                        }
                    } }
                }
            }
        }
        if let gradW {
            var scatter = Matrix(rows: h, cols: h)
            Matrix.gram(u, into: &scatter)  // S = Σ_n L_n L_nᵀ = UᵀU
            var g = Matrix.product(w, scatter)
            Matrix.gemm(residual, transposeA: true, mu, alpha: Float(likelihoodScale), beta: Float(-likelihoodScale), into: &g)
            g.storage.withUnsafeBufferPointer { gradW.update(from: $0.baseAddress!, count: d * h) }
        }
        return terms
    }
}

/// Packs the used entries of N triangular H × H factors (row a of each block from column a on, the layout of
/// `FullCovarianceEntropyObjective`) into N·H(H+1)/2 contiguous values, so an optimizer carries no dead entries.
struct TriangularPacking {
    let points: Int
    let size: Int

    var packedCount: Int { points * size * (size + 1) / 2 }

    /// The used entries of a full N·H·H buffer, in order.
    func pack(_ full: [Float]) -> [Float] {
        var packed = [Float](repeating: 0, count: packedCount)
        packed.withUnsafeMutableBufferPointer { pack(full, into: $0.baseAddress!) }
        return packed
    }

    func pack(_ full: [Float], into packed: UnsafeMutablePointer<Float>) {
        full.withUnsafeBufferPointer { f in
            var k = 0
            for block in 0..<(points * size) {
                let a = block % size
                (packed + k).update(from: f.baseAddress! + block * size + a, count: size - a)
                k += size - a
            }
        }
    }

    /// The full N·H·H buffer (unused entries zero) from packed values.
    func unpack(_ packed: ArraySlice<Float>) -> [Float] {
        var full = [Float](repeating: 0, count: points * size * size)
        packed.withUnsafeBufferPointer { p in
            full.withUnsafeMutableBufferPointer { f in
                var k = 0
                for block in 0..<(points * size) {
                    let a = block % size
                    (f.baseAddress! + block * size + a).update(from: p.baseAddress! + k, count: size - a)
                    k += size - a
                }
            }
        }
        return full
    }
}
