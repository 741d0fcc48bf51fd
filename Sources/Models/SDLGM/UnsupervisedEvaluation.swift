import DataKit
import Foundation

/// What `sk-eval` reports for an unsupervised SDLGM model on a data set (`sdlgm.md`, "Evaluation"): the held-out
/// ELBO of the discrete model (hard samples, `UnsupervisedObjective`), the reconstruction error of the evaluation
/// codes, and how many features those codes activate.
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

    public static func run(_ model: UnsupervisedSDLGM, on x: Matrix, samples: Int = 10, seed: UInt64 = 0,
                           batchSize: Int = 512) throws -> UnsupervisedEvaluation
    {
        var model = model
        var generator = SeededGenerator(seed: seed)
        var pointELBOs = [Double](repeating: 0, count: x.rows)
        var sums = UnsupervisedObjective.Terms()
        for first in stride(from: 0, to: x.rows, by: batchSize) {
            let xb = x.rowSlice(first..<min(x.rows, first + batchSize))
            for _ in 0..<samples {
                let noise = UnsupervisedObjective.Noise(points: xb.rows, maxActive: model.maxActive, latents: model.latents,
                                                        generator: &generator)
                let (terms, elbos, _) = UnsupervisedObjective.evaluate(&model, xb, noise: noise, mode: .hard)
                sums.add(terms, weight: 1 / Double(samples))
                for i in elbos.indices { pointELBOs[first + i] += elbos[i] / Double(samples) }
            }
        }
        let codes = try model.codes(x, batchSize: batchSize)
        var reconstruction = model.decode(codes.dense())
        if model.likelihood == .bernoulli {
            for i in reconstruction.storage.indices { reconstruction.storage[i] = 1 / (1 + exp(-reconstruction.storage[i])) }
        }
        var squared = 0.0, variance = 0.0
        let means = (0..<x.cols).map { j in (0..<x.rows).reduce(0.0) { $0 + Double(x[$1, j]) } / Double(x.rows) }
        for i in 0..<x.rows {
            for j in 0..<x.cols {
                let (value, fit) = (Double(x[i, j]), Double(reconstruction[i, j]))
                squared += (value - fit) * (value - fit)
                variance += (value - means[j]) * (value - means[j])
            }
        }
        var counts = [Int](repeating: 0, count: model.maxActive + 1)
        for i in 0..<codes.rows { counts[min(codes.row(i).indices.count, model.maxActive)] += 1 }
        let n = Double(x.rows), cells = Double(x.rows * x.cols)
        let elbo = meanAndStandardError(pointELBOs)
        return UnsupervisedEvaluation(
            points: x.rows, samples: samples, heldOutELBO: .init(mean: elbo.mean, standardError: elbo.standardError),
            logLikelihood: sums.logLikelihood / n, levelKL: sums.levelKL / n, supportKL: sums.supportKL / n,
            valueKL: sums.valueKL / n, reconstructionError: squared / cells, dataVariance: variance / cells,
            activeCounts: counts, meanActive: Double(codes.nonZeros) / n,
            sigma2: model.likelihood == .gaussian ? exp(Double(model.logNoiseVariance)) : nil)
    }

    /// A plain-text report.
    public var text: String {
        var lines = [String(format: "points %d   held-out ELBO %.4f ± %.4f nats/point (hard samples, S = %d)", points,
                            heldOutELBO.mean, heldOutELBO.standardError, samples),
                     String(format: "  E log p(x|z) %.4f   KL: level %.4f, support %.4f, values %.4f", logLikelihood, levelKL,
                            supportKL, valueKL),
                     String(format: "reconstruction error %.6g per dimension (data variance %.6g)%@", reconstructionError,
                            dataVariance, sigma2.map { String(format: "   σ² %.6g", $0) } ?? "")]
        let histogram = activeCounts.enumerated().filter { $0.element > 0 }.map { "\($0.offset): \($0.element)" }
        lines.append(String(format: "active features per code: mean %.3f; counts ", meanActive) + histogram.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
