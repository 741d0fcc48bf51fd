import DataKit
import Models
import TestSupport
import XCTest

/// The neighbour component (`NeighbourIndex`): a hand-worked example, an independent numpy/scikit-learn
/// implementation of its definition on random data with ties and empty rows, the blend's limits, and the predictor's
/// round trip through a model file.
final class NeighbourIndexTests: XCTestCase {
    func csr(_ rows: [[Float]]) throws -> CSRMatrix {
        var indptr: [Int64] = [0], indices: [Int64] = [], values: [Float] = []
        for row in rows {
            for (j, v) in row.enumerated() where v != 0 { indices.append(Int64(j)); values.append(v) }
            indptr.append(Int64(indices.count))
        }
        return try CSRMatrix(rows: rows.count, cols: rows.first?.count ?? 0, indptr: indptr, indices: indices, values: values)
    }

    /// A small supervised SDLGM (L0 = 3, hidden 16, 3 epochs) trained with `--neighbours 4` on random binary rows whose
    /// label l is on for rows i with (i + l) divisible by 3; the predictor and its features.
    func predictorWithNeighbours(rows: Int, features: Int, labels: Int, seed: UInt64) throws -> (predictor: SupervisedPredictor, x: CSRMatrix) {
        var generator = SeededGenerator(seed: seed)
        let x = try csr((0..<rows).map { _ in (0..<features).map { _ in generator.uniform() < 0.3 ? 1 : 0 } })
        let y = try csr((0..<rows).map { i in (0..<labels).map { l in (i + l) % 3 == 0 ? 1 : 0 } })
        var trainer = SupervisedTrainer(method: .sdlgm, maxActive: 3, epochs: 3)
        trainer.hidden = [16]
        trainer.neighbours = 4
        return (try trainer.train(features: x, labels: y).predictor, x)
    }

    /// Writes `predictor` as a model file at `path`.
    func write(_ predictor: SupervisedPredictor, to path: String) throws {
        let file = try HDF5File.create(path)
        try predictor.write(to: file, maxActive: 3)
        try file.writeHeader(kind: .model, history: [])
        try file.close()
    }

