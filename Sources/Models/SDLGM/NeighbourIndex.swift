import DataKit
import Foundation

/// The neighbour component of a supervised SDLGM model (`sk-train sdlgm --neighbours K`, docs/neighbours.md): the
/// training rows it learnt from, kept in the model, and the label distribution of a row's K most similar ones,
/// blended into the model's first-choice probabilities (k-nearest-neighbour label propagation, the memory SLEEC and
/// other embedding methods predict from):
///
///   w_j = max(0, cos(x, x_j))^`power` for the K training rows j most similar to x,
///   q(l | x) = Σ_j w_j [l ∈ y_j] / Σ_j w_j |y_j|,
///   p(l | x) = (1 − α) softmax(h_S(x))_l + α q(l | x),
///
/// where cos compares rows in `representation`, fitted on the training rows: tf-idf (smooth idf, unit rows) for
/// sparse features, standardization then unit rows for dense ones (at least half of the entries stored). A row
/// similar to no training row (all weights 0) keeps the model's probabilities. p is a distribution over the labels
/// whose first choice P@1 ranks by; the predicted set stays the top L̂ labels, L̂ from p(L | x).
public struct NeighbourIndex: Sendable, Equatable {
    /// How rows are compared: this scaling, then each row scaled to unit L2 norm.
    public let representation: FeatureScaling
    /// The training rows in the representation, unit rows (N × F).
    public let rows: CSRMatrix
    /// Their label sets (N × C).
    public let labels: CSRMatrix
    /// K, the neighbours a row's label distribution is taken from.
    public var count: Int
    /// α, the weight of the neighbours' distribution in the blend (0: the model alone).
    public var weight: Double
    /// The rows by feature (F × N), for the similarities of a sparse row.
    private let columns: CSRMatrix

    /// The exponent of the similarities in the weights: the nearest rows count most (chosen on bibtex's training rows
    /// by 5-fold cross-validation, docs/neighbours.md; 1, 4 and 8 were within 0.002 of each other).
    public static let power = 4.0
    /// The defaults of `--neighbours` and `--neighbour-weight`.
    public static let defaultCount = 10, defaultWeight = 0.3
    /// The most neighbours a row may take (the search keeps them in a sorted list).
    public static let mostCount = 10_000

    /// An index of the training `features` (as stored, before the model's own scaling) and their `labels`.
    public init(features: CSRMatrix, labels: CSRMatrix, count: Int = defaultCount, weight: Double = defaultWeight) throws {
        precondition(features.rows == labels.rows, "a label set per row")
        var statistics = FeatureStatistics(features: features.cols)
        statistics.add(features)
        let representation = statistics.scaling(statistics.density >= 0.5 ? .standardize : .tfidf)
        try self.init(representation: representation, rows: try Self.represent(features, in: representation), labels: labels,
                      count: count, weight: weight)
    }

    /// An index from its stored parts (`rows` already in the representation, unit rows), as a model file holds it.
    public init(representation: FeatureScaling, rows: CSRMatrix, labels: CSRMatrix, count: Int, weight: Double) throws {
        precondition(rows.rows == labels.rows, "a label set per row")
        (self.representation, self.rows, self.labels, self.count, self.weight) = (representation, rows, labels, count, weight)
        columns = rows.transposed()
    }

    /// Whether `count` and `weight` are usable (K ≥ 1, α in [0, 1]); `problem` names what is not.
    public static func problem(count: Int?, weight: Double?) -> String? {
        if let count, !(1...mostCount).contains(count) { return "--neighbours takes a number of neighbours in 1...\(mostCount)" }
        if let weight, !(weight >= 0 && weight <= 1) { return "--neighbour-weight takes a weight in [0, 1]" }
        return nil
    }

    /// The rows of `x` in `representation`, unit rows (a row of zeros stays zeros): tf-idf scales its rows itself,
    /// standardization is followed by `l2-rows`.
    static func represent(_ x: CSRMatrix, in representation: FeatureScaling) throws -> CSRMatrix {
        let scaled = try representation.apply(x)
        return representation.normalizesRows ? scaled : try FeatureScaling(method: .rowL2, shift: nil, scale: nil).apply(scaled)
    }

    /// q(· | x) for every row of `x` (features as stored), B × C; a row whose weights are all 0 gets a row of zeros.
    public func distributions(_ x: CSRMatrix) throws -> Matrix {
        let queries = try Self.represent(x, in: representation)
        let c = labels.cols
        var result = Matrix(rows: x.rows, cols: c)
        var similarity = [Float](repeating: 0, count: rows.rows)
        var nearest: [(similarity: Float, row: Int)] = []
        nearest.reserveCapacity(count + 1)
        for i in 0..<queries.rows {
            for j in similarity.indices { similarity[j] = 0 }
            let query = queries.row(i)
            for (f, v) in zip(query.indices, query.values) {
                let column = columns.row(Int(f))
                for (j, u) in zip(column.indices, column.values) { similarity[Int(j)] += v * u }
            }
            // The K largest similarities, ties to the lower row.
            nearest.removeAll(keepingCapacity: true)
            for (j, s) in similarity.enumerated() where s > 0 {
                guard nearest.count < count || s > nearest[nearest.count - 1].similarity else { continue }
                let at = nearest.firstIndex { $0.similarity < s } ?? nearest.count
                nearest.insert((s, j), at: at)
                if nearest.count > count { nearest.removeLast() }
            }
            var total = 0.0
            for (s, j) in nearest {
                let w = pow(Double(s), Self.power)
                for label in labels.row(j).indices {
                    result.storage[i * c + Int(label)] += Float(w)
                    total += w
                }
            }
            guard total > 0 else { continue }
            for l in 0..<c { result.storage[i * c + l] = Float(Double(result.storage[i * c + l]) / total) }
        }
        return result
    }

    /// The blend log p(l | x) of log-probabilities `logProbabilities` (B × C, each row's exp summing to 1: the model's
    /// first-choice probabilities) with the neighbours' distributions of the rows `x` (features as stored).
    public func blend(_ logProbabilities: Matrix, rowsOf x: CSRMatrix) throws -> Matrix {
        guard weight > 0 else { return logProbabilities }
        let q = try distributions(x)
        var result = logProbabilities
        let c = q.cols
        for i in 0..<q.rows {
            let row = i * c
            guard q.storage[row..<(row + c)].contains(where: { $0 > 0 }) else { continue }
            for l in 0..<c {
                let p = (1 - weight) * exp(Double(logProbabilities.storage[row + l])) + weight * Double(q.storage[row + l])
                result.storage[row + l] = Float(log(max(p, Self.smallestProbability)))
            }
        }
        return result
    }

    /// The floor of a blended probability before its logarithm (a label neither source gives any mass keeps a finite
    /// score, below every label that has some).
    static let smallestProbability = 1e-37
}

extension SupervisedPredictor {
    /// This predictor with its neighbour component's K and α replaced where given (`sk-eval`/`sk-encode --neighbours`,
    /// `--neighbour-weight`); a usage error when it has no neighbour component or a value is out of range.
    public func overridingNeighbours(count: Int?, weight: Double?, model: String) throws -> SupervisedPredictor {
        guard count != nil || weight != nil else { return self }
        guard var index = neighbours else {
            throw SparseKitError.usage("--neighbours and --neighbour-weight need a model trained with --neighbours; \(model) keeps no training rows")
        }
        if let problem = NeighbourIndex.problem(count: count, weight: weight) { throw SparseKitError.usage(problem) }
        (index.count, index.weight) = (count ?? index.count, weight ?? index.weight)
        var predictor = self
        predictor.neighbours = index
        return predictor
    }
}
