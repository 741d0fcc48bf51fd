import DataKit
import Foundation

/// Fits `ICADensity` by maximum likelihood:
///
///     maximize (1/N) Σ_n Σ_h [ −log(2 b_h) − |B_h · (x_n − μ)| / b_h ] + log|det B|   over B, b,
///
/// with μ the sample mean (the ML location of the symmetric model is not the mean in general; the mean is the usual
/// ICA choice and keeps μ out of the optimization). Steps:
/// 1. whiten: W₀ = C^{-1/2} (symmetric, from the double-precision covariance C), z = W₀ (x − μ);
/// 2. B = R W₀ with R minimizing `ICAObjective` (unit scales: R's row norms absorb them) by `RelativeLBFGS`
///    (Picard's preconditioned L-BFGS), started at R = I (seed 0) or at a random rotation (another seed), through a
///    continuation of smoothings δ (|s| ≈ √(s² + δ²) − δ), each stage warm-started from the last;
/// 3. after each stage, b_h at its closed form (1/N) Σ_n |s_nh| given B (exact |·|), and the EXACT training
///    log-likelihood of that model, recorded per stage; the last stage's model is returned.
public struct ICAFit: Sendable {
    /// L-BFGS iterations at most per smoothing stage.
    public var iterations = 300
    /// δ per stage, decreasing; the last should be small (its surrogate's optimum is then that of the exact |·|).
    public var smoothings: [Double] = [0.1, 0.01, 0.001]
    /// 0: start at the whitening (R = I); otherwise at a random rotation drawn from this seed.
    public var seed: UInt64 = 0
    /// L-BFGS memory.
    public var history = 10
    /// A stage ends when every entry of the relative gradient is below this,
    public var tolerance = 1e-5
    /// or when the smoothed loss fell by less than this times D over 10 iterations (nats per point; 10 times this
    /// in the stages before the last, whose optimum only starts the next).
    public var decreasePerDimension = 2e-6

    public init() {}

    /// One smoothing stage: its δ, L-BFGS's run, and the exact training log-likelihood (nats/point) after it.
    public struct Stage: Sendable, Codable {
        public var smoothing: Double
        public var iterations: Int
        public var stop: String
        public var logLikelihood: Double
        public var seconds: Double
    }

    /// Fits the rows of `x` (N × D, N > D) through every smoothing stage; `report` after each one.
    public func fit(_ x: Matrix, report: (Stage) -> Void = { _ in }) throws -> (density: ICADensity, stages: [Stage]) {
        var run = try Run(self, x)
        var density: ICADensity?
        while !run.isFinished {
            density = try run.nextStage()
            report(run.stages.last!)
        }
        return (density!, run.stages)
    }

    /// A fit in progress, one smoothing stage at a time (`sk-train baseline` writes the model after each): the
    /// whitened data, the objective and the rotation R so far.
    public struct Run {
        let fit: ICAFit
        let x: Matrix
        let mean: [Double]
        let whitening: [Double]
        var objective: ICAObjective
        var rotation: [Double]
        /// The stages run so far.
        public private(set) var stages: [Stage] = []

        /// Whitens `x` (N × D, N > D) and starts at R₀.
        public init(_ fit: ICAFit, _ x: Matrix) throws {
            let (n, d) = (x.rows, x.cols)
            guard n > d else { throw SparseKitError.badInput(nil, "ICA needs more rows (\(n)) than dimensions (\(d))") }
            var accumulator = CovarianceAccumulator(dimension: d)
            for start in stride(from: 0, to: n, by: WhiteningTransform.chunkRows) {
                accumulator.add(x.rowSlice(start..<min(n, start + WhiteningTransform.chunkRows)))
            }
            let (mean, covariance) = accumulator.result()
            guard let whitening = try DoubleLinearAlgebra.inverseSquareRoot(covariance, n: d) else {
                throw SparseKitError.badInput(nil, "the covariance is singular (a constant or duplicated dimension): complete ICA needs "
                    + "full rank; whiten with sk-whiten --epsilon > 0 first")
            }
            let whitener = LinearFactorialDensity(centre: mean, transform: whitening, logAbsDeterminant: 0, factor: .standardNormal)
            var z = Matrix(rows: n, cols: d)
            for start in stride(from: 0, to: n, by: BaselineEvaluation.blockRows) {  // block by block: one double copy at a time
                let rows = start..<min(n, start + BaselineEvaluation.blockRows)
                let block = whitener.coordinates(x.rowSlice(rows))
                for i in block.indices { z.storage[start * d + i] = Float(block[i]) }
            }
            (self.fit, self.x, self.mean, self.whitening) = (fit, x, mean, whitening)
            objective = ICAObjective(whitened: z, smoothing: fit.smoothings.first ?? 0)
            rotation = fit.initialRotation(d)
        }

