import DataKit
import Foundation

/// The `elbo-mc` baseline (`es-sc.md`, "Baselines"): the ordinary ELBO with σ² and λ as learned parameters and the
/// expectations estimated by the reparameterization trick, z_s = μ_n + s_n ∘ ε_s, ε_s ~ N(0, I), S samples:
///
///   ELBO_n ≈ (1/S) Σ_s [ log N(x_n; W z_s, σ² I) + Σ_h log Laplace(z_sh; 0, λ_h) ] + H[q_n]
///   log N = −(D/2) log(2πσ²) − ‖x_n − W z_s‖²/(2σ²),  log Laplace = −log(2λ_h) − |z_sh|/λ_h,
///   H[q_n] = Σ_h log s_nh + (H/2) log(2πe).
///
/// Gradients per sample, with r = x_n − W z_s and g_z = Wᵀ r/σ² − sign(z_s)/λ:
///   ∂/∂μ_n = g_z,  ∂/∂ρ_nh = s_nh g_z,h ε_sh + 1 (ρ = log s),  ∂/∂W = r z_sᵀ/σ²,
/// averaged over samples; the batch value and gradients are means over its B points. The σ², λ maximising the
/// estimate (its M-step) are σ² = mean ‖r‖²/D and λ_h = mean |z_sh|. Every sample's products are one gemm over the
/// batch.
public struct MonteCarloELBO {
    public let x: Matrix
    public let samples: Int

    public init(x: Matrix, samples: Int) {
        precondition(samples >= 1, "at least one sample")
        self.x = x
        self.samples = samples
    }

    /// Gradients of the batch mean, laid out like the parameters (`w` D × H, the others B × H), and the σ², λ at
    /// which the estimate is largest for this q and noise.
    public struct Gradients {
        public var mu: [Float]
        public var rho: [Float]
        public var w: [Float]
        public var optimalSigma2: Double
        public var optimalLambda: [Double]
    }

    /// The noise ε for every sample (S × B × H), drawn from `generator`; pass the same noise to fix the estimate.
    public func noise(latents: Int, using generator: inout SeededGenerator) -> [Float] {
        (0..<(samples * x.rows * latents)).map { _ in Float(generator.normal()) }
    }

    /// The MC ELBO per point (batch mean) and, if asked, its gradients, for fixed noise `epsilon`.
    public func evaluate(w: Matrix, sigma2: Double, lambda: [Double], mu: Matrix, rho: Matrix, epsilon: [Float],
                         gradients: inout Gradients?) -> Double
    {
        let (b, d, h) = (x.rows, x.cols, w.cols)
        precondition(mu.rows == b && mu.cols == h && rho.rows == b && lambda.count == h, "shape mismatch")
        precondition(epsilon.count == samples * b * h, "noise must be S × B × H")
        let scales = rho.storage.map { Foundation.exp($0) }
        var total = 0.0
        var z = Matrix(rows: b, cols: h), residual = x
        var gw = Matrix(rows: d, cols: h), gz = Matrix(rows: b, cols: h)
        var gMu = [Float](repeating: 0, count: b * h), gRho = gMu
        var squaresSum = 0.0
        var absoluteSums = [Double](repeating: 0, count: h)
        let wantGradients = gradients != nil
        let invSamples = 1 / Double(samples)
        for sample in 0..<samples {
            for i in 0..<(b * h) { z.storage[i] = mu.storage[i] + scales[i] * epsilon[sample * b * h + i] }
            residual.storage = x.storage
            Matrix.gemm(z, w, transposeB: true, alpha: -1, beta: 1, into: &residual)  // R = X − Z Wᵀ
            let squares = dot(residual.storage, residual.storage)
            var absolute = 0.0
            for i in 0..<(b * h) { absolute += Double(abs(z.storage[i])) / lambda[i % h] }
            total += -squares / (2 * sigma2) - absolute
            guard wantGradients else { continue }
            squaresSum += squares
            for i in 0..<(b * h) { absoluteSums[i % h] += Double(abs(z.storage[i])) }
            Matrix.gemm(residual, w, alpha: Float(1 / sigma2), beta: 0, into: &gz)  // Wᵀ r/σ² per row
            for i in 0..<(b * h) {
                let g = Double(gz.storage[i]) - Double(z.storage[i].sign == .minus ? -1 : (z.storage[i] == 0 ? 0 : 1)) / lambda[i % h]
                gMu[i] += Float(g * invSamples)
                gRho[i] += Float(g * Double(scales[i]) * Double(epsilon[sample * b * h + i]) * invSamples)
            }
            Matrix.gemm(residual, transposeA: true, z, alpha: Float(invSamples / sigma2), beta: 1, into: &gw)
        }
        let constant = -Double(d) / 2 * log(2 * Double.pi * sigma2) - lambda.reduce(0) { $0 + log(2 * $1) }
        let entropy = rho.storage.reduce(0.0) { $0 + Double($1) } / Double(b) + Double(h) * DiagonalEntropyObjective.halfLogTwoPiE
        let value = total * invSamples / Double(b) + constant + entropy
        if wantGradients {
            let perPoint = 1 / Double(b)
            gradients = Gradients(
                mu: gMu.map { Float(Double($0) * perPoint) },
                rho: gRho.map { Float((Double($0) + 1) * perPoint) },
                w: gw.storage.map { Float(Double($0) * perPoint) },
                optimalSigma2: squaresSum * invSamples / Double(b * d),
                optimalLambda: absoluteSums.map { $0 * invSamples / Double(b) })
        }
        return value
    }
}
