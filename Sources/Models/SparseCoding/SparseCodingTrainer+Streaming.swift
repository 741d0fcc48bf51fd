import DataKit
import Foundation

/// ES-SC on data read from disk minibatch by minibatch (`ShuffledRowReader`), for files larger than memory: the em
/// scheme with diagonal q, or the adam scheme with an amortized encoder, both keeping no per-point state (each
/// E-step starts from μ = 0, s = 1; the encoder is the only posterior state). Memory holds W, the encoder, Adam's
/// moments and the reader's buffer, whatever N is.
///
/// The epoch record is a running one: the sums behind L (`DiagonalEntropyObjective.terms`) are added up batch by
/// batch, each at the W and q its own step saw (after the E-step; before the Adam step), with σ², λ at their
/// closed forms over the epoch's totals. Columns of W have unit norm, so the trace term Σ s² ‖w_h‖² needs no W.
/// The in-memory trainer instead evaluates L once more over all N at the epoch's final W and q; the two agree as W
/// settles. The model's σ², λ are the last epoch's running values.
extension SparseCodingTrainer {
    /// Whether training from a reader is possible with these settings (else the reason).
    public var streamingRestriction: String? {
        guard objective == .entropy else { return "the \(objective.rawValue) baseline trains from memory only" }
        switch (scheme, posterior) {
        case (.em, .diagonal), (.adam, .amortized): return warmStart ? "--warm-start keeps every point's q in memory" : nil
        default: return "streaming from disk trains diagonal q with the em scheme or amortized q with adam"
        }
    }

    /// Trains on every row of `reader`'s file each epoch, reading minibatches from disk. `report` sees each epoch's
    /// record; returning false stops early. The result holds no per-point posteriors (`mu`, `rho` are 0 × 0).
    public func train(streaming reader: ShuffledRowReader, report: (EpochRecord) -> Bool = { _ in true }) throws -> Result {
        if let streamingRestriction { throw SparseKitError.usage(streamingRestriction) }
        let (d, h) = (reader.cols, latents)
        guard h > 0 else { throw SparseKitError.usage("no latents") }
        let start = try startingPoint(dimension: d)
        var (v, encoder, history) = (start.v, start.encoder, start.history)
        var adam = Adam(learningRate: learningRate)
        let firstEpoch = history.count
        var generator = SeededGenerator(seed: seed &+ 1 &+ UInt64(firstEpoch))
        var last: (v: Matrix, encoder: GaussianEncoder?, terms: DiagonalEntropyObjective.Terms)?
        let blasThreads = scheme == .em || d * h < 10_000 ? 1 : BLASThreads.count  // as train(_:) and emStep
        for epoch in firstEpoch..<(firstEpoch + epochs) {
            let started = Date()
            let weights = EntropyWeights(prior: betaPrior(epoch: epoch))
            var totals: DiagonalEntropyObjective.Sums?
            var (points, giniSum) = (0, 0.0)
            try BLASThreads.with(blasThreads) {
                try reader.forEachBatch(size: batchSize, using: &generator) { xb, _ in
                    let (mu, rho, w): (Matrix, Matrix, Matrix)
                    if scheme == .em {
                        (mu, rho, w) = emStep(xb, &v, from: [Float](repeating: 0, count: 2 * xb.rows * h), weights)
                    } else {
                        let step = amortizedStep(xb, &v, &encoder!, &adam, weights)
                        (mu, w) = (step.output.mu, step.w)
                        rho = Matrix(rows: xb.rows, cols: h, storage: step.output.scale.storage.map { Foundation.log($0) })
                    }
                    let sums = DiagonalEntropyObjective.sums(x: xb, w: w, mu: mu, rho: rho)
                    if totals == nil { totals = sums } else { totals!.add(sums) }
                    points += xb.rows
                    giniSum += Sparsity.meanGini(mu) * Double(xb.rows)
                    return !Interruption.requested
                }
            }
            guard let totals else { break }  // no rows (the reader refuses empty data)
            let terms = DiagonalEntropyObjective.terms(totals, points: points, dimension: d,
                                                       norms: [Double](repeating: 1, count: h), weights: .one)
            guard terms.value.isFinite, v.isFinite, encoder?.parameters.allFinite ?? true else {
                guard let last else {
                    throw SparseKitError.badInput(nil, "training diverged in its first epoch (objective \(terms.value))")
                }
                var result = streamingResult(last.v, last.encoder, last.terms, history)
                result.stoppedEarly = "training diverged at epoch \(epoch + 1) (objective \(terms.value)); kept epoch \(epoch)"
                return result
            }
            last = (v, encoder, terms)
            history.append(EpochRecord(
                epoch: epoch + 1, objective: terms.value, posteriorEntropy: terms.posteriorEntropy,
                priorEntropy: terms.priorEntropy, noiseEntropy: terms.noiseEntropy, sigma2: terms.sigma2,
                meanLambda: terms.lambda.reduce(0, +) / Double(h), gini: giniSum / Double(points),
                betaPrior: weights.prior, seconds: Date().timeIntervalSince(started)))
            if !report(history.last!) || Interruption.requested { break }
        }
        guard let last else { throw SparseKitError.badInput(reader.file.path, "holds no rows to train on") }
        var result = streamingResult(last.v, last.encoder, last.terms, history)
        result.interrupted = Interruption.requested
        return result
    }

    private func streamingResult(_ v: Matrix, _ encoder: GaussianEncoder?, _ terms: DiagonalEntropyObjective.Terms,
                                 _ history: [EpochRecord]) -> Result {
        let model = SparseCodingModel(w: ColumnNormalization.normalized(v).w, lambda: terms.lambda.map { Float($0) },
                                      sigma2: Float(terms.sigma2))
        let none = Matrix(rows: 0, cols: 0)
        return Result(model: model, history: history, mu: none, rho: none, encoder: encoder, stoppedEarly: nil)
    }
}
