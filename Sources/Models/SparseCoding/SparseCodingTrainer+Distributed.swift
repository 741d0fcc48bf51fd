import DataKit
import Distributed
import Foundation

/// ES-SC's em scheme (diagonal q, coordinate E-step) trained by the P ranks of an MPI job (`mpirun -np P sk-train
/// sc …`), data-parallel: every rank draws the same global minibatches (those one process streaming the file would
/// draw) and trains on its share of each (`ProcessGroup.share`), read once per shuffling buffer (`RankShareReader`).
///
/// Per minibatch of B points, of which rank r holds B_r:
/// - E-step: each rank sweeps its own points' q_n; the points are independent given σ̂², λ̂, whose closed forms
///   need the batch sums Σ_n ‖x_n − W μ_n‖², Σ_n s_nh², Σ_n E|z_nh| (and Σ_n log s_nh for L_β): these 3H + 2 numbers
///   are all-reduced after every sweep (`CoordinateAscentEStep.group`), so every rank sweeps at the same σ̂², λ̂ and
///   stops after the same sweep;
/// - M-step: ∂L/∂W = β_lik/(Bσ²) (Σ_n r_n μ_nᵀ − W diag(Σ_n s_n²)) with r_n = x_n − W μ_n: each rank forms its
///   Σ_n r_n μ_nᵀ (D × H, one sgemm), all-reduced with the sums behind σ² in one buffer of doubles, which also
///   carries a stop flag (a SIGINT seen by any rank stops every rank after this minibatch);
///   every rank then takes the same step on V, so V stays identical on every rank without being sent.
/// Collectives per minibatch: (sweeps + 1) all-reduces of 3H + 2 doubles (with β_prior > 1, the sweeps of both of
/// the E-step's phases, plus one) and one of D·H + 3H + 3 doubles; one more per epoch for the record's totals.
/// The result differs from one process's (`--stream`) by the rounding of sums split differently.
///
/// The adam scheme with an amortized encoder (`--posterior amortized`) trains alike, one Adam step per minibatch
/// on every rank (`amortizedStep`): an all-reduce of 3H + 2 doubles (the sums behind σ̂², λ̂) and one of the
/// encoder's and V's gradients (single precision) per minibatch, one more per epoch for the record's totals.
extension SparseCodingTrainer {
    /// Why this configuration cannot train over MPI, or nil.
    public var distributedRestriction: String? {
        let em = scheme == .em && posterior == .diagonal && eStep == .coordinate, amortized = scheme == .adam && posterior == .amortized
        guard objective == .entropy, em || amortized, !warmStart else {
            return "over MPI (mpirun), sk-train sc trains only --scheme em with diagonal q and --e-step coordinate, or --scheme adam "
                + "with --posterior amortized, without --warm-start"
        }
        return nil
    }

    /// One epoch over every row of `reader`'s file, shared among `group`'s ranks; returns the epoch's running terms
    /// over all ranks (as `streamingEpoch`) and the mean Gini coefficient of the posterior means.
    func distributedEpoch(_ reader: ShuffledRowReader, _ group: ProcessGroup, _ state: inout State, _ adam: inout Adam,
                          _ weights: EntropyWeights, _ generator: inout SeededGenerator,
                          shouldStop: () -> Bool) throws -> (DiagonalEntropyObjective.Terms, Double)
    {
        let (d, h) = (reader.cols, latents)
        var totals = DiagonalEntropyObjective.Sums.none(latents: h)
        var (points, giniSum) = (0, 0.0)
        // One BLAS thread for em (as emStep); the amortized scheme's products get this rank's part of the cores.
        let blasThreads = scheme == .em || d * h < 10_000 ? 1 : max(1, BLASThreads.count / group.localSize)
        try BLASThreads.with(blasThreads) {
            try RankShareReader(reader, group: group).forEachShare(size: batchSize, using: &generator) { xb, batchPoints, _ in
                let (mu, sums, stop): (Matrix, DiagonalEntropyObjective.Sums, Bool)
                if scheme == .em {
                    (mu, sums, stop) = distributedEMStep(xb, batchPoints: batchPoints, &state.v, weights, group, stopping: shouldStop())
                } else {
                    let step = amortizedStep(xb, &state.v, &state.encoder!, &adam, weights, group: group, stopping: shouldStop)
                    let rho = Matrix(rows: xb.rows, cols: h, storage: step.output.scale.storage.map { Foundation.log($0) })
                    (mu, stop) = (step.output.mu, step.stop)
                    sums = xb.rows > 0 ? DiagonalEntropyObjective.sums(x: xb, w: step.w, mu: mu, rho: rho) : .none(latents: h)
                }
                totals.add(sums)
                points += xb.rows
                if xb.rows > 0 { giniSum += Sparsity.meanGini(mu) * Double(xb.rows) }
                if stop, !shouldStop() { Interruption.request() }  // another rank was interrupted: stop here too
                return !stop
            }
        }
        var packed = [totals.residualSquares] + totals.sumS2 + totals.absMean + totals.logS + [Double(points), giniSum]
        group.sum(&packed)
        let all = DiagonalEntropyObjective.Sums(residualSquares: packed[0], sumS2: Array(packed[1...h]),
                                                absMean: Array(packed[(h + 1)...(2 * h)]), logS: Array(packed[(2 * h + 1)...(3 * h)]))
        let (total, gini) = (Int(packed[3 * h + 1]), packed[3 * h + 2])
        guard total > 0 else { throw SparseKitError.badInput(reader.file.path, "holds no rows to train on") }
        let terms = DiagonalEntropyObjective.terms(all, points: total, dimension: d, norms: [Double](repeating: 1, count: h),
                                                   weights: .one)
        return (terms, gini / Double(total))
    }

