/// A seeded pseudo-random generator (xoshiro256** seeded through SplitMix64): the same seed gives the same stream on
/// every run and every machine, because every draw below is built from integer arithmetic and IEEE operations only.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    /// Creates a generator whose whole stream is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// Generator number `stream` of the family fixed by `seed`: the stream index is mixed (MurmurHash3's 64-bit
    /// finalizer) before seeding, so neighbouring streams share no SplitMix64 states. Work split into independent
    /// pieces (a point's Markov chains) draws from its own stream, so results do not depend on threads or blocks.
    public init(seed: UInt64, stream: UInt64) {
        var k = stream &+ 0x632B_E59B_D9B4_E019
        k = (k ^ (k >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        k = (k ^ (k >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        self.init(seed: seed ^ (k ^ (k >> 33)))
    }

    /// The generator's whole state (four words), to store and continue the stream later (`init(state:)`).
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// The generator that continues from a stored `state`; nil unless it is four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    @inlinable public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inlinable @inline(__always) func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform integer in `0..<bound` without modulo bias (Lemire's multiply-and-reject).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold { product = next().multipliedFullWidth(by: b) }
        }
        return Int(product.high)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A uniform double in (0, 1): never zero, so its logarithm is finite.
    @inlinable public mutating func uniformOpen() -> Double { (Double(next() >> 11) + 0.5) * 0x1.0p-53 }

    /// A standard normal draw (Box–Muller; one of the pair is used so the stream does not depend on call history).
    public mutating func normal() -> Double {
        let u1 = uniformOpen(), u2 = uniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// A Laplace(0, scale) draw: density exp(−|z|/scale) / (2 scale).
    public mutating func laplace(scale: Double = 1) -> Double {
        let u = uniformOpen() - 0.5
        return u < 0 ? scale * _log(1 + 2 * u) : -scale * _log(1 - 2 * u)
    }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
