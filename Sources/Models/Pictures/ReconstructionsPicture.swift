import DataKit
import Foundation

/// `sk-inspect MODEL DATA --reconstructions`: the first rows of a patches or whitened file beside their
/// reconstructions and the residuals, as three grids of tiles (`TileRenderer`, as `--tiles` draws them) in which a
/// patch, its reconstruction and its residual sit at the same place and share one gray scale (the patch's).
///
/// ES-SC reconstructs x̂ = W μ from the posterior means μ (`PosteriorCodes`: fitted with W, σ², λ fixed, or the
/// amortized encoder's); unsupervised SDLGM decodes its evaluation codes (`UnsupervisedSDLGM.codes`: the top-L̂
/// support with values μ), x̂ = f_θ(z), through the sigmoid for a Bernoulli likelihood. Other kinds have nothing to
/// reconstruct from: a usage error naming the file.
public struct ReconstructionsPicture: Sendable {
    public var model: String
    public var data: String
    public var count: Int
    /// Pixels per patch pixel; nil: tiles at least 48 pixels wide (as `--tiles`).
    public var zoom: Int?
    /// The rows of `data` for the model (the data file, the model file, its dimension): checked against it the way
    /// the tools check data (`ModelInput.denseRowBlocks`), which DataKit and Models cannot see.
    public var rows: RowSource

    public init(model: String, data: String, count: Int = 36, zoom: Int? = nil, rows: @escaping RowSource) {
        self.model = model
        self.data = data
        self.count = count
        self.zoom = zoom
        self.rows = rows
    }

    /// The rows of a data file for a model, read a block at a time: (data file, model file, the model's dimension)
    /// → (rows, read(range)).
    public typealias RowSource = @Sendable (String, HDF5File, Int) throws -> (count: Int, read: (Range<Int>) throws -> Matrix)

    /// The data rows drawn and their reconstructions, with a sentence on how they were reconstructed.
    func reconstruct() throws -> (x: Matrix, reconstruction: Matrix, method: String) {
        let modelFile = try HDF5File.open(model)
        let kind = try ModelKind.read(from: modelFile)
        func firstRows(_ dimension: Int) throws -> Matrix {
            try HDF5File.open(data).requireKind(.patches, .whitened)  // tiles of patches, not multilabel features
            let source = try rows(data, modelFile, dimension)
            guard source.count > 0 else { throw SparseKitError.badInput(data, "has no rows to reconstruct") }
            return try source.read(0..<min(count, source.count))
        }
        switch kind {
        case .sparseCoding:
            let sc = try SparseCodingModel.read(from: modelFile)
            let encoder = try GaussianEncoder.read(from: modelFile, dimension: sc.dimension, latents: sc.latents)
            let x = try firstRows(sc.dimension)
            let mu = PosteriorCodes(model: sc, encoder: encoder).encode(x).mu
            return (x, Matrix.product(mu, sc.w, transposeB: true),
                    "ES-SC: W μ, μ the posterior means" + (encoder == nil ? " (fitted with W, σ², λ fixed)" : " (the encoder's)"))
        case .unsupervisedSDLGM:
            let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
            let x = try firstRows(sdlgm.dimension)
            var decoded = sdlgm.decode(try sdlgm.codes(x).dense())
            if sdlgm.likelihood == .bernoulli { decoded = Matrix(rows: decoded.rows, cols: decoded.cols, storage: decoded.storage.map(sigmoid)) }
            return (x, decoded, "unsupervised SDLGM: f(z), z the evaluation code (the most probable number of features, values μ)"
                        + (sdlgm.likelihood == .bernoulli ? " through the sigmoid" : ""))
        case .supervisedSDLGM:
            throw SparseKitError(.usage, file: model, "is a supervised SDLGM model: it predicts labels and reconstructs no data; "
                + "--reconstructions draws ES-SC and unsupervised SDLGM models")
        case .baseline(let density):
            throw SparseKitError(.usage, file: model, "is a \(density) baseline density, which has no latent codes to reconstruct "
                + "from; --reconstructions draws ES-SC and unsupervised SDLGM models")
        }
    }

    private func sigmoid(_ v: Float) -> Float { 1 / (1 + Foundation.exp(-v)) }

    /// The figure: patches, reconstructions and residuals as three grids of tiles on the patches' scales.
    public func figure() throws -> PlotFigure {
        guard count >= 1 else { throw SparseKitError.usage("--count must be at least 1") }
        let (x, reconstruction, method) = try reconstruct()
        guard reconstruction.isFinite else { throw SparseKitError.badInput(model, "reconstructs NaN or Inf from the rows of \(data)") }
        var residual = x
        for i in residual.storage.indices { residual.storage[i] -= reconstruction.storage[i] }
        let dataFile = try HDF5File.open(data)
        let (patches, geometry) = try TilesJob.pixelSpace(x, of: dataFile)
        let kind = try dataFile.fileKind()
        let renderer = TileRenderer(geometry: geometry, scaling: kind == .patches ? .range : .symmetric,
                                    zoom: zoom ?? max(1, 48 / max(geometry.width, 1)))
        let bounds = renderer.bounds(of: patches)
        // The residual around zero (mid-gray), as much contrast per unit as its patch.
        let residualBounds = bounds.map { (low: -($0.high - $0.low) / 2, high: ($0.high - $0.low) / 2) }
        let pictures = [
            (kind == .patches ? "patches" : "whitened patches", patches, bounds),
            ("reconstructions", try TilesJob.pixelSpace(reconstruction, of: dataFile).tiles, bounds),
            ("residuals", try TilesJob.pixelSpace(residual, of: dataFile).tiles, residualBounds),
        ]
        let panels = try pictures.map { PlotFigure.Panel.picture(title: $0.0, try renderer.render($0.1, bounds: $0.2)) }
        let squares = residual.storage.reduce(0) { $0 + Double($1) * Double($1) }
        let energy = x.storage.reduce(0) { $0 + Double($1) * Double($1) }
        let mse = squares / Double(max(residual.storage.count, 1))
        return PlotFigure(
            title: "Reconstructions of \(data) by \(model)",
            subtitle: ["the first \(x.rows) rows; " + method,
                       "residual = patch − reconstruction; the three tiles of a patch share its gray scale",
                       "mean squared error \(NiceTicks.shortLabel(mse)) per value, \(NiceTicks.shortLabel(energy > 0 ? 100 * squares / energy : 0))% of "
                           + "the patches' energy"],
            panels: panels, columns: 3)
    }

    /// Draws the figure to the PNG `output` (atomically).
    public func write(to output: String) throws -> PictureSummary {
        _ = try AtomicOutput(path: output)  // fail on an unwritable output before any work
        return try PictureSummary.write(try figure(), to: output, picture: "reconstructions")
    }
}
