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
/// The in-memory em epoch keeps the same record (`emEpoch`). The model's σ², λ are the last epoch's running values.
extension SparseCodingTrainer {
    /// Whether training from a reader is possible with these settings (else the reason).
    public var streamingRestriction: String? {
        guard objective == .entropy else { return "the \(objective.rawValue) baseline trains from memory only" }
        switch (scheme, posterior) {
        case (.em, .diagonal), (.adam, .amortized): return warmStart ? "--warm-start keeps every point's q in memory" : nil
        default: return "streaming from disk trains diagonal q with the em scheme or amortized q with adam"
        }
    }

    /// One epoch over every row of `reader`'s file, minibatches read from disk; `shouldStop` is asked after every
    /// minibatch. Returns the epoch's running terms (σ², λ at their closed forms over the epoch's totals) and the
    /// mean Gini coefficient of the batches' posterior means.
    func streamingEpoch(_ reader: ShuffledRowReader, _ state: inout State, _ adam: inout Adam, _ weights: EntropyWeights,
                        _ generator: inout SeededGenerator, shouldStop: () -> Bool) throws -> (DiagonalEntropyObjective.Terms, Double)
    {
        let (d, h) = (reader.cols, latents)
        var totals: DiagonalEntropyObjective.Sums?
        var (points, giniSum) = (0, 0.0)
        let blasThreads = scheme == .em || d * h < 10_000 ? 1 : BLASThreads.count  // as the in-memory epochs and emStep
        try BLASThreads.with(blasThreads) {
            try reader.forEachBatch(size: batchSize, using: &generator) { xb, _ in
                let (mu, sums): (Matrix, DiagonalEntropyObjective.Sums)
                if scheme == .em {
                    let step = emStep(xb, &state.v, from: [Float](repeating: 0, count: 2 * xb.rows * h), weights)
                    (mu, sums) = (step.mu, step.sums)
                } else {
                    let step = amortizedStep(xb, &state.v, &state.encoder!, &adam, weights)
                    let rho = Matrix(rows: xb.rows, cols: h, storage: step.output.scale.storage.map { Foundation.log($0) })
                    (mu, sums) = (step.output.mu, DiagonalEntropyObjective.sums(x: xb, w: step.w, mu: step.output.mu, rho: rho))
                }
                if totals == nil { totals = sums } else { totals!.add(sums) }
                points += xb.rows
                giniSum += Sparsity.meanGini(mu) * Double(xb.rows)
                return !shouldStop()
            }
        }
        guard let totals else { throw SparseKitError.badInput(reader.file.path, "holds no rows to train on") }
        let terms = DiagonalEntropyObjective.terms(totals, points: points, dimension: d,
                                                   norms: [Double](repeating: 1, count: h), weights: .one)
        return (terms, giniSum / Double(points))
    }
}
