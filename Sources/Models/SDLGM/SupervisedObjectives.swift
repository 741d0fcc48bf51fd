import DataKit
import Foundation

/// The training losses of the supervised multi-label models, per batch (means over its points), with their
/// gradients w.r.t. the network outputs.
public enum SupervisedObjectives {
    /// Supervised SDLGM: −log p(L | x) − B(π) per point (`sdlgm.md`), L = |S| ≤ L0, B the Plackett–Luce bound for
    /// the ordering π of S sampled from q (`PlackettLuce`). ∂/∂h_L = softmax(h_L) − onehot(L), ∂/∂h_S = −∂B/∂s.
    ///
    /// With label `smoothing` ε > 0 (Szegedy et al. 2016's label smoothing, applied to the first choice), the bound's
    /// weight is 1 − ε and ε goes to the cross-entropy of softmax(h_S) against the uniform distribution over the C
    /// labels: −log p(L | x) − (1 − ε) B(π) − ε Σ_c (1/C) log softmax(h_S)_c, so
    /// ∂/∂h_S = −(1 − ε) ∂B/∂s + ε (softmax(h_S) − 1/C).
    public static func sdlgm(levelLogits: Matrix, labelScores: Matrix, orderings: [[Int]], smoothing: Double = 0)
        -> (loss: Double, gradLevel: Matrix, gradLabels: Matrix)
    {
        precondition(smoothing >= 0 && smoothing < 1, "label smoothing in [0, 1)")
        let (b, l0) = (levelLogits.rows, levelLogits.cols)
        precondition(orderings.count == b && orderings.allSatisfy { (1...l0).contains($0.count) }, "1 ≤ |S| ≤ L0 per point")
        var gradLevel = Matrix(rows: b, cols: l0), gradLabels = Matrix(rows: b, cols: labelScores.cols)
        var loss = 0.0
        let c = labelScores.cols
        for i in 0..<b {
            let logits = levelLogits.storage[(i * l0)..<((i + 1) * l0)].map(Double.init)
            let top = logits.max()!
            let total = logits.reduce(0) { $0 + exp($1 - top) }
            let level = orderings[i].count
            loss -= logits[level - 1] - top - log(total)
            for j in 0..<l0 { gradLevel.storage[i * l0 + j] = Float((exp(logits[j] - top) / total - (j == level - 1 ? 1 : 0)) / Double(b)) }
            let bound = gradLabels.storage.withUnsafeMutableBufferPointer { g in
                PlackettLuce.bound(ordering: orderings[i], scores: labelScores.storage[(i * c)..<((i + 1) * c)],
                                   gradient: UnsafeMutableBufferPointer(rebasing: g[(i * c)..<((i + 1) * c)]))
            }
            loss -= (1 - smoothing) * bound
            if smoothing > 0 { loss += smoothUniform(labelScores, row: i, weight: smoothing, boundGradient: &gradLabels) }
        }
        for k in gradLabels.storage.indices { gradLabels.storage[k] /= -Float(b) }  // descent on −B, mean over points
        return (loss / Double(b), gradLevel, gradLabels)
    }

    /// Row i's smoothing term ε · CE(uniform, softmax(h_S)) = ε (logsumexp(h) − mean(h)); scales row i of
    /// `boundGradient` (∂B/∂s, before `sdlgm` negates it) by 1 − ε and subtracts the term's gradient ε (softmax − 1/C).
    private static func smoothUniform(_ scores: Matrix, row i: Int, weight ε: Double, boundGradient g: inout Matrix) -> Double {
        let c = scores.cols
        let h = scores.storage[(i * c)..<((i + 1) * c)]
        let (top, total) = PlackettLuce.normalizer(h)
        var sum = 0.0
        for (j, s) in zip(h.indices, h) {
            sum += Double(s)
            g.storage[j] = Float((1 - ε) * Double(g.storage[j]) - ε * (exp(Double(s) - top) / total - 1 / Double(c)))
        }
        return ε * (top + log(total) - sum / Double(c))
    }

    /// One-vs-all logistic regression: Σ_c binary cross-entropy of sigmoid(score_c) against y_c per point;
    /// ∂/∂score = sigmoid(score) − y.
    public static func oneVsAll(labelScores: Matrix, labels: CSRMatrix) -> (loss: Double, gradLabels: Matrix) {
        let (b, c) = (labelScores.rows, labelScores.cols)
        var grad = Matrix(rows: b, cols: c)
        var loss = 0.0
        for i in 0..<b {
            let positives = Set(labels.row(i).indices.map { Int($0) })
            for j in 0..<c {
                let s = Double(labelScores.storage[i * c + j]), y = positives.contains(j) ? 1.0 : 0.0
                loss += max(s, 0) - s * y + log1p(exp(-abs(s)))  // stable BCE with logits
                grad.storage[i * c + j] = Float((1 / (1 + exp(-s)) - y) / Double(b))
            }
        }
        return (loss / Double(b), grad)
    }
}
