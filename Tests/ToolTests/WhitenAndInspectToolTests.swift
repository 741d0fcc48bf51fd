import DataKit
import XCTest

final class WhitenAndInspectToolTests: XCTestCase {
    /// Patches from the fixture images in `folder`, 6×6 gray.
    func makePatches(_ folder: String, name: String = "p.h5", count: Int = 3000, seed: Int = 1, size: Int = 6) throws -> String {
        let out = folder + "/" + name
        let images = ["camera.png", "grass-128.png", "gravel-128.png"].map { ToolHarness.fixture("images/" + $0) }
        let result = try ToolHarness.run("sk-patches", images + ["-o", out, "--size", "\(size)", "--count", "\(count)",
                                                                 "--seed", "\(seed)"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return out
    }

    func testZCAWhitenedCovarianceIsIdentityAndTheTransformReappliesExactly() throws {
        let folder = try temporaryFolder(self)
        let patches = try makePatches(folder)
        let fit = try ToolHarness.run("sk-whiten", [patches, "-o", folder + "/w.h5", "--epsilon", "0", "--json"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        XCTAssertTrue(fit.stdout.contains("\"output_dimension\" : 36"), fit.stdout)
        let w = try HDF5File.open(folder + "/w.h5")
        XCTAssertEqual(try w.fileKind(), .whitened)
        XCTAssertEqual(try w.history().count, 2)
        let data = try w.readMatrix("/data")
        var covariance = Matrix(rows: 36, cols: 36)
        Matrix.gram(data, alpha: 1 / Float(data.rows), into: &covariance)
        XCTAssertLessThan(covariance.maxAbsDifference(Matrix.identity(36)), 2e-3)
        XCTAssertEqual(try w.readStrings("/source/files").count, 3, "/source carried through")
        XCTAssertEqual(try w.attribute("patch_height"), .int(6))

        let again = try ToolHarness.run("sk-whiten", [patches, "-o", folder + "/again.h5", "--transform-from", folder + "/w.h5"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try HDF5File.open(folder + "/again.h5").readMatrix("/data"), data, "bit for bit")

        // Held-out patches (another seed) through the stored transform.
        let heldOut = try makePatches(folder, name: "h.h5", seed: 2)
        XCTAssertEqual(try ToolHarness.run("sk-whiten", [heldOut, "-o", folder + "/hw.h5", "--transform-from",
                                                         folder + "/w.h5"]).status, 0)
        XCTAssertEqual(try HDF5File.open(folder + "/hw.h5").dataset("/data").shape, [3000, 36])

        // A model trained on the whitened patches carries the transform: it whitens held-out data the same way.
        XCTAssertEqual(try ToolHarness.run("sk-train", ["sc", folder + "/w.h5", "-o", folder + "/m.h5", "--latents", "4",
                                                        "--epochs", "1", "--quiet"]).status, 0)
        let viaModel = try ToolHarness.run("sk-whiten", [heldOut, "-o", folder + "/hm.h5", "--transform-from", folder + "/m.h5"])
        XCTAssertEqual(viaModel.status, 0, viaModel.stderr)
        XCTAssertEqual(try HDF5File.open(folder + "/hm.h5").readMatrix("/data"), try HDF5File.open(folder + "/hw.h5").readMatrix("/data"))
    }

    func testPCAKeepsComponents() throws {
        let folder = try temporaryFolder(self)
        let patches = try makePatches(folder)
        XCTAssertEqual(try ToolHarness.run("sk-whiten", [patches, "-o", folder + "/pca.h5", "--method", "pca",
                                                         "--components", "10", "--dog", "0.5,2"]).status, 0)
        let f = try HDF5File.open(folder + "/pca.h5")
        XCTAssertEqual(try f.dataset("/data").shape, [3000, 10])
        XCTAssertEqual(try f.dataset("/whitening/matrix").shape, [10, 36])
        XCTAssertEqual(try f.dataset("/whitening/inverse").shape, [36, 10])
        XCTAssertEqual(try f.attribute("dog_sigmas", of: "/whitening"), .doubles([0.5, 2]))
        let tiles = try ToolHarness.run("sk-inspect", [folder + "/pca.h5", "--tiles", "-o", folder + "/t.png", "--count", "9",
                                                       "--zoom", "2"])
        XCTAssertEqual(tiles.status, 0, tiles.stderr)
        let picture = try PNGCodec.decode(file: folder + "/t.png")
        XCTAssertEqual([picture.width, picture.height], [3 * 13 + 1, 3 * 13 + 1], "3×3 tiles of 12 pixels plus borders")
    }

    func testBadInputs() throws {
        let folder = try temporaryFolder(self)
        let patches = try makePatches(folder)
        let out = folder + "/w.h5"
        func run(_ arguments: [String]) throws -> ToolHarness.Result { try ToolHarness.run("sk-whiten", arguments) }
        let kept: Set<String> = ["p.h5"]
        assertFails(try run([ToolHarness.fixture("broken/nan.h5"), "-o", out]), code: 65,
                    containing: "nan.h5: /data holds NaN at row 37", folder: folder, keeping: kept)
        assertFails(try run([ToolHarness.fixture("broken/wrong-kind.h5"), "-o", out]), code: 65,
                    containing: "is a 'multilabel' file; expected patches", folder: folder, keeping: kept)
        assertFails(try run([ToolHarness.fixture("broken/not-hdf5.h5"), "-o", out]), code: 65,
                    containing: "not an HDF5 file", folder: folder, keeping: kept)
        assertFails(try run([ToolHarness.fixture("broken/truncated.h5"), "-o", out]), code: 65,
                    containing: "truncated", folder: folder, keeping: kept)
        assertFails(try run([folder + "/absent.h5", "-o", out]), code: 66, containing: "absent.h5: no such file",
                    folder: folder, keeping: kept)
        assertFails(try run([patches, "-o", out, "--method", "pca", "--components", "37"]), code: 64,
                    containing: "--components 37 is outside 1...36", folder: folder, keeping: kept)
        assertFails(try run([patches, "-o", out, "--components", "3"]), code: 64, containing: "--method pca",
                    folder: folder, keeping: kept)
        assertFails(try run([patches, "-o", out, "--dog", "1"]), code: 64, containing: "--dog", folder: folder, keeping: kept)
        // A transform fitted on 6×6 patches refuses 8×8 ones, saying what to rerun.
        XCTAssertEqual(try run([patches, "-o", folder + "/w6.h5"]).status, 0)
        let eight = try makePatches(folder, name: "p8.h5", size: 8)
        assertFails(try run([eight, "-o", out, "--transform-from", folder + "/w6.h5"]), code: 65,
                    containing: "expects 36; rerun sk-patches", folder: folder, keeping: ["p.h5", "w6.h5", "p8.h5"])
        assertFails(try run([patches, "-o", out, "--transform-from", patches]), code: 65,
                    containing: "is a 'patches' file; expected whitened or model", folder: folder, keeping: ["p.h5", "w6.h5", "p8.h5"])
    }

    func testInspectReportsAndRejects() throws {
        let folder = try temporaryFolder(self)
        let patches = try makePatches(folder)
        let text = try ToolHarness.run("sk-inspect", [patches])
        XCTAssertEqual(text.status, 0, text.stderr)
        for fragment in ["kind: patches (format 1)", "/data", "float32 [3000, 36]", "shuffle+gzip 4", "history:", "min 0"] {
            XCTAssertTrue(text.stdout.contains(fragment), "missing '\(fragment)' in\n\(text.stdout)")
        }
        let json = try ToolHarness.run("sk-inspect", [patches, "--json"])
        XCTAssertEqual(json.status, 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["kind"] as? String, "patches")
        XCTAssertEqual(json.stderr, "", "--json keeps stderr clean")

        let tiles = try ToolHarness.run("sk-inspect", [patches, "--tiles", "-o", folder + "/tiles.png"])
        XCTAssertEqual(tiles.status, 0, tiles.stderr)
        XCTAssertEqual(try PNGCodec.decode(file: folder + "/tiles.png").width, 10 * (6 * 8 + 1) + 1, "100 tiles, zoom 8")
        assertFails(try ToolHarness.run("sk-inspect", [ToolHarness.fixture("broken/not-hdf5.h5")]), code: 65,
                    containing: "not an HDF5 file", folder: folder, keeping: ["p.h5", "tiles.png"])
        assertFails(try ToolHarness.run("sk-inspect", [patches, "--tiles"]), code: 64, containing: "-o", folder: folder,
                    keeping: ["p.h5", "tiles.png"])
        assertFails(try ToolHarness.run("sk-inspect", [ToolHarness.fixture("broken/nan.h5"), "--tiles", "-o", folder + "/x.png"]),
                    code: 65, containing: "NaN or Inf", folder: folder, keeping: ["p.h5", "tiles.png"])
    }

    func testHelpHasExamples() throws {
        for tool in ["sk-patches", "sk-whiten", "sk-inspect"] {
            let help = try ToolHarness.run(tool, ["--help"])
            XCTAssertEqual(help.status, 0)
            XCTAssertTrue(help.stdout.contains("Examples:"), tool)
        }
    }
}

import Foundation
