/// What a picture of `sk-inspect` drew: the PNG written, which picture, how many panels, its size in pixels.
public struct PictureSummary: Sendable, Encodable {
    public var output: String
    public var picture: String
    public var panels: Int
    public var width: Int
    public var height: Int

    /// Renders `figure` and writes it to the PNG `output`, atomically (`PNGCodec.write`).
    public static func write(_ figure: PlotFigure, to output: String, picture: String) throws -> PictureSummary {
        let image = try figure.render()
        try PNGCodec.write(image, to: output)
        return PictureSummary(output: output, picture: picture, panels: figure.panels.count, width: image.width, height: image.height)
    }
}
