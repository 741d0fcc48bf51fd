@testable import DataKit
import Foundation
import TestSupport
import XCTest

/// Feature scaling of multi-label inputs: each method against scikit-learn's scaler of the same name (when python3
/// with scikit-learn is present) and against its defining properties; the automatic choice; statistics gathered
/// block by block equal to those of the whole.
final class FeatureScalingTests: XCTestCase {
    /// 5 rows × 4 features: a zero entry in a dense column, a constant column, a sparse column of counts, a column
    /// of magnitude 1e5 (as birds' features).
    let dense: [[Float]] = [[1, 3, 0, 1e5], [2, 3, 4, 2e5], [0, 3, 0, -1e5], [4, 3, 1, 3e5], [3, 3, 0, 0]]

    func matrix(_ rows: [[Float]]) throws -> CSRMatrix {
        var indptr: [Int64] = [0], indices: [Int64] = [], values: [Float] = []
        for row in rows {
            for (j, v) in row.enumerated() where v != 0 { indices.append(Int64(j)); values.append(v) }
            indptr.append(Int64(indices.count))
        }
        return try CSRMatrix(rows: rows.count, cols: rows[0].count, indptr: indptr, indices: indices, values: values)
    }

    func fitted(_ method: FeatureScaling.Method, _ rows: [[Float]]) throws -> FeatureScaling {
        var statistics = FeatureStatistics(features: rows[0].count)
        statistics.add(try matrix(rows))
        return statistics.scaling(method)
    }

    func testStandardizeCentresAndScalesEveryFeatureIncludingTheZeros() throws {
        let scaling = try fitted(.standardize, dense)
        XCTAssertNil(scaling.problem(features: 4))
        let out = try scaling.apply(try matrix(dense)).dense()
        for j in [0, 2, 3] {
            let column = (0..<5).map { Double(out[$0, j]) }
            let mean = column.reduce(0, +) / 5
            let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5
            XCTAssertEqual(mean, 0, accuracy: 1e-6, "feature \(j)")
            XCTAssertEqual(variance, 1, accuracy: 1e-5, "feature \(j) (population variance, as StandardScaler)")
        }
        XCTAssertEqual((0..<5).map { out[$0, 1] }, [0, 0, 0, 0, 0], "a constant feature keeps scale 1 and becomes 0")
        XCTAssertEqual(try scaling.apply(try matrix(dense)).nonZeros, 5 * 4, "every entry of every row stored")
        XCTAssertNotEqual(out[0, 2], 0, "a zero entry of a dense feature is shifted too")
    }

    func testMaxAbsKeepsSparsityAndBoundsEveryFeature() throws {
        let x = try matrix(dense)
        let out = try fitted(.maxAbs, dense).apply(x)
        XCTAssertEqual(out.indices, x.indices, "max-abs stores the same entries")
        let d = out.dense()
        for j in 0..<4 { XCTAssertEqual((0..<5).map { abs(d[$0, j]) }.max()!, 1, accuracy: 1e-6) }
        XCTAssertEqual(d[2, 3], -1.0 / 3, accuracy: 1e-6, "signs kept")
    }

    func testTfidfAndRowNormalisation() throws {
        let counts: [[Float]] = [[2, 0, 1], [0, 0, 3], [1, 1, 1], [0, 4, 0]]
        let tfidf = try fitted(.tfidf, counts).apply(try matrix(counts)).dense()
        // idf_j = ln((1 + N) / (1 + df_j)) + 1, N = 4, df = [2, 2, 3]; then unit rows.
        let idf = [log(5.0 / 3) + 1, log(5.0 / 3) + 1, log(5.0 / 4) + 1]
        for i in 0..<4 {
            let raw = (0..<3).map { Double(counts[i][$0]) * idf[$0] }
            let norm = raw.map { $0 * $0 }.reduce(0, +).squareRoot()
            for j in 0..<3 { XCTAssertEqual(Double(tfidf[i, j]), raw[j] / norm, accuracy: 1e-6, "row \(i), feature \(j)") }
        }
        let rows = try fitted(.rowL2, counts).apply(try matrix(counts)).dense()
        for i in 0..<4 { XCTAssertEqual((0..<3).map { Double(rows[i, $0] * rows[i, $0]) }.reduce(0, +), 1, accuracy: 1e-6) }
        let empty = try fitted(.rowL2, [[0, 0]]).apply(try matrix([[0, 0]]))
        XCTAssertEqual(empty.nonZeros, 0, "an empty row stays empty")
    }

