import DataKit
import Foundation
@testable import Models
import XCTest

/// The baseline densities: exact log-densities against hand computations, the ICA objective's gradient, ICA's
/// recovery of a known mixing, the model file round trip, and the units helpers.
final class BaselineDensityTests: XCTestCase {
    /// Rows of a small matrix.
    func matrix(_ rows: [[Float]]) -> Matrix { Matrix(rows: rows.count, cols: rows[0].count, storage: rows.flatMap { $0 }) }

    func testGaussianLogDensityMatchesHandComputation() throws {
        let x = matrix([[0, 0], [2, 0], [0, 1], [2, 3]])
        let model = try GaussianDensity.fit(x)
        // mean (1, 1); centred rows (−1,−1), (1,−1), (−1,0), (1,2): C = [[1, 0.5], [0.5, 1.5]], det C = 1.25.
        XCTAssertEqual(model.mean, [1, 1])
        for (value, expected) in zip(model.covariance, [1, 0.5, 0.5, 1.5]) { XCTAssertEqual(value, expected, accuracy: 1e-12) }
        XCTAssertEqual(model.ridge, 0)
        // At (3, 0): u = (2, −1), C⁻¹ = [[1.5, −0.5], [−0.5, 1]]/1.25, uᵀC⁻¹u = (6 + 2 + 1)/1.25 = 7.2.
        let expected = -log(2 * Double.pi) - 0.5 * log(1.25) - 0.5 * 7.2
        let logp = BaselineDensity.gaussian(model).logDensities(matrix([[3, 0]]))
        XCTAssertEqual(logp[0], expected, accuracy: 1e-12)
    }

    func testGaussianAddsARidgeOnlyWhenSingular() throws {
        let x = matrix([[0, 1, 5], [1, 1, 6], [3, 1, 8]])  // column 2 constant, column 3 = column 1 + 5
        let model = try GaussianDensity.fit(x)
        XCTAssertGreaterThan(model.ridge, 0)
        XCTAssertLessThan(model.ridge, 1e-6)
        XCTAssertTrue(BaselineDensity.gaussian(model).logDensities(x).allSatisfy(\.isFinite))
    }

    func testLaplaceUsesMedianAndMeanAbsoluteDeviation() throws {
        let x = matrix([[1, 0], [2, 1], [4, 2], [10, 3], [3, 9]])
        let model = try LaplaceDensity.fit(x)
        // Column 1: median 3, |x − 3| = 2, 1, 1, 7, 0 → b = 2.2. Column 2: median 2, |x − 2| = 2, 1, 0, 1, 7 → b = 2.2.
        XCTAssertEqual(model.location, [3, 2])
        XCTAssertEqual(model.scale[0], 2.2, accuracy: 1e-12)
        XCTAssertEqual(model.scale[1], 2.2, accuracy: 1e-12)
        XCTAssertEqual(model.mean, [4, 3])
        let logp = BaselineDensity.laplace(model).logDensities(matrix([[5, -1]]))
        XCTAssertEqual(logp[0], 2 * -log(4.4) - 2 / 2.2 - 3 / 2.2, accuracy: 1e-12)
        XCTAssertThrowsError(try LaplaceDensity.fit(matrix([[1, 2], [1, 3]])))  // a constant column has no Laplace fit
    }

    func testICALogDensityIsTheChangeOfVariables() throws {
        // A = [[2, 1], [0, 1]], det A = 2, A⁻¹ = [[0.5, −0.5], [0, 1]].
        let model = try ICADensity(mean: [1, -1], mixing: [2, 1, 0, 1], scale: [0.5, 2])
        // x = (4, 1): x − mean = (3, 2), s = (0.5, 2).
        let expected = -log(1.0) - 0.5 / 0.5 - log(4.0) - 2 / 2 - log(2.0)
        XCTAssertEqual(BaselineDensity.ica(model).logDensities(matrix([[4, 1]]))[0], expected, accuracy: 1e-12)
    }

    func testICAGradientMatchesFiniteDifferences() {
        var generator = SeededGenerator(seed: 3)
        let (n, d) = (300, 4)
        let z = Matrix(rows: n, cols: d, storage: (0..<n * d).map { _ in Float(generator.laplace()) })
        var objective = ICAObjective(whitened: z, smoothing: 0.5)
        // A non-symmetric R, so that R⁻ᵀ and R⁻¹ differ.
        let r = (0..<d * d).map { ($0 % (d + 1) == 0 ? 1 : 0) + 0.3 * generator.normal() }
        var gradient = [Double](repeating: 0, count: d * d), scratch = gradient
        _ = objective.evaluate(r, gradient: &gradient)
        FiniteDifference.check(parameters: r, analyticGradient: gradient, step: 1e-3, tolerance: .absolute(2e-3)) {
            objective.evaluate($0, gradient: &scratch)
        }
    }

