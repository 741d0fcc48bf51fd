import DataKit
import XCTest

/// sk-eval, sk-encode and sk-inspect read a model file's kind once and refuse, in one line naming the file and the
/// kind, what that kind cannot do.
final class ModelDispatchToolTests: XCTestCase {
    /// A Gaussian baseline trained on 4×4 patches, a supervised (most-frequent) SDLGM model and its multilabel data,
    /// all small and fast; the folder and the three paths.
    func models() throws -> (folder: String, baseline: String, supervised: String, multilabel: String) {
        let folder = try temporaryFolder(self)
        let baseline = folder + "/gaussian.h5", supervised = folder + "/sdlgm.h5", multilabel = folder + "/tiny.h5"
        let fit = try ToolHarness.run("sk-train", ["baseline", ToolHarness.fixture("broken/good-4x4.h5"), "-o", baseline,
                                                   "--model", "gaussian", "--quiet"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let convert = try ToolHarness.run("sk-convert", [ToolHarness.fixture("multilabel/tiny.arff"), "--format", "arff", "--xml",
                                                         ToolHarness.fixture("multilabel/tiny.xml"), "-o", multilabel, "--quiet"])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let train = try ToolHarness.run("sk-train", ["sdlgm", multilabel, "-o", supervised, "--method", "most-frequent",
                                                     "--split", "all", "--quiet"])
        XCTAssertEqual(train.status, 0, train.stderr)
        return (folder, baseline, supervised, multilabel)
    }

    func testEncodeRefusesABaselineDensity() throws {
        let (folder, baseline, _, _) = try models()
        assertFails(try ToolHarness.run("sk-encode", [baseline, ToolHarness.fixture("broken/good-4x4.h5"), "-o", folder + "/codes.h5"]),
                    code: 64, containing: "\(baseline): is a gaussian baseline density, which has no latent codes",
                    folder: folder, keeping: ["gaussian.h5", "sdlgm.h5", "tiny.h5"])
    }

    func testTilesRefuseASupervisedModel() throws {
        let (folder, _, supervised, _) = try models()
        assertFails(try ToolHarness.run("sk-inspect", [supervised, "--tiles", "-o", folder + "/tiles.png"]), code: 64,
                    containing: "\(supervised): a supervised SDLGM model has no dictionary to draw",
                    folder: folder, keeping: ["gaussian.h5", "sdlgm.h5", "tiny.h5"])
        // The same model still encodes and evaluates: only drawing is refused.
        let encode = try ToolHarness.run("sk-encode", [supervised, folder + "/tiny.h5", "-o", folder + "/codes.h5"])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        let codes = try HDF5File.open(folder + "/codes.h5")
        XCTAssertEqual(try codes.fileKind(), .codes)
        XCTAssertEqual(try codes.attribute("model_file"), .string(supervised))
        XCTAssertEqual(try codes.attribute("max_active"), .int(3), "the default L0, 10 capped at the 3 labels (--max-active does not apply to most-frequent)")
        XCTAssertEqual(try codes.history().count, 2, "the data file's history, then sk-encode's line")
        XCTAssertEqual(try codes.history().last?.hasPrefix("sk-encode"), true)
    }

    func testEvalAndEncodeRefuseFilesThatAreNotModels() throws {
        let folder = try temporaryFolder(self)
        let patches = ToolHarness.fixture("broken/good-4x4.h5")
        assertFails(try ToolHarness.run("sk-eval", [patches, patches]), code: 65,
                    containing: "\(patches): is a 'patches' file; expected model", folder: folder)
        assertFails(try ToolHarness.run("sk-eval", [ToolHarness.fixture("broken/no-kind.h5"), patches]), code: 65,
                    containing: "is not a SparseKit file", folder: folder)
        // A model file whose `model` attribute names no kind SparseKit knows.
        let unknown = folder + "/unknown.h5"
        let file = try HDF5File.create(unknown)
        try file.setAttribute("model", .string("pca"))
        try file.writeHeader(kind: .model, history: [])
        try file.close()
        for tool in ["sk-eval", "sk-encode"] {
            let arguments = [unknown, patches] + (tool == "sk-encode" ? ["-o", folder + "/codes.h5"] : [])
            assertFails(try ToolHarness.run(tool, arguments), code: 65,
                        containing: "\(unknown): holds an unknown model (attribute model = 'pca'", folder: folder, keeping: ["unknown.h5"])
        }
    }
}
