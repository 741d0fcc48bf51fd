/// Single-precision exp and erf on eight lanes at a time (`SIMD8<Float>`): pure arithmetic and bit operations, no
/// libm calls, no traps on NaN or infinity, so they compile to vector instructions. The hot elementwise loops of
/// the objectives use them, where libm's scalar `exp` and `erf` cost more than the matrix products.
public enum VectorMath {
    public typealias Vector = SIMD8<Float>

    /// e^x with a relative error below 3·10⁻⁷ for x in [−87.3, 88.3]; +∞ from 88.38 up (a little early: e^88.72
    /// is the largest float), about 1.2·10⁻³⁸ (not 0) below −87.3; NaN stays NaN.
    ///
    /// x = k ln 2 + r with k = round(x / ln 2), |r| ≤ ln 2 / 2; e^r by its Taylor polynomial of degree 7 and 2^k
    /// built in the exponent bits.
    @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        let (low, high) = (Vector(repeating: -87.33654), Vector(repeating: 88.72283))
        var clamped = x.replacing(with: low, where: x .< low)  // comparisons with NaN are false: NaN passes through
        clamped.replace(with: high, where: clamped .> high)
        let shifter: Float = 12_582_912  // 1.5 · 2²³: adding it rounds to an integer held in the low mantissa bits
        let shifted = clamped * 1.442_695_04 + shifter
        let k = shifted - shifter
        let r = (clamped - k * 0.693_145_75) - k * 1.428_606_8e-6  // ln 2 split in two for an exact k ln 2
        var p = Vector(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- Int32(bitPattern: shifter.bitPattern)  // k
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: Vector.self)  // 2^k
        return p * scale
    }

    /// erf(t) with an absolute error below 3.5·10⁻⁷ (A&S's 1.5·10⁻⁷ plus rounding), given e^(−t²) (which callers usually need anyway):
    /// the Taylor series for |t| < 0.5, Abramowitz & Stegun 7.1.26 beyond.
    @inline(__always)
    public static func erf(_ t: Vector, expMinusSquare e: Vector) -> Vector {
        // Taylor: (2/√π) (t − t³/3 + t⁵/10 − t⁷/42 + t⁹/216 − t¹¹/1320).
        let t2 = t * t
        var series = Vector(repeating: -1.0 / 1320)
        series = series * t2 + 1.0 / 216
        series = series * t2 - 1.0 / 42
        series = series * t2 + 1.0 / 10
        series = series * t2 - 1.0 / 3
        series = series * t2 + 1
        let small = 1.128_379_17 * t * series
        // A&S 7.1.26: sign(t) [1 − (a₁τ + … + a₅τ⁵) e^(−t²)], τ = 1/(1 + p|t|).
        let bits = unsafeBitCast(t, to: SIMD8<UInt32>.self)
        let magnitude = unsafeBitCast(bits & 0x7FFF_FFFF, to: Vector.self)
        let tau = 1 / (1 + 0.327_591_1 * magnitude)
        var poly = Vector(repeating: 1.061_405_429)
        poly = poly * tau - 1.453_152_027
        poly = poly * tau + 1.421_413_741
        poly = poly * tau - 0.284_496_736
        poly = poly * tau + 0.254_829_592
        let tail = 1 - poly * tau * e  // in (0.52, 1] where it is used
        let large = unsafeBitCast(unsafeBitCast(tail, to: SIMD8<UInt32>.self) | (bits & 0x8000_0000), to: Vector.self)
        return large.replacing(with: small, where: magnitude .< 0.5)
    }

    /// e^x for one value (the same computation on one lane).
    public static func exp(_ x: Float) -> Float { exp(Vector(repeating: x))[0] }

    /// erf(t) for one value, given e^(−t²).
    public static func erf(_ t: Float, expMinusSquare e: Float) -> Float {
        erf(Vector(repeating: t), expMinusSquare: Vector(repeating: e))[0]
    }

    /// Lanes i ..< i + 8 of a buffer of `count` values, `padding` past its end.
    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>, at i: Int, count: Int, padding: Float = 0) -> Vector {
        if i + 8 <= count { return UnsafeRawPointer(p + i).loadUnaligned(as: Vector.self) }
        var v = Vector(repeating: padding)
        for lane in 0..<(count - i) { v[lane] = p[i + lane] }
        return v
    }

    /// Stores lanes into i ..< min(i + 8, count).
    @inline(__always)
    public static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, at i: Int, count: Int) {
        if i + 8 <= count { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Vector.self); return }
        for lane in 0..<(count - i) { p[i + lane] = v[lane] }
    }
}

extension Double {
    /// The number as a person writes it in an option: `10` for 10.0, `0.5` for 0.5.
    public var shortDescription: String {
        rounded() == self && abs(self) < 1e15 ? String(Int(self)) : String(self)
    }
}
