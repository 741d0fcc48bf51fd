import DataKit
import Distributed
import Foundation

/// Amortized ES-SC (`es-sc.md`, "Training schemes", amortized): Adam over the encoder and V together on −L_β of
/// each minibatch, with q(z | x_n) = N(μ(x_n), diag s(x_n)²) from the encoder, or N(μ, diag s² + U Uᵀ) for
/// `amortized-lowrank`.
extension SparseCodingTrainer {
    /// One pass over shuffled minibatches; afterwards the posteriors of all N points are re-encoded for the record.
    func amortizedEpoch(_ x: Matrix, _ state: inout State, _ adam: inout Adam, _ weights: EntropyWeights,
                        _ generator: inout SeededGenerator, shouldStop: () -> Bool)
    {
        guard var encoder = state.encoder else { preconditionFailure("amortized training needs an encoder") }
        let n = x.rows
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        for start in stride(from: 0, to: n, by: batchSize) {
            if start > 0, shouldStop() { break }
            _ = amortizedStep(x.gathering(Array(order[start..<min(n, start + batchSize)])), &state.v, &encoder, &adam, weights)
        }
        state.encoder = encoder
        let (mu, scales) = encoder.encode(x, batchSize: batchSize)  // marginal s for the diagonal record
        state.mu = mu
        state.rho = Matrix(rows: scales.rows, cols: scales.cols, storage: scales.storage.map { Foundation.log($0) })
    }

    /// One Adam step on −L_β of the minibatch `xb` over the encoder and V together. Returns the encoder's output
    /// for the batch and the W it was evaluated at, both from before the step.
    ///
    /// With a `group` of several ranks (`mpirun`, data-parallel), `xb` is this rank's share of the minibatch: σ̂², λ̂
    /// are the minibatch's (its sums added up over the ranks inside `DiagonalEntropyObjective.evaluate`, one
    /// all-reduce of 3H + 2 doubles), and the gradients of the encoder and V, with the stop flags, are added up in a
    /// second all-reduce (`DataParallel.sum`) before Adam's step, which every rank then takes alike. Also returns
    /// whether any rank asked to stop (`stopping`, asked once the gradient is formed).
    func amortizedStep(_ xb: Matrix, _ v: inout Matrix, _ encoder: inout GaussianEncoder, _ adam: inout Adam,
                       _ weights: EntropyWeights, group: ProcessGroup = .single, stopping: () -> Bool = { false })
        -> (output: GaussianEncoder.Output, w: Matrix, stop: Bool)
    {
        let (w, norms) = ColumnNormalization.normalized(v)
        let (output, cache) = encoder.forward(xb)
        encoder.zeroGradients()
        var gradV = [Float](repeating: 0, count: w.storage.count)
        if xb.rows > 0 {
            let ascent = Self.objectiveGradients(xb, w: w, output, rank: rank, weights: weights, group: group)
            // Descent on −L.
            encoder.backward(cache, gradMu: ascent.mu.negated, gradScale: ascent.scale.negated, gradFactors: ascent.factors?.negated)
            ascent.w.storage.withUnsafeBufferPointer { ColumnNormalization.backward(w: w, norms: norms, gradW: $0.baseAddress!, into: &gradV) }
            scale(&gradV, -1)
        } else {  // an empty share (fewer points than ranks) still joins the all-reduce of the minibatch's sums
            _ = DiagonalEntropyObjective.Sums.none(latents: latents).summed(over: group, points: 0)
        }
        var gradient = encoder.gradients + gradV, flags = [stopping() ? 1.0 : 0]
        DataParallel.sum(&gradient, sums: &flags, over: group)
        var parameters = encoder.parameters + v.storage
        adam.update(&parameters, gradient)
        let split = parameters.count - v.storage.count
        encoder.parameters = Array(parameters[0..<split])
        v.storage = Array(parameters[split...])
        return (output, w, flags[0] > 0)
    }

    /// ∂L_β/∂(μ, s, factors, W) of a batch for the encoder's output: the diagonal objective (with ∂/∂s = (∂/∂ρ)/s)
    /// or, with factors, the diagonal-plus-low-rank one (one process only). With a `group`, of this rank's share of
    /// a minibatch (`DiagonalEntropyObjective.evaluate`).
    static func objectiveGradients(_ xb: Matrix, w: Matrix, _ output: GaussianEncoder.Output, rank: Int,
                                   weights: EntropyWeights, group: ProcessGroup = .single) -> LowRankEntropyObjective.Gradients
    {
        if let factors = output.factors {
            precondition(group.size == 1, "amortized-lowrank trains in one process")
            var gradients: LowRankEntropyObjective.Gradients? = .init(mu: xb, scale: xb, factors: xb, w: w)
            _ = LowRankEntropyObjective(x: xb, rank: rank, weights: weights)
                .evaluate(w: w, mu: output.mu, scale: output.scale, factors: factors, gradients: &gradients)
            return gradients!
        }
        let (b, h) = (xb.rows, w.cols)
        let rho = Matrix(rows: b, cols: h, storage: output.scale.storage.map { Foundation.log($0) })
        var objective = DiagonalEntropyObjective(x: xb, weights: weights)
        var gradMu = Matrix(rows: b, cols: h), gradScale = Matrix(rows: b, cols: h), gradW = Matrix(rows: w.rows, cols: h)
        _ = gradMu.storage.withUnsafeMutableBufferPointer { gm in
            gradScale.storage.withUnsafeMutableBufferPointer { gs in
                gradW.storage.withUnsafeMutableBufferPointer { gw in
                    objective.evaluate(w: w, mu: output.mu, rho: rho, gradMu: gm.baseAddress!, gradRho: gs.baseAddress!,
                                       gradW: gw.baseAddress!, group: group)
                }
            }
        }
        for i in gradScale.storage.indices { gradScale.storage[i] /= output.scale.storage[i] }  // ∂/∂s = (∂/∂ρ)/s
        return .init(mu: gradMu, scale: gradScale, factors: nil, w: gradW)
    }
}