    /// Rows [1,0,0,0], [0,1,0,0], [1,1,0,0] (sparse: a third of the entries, so tf-idf) with labels {0}, {1}, {0,2};
    /// both features used are in two rows, so their idf is equal and cosine sees the rows as they are. The query [1,0,…] has similarities 1, 0, 1/√2: with K = 2 the weights are 1 and (1/√2)⁴ = ¼,
    /// q = (1 + ¼, 0, ¼) / (1·1 + ¼·2) = (5/6, 0, 1/6); blended with a uniform model at α = 0.3:
    /// (0.7/3 + 0.3·5/6, 0.7/3, 0.7/3 + 0.3/6). A row of zeros is similar to nothing and keeps the model's.
    func testHandWorkedExample() throws {
        let index = try NeighbourIndex(features: try csr([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0]]), labels: try csr([[1, 0, 0], [0, 1, 0], [1, 0, 1]]),
                                       count: 2, weight: 0.3)
        XCTAssertEqual(index.representation.method, .tfidf)
        let q = try index.distributions(try csr([[1, 0, 0, 0], [0, 0, 0, 0]]))
        for (got, want) in zip(q.storage, [5.0 / 6, 0, 1.0 / 6, 0, 0, 0]) { XCTAssertEqual(Double(got), want, accuracy: 1e-6) }
        let uniform = Matrix(rows: 2, cols: 3, storage: [Float](repeating: Float(log(1.0 / 3)), count: 6))
        let blended = try index.blend(uniform, rowsOf: try csr([[1, 0, 0, 0], [0, 0, 0, 0]]))
        let want = [0.7 / 3 + 0.3 * 5 / 6, 0.7 / 3, 0.7 / 3 + 0.3 / 6]
        for l in 0..<3 { XCTAssertEqual(exp(Double(blended[0, l])), want[l], accuracy: 1e-6) }
        XCTAssertEqual(Array(blended.storage[3..<6]), Array(uniform.storage[3..<6]), "a row similar to nothing keeps the model's")
        var off = index
        off.weight = 0
        XCTAssertEqual(try off.blend(uniform, rowsOf: try csr([[1, 0, 0, 0], [0, 0, 0, 0]])), uniform, "α = 0 is the model alone")
    }

    /// The definition implemented independently (scikit-learn's TfidfTransformer and StandardScaler for the
    /// representation, numpy for the rest, ties to the lower row by a stable sort) on random binary rows with repeated
    /// rows (tied similarities), an empty row and an unlabelled training row, and on dense rows.
    func testMatchesAnIndependentImplementation() throws {
        guard let python = Python.interpreter(with: ["numpy", "sklearn"]) else {
            throw XCTSkip("python3 with numpy and scikit-learn is not available")
        }
        var generator = SeededGenerator(seed: 7)
        func binary(_ rows: Int, _ cols: Int, _ p: Double) -> [[Float]] {
            (0..<rows).map { _ in (0..<cols).map { _ in generator.uniform() < p ? 1 : 0 } }
        }
        var train = binary(40, 15, 0.25)
        train[5] = train[3]  // tied similarities
        train[9] = [Float](repeating: 0, count: 15)
        var labels = binary(40, 6, 0.3)
        labels[11] = [Float](repeating: 0, count: 6)
        var queries = binary(12, 15, 0.25)
        queries[2] = [Float](repeating: 0, count: 15)
        queries[4] = train[3]
        let denseTrain = (0..<30).map { _ in (0..<5).map { _ in Float(generator.normal() * 3 + 1) } }
        let denseQueries = (0..<8).map { _ in (0..<5).map { _ in Float(generator.normal() * 3 + 1) } }
        let script = """
        import json, sys, numpy as np
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.preprocessing import StandardScaler
        X, Y, Q, D, DQ, DY = (np.array(json.loads(a), dtype=float) for a in sys.argv[1:7])
        def q(R, RQ, Y, k):
            S = RQ @ R.T
            out = np.zeros((len(RQ), Y.shape[1]))
            for i, s in enumerate(S):
                order = [j for j in np.argsort(-s, kind="stable") if s[j] > 0][:k]
                w = s[order] ** 4
                total = (w * Y[order].sum(1)).sum()
                if total > 0: out[i] = (w[:, None] * Y[order]).sum(0) / total
            return out
        unit = lambda M: M / np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-300) * (np.linalg.norm(M, axis=1, keepdims=True) > 0)
        t = TfidfTransformer().fit(X)
        s = StandardScaler().fit(D)
        print(json.dumps([q(t.transform(X).toarray(), t.transform(Q).toarray(), Y, 5).ravel().tolist(),
                          q(unit(s.transform(D)), unit(s.transform(DQ)), DY, 4).ravel().tolist()]))
        """
        let denseLabels = Array(labels.prefix(30))
        func json(_ rows: [[Float]]) -> String { "[" + rows.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]" }
        let (status, output) = try Python.run(python, script, [train, labels, queries, denseTrain, denseQueries, denseLabels].map(json))
        XCTAssertEqual(status, 0, output)
        let expected = try JSONDecoder().decode([[Double]].self, from: Data(output.utf8))
        let sparse = try NeighbourIndex(features: try csr(train), labels: try csr(labels), count: 5, weight: 0.3)
        let dense = try NeighbourIndex(features: try csr(denseTrain), labels: try csr(denseLabels), count: 4, weight: 0.3)
        XCTAssertEqual(sparse.representation.method, .tfidf)
        XCTAssertEqual(dense.representation.method, .standardize)
        for (index, rows, want) in [(sparse, queries, expected[0]), (dense, denseQueries, expected[1])] {
            let got = try index.distributions(try csr(rows)).storage
            XCTAssertEqual(got.count, want.count)
            for (k, (g, w)) in zip(got, want).enumerated() { XCTAssertEqual(Double(g), w, accuracy: 1e-5, "entry \(k)") }
        }
        XCTAssertTrue(expected[0].contains { $0 > 0 } && expected[0][(2 * 6)..<(3 * 6)].allSatisfy { $0 == 0 }, "the empty query has no neighbours")
    }

    /// A predictor with the component, written and read back, predicts the same; an override changes K and α and is
    /// refused for a model without the component.
    func testRoundTripAndOverrides() throws {
        let (predictor, x) = try predictorWithNeighbours(rows: 60, features: 20, labels: 5, seed: 3)
        XCTAssertEqual(predictor.neighbours?.count, 4)
        XCTAssertEqual(predictor.neighbours?.rows.rows, 60)
        let folder = try temporaryFolder(self)
        try write(predictor, to: folder + "/m.h5")
        let read = try SupervisedPredictor.read(from: try HDF5File.open(folder + "/m.h5")).predictor
        XCTAssertEqual(read.neighbours, predictor.neighbours)
        XCTAssertEqual(try read.predict(x, k: 5).ranking, try predictor.predict(x, k: 5).ranking)
        let alone = try read.overridingNeighbours(count: nil, weight: 0, model: "m.h5")
        var withoutIndex = read
        withoutIndex.neighbours = nil
        XCTAssertEqual(try alone.predict(x, k: 5).ranking.indices, try withoutIndex.predict(x, k: 5).ranking.indices, "α = 0: the network's ranking")
        XCTAssertEqual(try read.overridingNeighbours(count: 7, weight: 0.5, model: "m.h5").neighbours?.count, 7)
        XCTAssertThrowsError(try withoutIndex.overridingNeighbours(count: 3, weight: nil, model: "m.h5"))
        XCTAssertThrowsError(try read.overridingNeighbours(count: nil, weight: 1.5, model: "m.h5"))
    }

    /// A damaged `/model/neighbours` group is refused when the model is read, naming the file and the problem: an α
    /// out of range, rows that are not unit rows, label sets of another label count, an unknown representation.
    func testDamagedComponentIsRefusedWithTheProblem() throws {
        let predictor = try predictorWithNeighbours(rows: 30, features: 12, labels: 4, seed: 5).predictor
        let folder = try temporaryFolder(self)
        let damages: [(String, (HDF5File) throws -> Void)] = [
            ("weight = 2.0", { try $0.setAttribute("weight", .double(2), on: "/model/neighbours") }),
            ("not a unit row", { file in
                let rows = try file.readCSR("/model/neighbours/rows")
                try file.write(try CSRMatrix(rows: rows.rows, cols: rows.cols, indptr: rows.indptr, indices: rows.indices,
                                             values: rows.values.map { $0 * 2 }), to: "/model/neighbours/rows")
            }),
            ("labels [30, 3]", { file in
                let labels = try file.readCSR("/model/neighbours/labels").dense()
                try file.write(CSRMatrix(dense: Matrix(rows: 30, cols: 3, storage: (0..<30).flatMap { i in (0..<3).map { labels[i, $0] } })),
                               to: "/model/neighbours/labels")
            }),
            ("representation (tf-idf or standardize)", { try $0.setAttribute("representation", .string("bm25"), on: "/model/neighbours") }),
        ]
        for (k, (message, damage)) in damages.enumerated() {
            let path = folder + "/m\(k).h5"
            try write(predictor, to: path)
            let file = try HDF5File.open(path, writable: true)
            try damage(file)
            try file.close()
            XCTAssertThrowsError(try SupervisedPredictor.read(from: try HDF5File.open(path))) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(message) && text.contains(path), text)
            }
        }
    }
}
