import DataKit
import Foundation

/// Bidirectional Monte Carlo (Grosse, Ghahramani & Adams 2015; `es-sc.md`, "Evaluation"): on data simulated from
/// the model (z ~ p(z), x ~ p(x | z)) the simulated z is an exact posterior sample of its x, so reverse AIS from it
/// gives a stochastic upper bound on log p(x) next to forward AIS's lower bound. The gap between the two bounds the
/// error of both on such data, and so tells whether T and K suffice.
public struct BidirectionalMonteCarlo: Sendable {
    public struct Bounds: Codable, Sendable {
        public var points: Int
        public var temperatures: Int
        public var chains: Int
        /// The AIS transitions, `coordinate`, `blocked` or `collapsed`.
        public var transition: AnnealedImportanceSampling.Transition
        /// The spacing of the temperatures, `sigmoid` or `geometric`.
        public var schedule: AnnealedImportanceSampling.Schedule
        /// Forward AIS, mean ± standard error over points (nats/point).
        public var lower: SparseCodingEvaluation.Estimate
        /// Reverse AIS, mean ± standard error over points.
        public var upper: SparseCodingEvaluation.Estimate
        /// Per point upper − lower, mean ± standard error: the error bound of either estimate.
        public var gap: SparseCodingEvaluation.Estimate
        /// Mean over points of the variance of the chains' log-weights, forward and reverse.
        public var lowerLogWeightVariance: Double
        public var upperLogWeightVariance: Double
        public var seconds: Double

        public var text: String {
            [String(format: "BDMC on %d points simulated from the model (AIS, T = %d, K = %d%@, %.1f s)", points,
                    temperatures, chains, AnnealedImportanceSampling.describe(transition, schedule), seconds),
             String(format: "  lower bound (forward AIS)  %.4f ± %.4f   log-weight variance %.3g", lower.mean,
                    lower.standardError, lowerLogWeightVariance),
             String(format: "  upper bound (reverse AIS)  %.4f ± %.4f   log-weight variance %.3g", upper.mean,
                    upper.standardError, upperLogWeightVariance),
             String(format: "  gap                        %.4f ± %.4f nats/point", gap.mean, gap.standardError)]
                .joined(separator: "\n")
        }
    }

    /// N points from the generative model: z_h ~ Laplace(0, λ_h), x = W z + σ ε.
    public static func simulate(_ model: SparseCodingModel, points n: Int, generator: inout SeededGenerator)
        -> (x: Matrix, z: Matrix)
    {
        var z = Matrix(rows: n, cols: model.latents)
        for r in 0..<n { for c in 0..<model.latents { z[r, c] = Float(generator.laplace(scale: Double(model.lambda[c]))) } }
        var x = Matrix(rows: n, cols: model.dimension)
        Matrix.gemm(z, model.w, transposeB: true, into: &x)
        let sigma = Double(model.sigma2).squareRoot()
        for i in 0..<x.storage.count { x.storage[i] += Float(sigma * generator.normal()) }
        return (x, z)
    }

    /// Simulates `points` data points (seeded) and brackets their log-likelihood by forward and reverse AIS.
    public static func run(_ model: SparseCodingModel, points: Int, temperatures: Int, chains: Int,
                           transition: AnnealedImportanceSampling.Transition = .coordinate,
                           schedule: AnnealedImportanceSampling.Schedule = .sigmoid, seed: UInt64) -> Bounds
    {
        let started = Date()
        var generator = SeededGenerator(seed: seed)
        let (x, z) = simulate(model, points: points, generator: &generator)
        let ais = AnnealedImportanceSampling(model: model, temperatures: temperatures, chains: chains, transition: transition,
                                             schedule: schedule)
        let lower = ais.forward(x, seed: seed &+ 1)
        let upper = ais.reverse(x, exactLatents: z, seed: seed &+ 2)
        var l = RunningMoments(), u = RunningMoments(), gap = RunningMoments()
        for (a, b) in zip(lower, upper) {
            l.add(a.logLikelihood)
            u.add(b.logLikelihood)
            gap.add(b.logLikelihood - a.logLikelihood)
        }
        func estimate(_ m: RunningMoments) -> SparseCodingEvaluation.Estimate {
            .init(mean: m.mean, standardError: m.standardError)
        }
        return Bounds(points: points, temperatures: temperatures, chains: chains, transition: transition, schedule: schedule, lower: estimate(l), upper: estimate(u),
                      gap: estimate(gap),
                      lowerLogWeightVariance: lower.reduce(0) { $0 + $1.logWeightVariance } / Double(points),
                      upperLogWeightVariance: upper.reduce(0) { $0 + $1.logWeightVariance } / Double(points),
                      seconds: Date().timeIntervalSince(started))
    }
}
