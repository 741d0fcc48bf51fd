import DataKit
import XCTest

final class WhiteningTests: XCTestCase {
    /// Correlated data: standard normals mixed by a fixed matrix, plus an offset far from zero.
    func correlatedData(rows: Int, dimension: Int, seed: UInt64) -> Matrix {
        let z = randomMatrix(rows, dimension, seed: seed)
        let mix = randomMatrix(dimension, dimension, seed: seed + 1)
        var x = Matrix.product(z, mix)
        for i in x.storage.indices { x.storage[i] += 5 }
        return x
    }

    func directCovariance(_ x: Matrix) -> (mean: [Double], covariance: [Double]) {
        let (n, d) = (x.rows, x.cols)
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { mean[j] += Double(x[r, j]) / Double(n) } }
        var c = [Double](repeating: 0, count: d * d)
        for r in 0..<n { for i in 0..<d { for j in 0..<d {
            c[i * d + j] += (Double(x[r, i]) - mean[i]) * (Double(x[r, j]) - mean[j]) / Double(n)
        } } }
        return (mean, c)
    }

    func testChunkedCovarianceMatchesTheDirectDoubleComputation() {
        let x = correlatedData(rows: 3000, dimension: 6, seed: 1)
        var accumulator = CovarianceAccumulator(dimension: 6)
        for start in stride(from: 0, to: 3000, by: 700) { accumulator.add(x.rowSlice(start..<min(3000, start + 700))) }
        let (mean, covariance) = accumulator.result()
        let reference = directCovariance(x)
        for j in 0..<6 { XCTAssertEqual(mean[j], reference.mean[j], accuracy: 1e-5) }
        let scale = reference.covariance.map(abs).max()!
        for i in 0..<36 { XCTAssertEqual(covariance[i], reference.covariance[i], accuracy: 1e-5 * scale) }
    }

    func whitenedCovariance(_ transform: WhiteningTransform, _ x: Matrix) -> (mean: [Double], covariance: [Double]) {
        directCovariance(transform.apply(toFiltered: x))
    }

    func testZCAAndPCAGiveIdentityCovariance() throws {
        let x = correlatedData(rows: 4000, dimension: 8, seed: 2)
        let (mean, covariance) = directCovariance(x)
        for method in WhiteningMethod.allCases {
            let t = try WhiteningTransform.fit(mean: mean, covariance: covariance, method: method, epsilon: 0,
                                               components: .all, filter: PatchFilter())
            let (m, c) = whitenedCovariance(t, x)
            for i in 0..<8 {
                XCTAssertEqual(m[i], 0, accuracy: 1e-4)
                for j in 0..<8 { XCTAssertEqual(c[i * 8 + j], i == j ? 1 : 0, accuracy: 2e-3, "\(method) (\(i),\(j))") }
            }
            // inverse · matrix = identity: the stored inverse undoes the whitening.
            let roundTrip = Matrix.product(t.inverse, t.matrix)
            XCTAssertLessThan(roundTrip.maxAbsDifference(Matrix.identity(8)), 1e-3)
        }
        let zca = try WhiteningTransform.fit(mean: mean, covariance: covariance, method: .zca, epsilon: 0,
                                             components: .all, filter: PatchFilter())
        XCTAssertLessThan(zca.matrix.maxAbsDifference(zca.matrix.transposed), 1e-5, "ZCA is symmetric")
    }

    func testPCAComponentSelection() throws {
        let x = correlatedData(rows: 2000, dimension: 10, seed: 3)
        let (mean, covariance) = directCovariance(x)
        let three = try WhiteningTransform.fit(mean: mean, covariance: covariance, method: .pca, epsilon: 0,
                                               components: .count(3), filter: PatchFilter())
        XCTAssertEqual([three.matrix.rows, three.matrix.cols, three.inverse.rows, three.inverse.cols], [3, 10, 10, 3])
        let byVariance = try WhiteningTransform.fit(mean: mean, covariance: covariance, method: .pca, epsilon: 0,
                                                    components: .variance(0.9), filter: PatchFilter())
        let e = byVariance.eigenvalues, total = e.reduce(0, +), k = byVariance.outputDimension
        XCTAssertGreaterThanOrEqual(e.prefix(k).reduce(0, +), 0.9 * total)
        XCTAssertLessThan(e.prefix(k - 1).reduce(0, +), 0.9 * total, "the fewest components reaching 90%")
        assertThrows(.usage, containing: "--components 11 is outside 1...10") {
            _ = try WhiteningTransform.fit(mean: mean, covariance: covariance, method: .pca, epsilon: 0,
                                           components: .count(11), filter: PatchFilter())
        }
    }

    func testSingularCovarianceNeedsEpsilon() throws {
        var x = correlatedData(rows: 500, dimension: 4, seed: 4)
        for r in 0..<500 { x[r, 3] = x[r, 0] }  // rank 3
        let (mean, covariance) = directCovariance(x)
        assertThrows(.badInput, containing: "singular") {
            _ = try WhiteningTransform.fit(mean: mean, covariance: covariance, method: .zca, epsilon: 0, components: .all, filter: PatchFilter())
        }
        XCTAssertNoThrow(try WhiteningTransform.fit(mean: mean, covariance: covariance, method: .zca, epsilon: 1e-3,
                                                    components: .all, filter: PatchFilter()))
    }

    /// The difference of Gaussians against a direct 2-D convolution with the outer-product kernel and reflected
    /// borders, computed independently here.
    func testDifferenceOfGaussiansMatchesDirectConvolution() throws {
        let g = PatchGeometry(height: 6, width: 5, channels: 1)
        var batch = randomMatrix(3, 30, seed: 5)
        let original = batch
        try PatchFilter(dog: (0.7, 2.5)).apply(to: &batch, geometry: g)
        func reflect(_ i: Int, _ n: Int) -> Int {
            var k = i
            while k < 0 || k >= n { k = k < 0 ? -k - 1 : 2 * n - k - 1 }
            return k
        }
        func blurred(_ row: Int, _ y: Int, _ x: Int, _ sigma: Double) -> Double {
            let radius = Int(4 * sigma + 0.5)
            let weights = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
            let total = weights.reduce(0, +)
            var acc = 0.0
            for (a, dy) in (-radius...radius).enumerated() { for (b, dx) in (-radius...radius).enumerated() {
                acc += weights[a] * weights[b] / (total * total) * Double(original[row, reflect(y + dy, 6) * 5 + reflect(x + dx, 5)])
            } }
            return acc
        }
        for row in 0..<3 { for y in 0..<6 { for x in 0..<5 {
            XCTAssertEqual(Double(batch[row, y * 5 + x]), blurred(row, y, x, 0.7) - blurred(row, y, x, 2.5), accuracy: 1e-5)
        } } }
    }

    func testPatchMeanRemoval() throws {
        var batch = randomMatrix(4, 9, seed: 6)
        try PatchFilter(removePatchMean: true).apply(to: &batch, geometry: nil)
        for r in 0..<4 { XCTAssertEqual(batch.row(r).reduce(0, +), 0, accuracy: 1e-5) }
    }

    /// Fitting through the job, then applying the stored transform to the same file, gives the same bits.
    func testStoredTransformReproducesTheFittedOutputExactly() throws {
        let folder = try temporaryFolder(self)
        let patches = folder + "/p.h5"
        let x = correlatedData(rows: 5000, dimension: 16, seed: 7)
        do {
            let f = try HDF5File.create(patches)
            try f.write(x, to: "/data")
            try f.writeHeader(kind: .patches, history: ["test"])
            try PatchGeometry(height: 4, width: 4, channels: 1).write(to: f)
            try f.close()
        }
        let filter = PatchFilter(dog: (0.5, 1.5), removePatchMean: true)
        let fit = WhitenJob(input: patches, output: folder + "/w.h5",
                            source: .fit(method: .zca, epsilon: 1e-4, components: .all, filter: filter), history: ["fit"])
        _ = try fit.run()
        var stored = WhitenJob(input: patches, output: folder + "/again.h5", source: .stored(path: folder + "/w.h5"),
                               history: ["apply"])
        stored.memoryBudget = 0  // the streaming path must agree with the in-memory one
        _ = try stored.run()
        let a = try HDF5File.open(folder + "/w.h5"), b = try HDF5File.open(folder + "/again.h5")
        XCTAssertEqual(try a.readMatrix("/data"), try b.readMatrix("/data"))
        XCTAssertEqual(try b.history(), ["test", "apply"])
        XCTAssertEqual(try WhiteningTransform.read(from: b).filter, filter)
        XCTAssertEqual(try b.fileKind(), .whitened)
    }

    func testWhitenJobRejectsBadData() throws {
        let folder = try temporaryFolder(self)
        func job(_ input: String, _ source: WhitenJob.Source = .fit(method: .zca, epsilon: 1e-5, components: .all,
                                                                    filter: PatchFilter())) -> WhitenJob
        {
            WhitenJob(input: Fixtures.path("broken/" + input), output: folder + "/out.h5", source: source, history: [])
        }
        assertThrows(.badInput, containing: "/data holds NaN at row 37") { _ = try job("nan.h5").run() }
        assertThrows(.badInput, containing: "/data holds Inf at row 3") { _ = try job("inf.h5").run() }
        assertThrows(.badInput, containing: "is a 'multilabel' file; expected patches") { _ = try job("wrong-kind.h5").run() }
        assertThrows(.badInput, containing: "must be a 2-D numeric matrix") { _ = try job("one-dimensional.h5").run() }
        assertThrows(.badInput, containing: "not a SparseKit file") { _ = try job("no-kind.h5").run() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/out.h5"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "no temporary file left")
    }
}

import Foundation
