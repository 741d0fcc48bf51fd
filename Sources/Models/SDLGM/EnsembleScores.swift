import DataKit
import Foundation

/// How an ensemble (`sk-train sdlgm --ensemble M`) combines its members' outputs for the same rows: it averages
/// probabilities, not raw scores, and returns the logarithm-like scores the single-model code ranks and thresholds.
///
/// - sdlgm label scores h_S(x): each member's Plackett–Luce probability that label l is drawn first,
///   softmax(h)_l; the members' mean of it is that probability under the mixture of the M models. Returned as
///   log(mean), so ranking by it is ranking by the mixture's first-choice probability.
/// - sdlgm level logits: each member's p(L | x) (softmax), averaged, returned as log(mean): L̂ = argmax is the
///   mixture's most probable set size.
/// - one-vs-all label scores: each member's sigmoid probability, averaged, returned as its logit, so the set rule
///   "score > 0" stays "mean probability > ½".
///
/// All in Double, through log-sum-exp, so no probability underflows before the mean is formed.
public enum EnsembleScores {
    public enum Kind: Sendable { case softmax, sigmoid }

    /// The combined B × C matrix of the members' B × C score matrices (at least one; one member is returned as it is).
    public static func combine(_ members: [Matrix], _ kind: Kind) -> Matrix {
        precondition(!members.isEmpty, "an ensemble has members")
        guard members.count > 1 else { return members[0] }
        let (rows, cols) = (members[0].rows, members[0].cols)
        precondition(members.allSatisfy { $0.rows == rows && $0.cols == cols }, "the members score the same rows and labels")
        let logM = log(Double(members.count))
        var result = Matrix(rows: rows, cols: cols)
        var terms = [Double](repeating: 0, count: members.count)
        var complements = terms
        for i in 0..<rows {
            let offset = i * cols
            // Each member's log-normalizer of row i (softmax only).
            let normalizers = kind == .softmax ? members.map { logSumExp($0.storage[offset..<(offset + cols)].map(Double.init)) } : []
            for j in 0..<cols {
                for (m, member) in members.enumerated() {
                    let s = Double(member.storage[offset + j])
                    switch kind {
                    case .softmax: terms[m] = s - normalizers[m]
                    case .sigmoid: (terms[m], complements[m]) = (-softplus(-s), -softplus(s))  // log σ(s), log σ(−s)
                    }
                }
                let logMean = logSumExp(terms) - logM
                result.storage[offset + j] = Float(kind == .softmax ? logMean : logMean - (logSumExp(complements) - logM))
            }
        }
        return result
    }

    /// Each row of `scores` minus its log Σ exp: log-probabilities (a row of log-probabilities stays as it is).
    public static func logSoftmax(_ scores: Matrix) -> Matrix {
        var result = scores
        for i in 0..<scores.rows {
            let range = (i * scores.cols)..<((i + 1) * scores.cols)
            let normalizer = logSumExp(scores.storage[range].map(Double.init))
            for k in range { result.storage[k] = Float(Double(scores.storage[k]) - normalizer) }
        }
        return result
    }

    /// log Σ exp(v), stable for any finite v.
    static func logSumExp(_ values: [Double]) -> Double {
        let top = values.max()!
        guard top.isFinite else { return top }
        return top + log(values.reduce(0) { $0 + exp($1 - top) })
    }

    /// log(1 + e^x) without overflow.
    static func softplus(_ x: Double) -> Double { x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)) }
}
