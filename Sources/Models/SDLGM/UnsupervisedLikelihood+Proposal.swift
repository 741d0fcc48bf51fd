import DataKit
import Foundation

/// One point's proposal over ordered supports, a defensive mixture (Hesterberg 1995) of the encoder's Plackett–Luce
/// distribution and the model's uniform prior:
///
///   q̃(a_1 … a_n) = (1 − ε) PL(a_1 … a_n; α_S) + ε U(a_1 … a_n),   U(a_1 … a_n) = 1/(K(K−1)…(K−n+1)),
///   PL(a_1 … a_n; α_S) = Π_l e^{α_{a_l}} / Σ_{j ∉ a_{<l}} e^{α_j}                        (`PlackettLuce`),
///
/// whose prefix marginals are the same mixture of the prefixes' PL and U probabilities. A draw picks the prior with
/// probability ε, then either Gumbel-top-n on α_S (sequential softmax without replacement) or a uniform ordered
/// selection (partial Fisher–Yates). All buffers are allocated once and reused for every point and sample.
struct SupportProposal: Sendable {
    let latents: Int
    /// log U of an ordered selection of n features, n = 0 … capacity: −Σ_{l<n} log(K − l).
    let logUniformPrefix: [Double]
    /// The drawn ordered support (its first `count` entries) and log PL of each of its prefixes (n = 0 … count).
    private(set) var sequence: [Int]
    private(set) var logPlackettLucePrefix: [Double]
    private(set) var count = 0

    private var scores: [Double]
    private var shiftedExp: [Double]  // e^{α_j − max α}
    private var topScore = 0.0
    private var total = 0.0
    private var keys: [Double]
    private var taken: [Bool]
    private var permutation: [Int]

    init(latents: Int, capacity: Int) {
        precondition(capacity >= 1 && capacity <= latents, "1 ≤ support size ≤ K")
        self.latents = latents
        var prefix = [0.0]
        for l in 0..<capacity { prefix.append(prefix[l] - log(Double(latents - l))) }
        logUniformPrefix = prefix
        sequence = [Int](repeating: 0, count: capacity)
        logPlackettLucePrefix = [Double](repeating: 0, count: capacity + 1)
        scores = [Double](repeating: 0, count: latents)
        shiftedExp = scores
        keys = scores
        taken = [Bool](repeating: false, count: latents)
        permutation = Array(0..<latents)
    }

    /// Takes one point's support scores α_S (K values); the prior's selection state restarts, so a point's draws
    /// depend only on its own generator.
    mutating func load(scores alpha: ArraySlice<Float>) {
        precondition(alpha.count == latents, "K support scores")
        for (j, value) in alpha.enumerated() { scores[j] = Double(value) }
        topScore = scores.max()!
        total = 0
        for j in 0..<latents {
            shiftedExp[j] = exp(scores[j] - topScore)
            total += shiftedExp[j]
        }
        for j in 0..<latents { permutation[j] = j }
    }

    /// Draws an ordered support of `n` features, from the prior (uniform) or from the encoder (Plackett–Luce by
    /// Gumbel-top-n), and fills `logPlackettLucePrefix[0 … n]`.
    mutating func draw(_ n: Int, fromPrior: Bool, generator: inout SeededGenerator) {
        precondition(n >= 1 && n < logUniformPrefix.count, "support size out of range")
        count = n
        if fromPrior {
            for l in 0..<n {
                let j = l + generator.below(latents - l)
                permutation.swapAt(l, j)
                sequence[l] = permutation[l]
            }
        } else {
            for j in 0..<latents { keys[j] = scores[j] - log(-log(generator.uniformOpen())) }
            for l in 0..<n {
                var best = -1
                for j in 0..<latents where !taken[j] && (best < 0 || keys[j] > keys[best]) { best = j }
                taken[best] = true
                sequence[l] = best
            }
            for l in 0..<n { taken[sequence[l]] = false }
        }
        fillPlackettLucePrefixes()
    }

    /// Takes an ordered support drawn elsewhere (by another component of the mixture) and fills
    /// `logPlackettLucePrefix[0 … n]` for it under this proposal's scores.
    mutating func adopt(_ features: ArraySlice<Int>) {
        precondition(features.count >= 1 && features.count < logUniformPrefix.count, "support size out of range")
        count = features.count
        for (l, feature) in features.enumerated() { sequence[l] = feature }
        fillPlackettLucePrefixes()
    }

    /// log PL(a_1 … a_n) = Σ_{l ≤ n} [α_{a_l} − log Σ_{j ∉ a_{<l}} e^{α_j}] for every prefix of the sequence. The
    /// remaining mass is the total minus what was drawn until that difference has lost most of its digits (the
    /// encoder's favourites drawn first leave a remainder orders of magnitude below the total, or one that
    /// underflows); from there it is a log-sum-exp over the features not drawn yet.
    private mutating func fillPlackettLucePrefixes() {
        var remaining = total, logRemaining = topScore + log(total)
        logPlackettLucePrefix[0] = 0
        for l in 0..<count {
            let a = sequence[l]
            logPlackettLucePrefix[l + 1] = logPlackettLucePrefix[l] + scores[a] - logRemaining
            taken[a] = true
            remaining -= shiftedExp[a]
            if remaining > 1e-8 * total {
                logRemaining = topScore + log(remaining)
            } else if l + 1 < count {
                var top = -Double.infinity
                for j in 0..<latents where !taken[j] { top = max(top, scores[j]) }
                var sum = 0.0
                for j in 0..<latents where !taken[j] { sum += exp(scores[j] - top) }
                logRemaining = top + log(sum)
            }
        }
        for l in 0..<count { taken[sequence[l]] = false }
    }
}

/// log(e^a + e^b), exact when either is −∞.
@inline(__always)
func logAddExp(_ a: Double, _ b: Double) -> Double {
    let top = max(a, b)
    guard top > -Double.infinity else { return -Double.infinity }
    return top + log(exp(a - top) + exp(b - top))
}
