/// A decoded image: `height` rows of `width` pixels of `channels` interleaved samples, each in `0...maxValue`.
///
/// Channels are 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA). `maxValue` is 255 for files of 1 to 8 bits per
/// sample (1, 2 and 4-bit samples are expanded by bit replication, so v/(2^b − 1) = expanded/255 exactly) and palettes,
/// and 65535 for 16-bit files.
public struct PNGImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var maxValue: Int
    /// Samples, row-major, channels interleaved within a pixel.
    public var samples: [UInt16]

    public init(width: Int, height: Int, channels: Int, maxValue: Int, samples: [UInt16]) {
        precondition((1...4).contains(channels), "channels must be 1 to 4")
        precondition(samples.count == width * height * channels, "sample count does not match the size")
        self.width = width
        self.height = height
        self.channels = channels
        self.maxValue = maxValue
        self.samples = samples
    }

    /// Whether the image has colour (RGB or RGBA) rather than gray levels.
    public var hasColor: Bool { channels >= 3 }

    /// Bits per sample of the decoded samples: 8 or 16.
    public var bitDepth: Int { maxValue > 255 ? 16 : 8 }

    /// The output colour model of a conversion to floating point.
    public enum ColorModel: String, Sendable, CaseIterable {
        case gray, rgb
        public var channels: Int { self == .gray ? 1 : 3 }
    }

    /// The image as floats in [0, 1] (sample / maxValue), one value per pixel for `.gray` and three for `.rgb`,
    /// row-major, channel-last; alpha is dropped (`formats.md`).
    /// Gray from colour is Y = 0.299 R + 0.587 G + 0.114 B on the scaled values; RGB from gray repeats the gray level.
    public func pixels(_ model: ColorModel) -> [Float] {
        let scale = 1 / Float(maxValue)
        let count = width * height
        var out = [Float](repeating: 0, count: count * model.channels)
        samples.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                switch (model, hasColor) {
                case (.gray, false):
                    for p in 0..<count { o[p] = Float(s[p * channels]) * scale }
                case (.gray, true):
                    for p in 0..<count {
                        let base = p * channels
                        let r = Float(s[base]) * scale, g = Float(s[base + 1]) * scale, b = Float(s[base + 2]) * scale
                        o[p] = 0.299 * r + 0.587 * g + 0.114 * b
                    }
                case (.rgb, false):
                    for p in 0..<count {
                        let v = Float(s[p * channels]) * scale
                        o[3 * p] = v; o[3 * p + 1] = v; o[3 * p + 2] = v
                    }
                case (.rgb, true):
                    for p in 0..<count {
                        for c in 0..<3 { o[3 * p + c] = Float(s[p * channels + c]) * scale }
                    }
                }
            }
        }
        return out
    }
}