    /// The same matrix through scikit-learn's StandardScaler, MaxAbsScaler and TfidfTransformer.
    func testEveryMethodMatchesScikitLearn() throws {
        guard let python = Python.interpreter(with: ["numpy", "sklearn"]) else {
            throw XCTSkip("python3 with numpy and scikit-learn is not available")
        }
        let counts: [[Float]] = [[2, 0, 1, 0], [0, 0, 3, 1], [1, 1, 1, 0], [0, 4, 0, 0], [5, 0, 0, 2]]
        let script = """
            import sys, json, numpy as np
            from sklearn.preprocessing import StandardScaler, MaxAbsScaler, normalize
            from sklearn.feature_extraction.text import TfidfTransformer
            dense = np.array(json.loads(sys.argv[1]), dtype=np.float64)
            counts = np.array(json.loads(sys.argv[2]), dtype=np.float64)
            out = {"standardize": StandardScaler().fit_transform(dense).tolist(),
                   "max-abs": MaxAbsScaler().fit_transform(dense).tolist(),
                   "tf-idf": TfidfTransformer().fit_transform(counts).toarray().tolist(),
                   "l2-rows": normalize(counts).tolist()}
            print(json.dumps(out))
            """
        func json(_ rows: [[Float]]) -> String { "[" + rows.map { "[" + $0.map { "\(Double($0))" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]" }
        let (status, output) = try Python.run(python, script, [json(dense), json(counts)])
        XCTAssertEqual(status, 0, output)
        let reference = try JSONDecoder().decode([String: [[Double]]].self, from: Data(output.utf8))
        for method in FeatureScaling.Method.allCases where method != .none {
            let rows = method == .tfidf || method == .rowL2 ? counts : dense
            let ours = try fitted(method, rows).apply(try matrix(rows)).dense()
            let expected = try XCTUnwrap(reference[method.rawValue])
            for i in expected.indices {
                for j in expected[i].indices {
                    XCTAssertEqual(Double(ours[i, j]), expected[i][j], accuracy: 1e-5 * max(1, abs(expected[i][j])),
                                   "\(method.rawValue) [\(i), \(j)]")
                }
            }
        }
    }

    func testAutomaticChoiceAndBlockwiseStatistics() throws {
        var binary = FeatureStatistics(features: 3)
        binary.add(try matrix([[1, 0, 1], [0, 1, 1]]))
        XCTAssertEqual(binary.automaticMethod, .none, "presence features stay as they are")
        var dense = FeatureStatistics(features: 4)
        dense.add(try matrix(self.dense))
        XCTAssertEqual(dense.automaticMethod, .standardize)
        var sparse = FeatureStatistics(features: 4)
        sparse.add(try matrix([[0.5, 0, 0, 0], [0, 0, 3, 0]]))
        XCTAssertEqual(sparse.automaticMethod, .maxAbs)

        var blocks = FeatureStatistics(features: 4)
        blocks.add(try matrix(Array(self.dense[0..<2])))
        blocks.add(try matrix(Array(self.dense[2...])))
        for method in FeatureScaling.Method.allCases { XCTAssertEqual(blocks.scaling(method), dense.scaling(method), method.rawValue) }
    }

    /// A point far outside what the scaling was fitted on (a feature nearly constant in training) is refused with the
    /// scaling named, not a trap.
    func testValuesBeyondTheBoundAreRefused() throws {
        let scaling = FeatureScaling(method: .standardize, shift: [0, 0], scale: [1, 1e12])
        XCTAssertThrowsError(try scaling.apply(try matrix([[1, 1e5]]))) {
            XCTAssertTrue("\($0)".contains("after the feature scaling 'standardize'") && "\($0)".contains("beyond"), "\($0)")
        }
    }

    func testStoredVectorsAreChecked() {
        XCTAssertNotNil(FeatureScaling(method: .standardize, shift: nil, scale: [1, 1]).problem(features: 2))
        XCTAssertNotNil(FeatureScaling(method: .maxAbs, shift: nil, scale: [1]).problem(features: 2))
        XCTAssertNotNil(FeatureScaling(method: .maxAbs, shift: nil, scale: [1, .nan]).problem(features: 2))
        XCTAssertNotNil(FeatureScaling(method: .maxAbs, shift: nil, scale: [1, 0]).problem(features: 2))
        XCTAssertNotNil(FeatureScaling(method: .none, shift: [0, 0], scale: nil).problem(features: 2))
        XCTAssertNil(FeatureScaling(method: .tfidf, shift: nil, scale: [1, 2]).problem(features: 2))
    }
}
