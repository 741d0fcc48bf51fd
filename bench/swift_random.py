"""SparseKit's seeded generator (Sources/DataKit/Core/SeededGenerator.swift) and Swift's shuffle, replicated in Python
so that a benchmark's reference can make SparseKit's random draws (initial weights, batch order, noise) exactly."""

import math

MASK64 = (1 << 64) - 1


class SeededGenerator:
    """xoshiro256** seeded through SplitMix64, as SparseKit's SeededGenerator."""

    def __init__(self, seed):
        x = seed & MASK64
        state = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            state.append(z ^ (z >> 31))
        self.s = state

    @classmethod
    def stream(cls, seed, stream):
        """SeededGenerator(seed:stream:): generator number `stream` of the family of `seed` (the stream index mixed by
        MurmurHash3's 64-bit finalizer before seeding), as PointStreams gives each point of a minibatch."""
        k = (stream + 0x632BE59BD9B4E019) & MASK64
        k = ((k ^ (k >> 33)) * 0xFF51AFD7ED558CCD) & MASK64
        k = ((k ^ (k >> 33)) * 0xC4CEB9FE1A85EC53) & MASK64
        return cls(seed ^ (k ^ (k >> 33)))

    def next(self):
        s0, s1, s2, s3 = self.s
        m = (s1 * 5) & MASK64
        result = ((((m << 7) | (m >> 57)) & MASK64) * 9) & MASK64
        t = (s1 << 17) & MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & MASK64
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self):
        """[0, 1), 53 random bits."""
        return (self.next() >> 11) * 2.0 ** -53

    def uniform_open(self):
        """(0, 1)."""
        return ((self.next() >> 11) + 0.5) * 2.0 ** -53

    def normal(self):
        """A standard normal draw by Box-Muller, as SeededGenerator.normal()."""
        u1, u2 = self.uniform_open(), self.uniform()
        return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)

    def below(self, bound):
        """Swift's RandomNumberGenerator.next(upperBound:) (Lemire's multiply-and-reject)."""
        product = self.next() * bound
        if (product & MASK64) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (product & MASK64) < threshold:
                product = self.next() * bound
        return product >> 64

    def shuffle(self, items):
        """items.shuffle(using:) in place, as the Swift standard library does it (Fisher-Yates from the front)."""
        n = len(items)
        for i in range(n - 1):
            j = i + self.below(n - i)
            items[i], items[j] = items[j], items[i]

    def shuffled(self, n):
        """Array(0..<n).shuffled(using:)."""
        order = list(range(n))
        self.shuffle(order)
        return order
