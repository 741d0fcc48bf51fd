import DataKit
import XCTest

/// The plotting module: nice ticks, the bitmap font, and figures that come out as PNGs with something drawn.
final class PlotTests: XCTestCase {
    func testStepsAreOneTwoOrFiveTimesAPowerOfTen() {
        XCTAssertEqual(NiceTicks.step(span: 10, target: 5), 2)
        XCTAssertEqual(NiceTicks.step(span: 7, target: 5), 2)
        XCTAssertEqual(NiceTicks.step(span: 22, target: 5), 5)
        XCTAssertEqual(NiceTicks.step(span: 0.37, target: 5), 0.1, accuracy: 1e-12)
        XCTAssertEqual(NiceTicks.step(span: 1000, target: 5), 200)
        XCTAssertEqual(NiceTicks.step(span: 1, target: 5), 0.2, accuracy: 1e-12)
        XCTAssertEqual(NiceTicks.step(span: 3, target: 6, integers: true), 1, "whole-number axes step by at least 1")
        for span in [1e-7, 0.003, 0.9, 1, 13, 99.9, 12345, 7e9] {
            for target in 2...8 {
                let step = NiceTicks.step(span: span, target: target)
                let mantissa = step / pow(10, log10(step).rounded(.down))
                XCTAssertTrue([1, 2, 5].contains { abs(mantissa - $0) < 1e-9 }, "step \(step) for \(span)/\(target)")
                XCTAssertLessThanOrEqual(span / step, Double(target) + 1e-9, "at most \(target) intervals")
                XCTAssertGreaterThan(span / step, Double(target) / 5 - 1e-9, "not much coarser than asked")
            }
        }
    }

