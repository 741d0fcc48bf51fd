import Distributed
import Foundation

/// How a multi-label model rescales its input features before the first layer, fitted on the training rows, stored in
/// the model and applied to every row it sees afterwards (training minibatches, evaluation, encoding), so that dense
/// features of any magnitude (birds' reach 1e5) train as well as binary ones.
///
/// - `none`: the stored values as they are.
/// - `standardize`: (x_j − mean_j) / std_j (scikit-learn's `StandardScaler`; a constant feature keeps std 1). Every
///   feature of every row becomes stored: meant for dense features.
/// - `max-abs`: x_j / max_i |x_ij| (`MaxAbsScaler`): keeps sparsity and signs.
/// - `tf-idf`: x_j · idf_j, idf_j = ln((1 + N) / (1 + df_j)) + 1 with df_j the training rows where feature j is
///   non-zero, then each row scaled to unit L2 norm (`TfidfTransformer` with its defaults): for sparse counts.
/// - `l2-rows`: each row scaled to unit L2 norm.
public struct FeatureScaling: Sendable, Equatable {
    public enum Method: String, Sendable, CaseIterable, Codable {
        case none, standardize, maxAbs = "max-abs", tfidf = "tf-idf", rowL2 = "l2-rows"
    }

    public var method: Method
    /// Subtracted from feature j before scaling (standardize), nil otherwise.
    public var shift: [Float]?
    /// Multiplies feature j (standardize, max-abs, tf-idf), nil otherwise.
    public var scale: [Float]?

    /// Leaves the features as they are.
    public static let identity = FeatureScaling(method: .none, shift: nil, scale: nil)

    /// A scaling with stored vectors (as a model file holds them); `validated` checks them against the features.
    public init(method: Method, shift: [Float]?, scale: [Float]?) {
        (self.method, self.shift, self.scale) = (method, shift, scale)
    }

    /// Whether rows are scaled to unit L2 norm after the per-feature step.
    public var normalizesRows: Bool { method == .tfidf || method == .rowL2 }

    /// Checks that the stored vectors fit `method` and `features` and are finite (scales non-zero); `problem` names
    /// what is wrong, for the caller's error.
    public func problem(features: Int) -> String? {
        let needsShift = method == .standardize, needsScale = [.standardize, .maxAbs, .tfidf].contains(method)
        if needsShift != (shift != nil) { return needsShift ? "feature scaling '\(method.rawValue)' without its shift" : "a shift that '\(method.rawValue)' does not use" }
        if needsScale != (scale != nil) { return needsScale ? "feature scaling '\(method.rawValue)' without its scale" : "a scale that '\(method.rawValue)' does not use" }
        for (name, vector) in [("shift", shift), ("scale", scale)] {
            guard let vector else { continue }
            guard vector.count == features else { return "a feature \(name) of \(vector.count) values for \(features) features" }
            guard vector.allSatisfy(\.isFinite) else { return "a feature \(name) with NaN or Inf" }
        }
        if let scale, scale.contains(0) { return "a feature scale of 0" }
        return nil
    }

    /// The rows of `x` rescaled. With a shift every feature of every row is stored (a dense row in CSR form). Throws
    /// when a value leaves the range every CSR matrix keeps (±`valueMagnitudeBound`): a point far outside what the
    /// scaling was fitted on, e.g. a feature nearly constant in training.
    public func apply(_ x: CSRMatrix) throws -> CSRMatrix {
        guard method != .none else { return x }
        var indptr: [Int64] = [0], indices: [Int64] = [], values: [Float] = []
        let stored = shift == nil ? x.nonZeros : x.rows * x.cols
        indptr.reserveCapacity(x.rows + 1)
        indices.reserveCapacity(stored)
        values.reserveCapacity(stored)
        var dense = [Float](repeating: 0, count: shift == nil ? 0 : x.cols)
        for i in 0..<x.rows {
            let row = x.row(i), start = values.count
            if let shift {
                for j in 0..<x.cols { dense[j] = 0 }
                for (j, v) in zip(row.indices, row.values) { dense[Int(j)] = v }
                for j in 0..<x.cols {
                    indices.append(Int64(j))
                    values.append((dense[j] - shift[j]) * (scale?[j] ?? 1))
                }
            } else {
                for (j, v) in zip(row.indices, row.values) {
                    indices.append(j)
                    values.append(v * (scale?[Int(j)] ?? 1))
                }
            }
            if normalizesRows {
                var squares: Double = 0
                for k in start..<values.count { squares += Double(values[k]) * Double(values[k]) }
                if squares > 0 {
                    let factor = Float(1 / squares.squareRoot())
                    for k in start..<values.count { values[k] *= factor }
                }
            }
            indptr.append(Int64(values.count))
        }
        do {
            return try CSRMatrix(rows: x.rows, cols: x.cols, indptr: indptr, indices: indices, values: values)
        } catch let error as SparseKitError {
            throw SparseKitError.badInput(nil, "after the feature scaling '\(method.rawValue)' fitted on the training rows: \(error.problem)")
        }
    }
}

