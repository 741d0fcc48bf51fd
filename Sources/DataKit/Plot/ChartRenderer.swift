/// Draws a `ChartPanel` into a rectangle of a canvas: its title (and note) on top, a framed plotting area with light
/// grid lines at the ticks, tick marks and tick labels on the left and bottom axes, the axis titles, then the bars
/// and lines, clipped to the plotting area. Text is drawn at `textScale` (2: 18-pixel lines).
public struct ChartRenderer: Sendable {
    public var textScale = 2
    /// Pixels between the frame and the outermost data positions, so that markers at the ends stay whole.
    public var inset = 7
    public var tickLength = 5
    public var lineThickness = 2
    public var markerRadius = 4
    /// A line's points are marked when it has at most this many (unless it says otherwise).
    public var markedPoints = 40

    public init() {}

    /// The smallest rectangle a chart reads well in.
    public static let minimumSize = (width: 220, height: 160)

    /// Draws `panel` inside `rect` of `canvas`.
    public func draw(_ panel: ChartPanel, in rect: PlotCanvas.Rect, on canvas: inout PlotCanvas) {
        let s = textScale, lineHeight = BitmapFont.height(scale: s), pad = 4 * s
        let xAxis = panel.xAxis, yAxis = panel.yAxis
        let yLabelWidth = yAxis.labels.map { BitmapFont.width(of: $0, scale: s) }.max() ?? 0
        let lastXLabel = BitmapFont.width(of: xAxis.labels.last ?? "", scale: s)
        let left = rect.x + pad + (panel.yTitle == nil ? 0 : lineHeight + 3 * s) + yLabelWidth + tickLength + 3 * s
        let right = rect.maxX - pad - max(lastXLabel / 2 - inset, 0)
        // The note goes after the title, or on a line of its own under it when both do not fit.
        let noteWidth = panel.note.map { BitmapFont.width(of: $0, scale: s) + 4 * BitmapFont.advance * s } ?? 0
        let titleWidth = BitmapFont.width(of: panel.title, scale: s)
        let noteLine = panel.note != nil && left + titleWidth + noteWidth > right
        let top = rect.y + pad + (noteLine ? 2 * lineHeight + s : lineHeight) + 4 * s
        let bottom = rect.maxY - pad - 2 * lineHeight - tickLength - 6 * s
        guard right - left > 2 * inset + 10, bottom - top > 2 * inset + 10 else { return }
        let area = PlotCanvas.Rect(x: left, y: top, width: right - left, height: bottom - top)

        // Data → pixel centres inside the inset area; y grows upwards.
        func px(_ x: Double) -> Double? { xAxis.fraction(x).map { Double(left + inset) + $0 * Double(area.width - 1 - 2 * inset) } }
        func py(_ y: Double) -> Double? { yAxis.fraction(y).map { Double(bottom - 1 - inset) - $0 * Double(area.height - 1 - 2 * inset) } }

        // Title and note.
        canvas.text(panel.title, x: left, y: rect.y + pad, scale: s, .ink)
        if let note = panel.note {
            canvas.text(note, x: right, y: rect.y + pad + (noteLine ? lineHeight + s : 0), scale: s, .frame, anchor: .right)
        }

        // Grid, frame, ticks and tick labels.
        for tick in yAxis.ticks {
            guard let y = py(tick).map({ Int($0.rounded()) }) else { continue }
            canvas.fill(.init(x: left + 1, y: y, width: area.width - 2, height: 1), .grid)
        }
        for tick in xAxis.ticks {
            guard let x = px(tick).map({ Int($0.rounded()) }) else { continue }
            canvas.fill(.init(x: x, y: top + 1, width: 1, height: area.height - 2), .grid)
        }
        canvas.stroke(area, .frame)
        for (tick, label) in zip(yAxis.ticks, yAxis.labels) {
            guard let y = py(tick).map({ Int($0.rounded()) }) else { continue }
            canvas.fill(.init(x: left - tickLength, y: y, width: tickLength, height: 1), .frame)
            canvas.text(label, x: left - tickLength - 2 * s, y: y, scale: s, .ink, anchor: .right, middle: true)
        }
        let xLabelWidth = xAxis.labels.map { BitmapFont.width(of: $0, scale: s) }.max() ?? 0
        let spacing = xAxis.ticks.count > 1 ? Double(area.width - 2 * inset) / Double(xAxis.ticks.count - 1) : Double(area.width)
        let every = max(1, Int((Double(xLabelWidth + 4 * s) / max(spacing, 1)).rounded(.up)))  // skip labels that would touch
        for (k, (tick, label)) in zip(xAxis.ticks, xAxis.labels).enumerated() {
            guard let x = px(tick).map({ Int($0.rounded()) }) else { continue }
            canvas.fill(.init(x: x, y: bottom, width: 1, height: tickLength), .frame)
            if k % every == 0 { canvas.text(label, x: x, y: bottom + tickLength + 2 * s, scale: s, .ink, anchor: .center) }
        }

        // Axis titles.
        canvas.text(panel.xTitle, x: (left + right) / 2, y: bottom + tickLength + lineHeight + 4 * s, scale: s, .ink, anchor: .center)
        if let yTitle = panel.yTitle {
            canvas.text(yTitle, x: rect.x + pad, y: (top + bottom) / 2, scale: s, .ink, anchor: .center, vertical: true)
        }

        // Data, clipped to the inside of the frame.
        let saved = canvas.clip
        canvas.clip = PlotCanvas.Rect(x: left + 1, y: top + 1, width: area.width - 2, height: area.height - 2)
        defer { canvas.clip = saved }
        let unit = (px(1) ?? 0) - (px(0) ?? 0)
        let groupWidth = 0.8 * unit, barWidth = groupWidth / Double(max(panel.bars.count, 1))
        let base = yAxis.kind == .linear && yAxis.domain.contains(0) ? py(0)! : Double(bottom - 1)
        for (k, series) in panel.bars.enumerated() {
            for (center, height) in zip(series.centers, series.heights) where height != 0 {
                guard let x = px(center), let y = py(height) ?? (height <= 0 ? base : nil) else { continue }
                let x0 = x - groupWidth / 2 + Double(k) * barWidth
                let left = Int(x0.rounded()), width = max(1, Int((x0 + barWidth).rounded()) - left - (barWidth >= 4 ? 1 : 0))
                let top = Int(min(y, base).rounded()), height = max(1, Int(abs(base - y).rounded()))
                canvas.fill(.init(x: left, y: top, width: width, height: height), series.style.color)
            }
        }
        for series in panel.lines {
            let points = zip(series.x, series.y).map { (px($0), py($1)) }
            var previous: (x: Double, y: Double)?
            for case let (x, y) in points {
                guard let x, let y else { previous = nil; continue }  // a gap where a log axis cannot show a value
                // A point between gaps has no line to show it: a dot the line's width does.
                canvas.line(from: previous ?? (x, y), to: (x, y), series.style.color, thickness: lineThickness)
                previous = (x, y)
            }
            if series.markers ?? (series.x.count <= markedPoints) {
                for case let (x?, y?) in points {
                    canvas.marker(series.style.marker, at: (x, y), radius: markerRadius, series.style.color)
                }
            }
        }
    }
}
