import DataKit
import Foundation

/// The generative model of ES-SC (`es-sc.md`): z ∈ R^H with p(z) = Π_h Laplace(z_h; 0, λ_h) (λ_h a scale),
/// x | z ~ N(W z, σ² I_D), W ∈ R^{D×H}.
public struct SparseCodingModel: Sendable, Equatable {
    /// D × H, row-major; column h is latent h's field.
    public var w: Matrix
    /// Laplace scales λ_h, H of them.
    public var lambda: [Float]
    /// Observation noise variance σ².
    public var sigma2: Float

    public init(w: Matrix, lambda: [Float], sigma2: Float) {
        precondition(lambda.count == w.cols, "one λ per column of W")
        self.w = w
        self.lambda = lambda
        self.sigma2 = sigma2
    }

    public var dimension: Int { w.rows }
    public var latents: Int { w.cols }

    /// Squared column norms ‖w_h‖².
    public var columnNormsSquared: [Double] { w.columnSquaredNorms() }

    /// Fixes the gauge (`es-sc.md`): unit-norm columns, each column's scale moved into λ_h (p(x) is unchanged).
    public mutating func normalizeColumns() {
        let norms = columnNormsSquared.map { $0.squareRoot() }
        for h in 0..<w.cols where norms[h] > 0 {
            for d in 0..<w.rows { w[d, h] = Float(Double(w[d, h]) / norms[h]) }
            lambda[h] = Float(Double(lambda[h]) * norms[h])
        }
    }

    /// A random initial dictionary: Gaussian columns, normalised (seeded).
    public static func initial(dimension: Int, latents: Int, seed: UInt64) -> SparseCodingModel {
        var generator = SeededGenerator(seed: seed)
        let w = Matrix(rows: dimension, cols: latents, storage: (0..<(dimension * latents)).map { _ in Float(generator.normal()) })
        var model = SparseCodingModel(w: w, lambda: [Float](repeating: 1, count: latents), sigma2: 1)
        model.normalizeColumns()
        model.lambda = [Float](repeating: 1, count: latents)
        return model
    }
}

/// The three entropy weights of the annealed objective L_β = −β_lik·H_noise − β_prior·H_prior + β_post·H_post.
public struct EntropyWeights: Sendable, Equatable {
    public var likelihood: Double
    public var prior: Double
    public var posterior: Double

    public init(likelihood: Double = 1, prior: Double = 1, posterior: Double = 1) {
        self.likelihood = likelihood
        self.prior = prior
        self.posterior = posterior
    }

    public static let one = EntropyWeights()
    public var isOne: Bool { self == .one }
}

/// Folded-normal moments of z ~ N(μ, s²) (`es-sc.md`): E|z| = s √(2/π) exp(−μ²/(2s²)) + μ erf(μ/(√2 s)),
/// ∂E|z|/∂μ = erf(μ/(√2 s)), ∂E|z|/∂s = √(2/π) exp(−μ²/(2s²)).
public enum FoldedNormal {
    public static let sqrtTwoOverPi = (2 / Double.pi).squareRoot()

    @inline(__always)
    public static func meanAbs(_ mu: Double, _ s: Double) -> (value: Double, dMu: Double, dS: Double) {
        let t = mu / (2.0.squareRoot() * s)
        let e = exp(-t * t)
        let f = erf(t)
        return (s * sqrtTwoOverPi * e + mu * f, f, sqrtTwoOverPi * e)
    }
}