/// Per-feature statistics of training rows, gathered block by block (a file streamed from disk) and turned into a
/// `FeatureScaling`. Sums in Double.
public struct FeatureStatistics: Sendable {
    public private(set) var rows = 0
    private var sums: [Double], squares: [Double], maxAbs: [Double], documentFrequency: [Int]
    private var storedTotal = 0
    /// Whether every stored value is 0 or 1.
    public private(set) var binary = true

    public init(features: Int) {
        sums = [Double](repeating: 0, count: features)
        squares = sums
        maxAbs = sums
        documentFrequency = [Int](repeating: 0, count: features)
    }

    public var features: Int { sums.count }

    /// The fraction of the N × F entries stored non-zero.
    public var density: Double { rows == 0 || features == 0 ? 0 : Double(storedTotal) / (Double(rows) * Double(features)) }

    public mutating func add(_ x: CSRMatrix) {
        for (j, v) in zip(x.indices, x.values) {
            let (j, v) = (Int(j), Double(v))
            sums[j] += v
            squares[j] += v * v
            maxAbs[j] = max(maxAbs[j], abs(v))
            if v != 0 { documentFrequency[j] += 1 }
            if v != 0 && v != 1 { binary = false }
        }
        storedTotal += x.nonZeros
        rows += x.rows
    }

    /// The statistics of every rank's rows, on every rank (an MPI job whose ranks each added some of the rows): the
    /// sums and counts added up (one all-reduce; the sums in another order than one process's, so to rounding), the
    /// largest magnitudes and the binary flag in a second. Alone, nothing changes.
    public mutating func combine(over group: ProcessGroup) {
        guard group.size > 1 else { return }
        let f = features
        var packed = sums + squares + documentFrequency.map(Double.init) + [Double(rows), Double(storedTotal)]
        group.sum(&packed)
        sums = Array(packed[0..<f])
        squares = Array(packed[f..<(2 * f)])
        documentFrequency = packed[(2 * f)..<(3 * f)].map { Int($0) }
        (rows, storedTotal) = (Int(packed[3 * f]), Int(packed[3 * f + 1]))
        var largest = maxAbs + [binary ? 0 : 1]
        group.maximum(&largest)
        maxAbs = Array(largest[0..<f])
        binary = largest[f] == 0
    }

    /// The method `--scale auto` stands for on these rows: none for binary features (bag-of-words presence),
    /// standardize for dense ones (at least half of the entries stored), max-abs for other sparse values.
    public var automaticMethod: FeatureScaling.Method {
        if binary { return .none }
        return density >= 0.5 ? .standardize : .maxAbs
    }

    /// The scaling `method` fits to the rows seen (a feature with no spread keeps scale 1).
    public func scaling(_ method: FeatureScaling.Method) -> FeatureScaling {
        let n = Double(max(rows, 1))
        switch method {
        case .none, .rowL2:
            return FeatureScaling(method: method, shift: nil, scale: nil)
        case .standardize:
            let means = sums.map { $0 / n }
            let scale = zip(squares, means).map { square, mean -> Float in
                let deviation = (max(0, square / n - mean * mean)).squareRoot()
                return deviation > 1e-12 * max(1, abs(mean)) ? Float(1 / deviation) : 1
            }
            return FeatureScaling(method: method, shift: means.map { Float($0) }, scale: scale)
        case .maxAbs:
            return FeatureScaling(method: method, shift: nil, scale: maxAbs.map { (largest: Double) -> Float in
                let scale = Float(1 / largest)
                return largest > 0 && scale.isFinite ? scale : 1
            })
        case .tfidf:
            let idf = documentFrequency.map { (count: Int) -> Float in Float(log((1 + n) / (1 + Double(count))) + 1) }
            return FeatureScaling(method: method, shift: nil, scale: idf)
        }
    }
}
