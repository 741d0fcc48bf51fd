import DataKit
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
    func amortizedStep(_ xb: Matrix, _ v: inout Matrix, _ encoder: inout GaussianEncoder, _ adam: inout Adam,
                       _ weights: EntropyWeights) -> (output: GaussianEncoder.Output, w: Matrix) {
        let (w, norms) = ColumnNormalization.normalized(v)
        let (output, cache) = encoder.forward(xb)
        let ascent = Self.objectiveGradients(xb, w: w, output, rank: rank, weights: weights)
        // Descent on −L.
        encoder.zeroGradients()
        encoder.backward(cache, gradMu: ascent.mu.negated, gradScale: ascent.scale.negated, gradFactors: ascent.factors?.negated)
        var gradV = [Float](repeating: 0, count: w.storage.count)
        ascent.w.storage.withUnsafeBufferPointer { ColumnNormalization.backward(w: w, norms: norms, gradW: $0.baseAddress!, into: &gradV) }
        scale(&gradV, -1)
        var parameters = encoder.parameters + v.storage
        adam.update(&parameters, encoder.gradients + gradV)
        let split = parameters.count - v.storage.count
        encoder.parameters = Array(parameters[0..<split])
        v.storage = Array(parameters[split...])
        return (output, w)
    }

    /// ∂L_β/∂(μ, s, factors, W) of a batch for the encoder's output: the diagonal objective (with ∂/∂s = (∂/∂ρ)/s)
    /// or, with factors, the diagonal-plus-low-rank one.
    static func objectiveGradients(_ xb: Matrix, w: Matrix, _ output: GaussianEncoder.Output, rank: Int,
                                   weights: EntropyWeights) -> LowRankEntropyObjective.Gradients
    {
        if let factors = output.factors {
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
                                       gradW: gw.baseAddress!)
                }
            }
        }
        for i in gradScale.storage.indices { gradScale.storage[i] /= output.scale.storage[i] }  // ∂/∂s = (∂/∂ρ)/s
        return .init(mu: gradMu, scale: gradScale, factors: nil, w: gradW)
    }
}
