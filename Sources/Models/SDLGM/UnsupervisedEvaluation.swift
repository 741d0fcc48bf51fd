import DataKit
import Foundation

/// What `sk-eval` reports for an unsupervised SDLGM model on a data set (`sdlgm.md`, "Evaluation"): the held-out
/// ELBO of the discrete model (hard samples, `UnsupervisedObjective`), the reconstruction error of the evaluation
/// codes, how many features those codes activate, and (when asked) the importance-sampled log-likelihood
/// (`UnsupervisedLikelihood`).
public struct UnsupervisedEvaluation: Codable, Sendable {
    public var points: Int
    public var samples: Int
    /// Per point: mean ± standard error over points of the S-sample average.
    public var heldOutELBO: SparseCodingEvaluation.Estimate
    public var logLikelihood: Double
    public var levelKL: Double
    public var supportKL: Double
    public var valueKL: Double
    /// ‖x − E[x | z]‖²/D with z the evaluation code (L̂ = argmax q(L|x), top-L̂ support, values μ).
    public var reconstructionError: Double
    /// The same for the data's own variance (per dimension), for scale.
    public var dataVariance: Double
    /// activeCounts[n] = points whose evaluation code has n non-zeros, n = 0 … L0.
    public var activeCounts: [Int]
    public var meanActive: Double
    public var sigma2: Double?
    /// log p(x) per point by importance sampling (`UnsupervisedLikelihood`, with `likelihoodSamples` samples per
    /// point; mean ± standard error over points), the mean effective sample size of the points' weights, and
    /// whether p(x | S) was exact (linear Gaussian decoder: only the support sampled). Nil unless asked for.
    public var marginalLogLikelihood: SparseCodingEvaluation.Estimate?
    /// The same mean in bits per dimension: nats/(D ln 2).
    public var marginalBitsPerDimension: Double?
    public var meanEffectiveSampleSize: Double?
    /// The share of points whose weights have an effective sample size below 2: one sample carries their estimate,
    /// so the proposal has likely missed the supports that carry p(x) and the estimate is low (a mean ESS in the
    /// thousands can hide a fifth of the points there).
    public var lowEffectiveSampleSizeFraction: Double?
    public var likelihoodSamples: Int?
    public var likelihoodExactGivenSupport: Bool?
    /// log|det M| of the data's invertible whitening matrix M, and the log-likelihood plus it: nats per point of the
    /// patches before whitening (`WhiteningTransform.logAbsDeterminant`).
    public var whiteningLogAbsDeterminant: Double?
    public var marginalPixelSpaceLogLikelihood: Double?
    /// Every point's held-out ELBO and importance-sampling numbers in row order, when asked for (`keepsPerPoint`).
    public var perPoint: SparseCodingEvaluation.PerPoint?

    /// The share of points with ESS < 2 above which the text report warns.
    public static let lowEffectiveSampleSizeWarning = 0.05

    /// Rows evaluated at a time: whole 512-row batches, so the report does not depend on how rows are split.
    public static let blockRows = 8192

    /// Evaluates `model` on the rows of `x`, `samples` hard samples per point from `seed`; with
    /// `likelihoodSamples`, also log p(x) by importance sampling (and with `keepsPerPoint`, every point's numbers).
    public static func run(_ model: UnsupervisedSDLGM, on x: Matrix, samples: Int = 10, likelihoodSamples: Int? = nil,
                           keepsPerPoint: Bool = false, seed: UInt64 = 0) throws -> UnsupervisedEvaluation
    {
        try run(model, rows: x.rows, samples: samples, likelihoodSamples: likelihoodSamples, keepsPerPoint: keepsPerPoint,
                seed: seed, blockRows: blockRows) { x.rowSlice($0) }
    }

