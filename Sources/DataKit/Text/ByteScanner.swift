import Foundation

/// A cursor over one line's bytes, with the integer and float parsing the text formats need, allocation-free.
/// The byte at `end` must be readable and not a digit (LineReader puts a NUL there).
public struct ByteScanner {
    public var position: UnsafePointer<UInt8>
    public let end: UnsafePointer<UInt8>

    public init(_ line: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have a nil base address; point at a static NUL then.
        position = line.baseAddress.map { UnsafePointer($0) } ?? ByteScanner.emptyLine
        end = position + line.count
    }

    nonisolated(unsafe) private static let emptyLine: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    public var atEnd: Bool { position >= end }
    public var current: UInt8 { position < end ? position.pointee : 0 }

    /// Skips spaces and tabs.
    public mutating func skipBlanks() {
        while position < end, position.pointee == 32 || position.pointee == 9 { position += 1 }
    }

    /// Consumes `byte` if it is next.
    public mutating func take(_ byte: UInt8) -> Bool {
        guard position < end, position.pointee == byte else { return false }
        position += 1
        return true
    }

    /// A non-negative decimal integer (at most 18 digits), or nil if none starts here.
    public mutating func integer() -> Int? {
        var value = 0, digits = 0
        while position < end, position.pointee &- 48 < 10 {
            guard digits < 18 else { return nil }
            value = value * 10 + Int(position.pointee &- 48)
            digits += 1
            position += 1
        }
        return digits > 0 ? value : nil
    }

    /// Every blank-separated non-negative integer up to the end of the line, or nil if a token is not one.
    public mutating func integers() -> [Int]? {
        var numbers: [Int] = []
        while true {
            skipBlanks()
            guard !atEnd else { return numbers }
            guard let n = integer(), atEnd || current == 32 || current == 9 else { return nil }
            numbers.append(n)
        }
    }

    private static let powersOfTen: [Float] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

    /// A decimal floating-point number, correctly rounded to Float, or nil if no number starts here.
    /// Short decimals (≤ 7 significant digits, small exponents: nearly every value in these formats) take an exact
    /// fast path (an integer times or over an exact power of ten, one rounding); the rest go to `strtof`.
    public mutating func float() -> Float? {
        let begin = position
        var p = position
        var negative = false
        if p < end, p.pointee == UInt8(ascii: "-") || p.pointee == UInt8(ascii: "+") {
            negative = p.pointee == UInt8(ascii: "-")
            p += 1
        }
        var mantissa = 0, digits = 0, exponent = 0, sawDigit = false
        while p < end, p.pointee &- 48 < 10 {
            if mantissa != 0 || p.pointee != 48 { digits += 1 }
            if digits <= 8 { mantissa = mantissa * 10 + Int(p.pointee &- 48) } else { exponent += 1 }
            sawDigit = true
            p += 1
        }
        if p < end, p.pointee == UInt8(ascii: ".") {
            p += 1
            while p < end, p.pointee &- 48 < 10 {
                if mantissa != 0 || p.pointee != 48 { digits += 1 }
                if digits <= 8 { mantissa = mantissa * 10 + Int(p.pointee &- 48); exponent -= 1 }
                sawDigit = true
                p += 1
            }
        }
        guard sawDigit else { return nil }
        if p < end, p.pointee | 0x20 == UInt8(ascii: "e") {
            var q = p + 1
            var negativeExponent = false
            if q < end, q.pointee == UInt8(ascii: "-") || q.pointee == UInt8(ascii: "+") {
                negativeExponent = q.pointee == UInt8(ascii: "-")
                q += 1
            }
            var e = 0, exponentDigits = 0
            while q < end, q.pointee &- 48 < 10 {
                if e < 100_000 { e = e * 10 + Int(q.pointee &- 48) }
                exponentDigits += 1
                q += 1
            }
            guard exponentDigits > 0 else { return nil }
            exponent += negativeExponent ? -e : e
            p = q
        }
        if digits <= 7, mantissa < 1 << 24, abs(exponent) <= 10 {
            position = p
            let m = Float(mantissa)
            let value = exponent >= 0 ? m * ByteScanner.powersOfTen[exponent] : m / ByteScanner.powersOfTen[-exponent]
            return negative ? -value : value
        }
        // Long or extreme numbers: the C library's correctly rounded conversion, stopped at the same place.
        var stop: UnsafeMutablePointer<CChar>?
        let value = UnsafeRawPointer(begin).assumingMemoryBound(to: CChar.self).withMemoryRebound(to: CChar.self, capacity: 1) { strtof($0, &stop) }
        guard let stop, UnsafeRawPointer(stop) == UnsafeRawPointer(p) as UnsafeRawPointer else { return nil }
        position = p
        return value
    }

    /// Skips to the next byte in `stops` (or the end) and returns the skipped bytes as a slice.
    public mutating func token(until stops: (UInt8) -> Bool) -> UnsafeBufferPointer<UInt8> {
        let begin = position
        while position < end, !stops(position.pointee) { position += 1 }
        return UnsafeBufferPointer(start: begin, count: position - begin)
    }
}
