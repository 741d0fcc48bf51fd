/// Draws vectors (data rows, dictionary columns) as a grid of image tiles: the picture a sparse-coding user wants
/// first. Tiles are separated by a 1-pixel black border; each pixel is repeated `zoom × zoom` times.
public struct TileRenderer: Sendable {
    /// How a tile's values map to gray levels.
    public enum Scaling: String, Sendable, CaseIterable {
        /// Each tile on its own, symmetrically around zero: 0 is mid-gray, ±max|v| are white and black.
        case symmetric
        /// Each tile on its own, from its minimum (black) to its maximum (white).
        case range
    }

    public var geometry: PatchGeometry
    public var scaling: Scaling
    public var zoom: Int
    /// Tiles per row of the picture; nil for a square-ish grid.
    public var columns: Int?

    public init(geometry: PatchGeometry, scaling: Scaling = .symmetric, zoom: Int = 1, columns: Int? = nil) {
        self.geometry = geometry
        self.scaling = scaling
        self.zoom = max(1, zoom)
        self.columns = columns
    }

    /// The picture's width and height for `count` tiles, computed with overflow checks and held against what this
    /// process may allocate (the samples and the encoded PNG, `MemoryBudget`): exit 70 before anything is drawn.
    public func canvas(tiles count: Int) throws -> (width: Int, height: Int) {
        let count = max(count, 1)
        let perRow = max(1, columns ?? Int(Double(count).squareRoot().rounded(.up)))
        let gridRows = (count + perRow - 1) / perRow
        let what = "drawing \(count) tiles of \(geometry.height)×\(geometry.width) pixels at zoom \(zoom)"
        /// `n · (side · zoom + 1) + 1` pixels: `n` tiles of `side` pixels and their borders.
        func span(_ n: Int, _ side: Int) throws -> Int {
            try MemoryBudget.checkedProduct([n, try MemoryBudget.checkedProduct([side, zoom], for: what) + 1], for: what) + 1
        }
        let width = try span(perRow, geometry.width), height = try span(gridRows, geometry.height)
        let samples = try MemoryBudget.checkedProduct([width, height, geometry.channels], for: what)
        try MemoryBudget.require([.init("the tile picture", [samples], elementSize: 3)], for: what)  // 16-bit samples, 8-bit PNG rows
        return (width, height)
    }

    /// Renders each row of `tiles` (rows of `geometry.dimension` values) as one tile, as an 8-bit gray or RGB image.
    /// `bounds` gives the values that map to black and white tile by tile (to draw several pictures on one scale,
    /// say patches and their reconstructions); nil takes each tile's own (`bounds(of:)`).
    public func render(_ tiles: Matrix, bounds given: [(low: Float, high: Float)]? = nil) throws -> PNGImage {
        precondition(tiles.cols == geometry.dimension, "tile rows must have \(geometry.dimension) values")
        precondition(given == nil || given!.count == tiles.rows, "one pair of bounds per tile")
        let count = max(tiles.rows, 1)
        let (width, height) = try canvas(tiles: count)
        let perRow = max(1, columns ?? Int(Double(count).squareRoot().rounded(.up)))
        let (h, w, c) = (geometry.height * zoom, geometry.width * zoom, geometry.channels)
        var samples = [UInt16](repeating: 0, count: width * height * c)
        for t in 0..<tiles.rows {
            let values = tiles.row(t)
            let (low, high) = given?[t] ?? bounds(values)
            let span = high - low
            let top = (t / perRow) * (h + 1) + 1, left = (t % perRow) * (w + 1) + 1
            for y in 0..<h {
                for x in 0..<w {
                    for ch in 0..<c {
                        let v = values[values.startIndex + ((y / zoom) * geometry.width + x / zoom) * c + ch]
                        let level = span > 0 ? (v - low) / span : 0.5
                        samples[((top + y) * width + left + x) * c + ch] = UInt16((min(max(level, 0), 1) * 255).rounded())
                    }
                }
            }
        }
        return PNGImage(width: width, height: height, channels: c, maxValue: 255, samples: samples)
    }

    /// The values that map to black and white for each row of `tiles` under `scaling`.
    public func bounds(of tiles: Matrix) -> [(low: Float, high: Float)] {
        (0..<tiles.rows).map { bounds(tiles.row($0)) }
    }

    /// The values that map to black and white for one tile.
    private func bounds(_ values: ArraySlice<Float>) -> (low: Float, high: Float) {
        switch scaling {
        case .symmetric:
            let m = values.reduce(0) { max($0, abs($1)) }
            return (-m, m)
        case .range:
            return (values.min() ?? 0, values.max() ?? 0)
        }
    }
}
