import DataKit
import Foundation

/// The ordinary ELBO of diagonal Gaussian posteriors with σ², λ given (not at their closed forms), in closed form:
///   ELBO = H[q] − (−E_q log p(z)) − (−E_q log p(x | z)), per point,
///   −E_q log p(z) = Σ_h [log(2λ_h) + E|z_h|/λ_h],
///   −E_q log p(x | z) = (D/2) log(2πσ²) + (‖x − W μ‖² + Σ_h s_h² ‖w_h‖²)/(2σ²).
/// At the closed-form σ², λ the two cross-entropies are the prior and noise entropies of L.
enum ExactELBO {
    static func terms(_ x: Matrix, w: Matrix, sigma2: Double, lambda: [Double], mu: Matrix, rho: Matrix)
        -> DiagonalEntropyObjective.Terms
    {
        let (n, d, h) = (x.rows, x.cols, w.cols)
        var residual = x
        Matrix.gemm(mu, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let norms = w.columnSquaredNorms()
        var squares = dot(residual.storage, residual.storage), logS = 0.0, absolute = 0.0
        for i in 0..<(n * h) {
            let s = exp(Double(rho.storage[i]))
            squares += s * s * norms[i % h]
            logS += Double(rho.storage[i])
            absolute += FoldedNormal.meanAbs(Double(mu.storage[i]), s).value / lambda[i % h]
        }
        let posterior = logS / Double(n) + Double(h) * DiagonalEntropyObjective.halfLogTwoPiE
        let prior = lambda.reduce(0) { $0 + log(2 * $1) } + absolute / Double(n)
        let noise = Double(d) / 2 * log(2 * Double.pi * sigma2) + squares / (2 * sigma2 * Double(n))
        return .init(value: posterior - prior - noise, posteriorEntropy: posterior, priorEntropy: prior,
                     noiseEntropy: noise, sigma2: sigma2, lambda: lambda)
    }
}
