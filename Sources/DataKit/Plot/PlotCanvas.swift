/// An RGB picture to draw plots on: filled rectangles, lines, markers, text in `BitmapFont`, and pictures (tiles)
/// pasted in. Coordinates are pixels from the top-left corner, x to the right and y down; whatever falls outside
/// the canvas, or outside `clip` when set, is not drawn.
public struct PlotCanvas: Sendable {
    public let width: Int
    public let height: Int
    /// Samples, row-major, R G B interleaved.
    private var samples: [UInt8]
    /// Drawing is confined to this rectangle when set (a panel's plotting area while its data is drawn).
    public var clip: Rect?

    /// A rectangle of pixels: columns `x ..< x + width`, rows `y ..< y + height`.
    public struct Rect: Sendable, Equatable {
        public var x: Int, y: Int, width: Int, height: Int

        public init(x: Int, y: Int, width: Int, height: Int) {
            (self.x, self.y, self.width, self.height) = (x, y, width, height)
        }

        public var maxX: Int { x + width }
        public var maxY: Int { y + height }

        /// Whether pixel (px, py) lies inside.
        public func contains(_ px: Int, _ py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
    }

    public init(width: Int, height: Int, background: PlotColor = .white) {
        precondition(width > 0 && height > 0, "a canvas has pixels")
        self.width = width
        self.height = height
        samples = [UInt8](repeating: 0, count: width * height * 3)
        fill(Rect(x: 0, y: 0, width: width, height: height), background)
    }

    /// The colour of pixel (x, y).
    public func pixel(_ x: Int, _ y: Int) -> PlotColor {
        let i = (y * width + x) * 3
        return PlotColor(samples[i], samples[i + 1], samples[i + 2])
    }

    /// Paints pixel (x, y) if it is on the canvas and inside `clip`.
    public mutating func plot(_ x: Int, _ y: Int, _ color: PlotColor) {
        guard x >= 0, y >= 0, x < width, y < height, clip?.contains(x, y) ?? true else { return }
        let i = (y * width + x) * 3
        samples[i] = color.red
        samples[i + 1] = color.green
        samples[i + 2] = color.blue
    }

    public mutating func fill(_ rect: Rect, _ color: PlotColor) {
        for y in max(rect.y, 0)..<max(min(rect.maxY, height), max(rect.y, 0)) {
            for x in max(rect.x, 0)..<max(min(rect.maxX, width), max(rect.x, 0)) { plot(x, y, color) }
        }
    }

    /// The 1-pixel outline of `rect`.
    public mutating func stroke(_ rect: Rect, _ color: PlotColor) {
        fill(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), color)
        fill(Rect(x: rect.x, y: rect.maxY - 1, width: rect.width, height: 1), color)
        fill(Rect(x: rect.x, y: rect.y, width: 1, height: rect.height), color)
        fill(Rect(x: rect.maxX - 1, y: rect.y, width: 1, height: rect.height), color)
    }

    /// A straight line between two points (pixel centres at integer + ½), `thickness` pixels wide: a square pen
    /// stepped along the line half a pixel at a time.
    public mutating func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double), _ color: PlotColor,
                              thickness: Int = 1)
    {
        guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { return }
        let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
        let steps = max(1, Int((length * 2).rounded(.up)))
        let half = Double(thickness) / 2
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            let x = a.x + (b.x - a.x) * t, y = a.y + (b.y - a.y) * t
            let left = Int((x - half).rounded()), top = Int((y - half).rounded())
            fill(Rect(x: left, y: top, width: thickness, height: thickness), color)
        }
    }

    /// A filled marker of `shape` centred on (x, y), `radius` pixels from the centre to its edge.
    public mutating func marker(_ shape: PlotStyle.Marker, at center: (x: Double, y: Double), radius: Int, _ color: PlotColor) {
        guard center.x.isFinite, center.y.isFinite else { return }
        let cx = Int(center.x.rounded(.down)), cy = Int(center.y.rounded(.down))
        let r = max(radius, 1)
        for dy in -r...r {
            for dx in -r...r {
                let inside: Bool
                switch shape {
                case .circle: inside = dx * dx + dy * dy <= r * r + r / 2
                case .square: inside = abs(dx) < r && abs(dy) < r
                case .diamond: inside = abs(dx) + abs(dy) <= r
                case .triangle: inside = dy >= -r && 2 * abs(dx) <= dy + r  // apex up, base on row +r
                }
                if inside { plot(cx + dx, cy + dy, color) }
            }
        }
    }

    /// Where a text's anchor point sits: its left edge, centre or right edge; its top or its vertical middle.
    public enum Anchor: Sendable { case left, center, right }

    /// Draws `text` in `BitmapFont.standard` at `scale`, horizontally anchored at `x` (`anchor`), its top row at `y`
    /// (`middle`: its capitals centred on `y`). With `vertical`, the text runs bottom to top (a y-axis title), its
    /// anchor along the y axis and its top at column `x`.
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 2, _ color: PlotColor = .ink,
                              anchor: Anchor = .left, middle: Bool = false, vertical: Bool = false)
    {
        let font = BitmapFont.standard
        let length = BitmapFont.width(of: text, scale: scale)
        let start: Int
        switch anchor {
        case .left: start = 0
        case .center: start = -length / 2
        case .right: start = -length
        }
        let top = middle ? -(BitmapFont.ascent * scale) / 2 : 0
        for (k, character) in text.enumerated() {
            let rows = font.glyph(character)
            for (row, bits) in rows.enumerated() where bits != 0 {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    let along = start + (k * BitmapFont.advance + column) * scale, across = top + row * scale
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            if vertical {
                                plot(x + across + sy, y - along - sx - 1, color)
                            } else {
                                plot(x + along + sx, y + across + sy, color)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Pastes `picture` (8-bit gray or RGB, alpha ignored) with its top-left corner at (x, y).
    public mutating func paste(_ picture: PNGImage, x: Int, y: Int) {
        let scale = 255 / Double(max(picture.maxValue, 1))
        for py in 0..<picture.height {
            for px in 0..<picture.width {
                let base = (py * picture.width + px) * picture.channels
                func level(_ c: Int) -> UInt8 { UInt8(min(255, (Double(picture.samples[base + c]) * scale).rounded())) }
                let color = picture.hasColor ? PlotColor(level(0), level(1), level(2)) : PlotColor(level(0), level(0), level(0))
                plot(x + px, y + py, color)
            }
        }
    }

    /// The canvas as an 8-bit RGB image for `PNGCodec`.
    public var image: PNGImage {
        PNGImage(width: width, height: height, channels: 3, maxValue: 255, samples: samples.map(UInt16.init))
    }
}
