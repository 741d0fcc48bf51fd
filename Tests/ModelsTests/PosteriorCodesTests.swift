import DataKit
@testable import Models
import XCTest

/// `sk-encode`'s ES-SC codes (`PosteriorCodes`), read, encoded and written block by block.
final class PosteriorCodesTests: XCTestCase {
    /// Encoding the rows of a file in blocks gives the codes of encoding them all at once, bit for bit, for fitted
    /// posteriors and for an amortized encoder (the blocks hold whole 512-row batches); a row of NaN is named.
    func testBlockwiseCodesEqualTheWholeMatrixCodes() throws {
        let folder = try temporaryFolder(self)
        let (x, _, w) = BarsData.sample(count: 1100, seed: 2)
        let input = try HDF5File.create(folder + "/bars.h5")
        try input.write(x, to: "/data")
        try input.close()
        let model = SparseCodingModel(w: w, lambda: [Float](repeating: 1, count: w.cols), sigma2: 0.01)
        var generator = SeededGenerator(seed: 5)
        let encoder = GaussianEncoder(dimension: w.rows, latents: w.cols, generator: &generator)
        for codes in [PosteriorCodes(model: model, encoder: nil), PosteriorCodes(model: model, encoder: encoder)] {
            let whole = codes.encode(x)
            let output = try HDF5File.create(folder + "/codes.h5")
            var reports: [Int] = []
            try codes.encode(rowsOf: try HDF5File.open(folder + "/bars.h5").dataset("/data"), into: output, blockRows: 512) { done, total in
                XCTAssertEqual(total, 1100)
                reports.append(done)
            }
            try output.close()
            XCTAssertEqual(reports, [512, 1024, 1100])
            let written = try HDF5File.open(folder + "/codes.h5")
            XCTAssertEqual(try written.readMatrix("/codes"), whole.mu)
            XCTAssertEqual(try written.readMatrix("/codes_std"), whole.std)
            XCTAssertGreaterThan(whole.std.storage.min()!, 0)
        }
        var broken = x
        broken[1050, 3] = .nan
        let damaged = try HDF5File.create(folder + "/nan.h5")
        try damaged.write(broken, to: "/data")
        try damaged.close()
        let output = try HDF5File.create(folder + "/codes-nan.h5")
        XCTAssertThrowsError(try PosteriorCodes(model: model, encoder: nil).encode(
            rowsOf: try HDF5File.open(folder + "/nan.h5").dataset("/data"), into: output, blockRows: 512)) { error in
            XCTAssertEqual((error as? SparseKitError)?.kind, .badInput)
            XCTAssertTrue("\(error)".contains("NaN at row 1050"), "\(error)")
        }
    }
}

/// `sk-eval`'s ES-SC report computed block by block.
final class BlockwiseEvaluationTests: XCTestCase {
    /// Blocks of 512 rows give the report of one block of all rows: the same fitted posteriors, held-out ELBO,
    /// importance-sampled log-likelihood (one generator across blocks) and Gini; the objective from summed block
    /// statistics agrees to rounding.
    func testBlocksGiveTheReportOfOneBlock() {
        let (x, _, w) = BarsData.sample(count: 600, seed: 4)
        let model = SparseCodingModel(w: w, lambda: [Float](repeating: 1, count: w.cols), sigma2: 0.01)
        for settings in [SparseCodingEvaluation.LikelihoodSettings(method: .is, samples: 20, seed: 9),
                         SparseCodingEvaluation.LikelihoodSettings(method: .ais, samples: 2, temperatures: 10, seed: 9,
                                                                   keepsPerPoint: true)] {
            let whole = SparseCodingEvaluation.run(model, rows: x.rows, likelihood: settings, blockRows: 8192) { x.rowSlice($0) }
            var blocks: [Range<Int>] = []
            let split = SparseCodingEvaluation.run(model, rows: x.rows, likelihood: settings, blockRows: 512) {
                blocks.append($0)
                return x.rowSlice($0)
            }
            XCTAssertEqual(blocks, [0..<512, 512..<600])
            XCTAssertEqual(split.heldOutELBO.mean, whole.heldOutELBO.mean)
            XCTAssertEqual(split.heldOutELBO.standardError, whole.heldOutELBO.standardError)
            XCTAssertEqual(split.logLikelihood?.mean, whole.logLikelihood?.mean, "\(settings.method)")
            XCTAssertEqual(split.logLikelihood!.meanEffectiveSampleSize, whole.logLikelihood!.meanEffectiveSampleSize,
                           accuracy: 1e-9 * whole.logLikelihood!.meanEffectiveSampleSize)
            XCTAssertEqual(split.gini, whole.gini, accuracy: 1e-12)
            XCTAssertEqual(split.objective, whole.objective, accuracy: 1e-6 * abs(whole.objective), "float32 sums")
            if let points = whole.perPoint {
                XCTAssertEqual(points.logLikelihood, split.perPoint?.logLikelihood)
                XCTAssertEqual(points.logLikelihood.count, 600)
                XCTAssertEqual(points.logLikelihood.reduce(0, +) / 600, whole.logLikelihood!.mean, accuracy: 1e-9)
                XCTAssertEqual(points.heldOutELBO.reduce(0, +) / 600, whole.heldOutELBO.mean, accuracy: 1e-9)
            } else {
                XCTAssertNil(split.perPoint, "kept only when asked for")
            }
        }
    }

