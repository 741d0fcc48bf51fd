import DataKit
import Foundation

/// The standard normal's tail, computed without underflow where the naive formulas lose everything: the log of the
/// Mills ratio, and draws from N(0, 1) truncated to (α, ∞) for any α.
public enum GaussianTail {
    /// The scaled complementary error function erfcx(y) = exp(y²) erfc(y), for y ≥ 0: directly for y < 3, else by
    /// its continued fraction erfcx(y) = (1/√π) · 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + 2/(y + …))))) (Abramowitz &
    /// Stegun 7.1.14), evaluated from 60 terms bottom up (relative error below 1e-15 for y ≥ 3).
    public static func erfcx(_ y: Double) -> Double {
        precondition(y >= 0, "erfcx is used for y ≥ 0 only")
        if y < 3 { return exp(y * y) * erfc(y) }
        var tail = y
        for k in stride(from: 60, through: 1, by: -1) { tail = y + (Double(k) / 2) / tail }
        return 1 / (Double.pi.squareRoot() * tail)
    }

    /// log R(t), with R(t) = Φ(−t)/φ(t) the Mills ratio of the standard normal: √(π/2) erfcx(t/√2) for t ≥ 0
    /// (≈ 1/t far out), and log Φ(−t) + t²/2 + log √(2π) for t < 0 (where Φ(−t) ≥ 1/2 loses nothing).
    public static func logMillsRatio(_ t: Double) -> Double {
        if t >= 0 { return log((Double.pi / 2).squareRoot() * erfcx(t / 2.0.squareRoot())) }
        return log(0.5 * erfc(t / 2.0.squareRoot())) + t * t / 2 + 0.5 * log(2 * Double.pi)
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
