import DataKit
import XCTest

final class TextParsingTests: XCTestCase {
    func lines(of text: [UInt8], bufferSize: Int = 1 << 20) throws -> [String] {
        let path = try temporaryFolder(self) + "/lines.txt"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text))
        let reader = try LineReader(path: path, bufferSize: bufferSize)
        var out: [String] = []
        while let line = try reader.nextLine() {
            XCTAssertEqual(line.baseAddress.map { $0[line.count] } ?? 0, 0, "NUL sentinel after every line")
            out.append(String(decoding: line, as: UTF8.self))
        }
        XCTAssertEqual(reader.lineNumber, out.count)
        return out
    }

    func testLineEndingsAndLastLines() throws {
        XCTAssertEqual(try lines(of: Array("a\nbb\n\nccc\n".utf8)), ["a", "bb", "", "ccc"])
        XCTAssertEqual(try lines(of: Array("a\r\nbb\r\n\r\nccc".utf8)), ["a", "bb", "", "ccc"], "CRLF, no final newline")
        XCTAssertEqual(try lines(of: []), [])
        XCTAssertEqual(try lines(of: Array("only".utf8)), ["only"])
    }

    func testLinesLongerThanTheBuffer() throws {
        let long = String(repeating: "x", count: 1000)
        XCTAssertEqual(try lines(of: Array("\(long)\nshort\n\(long)".utf8), bufferSize: 16), [long, "short", long])
    }

    func scan(_ text: String) -> (Float?, rest: String) {
        var bytes = Array(text.utf8) + [0]
        return bytes.withUnsafeMutableBufferPointer { buffer in
            var scanner = ByteScanner(UnsafeBufferPointer(rebasing: buffer[0..<(buffer.count - 1)]))
            let value = scanner.float()
            let rest = String(decoding: UnsafeBufferPointer(start: scanner.position, count: scanner.end - scanner.position), as: UTF8.self)
            return (value, rest)
        }
    }

    func testFloatsAreCorrectlyRounded() {
        for (text, expected) in [("0.5", Float(0.5)), ("-0.125", -0.125), ("1e-3", 0.001), ("3.5E+2", 350), ("7", 7),
                                 ("+2.", 2), (".25", 0.25), ("0.084556", 0.084556), ("123456789012", Float(123456790528)),
                                 ("1.00000011920928955078125", 1.0000001), ("3.4028235e38", .greatestFiniteMagnitude),
                                 ("1e-45", Float.leastNonzeroMagnitude), ("0.000000000001", 1e-12)]
        {
            XCTAssertEqual(scan(text).0, expected, text)
        }
        // Shortest round-trip text of many floats reads back as the same float (both the fast path and strtof).
        var g = SeededGenerator(seed: 1)
        for _ in 0..<20_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))
            guard x.isFinite else { continue }
            XCTAssertEqual(scan(x.description).0, x, x.description)
            let y = Float(g.below(1_000_000)) / 1_000_000
            XCTAssertEqual(scan(String(format: "%.6f", y)).0, Float(String(format: "%.6f", y))!)
        }
    }

    func testFloatScanStopsAtTheTokenEnd() {
        XCTAssertEqual(scan("2.5 3:1").rest, " 3:1")
        XCTAssertEqual(scan("1.5,x").rest, ",x")
        XCTAssertNil(scan("nan").0)
        XCTAssertNil(scan("abc").0)
        XCTAssertNil(scan("1e").0, "an exponent needs digits")
        XCTAssertNil(scan("-").0)
        XCTAssertEqual(scan("1e999").0, .infinity, "overflow reads as infinity (callers reject non-finite values)")
    }
}

import Foundation
