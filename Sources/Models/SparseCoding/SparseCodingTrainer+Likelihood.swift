import DataKit
import Foundation

/// `--objective likelihood`: the ES-SC model (Laplace prior, W = V/‖V‖, Gaussian noise) trained by maximum
/// likelihood itself, with no posterior family in between: Monte Carlo EM with persistent chains (stochastic EM,
/// Celeux & Diebolt 1985; the chains persist as in Younes 1989 and Tieleman 2008). The reference for what a model
/// of this form can reach when the bound's gap does not bias training (README, "Held-out likelihood").
extension SparseCodingTrainer {
    /// One pass over shuffled minibatches. E-step: every point of the batch moves its Gibbs chain (kept in
    /// `state.mu`, carried from epoch to epoch, starting at z = 0) by `samples` exact sweeps of p(z | x_n) at the
    /// current W, σ², λ (`PosteriorSampleStatistics`). M-step: one ascent step on V along the estimate of the batch's
    /// mean ∇_W log p(x) (Fisher's identity), and σ², λ a step (`monteCarloAveraging`) towards their complete-data
    /// maximisers mean ‖x − W z‖²/D and mean |z_h|.
    func likelihoodEpoch(_ x: Matrix, _ state: inout State, _ generator: inout SeededGenerator, shouldStop: () -> Bool) {
        let (n, d) = (x.rows, x.cols)
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        BLASThreads.with(1) {  // small products between the sweeps, which run on every core
            for start in stride(from: 0, to: n, by: batchSize) {
                if start > 0, shouldStop() { break }
                let rows = Array(order[start..<min(n, start + batchSize)])
                let xb = x.gathering(rows)
                let (w, norms) = ColumnNormalization.normalized(state.v)
                let model = SparseCodingModel(w: w, lambda: state.lambda.map { Float($0) }, sigma2: Float(state.sigma2))
                var chains = state.mu.gathering(rows)
                let statistics = PosteriorSampleStatistics.sample(xb, chains: &chains, model: model, sweeps: samples,
                                                                  seed: generator.next())
                state.mu.scattering(chains, to: rows)
                ascend(&state.v, w: w, norms: norms, gradW: statistics.gradient(xb, w: w, sigma2: state.sigma2))
                let (b, rate) = (Double(rows.count), Self.monteCarloAveraging)
                state.sigma2 = max((1 - rate) * state.sigma2 + rate * statistics.squaredResidual / (b * Double(d)), 1e-12)
                state.lambda = zip(state.lambda, statistics.absoluteLatents).map { max((1 - rate) * $0 + rate * $1 / b, 1e-12) }
            }
        }
    }

    /// likelihood's record terms over all N at the chains' states z_n: the mean complete-data log-likelihood
    /// log p(x_n, z_n) (not a bound on log p(x); it rises as training improves the model), split as
    /// −(−log p(z_n)) − (−log p(x_n | z_n)); no posterior entropy (NaN); σ², λ as learned.
    func likelihoodTerms(_ x: Matrix, w: Matrix, chains z: Matrix, sigma2: Double, lambda: [Double]) -> DiagonalEntropyObjective.Terms {
        let (n, d, h) = (Double(x.rows), Double(x.cols), w.cols)
        var residual = x
        Matrix.gemm(z, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let noise = d / 2 * log(2 * Double.pi * sigma2) + dot(residual.storage, residual.storage) / (2 * sigma2 * n)
        var prior = lambda.reduce(0.0) { $0 + log(2 * $1) }
        for i in z.storage.indices { prior += Double(abs(z.storage[i])) / lambda[i % h] / n }
        return .init(value: -prior - noise, posteriorEntropy: .nan, priorEntropy: prior, noiseEntropy: noise, sigma2: sigma2,
                     lambda: lambda)
    }
}
