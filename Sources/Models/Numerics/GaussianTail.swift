import DataKit
import Foundation

/// The standard normal's tail, computed without underflow where the naive formulas lose everything: the log of the
/// Mills ratio, and draws from N(0, 1) truncated to (α, ∞) for any α.
public enum GaussianTail {
    /// The scaled complementary error function erfcx(y) = exp(y²) erfc(y), for y ≥ 0: directly for y < 25 (where
    /// erfc(y) > 1e-273 keeps its full relative precision and exp(y²) < e^625 does not overflow), else by its
    /// continued fraction erfcx(y) = (1/√π) · 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + 2/(y + …))))) (Abramowitz &
    /// Stegun 7.1.14), whose 12 terms are exact to rounding that far out.
    @inline(__always)
    public static func erfcx(_ y: Double) -> Double {
        precondition(y >= 0, "erfcx is used for y ≥ 0 only")
        if y < 25 { return exp(y * y) * erfc(y) }
        var tail = y
        for k in stride(from: 12, through: 1, by: -1) { tail = y + (Double(k) / 2) / tail }
        return 1 / (Double.pi.squareRoot() * tail)
    }

    /// R(t) = Φ(−t)/φ(t), the Mills ratio of the standard normal: √(π/2) erfcx(t/√2) for t ≥ 0 (≈ 1/t far out),
    /// √(2π) Φ(−t) exp(t²/2) for t < 0 (finite down to t ≈ −37.6).
    @inline(__always)
    public static func millsRatio(_ t: Double) -> Double {
        if t >= 0 { return (Double.pi / 2).squareRoot() * erfcx(t / 2.0.squareRoot()) }
        return (Double.pi / 2).squareRoot() * erfc(t / 2.0.squareRoot()) * exp(t * t / 2)
    }

    /// log R(t), finite for every t: log √(π/2) erfcx(t/√2) for t ≥ 0, log Φ(−t) + t²/2 + log √(2π) for t < 0.
    public static func logMillsRatio(_ t: Double) -> Double {
        if t >= 0 { return log((Double.pi / 2).squareRoot() * erfcx(t / 2.0.squareRoot())) }
        return log(0.5 * erfc(t / 2.0.squareRoot())) + t * t / 2 + 0.5 * log(2 * Double.pi)
    }

    /// R(a) / (R(a) + R(b)) for a + b > 0 (so at most one of them is negative), without overflow: directly while
    /// both ratios are finite, else 1 or 0 (a ratio beyond e^690 against one below 1/|t| is 1 to double precision).
    @inline(__always)
    public static func millsShare(_ a: Double, _ b: Double) -> Double {
        if a < -37 { return 1 }
        if b < -37 { return 0 }
        let ra = millsRatio(a)
        return ra / (ra + millsRatio(b))
    }

    /// A draw of t ~ N(0, 1) conditioned on t > α. For α < 0.5, plain draws until one exceeds α (acceptance
    /// Φ(−α) ≥ 0.31); beyond, Robert's (1995) translated-exponential proposal with the optimal rate
    /// (α + √(α² + 4))/2, accepted with probability exp(−(t − rate)²/2) (acceptance above 0.7 for α ≥ 0.5).
    @inline(__always)
    public static func sampleAbove(_ alpha: Double, generator: inout SeededGenerator) -> Double {
        if alpha < 0.5 {
            while true {
                let t = generator.normal()
                if t > alpha { return t }
            }
        }
        let rate = (alpha + (alpha * alpha + 4).squareRoot()) / 2
        while true {
            let t = alpha - log(generator.uniformOpen()) / rate
            let excess = t - rate
            if generator.uniform() < exp(-excess * excess / 2) { return t }
        }
    }
}