        /// Whether every smoothing stage has run.
        public var isFinished: Bool { stages.count == fit.smoothings.count }

        /// Runs the next smoothing stage from where the last one ended; returns the model after it (recorded in
        /// `stages` with its exact training log-likelihood).
        public mutating func nextStage() throws -> ICADensity {
            let (d, delta) = (x.cols, fit.smoothings[stages.count])
            // Below about 2^24 multiply-adds per product, OpenBLAS's threads spend more time waking than computing.
            return try BLASThreads.with(x.rows * d * d < 1 << 24 ? 1 : BLASThreads.count) {
                let clock = Date()
                objective.smoothing = delta
                var optimizer = RelativeLBFGS(maxIterations: fit.iterations, tolerance: fit.tolerance, memory: fit.history)
                optimizer.windowDecrease = (delta == fit.smoothings.last ? 1 : 10) * fit.decreasePerDimension * Double(d)
                let run = optimizer.minimize(&objective, from: &rotation)
                let fitted = try fit.exactModel(x, mean: mean, unmixing: DoubleLinearAlgebra.product(rotation, whitening, n: d))
                stages.append(Stage(smoothing: delta, iterations: run.iterations, stop: run.stop,
                                    logLikelihood: fitted.logLikelihood, seconds: Provenance.elapsed(since: clock)))
                return fitted.density
            }
        }
    }

    /// The model with unmixing B and each b_h at its closed form (1/N) Σ_n |s_nh|, s = B (x − μ), and its exact mean
    /// training log-likelihood.
    func exactModel(_ x: Matrix, mean: [Double], unmixing: [Double]) throws -> (density: ICADensity, logLikelihood: Double) {
        let d = x.cols
        guard let (mixing, _) = DoubleLinearAlgebra.inverseAndLogAbsDeterminant(unmixing, n: d) else {
            throw SparseKitError.internal("ICA's unmixing matrix became singular")
        }
        let sources = LinearFactorialDensity(centre: mean, transform: unmixing, logAbsDeterminant: 0, factor: .standardNormal)
        var absoluteSums = [Double](repeating: 0, count: d)
        for start in stride(from: 0, to: x.rows, by: BaselineEvaluation.blockRows) {
            let block = x.rowSlice(start..<min(x.rows, start + BaselineEvaluation.blockRows))
            let s = sources.coordinates(block)
            for row in 0..<block.rows { for h in 0..<d { absoluteSums[h] += abs(s[row * d + h]) } }
        }
        let density = try ICADensity(mean: mean, mixing: mixing, scale: absoluteSums.map { $0 / Double(x.rows) })
        return (density, BaselineEvaluation.run(.ica(density), on: x).logLikelihood.mean)
    }

    /// R₀: the identity for seed 0, else the rows of a Gaussian matrix orthonormalized (Gram–Schmidt, twice).
    func initialRotation(_ d: Int) -> [Double] {
        var q = [Double](repeating: 0, count: d * d)
        guard seed != 0 else {
            for i in 0..<d { q[i * d + i] = 1 }
            return q
        }
        var generator = SeededGenerator(seed: seed)
        for i in q.indices { q[i] = generator.normal() }
        for i in 0..<d {
            for _ in 0..<2 {
                for k in 0..<i {
                    var dot = 0.0
                    for j in 0..<d { dot += q[i * d + j] * q[k * d + j] }
                    for j in 0..<d { q[i * d + j] -= dot * q[k * d + j] }
                }
            }
            let norm = (0..<d).reduce(0.0) { $0 + q[i * d + $1] * q[i * d + $1] }.squareRoot()
            for j in 0..<d { q[i * d + j] /= norm }
        }
        return q
    }
}