    /// The running mean and standard error equal the two-pass formulas.
    func testRunningMomentsMatchTwoPassFormulas() {
        var generator = SeededGenerator(seed: 3)
        let values = (0..<1000).map { _ in 100 + 3 * generator.normal() }
        var moments = RunningMoments()
        for value in values { moments.add(value) }
        let mean = values.reduce(0, +) / 1000
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 999
        XCTAssertEqual(moments.mean, mean, accuracy: 1e-12 * mean)
        XCTAssertEqual(moments.standardError, (variance / 1000).squareRoot(), accuracy: 1e-10)
        XCTAssertEqual(RunningMoments().standardError, 0)
    }
}

/// Unsupervised SDLGM codes and evaluation computed block by block (`sk-encode`, `sk-eval` on large data).
final class BlockwiseUnsupervisedTests: XCTestCase {
    /// Blocks of 512 rows give the CSR codes of all rows at once, and the report of one block: the same ELBOs (one
    /// noise generator across blocks), reconstruction error and active counts; the data variance from sums agrees to
    /// rounding.
    func testBlocksGiveTheCodesAndReportOfOneBlock() throws {
        var g = SeededGenerator(seed: 8)
        let model = UnsupervisedSDLGM(dimension: 6, latents: 8, maxActive: 3, hidden: [5], decoder: .linear,
                                      likelihood: .gaussian, generator: &g)
        let x = Matrix(rows: 1100, cols: 6, storage: (0..<6600).map { _ in Float(2 + g.normal()) })
        let folder = try temporaryFolder(self)
        let output = try HDF5File.create(folder + "/codes.h5")
        var blocks: [Range<Int>] = []
        let nonZeros = try model.writeCodes(rows: 1100, into: output, groupPath: "/codes", blockRows: 512) {
            blocks.append($0)
            return x.rowSlice($0)
        }
        try output.close()
        XCTAssertEqual(blocks, [0..<512, 512..<1024, 1024..<1100])
        let whole = try model.codes(x)
        XCTAssertEqual(try HDF5File.open(folder + "/codes.h5").readCSR("/codes"), whole)
        XCTAssertEqual(nonZeros, whole.nonZeros)

        let one = try UnsupervisedEvaluation.run(model, rows: 1100, samples: 3, seed: 5, blockRows: 8192) { x.rowSlice($0) }
        let split = try UnsupervisedEvaluation.run(model, rows: 1100, samples: 3, seed: 5, blockRows: 512) { x.rowSlice($0) }
        XCTAssertEqual(split.heldOutELBO.mean, one.heldOutELBO.mean)
        XCTAssertEqual(split.heldOutELBO.standardError, one.heldOutELBO.standardError)
        XCTAssertEqual(split.activeCounts, one.activeCounts)
        XCTAssertEqual(split.reconstructionError, one.reconstructionError, accuracy: 1e-12 * one.reconstructionError)
        XCTAssertEqual(split.dataVariance, one.dataVariance, accuracy: 1e-9 * one.dataVariance)
        let mean = x.storage.reduce(0.0) { $0 + Double($1) } / 6600
        XCTAssertEqual(one.dataVariance, 1, accuracy: 0.1, "the N(2, 1) data's variance, not its second moment (\(mean))")
    }
}
