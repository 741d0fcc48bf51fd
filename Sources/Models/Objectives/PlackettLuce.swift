import DataKit
import Foundation

/// The Plackett–Luce label-set likelihood of supervised SDLGM (`sdlgm.md`): L labels drawn in sequence without
/// replacement from softmax(s) over C labels. For an ordering π = (π₁ … π_L):
///   log PL(π) = Σ_l [ s_{π_l} − log Σ_{j ∉ π<l} e^{s_j} ]
/// and the set S has log p(S) = log Σ_{orderings π of S} PL(π), a sum over L! terms. Training uses the Monte-Carlo
/// lower bound with π drawn from the same Plackett–Luce restricted to S (q(π) = Π_l e^{s_{π_l}} / Σ_{j ∈ S∖π<l} e^{s_j}),
/// by Jensen log p(S) = log E_q[PL(π)/q(π)] ≥ E_q[log PL(π) − log q(π)], one sample giving
///   B(π) = Σ_l [ log Σ_{j ∈ S∖π<l} e^{s_j} − log Σ_{j ∉ π<l} e^{s_j} ],
/// exact when L = 1. Its gradient is taken with the sampled ordering held fixed (the score-function term of q is
/// left out, as in the reference description):
///   ∂B/∂s_j = Σ_l ( [j ∈ S∖π<l] e^{s_j} / A_l − [j ∉ π<l] e^{s_j} / B_l ),
///   A_l = Σ_{S∖π<l} e^s,  B_l = Σ_{∉π<l} e^s,
/// O(C + L²) per point: B_l is the mass outside S plus A_l.
public enum PlackettLuce {
    /// log PL(π) for an ordering of distinct labels.
    public static func logProbability(ordering: [Int], scores: ArraySlice<Float>) -> Double {
        let (top, total) = normalizer(scores)
        var drawn = 0.0, value = 0.0
        for label in ordering {
            let e = exp(Double(scores[scores.startIndex + label]) - top)
            value += log(e) - log(max(total - drawn, .leastNormalMagnitude))
            drawn += e
        }
        return value
    }

    /// log p(S) exactly, by enumerating the L! orderings of S (for tests and small L).
    public static func exactSetLogProbability(_ set: [Int], scores: ArraySlice<Float>) -> Double {
        precondition(set.count <= 8, "enumeration is for small sets")
        var terms: [Double] = []
        func permute(_ prefix: [Int], _ rest: [Int]) {
            if rest.isEmpty { terms.append(logProbability(ordering: prefix, scores: scores)); return }
            for (i, label) in rest.enumerated() {
                var remaining = rest
                remaining.remove(at: i)
                permute(prefix + [label], remaining)
            }
        }
        permute([], set)
        let top = terms.max() ?? 0
        return top + log(terms.reduce(0) { $0 + exp($1 - top) })
    }

    /// An ordering of `set` drawn from Plackett–Luce restricted to it (Gumbel-top-L: sort s_j + Gumbel noise).
    public static func sampleOrdering(_ set: [Int], scores: ArraySlice<Float>, using generator: inout SeededGenerator) -> [Int] {
        let keyed = set.map { ($0, Double(scores[scores.startIndex + $0]) - log(-log(generator.uniformOpen()))) }
        return keyed.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// B(π) for an ordering π of the set, and (if `gradient` is given, C values) ∂B/∂s added into it.
    public static func bound(ordering: [Int], scores: ArraySlice<Float>, gradient: UnsafeMutableBufferPointer<Float>? = nil) -> Double {
        let top = Double(scores.max() ?? 0)
        let e = ordering.map { exp(Double(scores[scores.startIndex + $0]) - top) }
        // A_l as suffix sums and B_l = (the mass outside S) + A_l, each a sum of non-negative terms: subtracting the
        // labels drawn from running totals cancelled once the first labels dominated (A_l → 0 while e_{π_m} > 0),
        // and 1 / A_l then overflowed the gradient (emotions, a long run with hidden dropout: NaN in epoch 731).
        let members = ordering.sorted()
        var outside = 0.0, next = 0
        for j in 0..<scores.count {
            if next < members.count, members[next] == j { next += 1; continue }
            outside += exp(Double(scores[scores.startIndex + j]) - top)
        }
        var inverseA = [Double](repeating: 0, count: ordering.count), inverseB = inverseA
        var inSet = 0.0, value = 0.0
        for l in ordering.indices.reversed() {
            inSet += e[l]
            let a = max(inSet, .leastNormalMagnitude), b = max(outside + inSet, .leastNormalMagnitude)
            value += log(a) - log(b)
            (inverseA[l], inverseB[l]) = (1 / a, 1 / b)
        }
        if let gradient {
            // Every label not drawn yet is in B_l: −e^{s_j} Σ_l 1/B_l for labels outside the ordering.
            let allB = inverseB.reduce(0, +)
            for j in 0..<gradient.count { gradient[j] -= Float(exp(Double(scores[scores.startIndex + j]) - top) * allB) }
            // π_m is in A_l and B_l for l ≤ m: undo its B terms after m, add its A terms up to m.
            for (m, label) in ordering.enumerated() {
                var correction = 0.0
                for l in 0...m { correction += inverseA[l] }
                for l in (m + 1)..<ordering.count { correction += inverseB[l] }
                gradient[label] += Float(e[m] * correction)
            }
        }
        return value
    }

    /// max s and Σ e^{s − max}.
    static func normalizer(_ scores: ArraySlice<Float>) -> (top: Double, total: Double) {
        let top = Double(scores.max() ?? 0)
        return (top, scores.reduce(0.0) { $0 + exp(Double($1) - top) })
    }
}
