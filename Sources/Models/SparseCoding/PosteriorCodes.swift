import DataKit
import Foundation

/// The codes `sk-encode` writes for an ES-SC model (`formats.md`, kind `codes`): for every row x_n the posterior
/// q_n = N(μ_n, diag(s_n²)), fitted with W, σ², λ fixed (`HeldOutEstimators.fitPosteriors`), or for a model with an
/// amortized encoder the encoder's output (μ, s) = f(x_n).
public struct PosteriorCodes: Sendable {
    public let model: SparseCodingModel
    /// The trained encoder of an amortized model; nil fits each q_n.
    public let encoder: GaussianEncoder?

    /// Rows read, encoded and written at a time: a multiple of the 512-row batches in which posteriors are fitted or
    /// encoded, so the codes do not depend on how the rows are split into blocks.
    public static let blockRows = 8192

    public init(model: SparseCodingModel, encoder: GaussianEncoder?) {
        self.model = model
        self.encoder = encoder
    }

    /// μ and s (N × H each) for the rows of `x`.
    public func encode(_ x: Matrix) -> (mu: Matrix, std: Matrix) {
        if let encoder {
            let (mu, scale) = encoder.encode(x)
            return (mu, scale)
        }
        let fitted = HeldOutEstimators(model: model).fitPosteriors(x)
        return (fitted.mu, Matrix(rows: x.rows, cols: model.latents, storage: fitted.rho.storage.map { Foundation.exp($0) }))
    }

    /// Encodes the rows of `data` (N × D) block by block into the datasets `/codes` (μ) and `/codes_std` (s), N × H
    /// each, of `output`: memory holds one block, whatever N is. `progress(rowsDone, N)` after each block.
    public func encode(rowsOf data: HDF5Dataset, into output: HDF5File, blockRows: Int = blockRows,
                       progress: (Int, Int) -> Void = { _, _ in }) throws
    {
        precondition(blockRows > 0 && blockRows % 512 == 0, "blocks of whole 512-row batches")
        let n = data.shape[0], h = model.latents
        let mu = try output.createDataset("/codes", of: Float.self, shape: [n, h])
        let std = try output.createDataset("/codes_std", of: Float.self, shape: [n, h])
        for start in stride(from: 0, to: n, by: blockRows) {
            let rows = start..<min(n, start + blockRows)
            let codes = encode(try data.readFiniteRows(rows))
            try codes.mu.storage.withUnsafeBufferPointer { try mu.writeRows($0, at: start) }
            try codes.std.storage.withUnsafeBufferPointer { try std.writeRows($0, at: start) }
            progress(rows.upperBound, n)
        }
    }
}
