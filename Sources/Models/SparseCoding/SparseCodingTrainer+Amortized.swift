import DataKit
import Foundation

/// Amortized ES-SC (`es-sc.md`, "Training schemes", amortized): Adam over the encoder and V together on −L_β of
/// each minibatch, with q(z | x_n) = N(μ(x_n), diag s(x_n)²) from the encoder.
extension SparseCodingTrainer {
    /// One pass over shuffled minibatches; afterwards the posteriors of all N points are re-encoded for the record.
    func amortizedEpoch(_ x: Matrix, _ state: inout State, _ adam: inout Adam, _ weights: EntropyWeights,
                        _ generator: inout SeededGenerator)
    {
        guard var encoder = state.encoder else { preconditionFailure("amortized training needs an encoder") }
        let (n, h) = (x.rows, latents)
        var order = Array(0..<n)
        order.shuffle(using: &generator)
        for start in stride(from: 0, to: n, by: batchSize) {
            let rows = Array(order[start..<min(n, start + batchSize)])
            let b = rows.count
            let xb = x.gathering(rows)
            let (w, norms) = ColumnNormalization.normalized(state.v)
            let (mu, scales, cache) = encoder.forward(xb)
            let rho = Matrix(rows: b, cols: h, storage: scales.storage.map { Foundation.log($0) })
            var objective = DiagonalEntropyObjective(x: xb, weights: weights)
            var gradMu = Matrix(rows: b, cols: h), gradRho = Matrix(rows: b, cols: h)
            var gradW = [Float](repeating: 0, count: w.storage.count)
            _ = gradMu.storage.withUnsafeMutableBufferPointer { gm in
                gradRho.storage.withUnsafeMutableBufferPointer { gr in
                    gradW.withUnsafeMutableBufferPointer { gw in
                        objective.evaluate(w: w, mu: mu, rho: rho, gradMu: gm.baseAddress!, gradRho: gr.baseAddress!,
                                           gradW: gw.baseAddress!)
                    }
                }
            }
            // Descent on −L: ∂(−L)/∂μ = −∂L/∂μ, ∂(−L)/∂s = −(∂L/∂ρ)/s.
            scale(&gradMu.storage, -1)
            var gradScale = gradRho
            for i in gradScale.storage.indices { gradScale.storage[i] = -gradRho.storage[i] / scales.storage[i] }
            encoder.zeroGradients()
            encoder.backward(cache, gradMu: gradMu, gradScale: gradScale)
            var gradV = [Float](repeating: 0, count: gradW.count)
            gradW.withUnsafeBufferPointer { ColumnNormalization.backward(w: w, norms: norms, gradW: $0.baseAddress!, into: &gradV) }
            scale(&gradV, -1)
            var parameters = encoder.parameters + state.v.storage
            adam.update(&parameters, encoder.gradients + gradV)
            let split = parameters.count - state.v.storage.count
            encoder.parameters = Array(parameters[0..<split])
            state.v.storage = Array(parameters[split...])
        }
        state.encoder = encoder
        let (mu, scales) = encoder.encode(x, batchSize: batchSize)
        state.mu = mu
        state.rho = Matrix(rows: scales.rows, cols: scales.cols, storage: scales.storage.map { Foundation.log($0) })
    }
}
