import DataKit
import Foundation

/// What `sk-eval` reports for a baseline density on a data set: the exact log-likelihood per point (mean ± standard
/// error over points), in nats and in bits per dimension, and, when the data were whitened by an invertible M, the
/// same in the space the whitening was applied to (`WhiteningTransform.logAbsDeterminant`).
public struct BaselineEvaluation: Codable, Sendable {
    public var model: BaselineDensity.Kind
    public var points: Int
    public var dimension: Int
    /// Mean ± standard error of log p(x_n), nats per point, in the data's own space (whitened data: whitened space).
    public var logLikelihood: SparseCodingEvaluation.Estimate
    /// `logLikelihood.mean` / (D ln 2).
    public var bitsPerDimension: Double
    /// log|det M| of the data's invertible whitening matrix, when it has one.
    public var whiteningLogAbsDeterminant: Double?
    /// logLikelihood + log|det M|: nats per point of the patches before whitening (after any stored per-patch filter).
    public var pixelSpaceLogLikelihood: SparseCodingEvaluation.Estimate?
    public var pixelSpaceBitsPerDimension: Double?

    /// Rows evaluated at a time.
    public static let blockRows = 8192

    /// The evaluation on the rows of `x`.
    public static func run(_ density: BaselineDensity, on x: Matrix, whiteningLogAbsDeterminant: Double? = nil) -> BaselineEvaluation {
        run(density, rows: x.rows, whiteningLogAbsDeterminant: whiteningLogAbsDeterminant) { x.rowSlice($0) }
    }

    /// The evaluation over `n` rows that `block(range)` provides, `blockRows` at a time, so memory holds one block
    /// whatever N is; `progress(rowsDone, N)` after each block.
    public static func run(_ density: BaselineDensity, rows n: Int, whiteningLogAbsDeterminant: Double? = nil,
                           blockRows: Int = blockRows, progress: (Int, Int) -> Void = { _, _ in },
                           block: (Range<Int>) throws -> Matrix) rethrows -> BaselineEvaluation
    {
        precondition(n > 0 && blockRows > 0, "rows to evaluate, in blocks of at least one")
        var moments = RunningMoments()
        for start in stride(from: 0, to: n, by: blockRows) {
            let rows = start..<min(n, start + blockRows)
            for value in density.logDensities(try block(rows)) { moments.add(value) }
            progress(rows.upperBound, n)
        }
        let d = density.dimension
        let estimate = SparseCodingEvaluation.Estimate(mean: moments.mean, standardError: moments.standardError)
        var report = BaselineEvaluation(model: density.kind, points: n, dimension: d, logLikelihood: estimate,
                                        bitsPerDimension: DensityUnits.bitsPerDimension(natsPerPoint: estimate.mean, dimension: d))
        if let offset = whiteningLogAbsDeterminant {
            report.whiteningLogAbsDeterminant = offset
            report.pixelSpaceLogLikelihood = .init(mean: estimate.mean + offset, standardError: estimate.standardError)
            report.pixelSpaceBitsPerDimension = DensityUnits.bitsPerDimension(natsPerPoint: estimate.mean + offset, dimension: d)
        }
        return report
    }

    public var text: String {
        var lines = [String(format: "model %@   points %d   D %d", model.rawValue, points, dimension),
                     String(format: "held-out log-likelihood %.4f ± %.4f nats/point   %.5f bits/dimension",
                            logLikelihood.mean, logLikelihood.standardError, bitsPerDimension)]
        if let pixel = pixelSpaceLogLikelihood, let bits = pixelSpaceBitsPerDimension, let offset = whiteningLogAbsDeterminant {
            lines.append(String(format: "before whitening (+ log|det M| = %.4f): %.4f ± %.4f nats/point   %.5f bits/dimension",
                                offset, pixel.mean, pixel.standardError, bits))
        }
        return lines.joined(separator: "\n")
    }
}
