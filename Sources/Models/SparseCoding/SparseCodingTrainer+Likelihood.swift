import DataKit
import Foundation

/// `--objective likelihood`: the ES-SC model (Laplace prior, linear W, Gaussian noise) trained by maximum likelihood
/// itself, with no posterior family in between: stochastic approximation EM (Delyon, Lavielle & Moulines 1999) with
/// persistent exact Gibbs chains. The reference for what a model of this form reaches when no bound's gap biases
/// training (README, "Held-out likelihood").
///
/// Training keeps W unnormalised (V = W) and λ in the same parametrisation; the model it reports is the same
/// density with unit columns, W = V/‖V‖ and λ_h‖V_h‖ (z_h rescaled by ‖V_h‖).
extension SparseCodingTrainer {
    /// One pass over shuffled minibatches. E-step: every point of the batch moves its Gibbs chain (kept in
    /// `state.mu`, carried from epoch to epoch, starting at z = 0) by `samples` exact sweeps of p(z | x_n) at the
    /// current W, σ², λ (`PosteriorSampleStatistics`). M-step: the running complete-data statistics take the batch in
    /// with step γ_k = max(1/k, `statisticsStep`), and W, σ², λ jump to their maximisers
    /// (`CompleteDataStatistics`): no step size to tune, and none that must shrink with σ² as a gradient step's would.
    /// σ² falls by at most `noiseDecayPerEpoch` per epoch (annealed, as in Lavielle's SAEM, so that the first
    /// statistics come from broad posteriors), and not below `noiseFloor` when one is set. Like any EM it can settle
    /// in a local optimum: on simulated data with one weak source (`LikelihoodTrainingTests`' first design) it put two
    /// columns on one generating column and missed the weak one, 0.2 nats/point below the generating model.
    /// With `mStep` adam, W, log σ², log λ instead take one Adam step along the batch's Rao-Blackwellized
    /// ∇ log p(x) (`MarginalGradient`, at the sweeps' τ), with the same bounds on σ².
    func likelihoodEpoch(_ x: Matrix, _ state: inout State, _ adam: inout Adam, _ generator: inout SeededGenerator,
                         shouldStop: () -> Bool) {
        let (n, d) = (x.rows, x.cols)
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        BLASThreads.with(1) {  // small products between the sweeps, which run on every core
            if state.statistics == nil, adam.step == 0, initialModel != nil { burnIn(x, &state, &generator) }
            for start in stride(from: 0, to: n, by: batchSize) {
                if start > 0, shouldStop() { break }
                let rows = Array(order[start..<min(n, start + batchSize)])
                let xb = x.gathering(rows)
                let model = SparseCodingModel(w: state.v, lambda: state.lambda.map { Float($0) }, sigma2: Float(state.sigma2))
                var chains = state.mu.gathering(rows)
                let samples = PosteriorSampleStatistics.sample(xb, chains: &chains, model: model, sweeps: self.samples,
                                                               seed: generator.next(), marginalGradient: mStep == .adam)
                state.mu.scattering(chains, to: rows)
                let slowest = state.sigma2 * pow(Self.noiseDecayPerEpoch, Double(rows.count) / Double(n))
                if let gradient = samples.marginalGradient {
                    adamStep(gradient, &state, &adam, leastNoise: max(slowest, noiseFloor ?? 0))
                    continue
                }
                var statistics = state.statistics ?? CompleteDataStatistics(dimension: d, latents: latents)
                statistics.update(xb, samples, floor: statisticsStep)
                if let (w, sigma2, lambda) = statistics.maximizers() {
                    (state.v, state.sigma2, state.lambda) = (w, max(sigma2, slowest, noiseFloor ?? 0), lambda)
                }
                state.statistics = statistics
            }
        }
    }

    /// One Adam ascent step on (W, log σ², log λ) along `gradient`; σ² then at least `leastNoise`.
    func adamStep(_ gradient: MarginalGradient, _ state: inout State, _ adam: inout Adam, leastNoise: Double) {
        var parameters = state.v.storage + [Float(log(state.sigma2))] + state.lambda.map { Float(log($0)) }
        let descent = (gradient.w + [gradient.logSigma2] + gradient.logLambda).map { Float(-$0) }  // Adam minimises
        adam.update(&parameters, descent)
        let (dh, h) = (state.v.storage.count, state.lambda.count)
        state.v.storage = Array(parameters[0..<dh])
        state.sigma2 = max(exp(Double(parameters[dh])), leastNoise)
        state.lambda = parameters[(dh + 1)..<(dh + 1 + h)].map { exp(Double($0)) }
    }

    /// Before the first M-step from a given model (`initialModel`), every chain takes `burnInSweeps` sweeps at that
    /// model's parameters, so that the first statistics describe its posteriors, not chains that have barely left
    /// z = 0 (whose residuals would send σ² back up towards the data's variance and undo the start).
    func burnIn(_ x: Matrix, _ state: inout State, _ generator: inout SeededGenerator) {
        let model = SparseCodingModel(w: state.v, lambda: state.lambda.map { Float($0) }, sigma2: Float(state.sigma2))
        for start in stride(from: 0, to: x.rows, by: batchSize) {
            let rows = Array(start..<min(x.rows, start + batchSize))
            var chains = state.mu.gathering(rows)
            _ = PosteriorSampleStatistics.sample(x.gathering(rows), chains: &chains, model: model, sweeps: Self.burnInSweeps,
                                                 seed: generator.next())
            state.mu.scattering(chains, to: rows)
        }
    }

    static let burnInSweeps = 10

    /// The largest factor by which likelihood training lets σ² fall in one epoch.
    static let noiseDecayPerEpoch = 0.7

    /// likelihood's record terms over all N at the chains' states z_n, in training's parametrisation (W = V): the
    /// mean complete-data log-likelihood log p(x_n, z_n) (not a bound on log p(x); it follows training's progress),
    /// split as −(−log p(z_n)) − (−log p(x_n | z_n)); no posterior entropy (NaN); σ² as learned, and λ_h‖V_h‖, the
    /// scales of the reported model's unit columns.
    func likelihoodTerms(_ x: Matrix, v: Matrix, chains z: Matrix, sigma2: Double, lambda: [Double]) -> DiagonalEntropyObjective.Terms {
        let (n, d, h) = (Double(x.rows), Double(x.cols), v.cols)
        var residual = x
        Matrix.gemm(z, v, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let noise = d / 2 * log(2 * Double.pi * sigma2) + dot(residual.storage, residual.storage) / (2 * sigma2 * n)
        var prior = lambda.reduce(0.0) { $0 + log(2 * $1) }
        for i in z.storage.indices { prior += Double(abs(z.storage[i])) / lambda[i % h] / n }
        let norms = v.columnSquaredNorms().map { $0.squareRoot() }
        return .init(value: -prior - noise, posteriorEntropy: .nan, priorEntropy: prior, noiseEntropy: noise, sigma2: sigma2,
                     lambda: zip(lambda, norms).map { $0 * $1 })
    }
}
