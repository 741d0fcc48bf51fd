import DataKit
import Foundation
import XCTest

/// Files that are well-formed HDF5 but inconsistent or nonsensical (issue 14): every reader checks every shape,
/// attribute and value it relies on, once, and every tool that reads the file fails with 65 and one line naming the
/// dataset or attribute, instead of trapping later or turning the nonsense into numbers. Options that make no sense
/// are refused with 64.
final class ReaderValidationToolTests: XCTestCase {
    // MARK: Crafted files

    /// A small multilabel file: 40 rows, 8 features, 6 labels (one or two a row), splits train (0..<30) and test.
    func writeMultiLabel(_ path: String, labelNames: [String]? = (0..<6).map { "label\($0)" }) throws {
        var x = Matrix(rows: 40, cols: 8), y = Matrix(rows: 40, cols: 6)
        for i in 0..<40 {
            for j in 0..<8 where (i + j) % 3 == 0 { x[i, j] = Float(1 + (i * j) % 5) }
            y[i, i % 6] = 1
            if i % 4 == 0 { y[i, (i + 1) % 6] = 1 }
        }
        let dataset = MultiLabelDataset(features: CSRMatrix(dense: x), labels: CSRMatrix(dense: y), labelNames: labelNames,
                                        splits: [.init(name: "train", rows: (0..<30).map(Int64.init)),
                                                 .init(name: "test", rows: (30..<40).map(Int64.init))],
                                        sourceFormat: "xc")
        let file = try HDF5File.create(path)
        try dataset.write(to: file, history: ["crafted by ReaderValidationToolTests"])
        try file.close()
    }

