import DataKit
import Distributed

/// Data-parallel training over the ranks of an MPI job (`mpirun -np P`): every rank draws the same global minibatch
/// of B points, computes the loss gradient on its share of B_r points (`ProcessGroup.share`), and the ranks add up
/// the gradients before the optimizer's step, so every rank takes the same step and the parameters stay identical
/// on every rank without being sent.
enum DataParallel {
    /// The minibatch's gradient and sums from every rank's share, in one all-reduce of single-precision numbers.
    /// `gradient` holds this rank's mean over its `points` of the minibatch's `batchPoints` (zeros when it has none):
    /// weighted by B_r/B and added up, it becomes the mean over the minibatch, ∇ = Σ_r (B_r/B) ∇_r. `sums` (batch
    /// sums of the loss and the like, and stop flags) are added up as they are, to single precision. Alone, or with
    /// one rank, nothing changes (no copy is made).
    static func sum(_ gradient: inout [Float], points: Int, of batchPoints: Int, sums: inout [Double], over group: ProcessGroup) {
        guard group.size > 1 else { return }
        let weight = Float(points) / Float(max(batchPoints, 1))
        for i in gradient.indices { gradient[i] *= weight }
        sum(&gradient, sums: &sums, over: group)
    }

    /// The same for a `gradient` that is already this rank's part of the minibatch's (an objective with batch-wide
    /// closed forms, ES-SC's σ̂², λ̂, divides by B itself): ∇ = Σ_r ∇_r, the `sums` added up alike.
    static func sum(_ gradient: inout [Float], sums: inout [Double], over group: ProcessGroup) {
        guard group.size > 1 else { return }
        let n = gradient.count
        gradient.append(contentsOf: sums.map { Float($0) })  // the sums ride along: one all-reduce
        group.sum(&gradient)
        sums = gradient[n...].map(Double.init)
        gradient.removeLast(sums.count)
    }
}