    /// The em scheme on this rank's rows `xb` of a minibatch of `batchPoints` points (see the extension's
    /// documentation). Returns this rank's fitted means, its sums at the W the step started from (for the epoch's
    /// record), and whether any rank asked to stop (`stopping`).
    func distributedEMStep(_ xb: Matrix, batchPoints: Int, _ v: inout Matrix, _ weights: EntropyWeights, _ group: ProcessGroup,
                           stopping: Bool) -> (mu: Matrix, sums: DiagonalEntropyObjective.Sums, stop: Bool)
    {
        let (b, d, h) = (xb.rows, xb.cols, latents)
        let (w, norms) = ColumnNormalization.normalized(v)
        var muB = Matrix(rows: b, cols: h), rhoB = Matrix(rows: b, cols: h)
        var eStep = CoordinateAscentEStep(maxSweeps: iterations, tolerance: eStepTolerance,
                                          workers: max(1, ProcessInfo.processInfo.activeProcessorCount / group.localSize))
        eStep.group = group
        eStep.fit(x: xb, w: w, mu: &muB, rho: &rhoB, weights: weights)
        var (gradW, sums) = DiagonalEntropyObjective(x: xb, weights: weights).dictionaryGradientParts(w: w, mu: muB, rho: rhoB)
        // One all-reduce for the M-step: the sums behind σ², the stop flag and Σ_n r_n μ_nᵀ, all in double precision
        // (the D × H part is formed in single precision, and summed more exactly than one process sums it).
        let tail = 3 * h + 3
        var packed = [Double](repeating: 0, count: tail + d * h)
        packed[0] = sums.residualSquares
        for k in 0..<h { (packed[1 + k], packed[1 + h + k], packed[1 + 2 * h + k]) = (sums.sumS2[k], sums.absMean[k], sums.logS[k]) }
        packed[3 * h + 1] = stopping ? 1 : 0
        for i in 0..<(d * h) { packed[tail + i] = Double(gradW[i]) }
        group.sum(&packed)
        for i in 0..<(d * h) { gradW[i] = Float(packed[tail + i]) }
        let all = DiagonalEntropyObjective.Sums(residualSquares: packed[0], sumS2: Array(packed[1...h]),
                                                absMean: Array(packed[(h + 1)...(2 * h)]), logS: Array(packed[(2 * h + 1)...(3 * h)]))
        let terms = DiagonalEntropyObjective.terms(all, points: batchPoints, dimension: d, norms: w.columnSquaredNorms(), weights: weights)
        // ∂L/∂W = β_lik/(Bσ²) (Rᵀ M − W S)
        let scale = weights.likelihood / (Double(batchPoints) * terms.sigma2)
        w.storage.withUnsafeBufferPointer { pw in
            for r in 0..<d { for c in 0..<h { gradW[r * h + c] = Float(scale) * gradW[r * h + c] - Float(scale * all.sumS2[c]) * pw[r * h + c] } }
        }
        ascend(&v, w: w, norms: norms, gradW: gradW)
        return (muB, sums, packed[3 * h + 1] > 0)
    }
}

extension DiagonalEntropyObjective.Sums {
    /// These sums added up over `group`'s ranks (one all-reduce of 3H + 2 numbers), with the number of points.
    func summed(over group: ProcessGroup, points: Int) -> (DiagonalEntropyObjective.Sums, Int) {
        guard group.size > 1 else { return (self, points) }
        let h = sumS2.count
        var packed = [residualSquares] + sumS2 + absMean + logS + [Double(points)]
        group.sum(&packed)
        return (.init(residualSquares: packed[0], sumS2: Array(packed[1...h]), absMean: Array(packed[(h + 1)...(2 * h)]),
                      logS: Array(packed[(2 * h + 1)...(3 * h)])), Int(packed[3 * h + 1]))
    }
}
