import DataKit
import XCTest

/// Decodes every PNG flavour in fixtures/png and compares each sample with the formula that wrote it
/// (fixtures/make_fixtures.py).
final class PNGFlavourTests: XCTestCase {
    let width = 13, height = 9

    func sample(_ x: Int, _ y: Int, _ c: Int, bits: Int) -> Int {
        bits == 16 ? (3001 * x + 517 * y + 7919 * c + 13 * x * y) % 65536 : (3 * x + 5 * y + 7 * c + x * y) % (1 << bits)
    }

    /// A b-bit sample as the decoder reports it: expanded to 8 bits by bit replication (v · 255 / (2^b − 1)).
    func expanded(_ v: Int, bits: Int) -> Int { bits == 16 ? v : v * 255 / ((1 << bits) - 1) }

    func checkDirect(_ name: String, colours: Int, alpha: Bool, bits: Int) throws {
        let image = try PNGCodec.decode(file: Fixtures.path("png/\(name).png"))
        let channels = colours + (alpha ? 1 : 0)
        XCTAssertEqual([image.width, image.height, image.channels], [width, height, channels], name)
        XCTAssertEqual(image.maxValue, bits == 16 ? 65535 : 255, name)
        for y in 0..<height {
            for x in 0..<width {
                let base = (y * width + x) * channels
                let a = bits == 16 ? ((x + y) % 3 != 0 ? 65535 : 40000) : (29 * x + 31 * y + 200) % 256
                for c in 0..<colours {
                    let expected = expanded(sample(x, y, c, bits: bits), bits: bits)
                    let got = Int(image.samples[base + c])
                    if alpha && bits == 16 && a != 65535 {
                        // libpng's 16-bit output is premultiplied; undoing it is exact only up to rounding.
                        XCTAssertLessThanOrEqual(abs(got - expected), 2, "\(name) (\(x),\(y),\(c))")
                    } else {
                        XCTAssertEqual(got, expected, "\(name) (\(x),\(y),\(c))")
                    }
                }
                if alpha { XCTAssertEqual(Int(image.samples[base + colours]), a, "\(name) alpha (\(x),\(y))") }
            }
        }
    }

    func testGrayAtEveryBitDepth() throws {
        for bits in [1, 2, 4, 8, 16] { try checkDirect("gray\(bits)", colours: 1, alpha: false, bits: bits) }
    }

    func testGrayAlphaRGBAndRGBA() throws {
        for bits in [8, 16] {
            try checkDirect("graya\(bits)", colours: 1, alpha: true, bits: bits)
            try checkDirect("rgb\(bits)", colours: 3, alpha: false, bits: bits)
            try checkDirect("rgba\(bits)", colours: 3, alpha: true, bits: bits)
        }
    }

    func testInterlaced() throws {
        try checkDirect("gray8-interlaced", colours: 1, alpha: false, bits: 8)
        try checkDirect("gray2-interlaced", colours: 1, alpha: false, bits: 2)
        try checkDirect("rgb16-interlaced", colours: 3, alpha: false, bits: 16)
        try checkDirect("rgba8-interlaced", colours: 3, alpha: true, bits: 8)
    }

    func checkPalette(_ name: String, bits: Int, transparency: Bool) throws {
        let image = try PNGCodec.decode(file: Fixtures.path("png/\(name).png"))
        let channels = transparency ? 4 : 3
        XCTAssertEqual([image.width, image.height, image.channels, image.maxValue], [width, height, channels, 255], name)
        for y in 0..<height {
            for x in 0..<width {
                let i = (x + 2 * y + x * y) % (1 << bits)
                var expected = [(37 * i) % 256, (91 * i) % 256, (53 * i) % 256]
                if transparency { expected.append((29 * i) % 256) }
                let base = (y * width + x) * channels
                XCTAssertEqual(image.samples[base..<(base + channels)].map(Int.init), expected, "\(name) (\(x),\(y))")
            }
        }
    }

    func testPalettes() throws {
        for bits in [1, 2, 4, 8] { try checkPalette("palette\(bits)", bits: bits, transparency: false) }
        try checkPalette("palette4-trns", bits: 4, transparency: true)
        try checkPalette("palette2-interlaced", bits: 2, transparency: false)
    }

    func testGrayConversionAndScaling() throws {
        let rgb = try PNGCodec.decode(file: Fixtures.path("png/rgb16.png"))
        let gray = rgb.pixels(.gray)
        let (x, y) = (5, 7)
        let values = (0..<3).map { Float(sample(x, y, $0, bits: 16)) / 65535 }
        XCTAssertEqual(gray[y * width + x], 0.299 * values[0] + 0.587 * values[1] + 0.114 * values[2], accuracy: 1e-6)
        let oneBit = try PNGCodec.decode(file: Fixtures.path("png/gray1.png")).pixels(.gray)
        XCTAssertEqual(Set(oneBit), [0, 1], "1-bit samples scale to exactly 0 and 1")
        let rgbFromGray = try PNGCodec.decode(file: Fixtures.path("png/gray4.png")).pixels(.rgb)
        XCTAssertEqual(rgbFromGray[3 * 10], Float(sample(10, 0, 0, bits: 4)) / 15, accuracy: 1e-7)
        XCTAssertEqual(rgbFromGray[3 * 10], rgbFromGray[3 * 10 + 2])
    }

    func testEncodeDecodeRoundTrip() throws {
        var g = SeededGenerator(seed: 3)
        for (channels, maxValue) in [(1, 255), (2, 255), (3, 255), (4, 255), (1, 65535), (3, 65535)] {
            let (w, h) = (17, 11)
            let samples = (0..<(w * h * channels)).map { _ in UInt16(g.below(maxValue + 1)) }
            let image = PNGImage(width: w, height: h, channels: channels, maxValue: maxValue, samples: samples)
            let decoded = try PNGCodec.decode(try PNGCodec.encode(image), name: "memory")
            XCTAssertEqual(decoded, image, "channels \(channels), max \(maxValue)")
        }
    }

    func testBrokenFilesGiveOneClearError() {
        assertThrows(.missingInput, containing: "no-such.png: no such file") {
            _ = try PNGCodec.decode(file: "no-such.png")
        }
        assertThrows(.badInput, containing: "is empty") { _ = try PNGCodec.decode(file: Fixtures.path("broken/empty.png")) }
        assertThrows(.badInput, containing: "not a PNG image") {
            _ = try PNGCodec.decode(file: Fixtures.path("broken/not-a-png.png"))
        }
        for name in ["truncated.png", "header-only.png", "corrupt-data.png"] {
            assertThrows(.badInput, containing: "corrupt or truncated PNG") {
                _ = try PNGCodec.decode(file: Fixtures.path("broken/" + name))
            }
        }
    }
}
