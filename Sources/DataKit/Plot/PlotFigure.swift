/// A picture of small multiples: a title (and lines under it), a legend, then panels in a grid, each a chart
/// (`ChartPanel`, drawn by `ChartRenderer`) or a titled picture (tiles). Rendered on white as an RGB PNG.
public struct PlotFigure: Sendable {
    /// One cell of the grid.
    public enum Panel: Sendable {
        case chart(ChartPanel)
        /// A picture drawn at its own size under a title.
        case picture(title: String, PNGImage)
    }

    /// One legend entry: a sample of the style (a line with its marker, or a bar) and its label.
    public struct LegendEntry: Sendable {
        public var label: String
        public var style: PlotStyle
        public var bar: Bool

        public init(_ label: String, _ style: PlotStyle, bar: Bool = false) {
            self.label = label
            self.style = style
            self.bar = bar
        }
    }

    public var title: String
    /// Lines under the title (what was drawn from which file), smaller and gray.
    public var subtitle: [String]
    public var legend: [LegendEntry]
    public var panels: [Panel]
    /// Panels per row of the grid.
    public var columns: Int
    /// The size of a chart's cell.
    public var chartSize: (width: Int, height: Int)
    public var renderer = ChartRenderer()

    /// The largest figure drawn, in pixels a side.
    public static let largestSide = 16_384

    public init(title: String, subtitle: [String] = [], legend: [LegendEntry] = [], panels: [Panel], columns: Int? = nil,
                chartSize: (width: Int, height: Int) = (440, 300))
    {
        self.title = title
        self.subtitle = subtitle
        self.legend = legend
        self.panels = panels
        self.columns = max(1, min(columns ?? (panels.count <= 4 ? panels.count : 3), max(panels.count, 1)))
        self.chartSize = (max(chartSize.width, ChartRenderer.minimumSize.width), max(chartSize.height, ChartRenderer.minimumSize.height))
    }

    private var scale: Int { renderer.textScale }
    private var lineHeight: Int { BitmapFont.height(scale: scale) }
    private var margin: Int { 8 * scale }
    private var gap: Int { 6 * scale }

    /// A cell's size: a chart's, or a picture's with its title band.
    private func size(of panel: Panel) -> (width: Int, height: Int) {
        switch panel {
        case .chart: return chartSize
        case .picture(let title, let picture):
            return (max(picture.width, BitmapFont.width(of: title, scale: scale)), picture.height + lineHeight + 3 * scale)
        }
    }

    /// The width of a legend entry: sample, space, label.
    private func entryWidth(_ entry: LegendEntry) -> Int { 14 * scale + BitmapFont.width(of: entry.label, scale: scale) }

    /// The legend's entries split into rows that fit `width`.
    private func legendRows(width: Int) -> [[LegendEntry]] {
        var rows: [[LegendEntry]] = [], row: [LegendEntry] = [], used = 0
        for entry in legend {
            let w = entryWidth(entry) + (row.isEmpty ? 0 : 10 * scale)
            if !row.isEmpty, used + w > width { rows.append(row); row = []; used = 0 }
            used += row.isEmpty ? entryWidth(entry) : w
            row.append(entry)
        }
        if !row.isEmpty { rows.append(row) }
        return rows
    }

    /// The figure as an 8-bit RGB image; throws when it would exceed `largestSide` or the memory this process may
    /// allocate (`MemoryBudget`).
    public func render() throws -> PNGImage {
        let sizes = panels.map(size(of:))
        let cellWidth = sizes.map(\.width).max() ?? chartSize.width, cellHeight = sizes.map(\.height).max() ?? chartSize.height
        let rows = (panels.count + columns - 1) / columns
        let gridWidth = columns * cellWidth + (columns - 1) * gap
        let textWidth = ([title] + subtitle).map { BitmapFont.width(of: $0, scale: scale) }.max() ?? 0
        let width = 2 * margin + max(gridWidth, textWidth, legend.map(entryWidth).max() ?? 0)
        let legendLines = legendRows(width: width - 2 * margin)
        let header = lineHeight + subtitle.count * (lineHeight + scale) + (legendLines.isEmpty ? 0 : 4 * scale)
            + legendLines.count * (lineHeight + 3 * scale)
        let height = margin + header + 4 * scale + rows * cellHeight + max(rows - 1, 0) * gap + margin
        guard width <= Self.largestSide, height <= Self.largestSide else {
            throw SparseKitError.usage("the figure would be \(width)×\(height) pixels, more than \(Self.largestSide) a side; draw fewer panels or tiles")
        }
        try MemoryBudget.require([.init("the figure", [width, height, 3], elementSize: 3)], for: "drawing a \(width)×\(height) figure")
        var canvas = PlotCanvas(width: width, height: height)

        var y = margin
        canvas.text(title, x: margin, y: y, scale: scale, .ink)
        y += lineHeight + scale
        for line in subtitle {
            canvas.text(line, x: margin, y: y, scale: scale, .frame)
            y += lineHeight + scale
        }
        if !legendLines.isEmpty { y += 4 * scale }
        for row in legendLines {
            var x = margin
            for entry in row {
                let middle = y + BitmapFont.ascent * scale / 2
                if entry.bar {
                    canvas.fill(.init(x: x, y: middle - 4 * scale, width: 10 * scale, height: 8 * scale), entry.style.color)
                } else {
                    canvas.line(from: (Double(x), Double(middle)), to: (Double(x + 10 * scale), Double(middle)), entry.style.color,
                                thickness: renderer.lineThickness)
                    canvas.marker(entry.style.marker, at: (Double(x + 5 * scale), Double(middle)), radius: renderer.markerRadius,
                                  entry.style.color)
                }
                canvas.text(entry.label, x: x + 14 * scale, y: y, scale: scale, .ink)
                x += entryWidth(entry) + 10 * scale
            }
            y += lineHeight + 3 * scale
        }
        y += 4 * scale

        for (k, panel) in panels.enumerated() {
            let cell = PlotCanvas.Rect(x: margin + (k % columns) * (cellWidth + gap), y: y + (k / columns) * (cellHeight + gap),
                                       width: cellWidth, height: cellHeight)
            switch panel {
            case .chart(let chart):
                renderer.draw(chart, in: cell, on: &canvas)
            case .picture(let title, let picture):
                canvas.text(title, x: cell.x, y: cell.y, scale: scale, .ink)
                canvas.paste(picture, x: cell.x, y: cell.y + lineHeight + 3 * scale)
            }
        }
        return canvas.image
    }

    /// Renders the figure and writes it as a PNG, atomically (`PNGCodec.write`).
    public func write(to path: String) throws {
        try PNGCodec.write(try render(), to: path)
    }
}