    /// The evaluation over `n` rows that `block(range)` provides, accumulated block by block, with memory for one
    /// block whatever N is: the per-point ELBOs (batches of 512, the noise drawn from one generator across blocks),
    /// the sums of the ELBO's terms, the evaluation codes' reconstruction error and active counts, and the data's
    /// per-dimension sums for its variance; with `likelihoodSamples`, each row's importance-sampled log p(x) (its
    /// own random stream, so blocks do not matter), and with `keepsPerPoint` each row's ELBO, log p̂(x), log-weight
    /// variance and effective sample size. `progress(rowsDone, N)` after each block.
    public static func run(_ model: UnsupervisedSDLGM, rows n: Int, samples: Int = 10, likelihoodSamples: Int? = nil,
                           keepsPerPoint: Bool = false, seed: UInt64 = 0,
                           blockRows: Int = blockRows, progress: (Int, Int) -> Void = { _, _ in },
                           block: (Range<Int>) throws -> Matrix) throws
        -> UnsupervisedEvaluation
    {
        precondition(n > 0 && blockRows > 0 && blockRows % 512 == 0, "rows, in blocks of whole 512-row batches")
        var model = model
        var generator = SeededGenerator(seed: seed)
        var elbo = RunningMoments()
        var sums = UnsupervisedObjective.Terms()
        var squared = 0.0, nonZeros = 0
        var columnSums = [Double](repeating: 0, count: model.dimension), columnSquares = columnSums
        var counts = [Int](repeating: 0, count: model.maxActive + 1)
        let estimator = likelihoodSamples.map { UnsupervisedLikelihood(model: model, samples: $0, seed: seed) }
        var marginal = RunningMoments(), essSum = 0.0, lowESS = 0
        var perPoint = keepsPerPoint && estimator != nil ? SparseCodingEvaluation.PerPoint() : nil
        for blockStart in stride(from: 0, to: n, by: blockRows) {
            let rows = blockStart..<min(n, blockStart + blockRows)
            let x = try block(rows)
            for first in stride(from: 0, to: x.rows, by: 512) {
                let xb = x.rowSlice(first..<min(x.rows, first + 512))
                var pointELBOs = [Double](repeating: 0, count: xb.rows)
                for _ in 0..<samples {
                    let noise = UnsupervisedObjective.Noise(points: xb.rows, maxActive: model.maxActive,
                                                            latents: model.latents, generator: &generator)
                    let (terms, elbos, _) = UnsupervisedObjective.evaluate(&model, xb, noise: noise, mode: .hard)
                    sums.add(terms, weight: 1 / Double(samples))
                    for i in elbos.indices { pointELBOs[i] += elbos[i] / Double(samples) }
                }
                for value in pointELBOs { elbo.add(value) }
                perPoint?.heldOutELBO += pointELBOs
            }
            let codes = try model.codes(x)
            var reconstruction = model.decode(codes.dense())
            if model.likelihood == .bernoulli {
                for i in reconstruction.storage.indices { reconstruction.storage[i] = 1 / (1 + exp(-reconstruction.storage[i])) }
            }
            for i in 0..<x.rows {
                for j in 0..<x.cols {
                    let (value, fit) = (Double(x[i, j]), Double(reconstruction[i, j]))
                    squared += (value - fit) * (value - fit)
                    columnSums[j] += value
                    columnSquares[j] += value * value
                }
                counts[min(codes.row(i).indices.count, model.maxActive)] += 1
            }
            nonZeros += codes.nonZeros
            if let estimator {
                let estimates = estimator.estimate(x, firstRow: rows.lowerBound)
                for value in estimates.logLikelihood { marginal.add(value) }
                essSum += estimates.effectiveSampleSize.reduce(0, +)
                lowESS += estimates.effectiveSampleSize.filter { $0 < 2 }.count
                perPoint?.logLikelihood += estimates.logLikelihood
                perPoint?.logWeightVariance += estimates.logWeightVariance
                perPoint?.effectiveSampleSize += estimates.effectiveSampleSize
            }
            progress(rows.upperBound, n)
        }
        // Σ_i (x_ij − mean_j)² = Σ_i x_ij² − (Σ_i x_ij)² / n
        let variance = zip(columnSums, columnSquares).reduce(0.0) { $0 + max(0, $1.1 - $1.0 * $1.0 / Double(n)) }
        let cells = Double(n * model.dimension)
        return UnsupervisedEvaluation(
            points: n, samples: samples, heldOutELBO: .init(mean: elbo.mean, standardError: elbo.standardError),
            logLikelihood: sums.logLikelihood / Double(n), levelKL: sums.levelKL / Double(n),
            supportKL: sums.supportKL / Double(n), valueKL: sums.valueKL / Double(n), reconstructionError: squared / cells,
            dataVariance: variance / cells, activeCounts: counts, meanActive: Double(nonZeros) / Double(n),
            sigma2: model.likelihood == .gaussian ? exp(Double(model.logNoiseVariance)) : nil,
            marginalLogLikelihood: estimator.map { _ in .init(mean: marginal.mean, standardError: marginal.standardError) },
            marginalBitsPerDimension: estimator.map { _ in DensityUnits.bitsPerDimension(natsPerPoint: marginal.mean, dimension: model.dimension) },
            meanEffectiveSampleSize: estimator.map { _ in essSum / Double(n) },
            lowEffectiveSampleSizeFraction: estimator.map { _ in Double(lowESS) / Double(n) }, likelihoodSamples: likelihoodSamples,
            likelihoodExactGivenSupport: estimator?.isExactGivenSupport, perPoint: perPoint)
    }

