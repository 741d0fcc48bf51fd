/// `sk-inspect --tiles` as a library call: draws the first rows of `/data` (or the columns of a model's fields: W,
/// ICA's mixing matrix, a linear decoder's weight) as a tiled PNG.
public struct TilesJob: Sendable {
    public var input: String
    public var output: String
    public var count: Int
    /// nil: symmetric around zero for whitened data and models, per-tile range for raw patches.
    public var scaling: TileRenderer.Scaling?
    /// nil: enough to make each tile at least 48 pixels wide.
    public var zoom: Int?

    public init(input: String, output: String, count: Int = 100, scaling: TileRenderer.Scaling? = nil, zoom: Int? = nil) {
        self.input = input
        self.output = output
        self.count = count
        self.scaling = scaling
        self.zoom = zoom
    }

    public struct Summary: Sendable {
        public var tiles: Int
        public var source: String
        public var width: Int
        public var height: Int
    }

    public func run() throws -> Summary {
        guard count >= 1 else { throw SparseKitError.usage("--count must be at least 1") }
        _ = try AtomicOutput(path: output)  // fail on an unwritable output before any work
        let file = try HDF5File.open(input)
        let kind = try file.requireKind(.patches, .whitened, .model)
        var tiles: Matrix
        let source: String
        if kind == .model {
            // D × H, each column one learned field: ES-SC's W, ICA's mixing matrix A, or the weight of SDLGM's linear
            // decoder.
            guard let found = ["/model/W", "/model/mixing", "/model/decoder/layer0/weight"].first(where: { file.kind(of: $0) == .dataset })
            else {
                throw SparseKitError.badInput(input, "is a model without fields to draw (a Gaussian or Laplace baseline)")
            }
            source = found
            if source.hasPrefix("/model/decoder"), file.kind(of: "/model/decoder/layer1") != nil {
                throw SparseKitError.badInput(input, "has an MLP decoder: its fields are not one matrix to draw (train with --decoder linear)")
            }
            let w = try file.readMatrix(source)
            tiles = w.transposed.rowSlice(0..<min(count, w.cols))
        } else {
            let data = try file.dataMatrixDataset()
            let rows = min(count, data.shape[0])
            tiles = Matrix(rows: rows, cols: data.shape[1], storage: try data.readRows(0, count: rows, as: Float.self))
            source = "/data rows"
        }
        guard tiles.isFinite else { throw SparseKitError.badInput(input, "\(source) hold NaN or Inf") }
        var geometry = try PatchGeometry.read(from: file)
        if let g = geometry, g.dimension != tiles.cols, file.kind(of: WhiteningTransform.group) == .group {
            // PCA-whitened rows live in component space: map them back to pixel space through the stored inverse.
            let inverse = try file.readMatrix(WhiteningTransform.group + "/inverse")
            if inverse.cols == tiles.cols, inverse.rows == g.dimension {
                tiles = Matrix.product(tiles, inverse, transposeB: true)
            }
        }
        if geometry?.dimension != tiles.cols { geometry = TilesJob.inferredGeometry(dimension: tiles.cols) }
        let g = geometry!
        let renderer = TileRenderer(geometry: g, scaling: scaling ?? (kind == .patches ? .range : .symmetric),
                                    zoom: zoom ?? max(1, 48 / max(g.width, 1)))
        let picture = renderer.render(tiles)
        try PNGCodec.write(picture, to: output)
        return Summary(tiles: tiles.rows, source: source, width: picture.width, height: picture.height)
    }

    /// A square gray patch when D is a square number, else a 1 × D strip.
    static func inferredGeometry(dimension d: Int) -> PatchGeometry {
        let side = Int(Double(d).squareRoot().rounded())
        return side * side == d ? PatchGeometry(height: side, width: side, channels: 1)
            : PatchGeometry(height: 1, width: d, channels: 1)
    }
}
