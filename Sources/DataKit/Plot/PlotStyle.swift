/// An 8-bit RGB colour of a plot.
public struct PlotColor: Sendable, Equatable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let white = PlotColor(255, 255, 255)
    public static let black = PlotColor(0, 0, 0)
    /// Text and axis lines.
    public static let ink = PlotColor(34, 34, 34)
    /// Panel frames and tick marks.
    public static let frame = PlotColor(120, 120, 120)
    /// Grid lines at the ticks.
    public static let grid = PlotColor(228, 228, 228)

    /// This colour mixed with white: `amount` 0 is the colour, 1 is white.
    public func lightened(_ amount: Double) -> PlotColor {
        func mix(_ c: UInt8) -> UInt8 { UInt8((Double(c) + (255 - Double(c)) * min(max(amount, 0), 1)).rounded()) }
        return PlotColor(mix(red), mix(green), mix(blue))
    }
}

/// How one data series is drawn, so that series stay apart in colour and, for readers without colour, in marker
/// shape: the `index`-th style of a plot (cycling through eight colours and four markers).
public struct PlotStyle: Sendable, Equatable {
    public enum Marker: Sendable, CaseIterable { case circle, square, triangle, diamond }

    public var color: PlotColor
    public var marker: Marker

    public init(color: PlotColor, marker: Marker) {
        self.color = color
        self.marker = marker
    }

    /// The Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), yellow left out (it
    /// vanishes on white), black last.
    public static let palette: [PlotColor] = [
        PlotColor(0, 114, 178), PlotColor(213, 94, 0), PlotColor(0, 158, 115), PlotColor(204, 121, 167),
        PlotColor(230, 159, 0), PlotColor(86, 180, 233), PlotColor(120, 80, 40), PlotColor(0, 0, 0),
    ]

    /// The style of the `index`-th series (from 0).
    public static func series(_ index: Int) -> PlotStyle {
        let i = max(index, 0)
        return PlotStyle(color: palette[i % palette.count], marker: Marker.allCases[i % Marker.allCases.count])
    }
}