    /// A plain-text report.
    public var text: String {
        var lines = [String(format: "points %d   held-out ELBO %.4f ± %.4f nats/point (hard samples, S = %d)", points,
                            heldOutELBO.mean, heldOutELBO.standardError, samples),
                     String(format: "  E log p(x|z) %.4f   KL: level %.4f, support %.4f, values %.4f", logLikelihood, levelKL,
                            supportKL, valueKL),
                     String(format: "reconstruction error %.6g per dimension (data variance %.6g)%@", reconstructionError,
                            dataVariance, sigma2.map { String(format: "   σ² %.6g", $0) } ?? "")]
        if let estimate = marginalLogLikelihood, let samples = likelihoodSamples, let bitsPerDimension = marginalBitsPerDimension {
            lines.append(String(format: "log-likelihood %.4f ± %.4f nats/point (%.4f bits/dimension; importance sampling, "
                                + "K = %d%@, mean ESS %.1f, %.1f%% of points with ESS < 2)", estimate.mean,
                                estimate.standardError, bitsPerDimension, samples,
                                likelihoodExactGivenSupport == true ? ", exact given the support" : "",
                                meanEffectiveSampleSize ?? 0, 100 * (lowEffectiveSampleSizeFraction ?? 0)))
            if let low = lowEffectiveSampleSizeFraction, low > Self.lowEffectiveSampleSizeWarning {
                lines.append(String(format: "  warning: on %.1f%% of the points one sample carries the estimate (ESS < 2): the "
                                    + "proposal misses supports that carry p(x) there, so the estimate is likely low; it "
                                    + "rises with --samples", 100 * low))
            }
            if estimate.mean < heldOutELBO.mean {
                lines.append(String(format: "  warning: the estimate lies %.2f nats below the held-out ELBO, a lower bound "
                                    + "in expectation: the estimator has not converged; raise --samples",
                                    heldOutELBO.mean - estimate.mean))
            }
            if let offset = whiteningLogAbsDeterminant, let pixel = marginalPixelSpaceLogLikelihood {
                lines.append(String(format: "  before whitening (+ log|det M| = %.4f): %.4f nats/point", offset, pixel))
            }
        }
        let histogram = activeCounts.enumerated().filter { $0.element > 0 }.map { "\($0.offset): \($0.element)" }
        lines.append(String(format: "active features per code: mean %.3f; counts ", meanActive) + histogram.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