    func testLinearTicksCoverTheDataOnWholeSteps() {
        let objective = NiceTicks.linear(-331.85, -309.91)
        XCTAssertEqual(objective.ticks, [-335, -330, -325, -320, -315, -310, -305])
        XCTAssertEqual(objective.domain, -335 ... -305)
        XCTAssertEqual(NiceTicks.labels(objective.ticks).first, "−335", "a true minus sign")

        let sigma2 = NiceTicks.linear(0.6327, 0.6921)
        XCTAssertEqual(sigma2.ticks, [0.62, 0.64, 0.66, 0.68, 0.7])
        XCTAssertEqual(NiceTicks.labels(sigma2.ticks), ["0.62", "0.64", "0.66", "0.68", "0.70"])

        let tenths = NiceTicks.linear(0, 0.9)
        XCTAssertEqual(NiceTicks.labels(tenths.ticks), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"], "no float noise (0.6000000000000001)")

        XCTAssertEqual(NiceTicks.linear(1, 10, target: 6, integers: true).ticks, [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(NiceTicks.linear(1, 1, integers: true).ticks, [0, 1, 2], "one epoch still gets an axis")
        let constant = NiceTicks.linear(5, 5).domain
        XCTAssertTrue(constant.lowerBound <= 4.5 && constant.upperBound >= 5.5 && constant.upperBound - constant.lowerBound < 2,
                      "a constant gets ±10 %: \(constant)")
        XCTAssertEqual(NiceTicks.labels(NiceTicks.linear(0, 4e6).ticks), ["0", "1e6", "2e6", "3e6", "4e6"])
        XCTAssertEqual(NiceTicks.labels(NiceTicks.linear(0, 3e-4).ticks).last, "3e−4")
        XCTAssertEqual(NiceTicks.labels([2.5e6]), ["2.5e6"])
    }

    func testLogTicks() {
        XCTAssertEqual(NiceTicks.logarithmic(1, 1000).ticks, [1, 10, 100, 1000])
        XCTAssertEqual(NiceTicks.logarithmic(3, 40).ticks, [2, 5, 10, 20, 50], "1-2-5 within two decades")
        let wide = NiceTicks.logarithmic(1, 1e12)
        XCTAssertEqual(wide.ticks.count, 7, "every second power over twelve decades")
        XCTAssertEqual(wide.domain, 1 ... 1e12)
        let small = NiceTicks.logarithmic(0.0015, 0.4)
        XCTAssertLessThanOrEqual(small.domain.lowerBound, 0.0015)
        XCTAssertGreaterThanOrEqual(small.domain.upperBound, 0.4)
        XCTAssertEqual(NiceTicks.labels([1e-4, 1e-3, 0.01, 0.1, 1, 10, 1e5], logarithmic: true),
                       ["1e−4", "0.001", "0.01", "0.1", "1", "10", "1e5"])

        let scale = AxisScale(fitting: [0, 2, 20], kind: .logarithmic)
        XCTAssertEqual(scale.fraction(0), nil, "a log axis cannot show 0")
        XCTAssertEqual(scale.fraction(scale.domain.lowerBound)!, 0, accuracy: 1e-12)
        XCTAssertEqual(scale.fraction(scale.domain.upperBound)!, 1, accuracy: 1e-12)
    }

    /// Every printable ASCII character has a glyph of its own, inked (but the space) and different from the others,
    /// and draws inside its cell: `advance` × `glyphHeight` times the scale.
    func testTheFontDrawsEveryPrintableCharacterInsideItsCell() {
        let font = BitmapFont.standard
        let printable = (32...126).map { Character(UnicodeScalar($0)) }
        var seen: [[UInt8]: Character] = [:]
        for character in printable {
            XCTAssertTrue(font.draws(character), "no glyph for '\(character)'")
            let rows = font.glyph(character)
            XCTAssertEqual(rows.count, BitmapFont.glyphHeight)
            XCTAssertTrue(rows.allSatisfy { $0 < 1 << BitmapFont.glyphWidth })
            XCTAssertEqual(rows.contains { $0 != 0 }, character != " ", "'\(character)' has ink")
            if let other = seen[rows] { XCTFail("'\(character)' looks like '\(other)'") }
            seen[rows] = character

            let scale = 2, (x0, y0) = (7, 5)
            var canvas = PlotCanvas(width: 40, height: 40)
            canvas.text(String(character), x: x0, y: y0, scale: scale, .black)
            var inked = 0
            for y in 0..<canvas.height {
                for x in 0..<canvas.width where canvas.pixel(x, y) != .white {
                    inked += 1
                    XCTAssertTrue(x >= x0 && x < x0 + BitmapFont.glyphWidth * scale && y >= y0 && y < y0 + BitmapFont.height(scale: scale),
                                  "'\(character)' inks (\(x), \(y)) outside its cell")
                }
            }
            XCTAssertEqual(inked, rows.map { $0.nonzeroBitCount }.reduce(0, +) * scale * scale, "'\(character)'")
        }
        XCTAssertEqual(BitmapFont.width(of: "abc", scale: 2), (3 * 6 - 1) * 2)
        XCTAssertEqual(font.glyph("€"), font.glyph("?"), "a character without a glyph draws as '?'")
        for symbol in "σλ²β×μ·−" { XCTAssertTrue(font.draws(symbol), "\(symbol)") }
    }

    func testVerticalTextRunsUpwards() {
        var canvas = PlotCanvas(width: 40, height: 60)
        canvas.text("L", x: 10, y: 50, scale: 1, .black, vertical: true)
        // 'L' turned a quarter left: its stem is a row of 7 pixels, its foot rises from the stem's right end.
        let inked = (0..<60).flatMap { y in (0..<40).filter { canvas.pixel($0, y) != .white }.map { (x: $0, y: y) } }
        XCTAssertEqual(inked.count, 11)
        XCTAssertTrue(inked.allSatisfy { $0.x >= 10 && $0.x < 17 && $0.y < 50 && $0.y >= 44 })
    }

    /// A figure of two charts and a picture: the PNG decodes at the rendered size, white at the corners, with ink in
    /// every panel's area.
    func testAFigureIsAPNGWithSomethingInEveryPanel() throws {
        let epochs = (1...12).map(Double.init)
        let first = ChartPanel(title: "objective", xTitle: "epoch", yTitle: "nats", xIntegers: true,
                               lines: [.init(x: epochs, y: epochs.map { -300 - 30 / $0 }, style: .series(0)),
                                       .init(x: epochs, y: epochs.map { -305 - 20 / $0 }, style: .series(1))])
        let second = ChartPanel(title: "label frequency", xTitle: "rank", yScale: .logarithmic,
                                bars: [.init(centers: [1, 2, 3, 4], heights: [400, 90, 12, 1], style: .series(2))], note: "4 labels")
        let tile = PNGImage(width: 30, height: 20, channels: 1, maxValue: 255, samples: [UInt16](repeating: 40, count: 600))
        let figure = PlotFigure(title: "Training of two models", subtitle: ["a.h5, b.h5"],
                                legend: [.init("a.h5", .series(0)), .init("b.h5", .series(1))],
                                panels: [.chart(first), .chart(second), .picture(title: "tiles", tile)], columns: 3,
                                chartSize: (300, 220))
        let folder = try temporaryFolder(self)
        try figure.write(to: folder + "/figure.png")
        let picture = try PNGCodec.decode(file: folder + "/figure.png")
        let rendered = try figure.render()
        XCTAssertEqual([picture.width, picture.height, picture.channels], [rendered.width, rendered.height, 3])
        XCTAssertEqual(picture.samples, rendered.samples)
        XCTAssertGreaterThanOrEqual(picture.width, 3 * 300)

        func inked(_ x0: Int, _ x1: Int, _ y0: Int, _ y1: Int) -> Int {
            var n = 0
            for y in y0..<y1 {
                for x in x0..<x1 where (0..<3).contains(where: { picture.samples[(y * picture.width + x) * 3 + $0] != 255 }) { n += 1 }
            }
            return n
        }
        XCTAssertEqual(inked(0, 4, 0, 4), 0, "white background")
        XCTAssertEqual(inked(picture.width - 4, picture.width, picture.height - 4, picture.height), 0)
        let top = picture.height - 220 - 16, third = picture.width / 3
        for k in 0..<3 {
            XCTAssertGreaterThan(inked(k * third, (k + 1) * third, top, picture.height), 400, "panel \(k) is drawn")
        }
        // The lines' colours are in the first panel, the bars' in the second.
        func has(_ color: PlotColor, _ x0: Int, _ x1: Int) -> Bool {
            (top..<picture.height).contains { y in (x0..<x1).contains { x in
                let i = (y * picture.width + x) * 3
                return picture.samples[i] == UInt16(color.red) && picture.samples[i + 1] == UInt16(color.green)
                    && picture.samples[i + 2] == UInt16(color.blue)
            } }
        }
        XCTAssertTrue(has(PlotStyle.series(0).color, 0, third) && has(PlotStyle.series(1).color, 0, third))
        XCTAssertTrue(has(PlotStyle.series(2).color, third, 2 * third))
    }
}
