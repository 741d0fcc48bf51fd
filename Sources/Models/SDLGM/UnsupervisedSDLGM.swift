import DataKit
import Foundation

/// Unsupervised SDLGM (`sdlgm.md`, "Unsupervised model"): K latent features, at most L0 active per point.
///
/// Generative model: L ~ Uniform{1 … L0}; a support of L features drawn in sequence without replacement, uniformly;
/// values v ~ N(0, I_K); z = m ⊙ v with m the support's mask; x ~ N(f_θ(z), σ² I) (`gaussian`, σ² learned) or
/// Bernoulli(sigmoid(f_θ(z))) (`bernoulli`). The decoder f_θ is one linear layer (W z + b) or an MLP.
///
/// Inference network g_φ: one MLP from x to the four heads side by side, [α_L (L0) | α_S (K) | μ (K) | u (K)], with
/// q(L | x) = softmax(α_L), support steps Plackett–Luce in softmax(α_S), and q(v_k | x) = N(μ_k, s_k²) for active k,
/// s = softplus(u) + 10⁻³ (inactive values keep their prior, so they cost no KL).
public struct UnsupervisedSDLGM: Sendable {
    public enum Likelihood: String, Sendable, CaseIterable, Codable { case gaussian, bernoulli }
    public enum DecoderKind: String, Sendable, CaseIterable, Codable { case linear, mlp }

    public var encoder: MLP
    public var decoder: MLP
    /// log σ² of the Gaussian likelihood (unused for Bernoulli).
    public var logNoiseVariance: Float = 0
    public let maxActive: Int
    public let likelihood: Likelihood
    public static let minimumScale: Float = 1e-3
    /// The encoder's initial scale s (through the scale head's bias).
    public static let initialScale = 0.1

    public var latents: Int { decoder.inputs }
    public var dimension: Int { decoder.outputs }
    public var decoderKind: DecoderKind { decoder.layers.count == 1 ? .linear : .mlp }

    /// Encoder D → hidden… → L0 + 3K; decoder K → D (linear) or K → reversed hidden… → D (mlp).
    public init(dimension: Int, latents: Int, maxActive: Int, hidden: [Int], decoder kind: DecoderKind,
                likelihood: Likelihood, generator: inout SeededGenerator) {
        precondition(maxActive >= 1 && maxActive <= latents, "1 ≤ L0 ≤ K")
        self.maxActive = maxActive
        self.likelihood = likelihood
        encoder = MLP(sizes: [dimension] + hidden + [maxActive + 3 * latents], lastGain: 0.5, generator: &generator)
        decoder = MLP(sizes: [latents] + (kind == .mlp ? hidden.reversed() : []) + [dimension], generator: &generator)
        // Scales start near s = initialScale, not softplus(0) ≈ 0.69: with the values' noise as loud as their signal
        // the likelihood barely reaches the decoder and the posterior collapses onto the prior.
        let last = encoder.layers.count - 1
        for c in scaleColumns { encoder.layers[last].bias[c] = Float(log(expm1(Self.initialScale))) }
    }

    public init(encoder: MLP, decoder: MLP, logNoiseVariance: Float, maxActive: Int, likelihood: Likelihood) {
        precondition(encoder.outputs == maxActive + 3 * decoder.inputs, "encoder heads must be L0 + 3K wide")
        (self.encoder, self.decoder, self.logNoiseVariance) = (encoder, decoder, logNoiseVariance)
        (self.maxActive, self.likelihood) = (maxActive, likelihood)
    }

    /// Column offsets of the heads in the encoder's output.
    var levelColumns: Range<Int> { 0..<maxActive }
    var supportColumns: Range<Int> { maxActive..<(maxActive + latents) }
    var meanColumns: Range<Int> { (maxActive + latents)..<(maxActive + 2 * latents) }
    var scaleColumns: Range<Int> { (maxActive + 2 * latents)..<(maxActive + 3 * latents) }

    /// The evaluation codes of the rows of x (no noise): L̂ = argmax q(L | x), support = the top-L̂ support scores,
    /// values = μ there; as a CSR matrix N × K with at most L0 non-zeros per row (indices ascending).
    public func codes(_ x: Matrix, batchSize: Int = 512) throws -> CSRMatrix {
        let k = latents
        let sampler = SparsitySampler(maxActive: maxActive, features: k)
        var indptr: [Int64] = [0], indices: [Int64] = [], values: [Float] = []
        for start in stride(from: 0, to: x.rows, by: batchSize) {
            let out = encoder.forward(x.rowSlice(start..<min(x.rows, start + batchSize))).output
            for i in 0..<out.rows {
                let row = out.row(i)
                let code = sampler.mode(levelLogits: row[(row.startIndex + levelColumns.lowerBound)..<(row.startIndex + levelColumns.upperBound)],
                                        supportScores: row[(row.startIndex + supportColumns.lowerBound)..<(row.startIndex + supportColumns.upperBound)])
                for j in code.support.sorted() {
                    indices.append(Int64(j))
                    values.append(out[i, meanColumns.lowerBound + j])
                }
                indptr.append(Int64(indices.count))
            }
        }
        return try CSRMatrix(rows: x.rows, cols: k, indptr: indptr, indices: indices, values: values)
    }

    /// Rows read, encoded and written at a time by `writeCodes`: whole 512-row batches of `codes`.
    public static let blockRows = 8192

    /// The evaluation codes of `n` rows that `block(range)` provides (N × D), encoded and appended block by block to
    /// the CSR group `groupPath` of `output`: the same codes as `codes` on all rows at once, with memory for one block
    /// whatever N is. `progress(rowsDone, N)` after each block. Returns the number of stored entries.
    public func writeCodes(rows n: Int, into output: HDF5File, groupPath: String, blockRows: Int = blockRows,
                           progress: (Int, Int) -> Void = { _, _ in }, block: (Range<Int>) throws -> Matrix) throws -> Int
    {
        precondition(blockRows > 0 && blockRows % 512 == 0, "blocks of whole 512-row batches")
        let writer = try CSRRowsWriter(file: output, groupPath: groupPath, cols: latents)
        for start in stride(from: 0, to: n, by: blockRows) {
            let rows = start..<min(n, start + blockRows)
            try writer.append(try codes(try block(rows)))
            progress(rows.upperBound, n)
        }
        try writer.finish()
        return writer.nonZeros
    }

    /// f_θ(z) for dense codes (N × K), `batchSize` rows at a time; for Bernoulli the logits.
    public func decode(_ z: Matrix) -> Matrix { decoder.forward(z).output }
}
