/// `sk-inspect --tiles` as a library call: draws the first rows of `/data` (or the columns of a model's fields: W,
/// ICA's mixing matrix, a linear decoder's weight, wherever `modelFields` finds them) as a tiled PNG.
public struct TilesJob: Sendable {
    public var input: String
    public var output: String
    public var count: Int
    /// nil: symmetric around zero for whitened data and models, per-tile range for raw patches.
    public var scaling: TileRenderer.Scaling?
    /// nil: enough to make each tile at least 48 pixels wide.
    public var zoom: Int?
    /// For a model file: the path of its D × H dataset whose columns are the learned fields, or an error saying why
    /// the model has none. Only the caller can tell (it depends on the model's kind, which DataKit does not know);
    /// nil refuses model files.
    public var modelFields: (@Sendable (HDF5File) throws -> String)?

    public init(input: String, output: String, count: Int = 100, scaling: TileRenderer.Scaling? = nil, zoom: Int? = nil,
                modelFields: (@Sendable (HDF5File) throws -> String)? = nil)
    {
        self.input = input
        self.output = output
        self.count = count
        self.scaling = scaling
        self.zoom = zoom
        self.modelFields = modelFields
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
        let kind = try modelFields == nil ? file.requireKind(.patches, .whitened) : file.requireKind(.patches, .whitened, .model)
        var tiles: Matrix
        let source: String
        if kind == .model, let modelFields {
            source = try modelFields(file)
            let w = try file.readMatrix(source)
            tiles = w.transposed.rowSlice(0..<min(count, w.cols))
        } else {
            let data = try file.patchRows(.patches, .whitened).data
            let rows = min(count, data.shape[0])
            tiles = Matrix(rows: rows, cols: data.shape[1], storage: try data.readRows(0, count: rows, as: Float.self))
            source = "/data rows"
        }
        guard tiles.isFinite else { throw SparseKitError.badInput(input, "\(source) hold NaN or Inf") }
        let g: PatchGeometry
        (tiles, g) = try TilesJob.pixelSpace(tiles, of: file)
        let renderer = TileRenderer(geometry: g, scaling: scaling ?? (kind == .patches ? .range : .symmetric),
                                    zoom: zoom ?? max(1, 48 / max(g.width, 1)))
        let picture = try renderer.render(tiles)
        try PNGCodec.write(picture, to: output)
        return Summary(tiles: tiles.rows, source: source, width: picture.width, height: picture.height)
    }

    /// Rows of `file`'s data or model (D values each) as patches of pixels, with their geometry: the geometry the
    /// file records; PCA-whitened rows (components, not pixels) mapped back to pixel space through the file's
    /// stored inverse; without a recorded geometry, a square gray patch or a 1 × D strip (`inferredGeometry`).
    public static func pixelSpace(_ tiles: Matrix, of file: HDF5File) throws -> (tiles: Matrix, geometry: PatchGeometry) {
        var tiles = tiles
        var geometry = try PatchGeometry.read(from: file)
        if let g = geometry, g.dimension != tiles.cols, file.kind(of: WhiteningTransform.group) == .group {
            // PCA-whitened rows live in component space: map them back to pixel space through the stored inverse.
            let inverse = try file.readMatrix(WhiteningTransform.group + "/inverse")
            if inverse.cols == tiles.cols, inverse.rows == g.dimension {
                tiles = Matrix.product(tiles, inverse, transposeB: true)
            }
        }
        if geometry?.dimension != tiles.cols { geometry = TilesJob.inferredGeometry(dimension: tiles.cols) }
        return (tiles, geometry!)
    }

    /// A square gray patch when D is a square number, else a 1 × D strip.
    static func inferredGeometry(dimension d: Int) -> PatchGeometry {
        let side = Int(Double(d).squareRoot().rounded())
        return side * side == d ? PatchGeometry(height: side, width: side, channels: 1)
            : PatchGeometry(height: 1, width: d, channels: 1)
    }
}