    /// Laplace sources with scales b, mixed by a fixed non-orthogonal A, plus a mean.
    func simulatedICA(_ n: Int, seed: UInt64) -> (x: Matrix, truth: ICADensity) {
        let d = 4
        let mixing: [Double] = [1.0, 0.5, 0.0, 0.2, -0.3, 1.2, 0.4, 0.0, 0.2, 0.0, 0.9, -0.5, 0.1, 0.3, -0.2, 1.1]
        let scale: [Double] = [1, 0.5, 2, 0.8], mean: [Double] = [0.5, -1, 2, 0]
        var generator = SeededGenerator(seed: seed)
        var x = Matrix(rows: n, cols: d)
        for row in 0..<n {
            let s = scale.map { generator.laplace(scale: $0) }
            for i in 0..<d { x[row, i] = Float(mean[i] + (0..<d).reduce(0.0) { $0 + mixing[i * d + $1] * s[$1] }) }
        }
        return (x, try! ICADensity(mean: mean, mixing: mixing, scale: scale))
    }

    func testICARecoversAKnownMixingAndTheTrueHeldOutLikelihood() throws {
        let (x, truth) = simulatedICA(20000, seed: 1)
        let (fitted, stages) = try ICAFit().fit(x)
        XCTAssertEqual(stages.count, 3)
        // B_fitted A_true is a scaled permutation: each row dominated by one entry, a different one per row.
        let d = 4
        let product = DoubleLinearAlgebra.product(fitted.unmixing, truth.mixing, n: d)
        var matched = Set<Int>()
        for i in 0..<d {
            let row = (0..<d).map { abs(product[i * d + $0]) }
            let largest = row.indices.max { row[$0] < row[$1] }!
            matched.insert(largest)
            let rest = (row.reduce(0) { $0 + $1 * $1 } - row[largest] * row[largest]).squareRoot()
            XCTAssertLessThan(rest / row[largest], 0.05, "row \(i) of B A: \(row)")
            // The source's scale is recovered too: s_fitted = (B A)_i,largest s_true.
            XCTAssertEqual(fitted.scale[i] / (row[largest] * truth.scale[largest]), 1, accuracy: 0.03)
        }
        XCTAssertEqual(matched.count, d, "B A is not a permutation")
        let (heldOut, _) = simulatedICA(10000, seed: 2)
        let fittedLogLikelihood = BaselineEvaluation.run(.ica(fitted), on: heldOut).logLikelihood
        let trueLogLikelihood = BaselineEvaluation.run(.ica(truth), on: heldOut).logLikelihood
        XCTAssertEqual(fittedLogLikelihood.mean, trueLogLikelihood.mean, accuracy: 0.01)
        // ICA must beat the Gaussian on Laplace sources by a wide margin.
        let gaussian = BaselineEvaluation.run(.gaussian(try GaussianDensity.fit(x)), on: heldOut).logLikelihood
        XCTAssertGreaterThan(fittedLogLikelihood.mean, gaussian.mean + 0.2)
    }

    func testICAFromAnotherSeedReachesTheSameLikelihood() throws {
        let (x, _) = simulatedICA(5000, seed: 4)
        var fit = ICAFit()
        let identity = try fit.fit(x).stages.last!.logLikelihood
        fit.seed = 9
        let rotated = try fit.fit(x).stages.last!.logLikelihood
        XCTAssertEqual(identity, rotated, accuracy: 1e-3)
    }

    func testModelFilesRoundTrip() throws {
        let (x, truth) = simulatedICA(500, seed: 5)
        let path = try temporaryFolder(self) + "/baseline.h5"
        for density in [BaselineDensity.gaussian(try GaussianDensity.fit(x)), .laplace(try LaplaceDensity.fit(x)), .ica(truth)] {
            let file = try HDF5File.create(path)
            try density.write(to: file)
            try file.writeHeader(kind: .model, history: ["test"])
            try file.close()
            let reopened = try HDF5File.open(path)
            XCTAssertEqual(try ModelKind.read(from: reopened), .baseline(density.kind))
            let read = try BaselineDensity.read(from: reopened)
            XCTAssertEqual(read.kind, density.kind)
            XCTAssertEqual(read.logDensities(x), density.logDensities(x))
            try reopened.close()
            try FileManager.default.removeItem(atPath: path)
        }
    }

    func testUnitsAndTheWhiteningDeterminant() throws {
        XCTAssertEqual(DensityUnits.bitsPerDimension(natsPerPoint: -64 * log(2), dimension: 64), -1, accuracy: 1e-15)
        XCTAssertEqual(DensityUnits.bitsPerDimension(natsPerPoint: 3, dimension: 2), 3 / (2 * log(2)), accuracy: 1e-15)
        // C = diag(4, 1/4, 9): ZCA M = diag(1/2, 2, 1/3), log|det M| = −log 3.
        let covariance: [Double] = [4, 0, 0, 0, 0.25, 0, 0, 0, 9]
        let zca = try WhiteningTransform.fit(mean: [0, 0, 0], covariance: covariance, method: .zca, epsilon: 0, components: .all,
                                             filter: PatchFilter())
        XCTAssertEqual(try XCTUnwrap(zca.logAbsDeterminant), -log(3.0), accuracy: 1e-6)
        let pca = try WhiteningTransform.fit(mean: [0, 0, 0], covariance: covariance, method: .pca, epsilon: 0, components: .count(2),
                                             filter: PatchFilter())
        XCTAssertNil(pca.logAbsDeterminant)
    }
}
