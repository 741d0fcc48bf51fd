import DataKit
import Foundation

/// The baselines of `es-sc.md` on the trainer's minibatch path: same data order, same initial W, same M-step on
/// V; only the E-step's objective differs.
extension SparseCodingTrainer {
    /// The step of elbo-mc's stochastic M-step for σ² and λ.
    static let monteCarloAveraging = 0.2

    /// `elbo-mc`, one pass over shuffled minibatches. E-step: `iterations` Adam steps (learning rate
    /// `monteCarloStepSize`) on the batch's (μ, ρ), each on fresh noise (S samples per point), W, σ², λ fixed. A
    /// deterministic optimizer on one fixed draw would overfit it: with S = 1, μ + s ε can sit at the MAP point for
    /// any s, and the entropy term then drives s to infinity. The E-step always starts from the batch's last q.
    /// M-step on fresh noise: one ascent step on V, and
    /// σ², λ moved a step towards the values maximising the estimate.
    func monteCarloEpoch(_ x: Matrix, _ state: inout State, _ generator: inout SeededGenerator, shouldStop: () -> Bool) {
        let (n, h) = (x.rows, latents)
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        for start in stride(from: 0, to: n, by: batchSize) {
            if start > 0, shouldStop() { break }
            let rows = Array(order[start..<min(n, start + batchSize)])
            let b = rows.count
            let estimator = MonteCarloELBO(x: x.gathering(rows), samples: samples)
            let (w, norms) = ColumnNormalization.normalized(state.v)
            let (sigma2, lambda) = (state.sigma2, state.lambda)
            // Always warm: a fixed budget of stochastic Adam steps from μ = 0 would leave q far from converged.
            var parameters = state.mu.gathering(rows).storage + state.rho.gathering(rows).storage
            var adam = Adam(learningRate: monteCarloStepSize)
            for _ in 0..<iterations {
                var gradients: MonteCarloELBO.Gradients? = .init(mu: [], rho: [], w: [], optimalSigma2: 0, optimalLambda: [])
                _ = estimator.evaluate(
                    w: w, sigma2: sigma2, lambda: lambda, mu: Matrix(rows: b, cols: h, storage: Array(parameters[0..<(b * h)])),
                    rho: Matrix(rows: b, cols: h, storage: Array(parameters[(b * h)...])),
                    epsilon: estimator.noise(latents: h, using: &generator), gradients: &gradients)
                var descent = gradients!.mu + gradients!.rho
                scale(&descent, -Double(b))
                adam.update(&parameters, descent)
            }
            let muB = Matrix(rows: b, cols: h, storage: Array(parameters[0..<(b * h)]))
            let rhoB = Matrix(rows: b, cols: h, storage: Array(parameters[(b * h)...]))
            state.mu.scattering(muB, to: rows)
            state.rho.scattering(rhoB, to: rows)
            var gradients: MonteCarloELBO.Gradients? = .init(mu: [], rho: [], w: [], optimalSigma2: 0, optimalLambda: [])
            _ = estimator.evaluate(w: w, sigma2: sigma2, lambda: lambda, mu: muB, rho: rhoB,
                                   epsilon: estimator.noise(latents: h, using: &generator), gradients: &gradients)
            ascend(&state.v, w: w, norms: norms, gradW: gradients!.w)
            // σ², λ move a step towards the batch's maximiser (a stochastic M-step: one batch's estimate is noisy).
            let rate = Self.monteCarloAveraging
            state.sigma2 = max((1 - rate) * state.sigma2 + rate * gradients!.optimalSigma2, 1e-12)
            state.lambda = zip(state.lambda, gradients!.optimalLambda).map { max((1 - rate) * $0 + rate * $1, 1e-12) }
        }
    }

    /// `map-l1`, one pass over shuffled minibatches: FISTA codes for the batch (from 0, or its last codes with
    /// `warmStart`; `iterations` steps, α = `penalty`), then one descent step on V along the energy's gradient −Rᵀ Z / B
    /// (Olshausen & Field's dictionary update, columns kept at unit norm by W = V/‖V‖).
    func lassoEpoch(_ x: Matrix, _ v: inout Matrix, _ codes: inout Matrix, _ generator: inout SeededGenerator,
                    shouldStop: () -> Bool) {
        let n = x.rows
        let coder = LassoCoder(penalty: penalty, iterations: iterations)
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        for start in stride(from: 0, to: n, by: batchSize) {
            if start > 0, shouldStop() { break }
            let rows = Array(order[start..<min(n, start + batchSize)])
            let xb = x.gathering(rows)
            let (w, norms) = ColumnNormalization.normalized(v)
            let z = coder.codes(xb, w: w, start: warmStart ? codes.gathering(rows) : nil)
            codes.scattering(z, to: rows)
            var residual = xb
            Matrix.gemm(z, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
            ascend(&v, w: w, norms: norms, gradW: Matrix.product(residual, transposeA: true, z).storage.map { $0 / Float(rows.count) })
        }
    }

    /// map-l1's record terms over all N: value −(½‖x − W z‖² + α‖z‖₁) per point, entropies NaN, and the model's
    /// σ² = mean ‖x − W z‖²/D and λ_h = mean |z_h| (the maximum-likelihood scale of the codes).
    func lassoTerms(_ x: Matrix, w: Matrix, codes z: Matrix) -> DiagonalEntropyObjective.Terms {
        let (n, d, h) = (x.rows, x.cols, w.cols)
        var residual = x
        Matrix.gemm(z, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let squares = dot(residual.storage, residual.storage)
        var lambda = [Double](repeating: 0, count: h)
        for i in z.storage.indices { lambda[i % h] += Double(abs(z.storage[i])) / Double(n) }
        let energy = LassoCoder(penalty: penalty, iterations: 0).energy(x, w: w, codes: z)
        return .init(value: -energy, posteriorEntropy: .nan, priorEntropy: .nan, noiseEntropy: .nan,
                     sigma2: max(squares / Double(n * d), 1e-12), lambda: lambda.map { max($0, 1e-12) })
    }
}