    /// A copy of `source` at `path`, changed by `edit` (opened writable).
    func variant(of source: String, at path: String, _ edit: (HDF5File) throws -> Void) throws -> String {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: source, toPath: path)
        let file = try HDF5File.open(path, writable: true)
        try edit(file)
        try file.close()
        return path
    }

    /// Replaces the dataset at `datasetPath` with `values` of `shape`.
    func replace<T: HDF5Scalar>(_ datasetPath: String, in file: HDF5File, with values: [T], shape: [Int]) throws {
        try file.remove(datasetPath)
        try file.write(values, shape: shape, to: datasetPath)
    }

    /// The bars patches (5 × 5, D = 25) every patches test starts from.
    func bars(_ folder: String, count: Int = 500) throws -> String {
        let path = folder + "/bars.h5"
        let synth = try ToolHarness.run("sk-synth", ["bars", "-o", path, "--count", String(count), "--seed", "1"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        return path
    }

    /// Runs `tool` with `arguments` and asserts the failure `assertFails` checks; the folder `folder` must afterwards
    /// hold only `keeping`.
    func assertRefused(_ tool: String, _ arguments: [String], code: Int32 = 65, _ fragment: String, folder: String,
                       keeping: Set<String>, file: StaticString = #filePath, line: UInt = #line) throws
    {
        assertFails(try ToolHarness.run(tool, arguments), code: code, containing: fragment, folder: folder, keeping: keeping,
                    file: file, line: line)
    }

    func contents(_ folder: String) throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: folder)) }

    /// A small multilabel file and a supervised SDLGM model trained on it for one epoch, in a fresh folder.
    func trainedSupervisedModel() throws -> (folder: String, data: String, model: String) {
        let folder = try temporaryFolder(self)
        let data = folder + "/ml.h5", model = folder + "/model.h5"
        try writeMultiLabel(data)
        let train = try ToolHarness.run("sk-train", ["sdlgm", data, "-o", model, "--max-active", "2", "--hidden", "8",
                                                     "--epochs", "1", "--batch-size", "8", "--seed", "1", "--quiet"])
        XCTAssertEqual(train.status, 0, train.stderr)
        return (folder, data, model)
    }

    // MARK: One test per class

    /// An SDLGM model whose label head takes 4 inputs while the hidden layer gives 8 trapped in `Linear.forward` in
    /// sk-eval, sk-encode and `--resume`; the model reader now names the layer. L0 > C is refused before training.
    func testSupervisedModelWhoseLayersDisagreeIsRefusedByEveryTool() throws {
        let (folder, data, model) = try trainedSupervisedModel()
        let bad = try variant(of: model, at: folder + "/bad.h5") { file in
            try self.replace("/model/labels/weight", in: file, with: [Float](repeating: 0.1, count: 24), shape: [6, 4])
        }
        let kept = try contents(folder)
        let message = "bad.h5: /model/labels/weight takes 4 inputs"
        try assertRefused("sk-eval", [bad, data, "--split", "test"], message, folder: folder, keeping: kept)
        try assertRefused("sk-encode", [bad, data, "--split", "test", "-o", folder + "/codes.h5"], message, folder: folder, keeping: kept)
        try assertRefused("sk-train", ["sdlgm", data, "-o", folder + "/more.h5", "--max-active", "2", "--hidden", "8",
                                       "--epochs", "1", "--resume", bad], message, folder: folder, keeping: kept)
        let tooManyLevels = try variant(of: model, at: folder + "/levels.h5") { try $0.setAttribute("max_active", .int(1000)) }
        try assertRefused("sk-eval", [tooManyLevels, data], "max_active = 1000 is outside 1...6", folder: folder,
                          keeping: kept.union(["levels.h5"]))
        try assertRefused("sk-train", ["sdlgm", data, "-o", folder + "/wide.h5", "--max-active", "1000", "--hidden", "8"], code: 64,
                          "--max-active 1000 exceeds the 6 labels", folder: folder, keeping: kept.union(["levels.h5"]))
    }

    /// `/label_names` shorter than C trapped in sk-inspect, and a `/features` CSR every other tool refuses (unsorted
    /// columns, NaN values) was described as if it were fine: sk-inspect now reads the file as the others do.
    func testInspectRefusesWhatEveryOtherToolRefuses() throws {
        let folder = try temporaryFolder(self)
        let data = folder + "/ml.h5"
        try writeMultiLabel(data)
        XCTAssertEqual(try ToolHarness.run("sk-inspect", [data]).status, 0)
        let short = folder + "/short.h5"
        try writeMultiLabel(short, labelNames: (0..<4).map { "label\($0)" })
        let unsorted = try variant(of: data, at: folder + "/unsorted.h5") { file in
            var indices = try file.read("/features/indices", as: Int64.self).values
            indices.swapAt(0, 1)  // row 0 holds columns 0, 3, 6: now 3, 0, 6
            try self.replace("/features/indices", in: file, with: indices, shape: [indices.count])
        }
        let nan = try variant(of: data, at: folder + "/nan.h5") { file in
            var values = try file.read("/features/data", as: Float.self).values
            values[4] = .nan
            try self.replace("/features/data", in: file, with: values, shape: [values.count])
        }
        let kept = try contents(folder)
        try assertRefused("sk-inspect", [short], "/label_names has 4 names for 6 labels", folder: folder, keeping: kept)
        try assertRefused("sk-inspect", [unsorted], "/features: invalid CSR matrix: row 0 has unsorted or duplicate column 0",
                          folder: folder, keeping: kept)
        try assertRefused("sk-inspect", [nan], "/features: invalid CSR matrix: row 1 holds NaN at column 5", folder: folder,
                          keeping: kept)
    }

    /// NaN in a multilabel `/features/data`: sk-eval and sk-encode exited 0 (and `--export` wrote `nan`).
    func testNonFiniteFeaturesAreRefusedByEvalAndEncode() throws {
        let (folder, data, model) = try trainedSupervisedModel()
        let nan = try variant(of: data, at: folder + "/nan.h5") { file in
            var values = try file.read("/features/data", as: Float.self).values
            values[values.count - 1] = .infinity
            try self.replace("/features/data", in: file, with: values, shape: [values.count])
        }
        let kept = try contents(folder)
        try assertRefused("sk-eval", [model, nan, "--split", "test"], "nan.h5: /features: invalid CSR matrix: row 39 holds Inf",
                          folder: folder, keeping: kept)
        try assertRefused("sk-encode", [model, nan, "-o", folder + "/codes.h5"], "row 39 holds Inf", folder: folder, keeping: kept)
    }

    /// Splits stored as fractional floats (truncated silently by HDF5) or naming a row twice.
    func testSplitsMustBeDistinctIntegerRows() throws {
        let folder = try temporaryFolder(self)
        let data = folder + "/ml.h5"
        try writeMultiLabel(data)
        let fractional = try variant(of: data, at: folder + "/fractional.h5") { file in
            try self.replace("/splits/test", in: file, with: [30.5, 31.7], shape: [2])
        }
        let repeated = try variant(of: data, at: folder + "/repeated.h5") { file in
            try self.replace("/splits/test", in: file, with: [Int64(30), 31, 30], shape: [3])
        }
        let kept = try contents(folder)
        try assertRefused("sk-inspect", [fractional], "/splits/test must be a 1-D array of integer row numbers", folder: folder, keeping: kept)
        try assertRefused("sk-train", ["sdlgm", repeated, "-o", folder + "/m.h5", "--split", "test", "--stream"],
                          "/splits/test holds row 30 twice", folder: folder, keeping: kept)
        try assertRefused("sk-inspect", [repeated], "/splits/test holds row 30 twice", folder: folder, keeping: kept)
    }

    /// `patch_height × patch_width × channels ≠ D`: one check in DataKit's reader of patches and whitened rows, for
    /// every tool (sk-train had its own; sk-whiten and sk-inspect --tiles read on).
    func testPatchGeometryMustMatchTheRows() throws {
        let folder = try temporaryFolder(self)
        let bad = try variant(of: try bars(folder), at: folder + "/bad.h5") { try $0.setAttribute("patch_height", .int(4)) }
        let kept = try contents(folder)
        let message = "bad.h5: records patches of 4×5×1 = 20 values, but its /data rows hold 25 (patch_height × patch_width × channels must be D)"
        try assertRefused("sk-whiten", [bad, "-o", folder + "/w.h5"], message, folder: folder, keeping: kept)
        try assertRefused("sk-inspect", [bad, "--tiles", "-o", folder + "/t.png"], message, folder: folder, keeping: kept)
        try assertRefused("sk-train", ["sc", bad, "-o", folder + "/m.h5", "--latents", "4", "--epochs", "1"], message,
                          folder: folder, keeping: kept)
    }

    /// `sparsekit.format_version = 99`: read as if it were version 1 before.
    func testUnknownFormatVersionIsRefused() throws {
        let folder = try temporaryFolder(self)
        let future = try variant(of: try bars(folder), at: folder + "/future.h5") {
            try $0.setAttribute(RootAttribute.formatVersion, .int(99))
        }
        let kept = try contents(folder)
        let message = "future.h5: has sparsekit.format_version = 99, but this build of SparseKit reads format version 1 only"
        try assertRefused("sk-whiten", [future, "-o", folder + "/w.h5"], message, folder: folder, keeping: kept)
        try assertRefused("sk-inspect", [future], message, folder: folder, keeping: kept)
        try assertRefused("sk-train", ["sc", future, "-o", folder + "/m.h5", "--latents", "4", "--epochs", "1"], message,
                          folder: folder, keeping: kept)
    }

    /// Values whose squares overflow float32 (3e38) became Inf inside whitening and training.
    func testValuesBeyondTheDocumentedBoundAreRefused() throws {
        let folder = try temporaryFolder(self)
        let huge = try variant(of: try bars(folder), at: folder + "/huge.h5") { file in
            var (values, shape) = try file.read("/data", as: Float.self)
            values[7 * 25 + 3] = 3e38
            try self.replace("/data", in: file, with: values, shape: shape)
        }
        let kept = try contents(folder)
        let message = "huge.h5: /data holds 3e+38, beyond ±1e+15, at row 7"
        try assertRefused("sk-whiten", [huge, "-o", folder + "/w.h5"], message, folder: folder, keeping: kept)
        try assertRefused("sk-train", ["sc", huge, "-o", folder + "/m.h5", "--latents", "4", "--epochs", "1"], message,
                          folder: folder, keeping: kept)
    }

    /// Model parameters that are finite but nonsense: an unsupervised SDLGM with log σ² = 1e30 printed "ELBO -nan ±
    /// -nan" with exit 0; a malformed ES-SC `/model/sigma2` was reported as "/model/lambda has 10 values".
    func testNonsenseModelParametersAreNamed() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder, count: 200)
        let unsupervised = folder + "/u.h5", sc = folder + "/sc.h5"
        XCTAssertEqual(try ToolHarness.run("sk-train", ["sdlgm", data, "--mode", "unsupervised", "--latents", "10", "--max-active", "3",
                                                        "--hidden", "16", "--epochs", "1", "-o", unsupervised, "--quiet"]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-train", ["sc", data, "--latents", "10", "--scheme", "em", "--epochs", "1", "-o", sc,
                                                        "--quiet"]).status, 0)
        let noisy = try variant(of: unsupervised, at: folder + "/noisy.h5") { file in
            try self.replace("/model/log_sigma2", in: file, with: [Float(1e30)], shape: [])
        }
        let sigmas = try variant(of: sc, at: folder + "/sigmas.h5") { file in
            try self.replace("/model/sigma2", in: file, with: [Float(1), 2], shape: [2])
        }
        let kept = try contents(folder)
        try assertRefused("sk-eval", [noisy, data], "noisy.h5: /model/log_sigma2 must be one value in -60.0...60.0", folder: folder,
                          keeping: kept)
        try assertRefused("sk-eval", [sigmas, data], "sigmas.h5: /model/sigma2 has shape [2], expected a scalar", folder: folder,
                          keeping: kept)
    }

    /// Options that turned into nonsense numbers: propensities NaN or negative, a DoG filter that zeroes every patch
    /// or is far wider than the patch (`--dog 1e6,2e6` ran for minutes; σ
    /// beyond 1000 is now refused by the option's parser, below it by the patch size).
    func testNonsenseOptionsAreRefused() throws {
        let folder = try temporaryFolder(self)
        let data = try bars(folder)
        let kept = try contents(folder)
        for (option, value) in [("--propensity-a", "nan"), ("--propensity-b", "-1"), ("--propensity-b", "0")] {
            try assertRefused("sk-eval", [data, data, option, value], code: 64, "\(option) must be a positive finite number",
                              folder: folder, keeping: kept)
        }
        for dog in ["0,0", "1,1"] {
            try assertRefused("sk-whiten", [data, "-o", folder + "/w.h5", "--dog", dog], code: 64, "has equal sigmas",
                              folder: folder, keeping: kept)
        }
        try assertRefused("sk-whiten", [data, "-o", folder + "/w.h5", "--dog", "100,200"], code: 64,
                          "has a sigma beyond 5 pixels, the longer side of the 5×5 patches", folder: folder, keeping: kept)
    }

    /// `--count -5` said "Missing value for '--count'": a negative number given with a space is now read as the
    /// option's value, so that the range check names the real problem.
    func testNegativeNumbersReachTheRangeCheck() throws {
        let folder = try temporaryFolder(self)
        let result = try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/b.h5", "--count", "-5"])
        assertFails(result, code: 64, containing: "--count", folder: folder)
        XCTAssertFalse(result.stderr.contains("Missing value"), result.stderr)
        let data = try bars(folder)
        let whiten = try ToolHarness.run("sk-whiten", [data, "-o", folder + "/w.h5", "--components", "-3"])
        assertFails(whiten, code: 64, containing: "--components", folder: folder, keeping: ["bars.h5"])
        XCTAssertFalse(whiten.stderr.contains("Missing value"), whiten.stderr)
    }
}
