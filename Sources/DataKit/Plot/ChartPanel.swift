/// What one panel of a figure shows: lines through points and bars, over an x and a y axis, with a title.
/// `ChartRenderer` draws it; `PlotFigure` lays panels out side by side.
public struct ChartPanel: Sendable {
    /// Points joined by a line, each point marked when there are few.
    public struct Line: Sendable {
        public var x: [Double]
        public var y: [Double]
        public var style: PlotStyle
        /// Mark each point: nil marks them when there are at most 40.
        public var markers: Bool?

        public init(x: [Double], y: [Double], style: PlotStyle, markers: Bool? = nil) {
            precondition(x.count == y.count, "a line has one y per x")
            self.x = x
            self.y = y
            self.style = style
            self.markers = markers
        }
    }

    /// Bars of height `heights[i]` centred on `centers[i]`: a histogram over whole numbers, say. Several bar series
    /// in one panel stand side by side within each unit of x.
    public struct Bars: Sendable {
        public var centers: [Double]
        public var heights: [Double]
        public var style: PlotStyle

        public init(centers: [Double], heights: [Double], style: PlotStyle) {
            precondition(centers.count == heights.count, "a bar series has one height per centre")
            self.centers = centers
            self.heights = heights
            self.style = style
        }
    }

    public var title: String
    public var xTitle: String
    /// The y axis's title, drawn along it (nil: the panel title says what y is).
    public var yTitle: String?
    public var yScale: AxisScale.Kind
    /// Whole-number ticks on the x axis (epochs, counts).
    public var xIntegers: Bool
    /// Forces the x range (a shared epoch axis across panels); nil fits the data.
    public var xRange: ClosedRange<Double>?
    public var lines: [Line]
    public var bars: [Bars]
    /// A short remark drawn in the plotting area's top-right corner (a mean, a count).
    public var note: String?

    public init(title: String, xTitle: String, yTitle: String? = nil, yScale: AxisScale.Kind = .linear, xIntegers: Bool = false,
                xRange: ClosedRange<Double>? = nil, lines: [Line] = [], bars: [Bars] = [], note: String? = nil)
    {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.yScale = yScale
        self.xIntegers = xIntegers
        self.xRange = xRange
        self.lines = lines
        self.bars = bars
        self.note = note
    }

    /// The x scale, always linear: exactly `xRange` when given; with bars, exactly from half a unit before the first
    /// bar to half a unit after the last; else widened to ticks around the lines' x.
    public var xAxis: AxisScale {
        let xs = lines.flatMap(\.x) + bars.flatMap { $0.centers.flatMap { [$0 - 0.5, $0 + 0.5] } }
        return AxisScale(fitting: xRange.map { [$0.lowerBound, $0.upperBound] } ?? xs, kind: .linear, target: 6,
                         integers: xIntegers, tight: xRange != nil || !bars.isEmpty)
    }

    /// The y scale: the lines' values and the bars' heights, and 0 where bars stand on a linear axis.
    public var yAxis: AxisScale {
        let ys = lines.flatMap(\.y) + bars.flatMap(\.heights)
        return AxisScale(fitting: ys, kind: yScale, target: 5, include: bars.isEmpty || yScale == .logarithmic ? [] : [0])
    }
}
