import DataKit
import XCTest

final class PatchesToolTests: XCTestCase {
    let images = ["camera.png", "horse.png", "chessboard_RGB.png"].map { ToolHarness.fixture("images/" + $0) }

    func testWritesTheContractLayout() throws {
        let folder = try temporaryFolder(self)
        let out = folder + "/p.h5"
        let result = try ToolHarness.run("sk-patches", images + ["-o", out, "--size", "8", "--width", "6",
                                                                 "--count", "500", "--seed", "4", "--color", "rgb", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\"patches\" : 500"), result.stdout)
        let f = try HDF5File.open(out)
        XCTAssertEqual(try f.fileKind(), .patches)
        XCTAssertEqual(try f.dataset("/data").shape, [500, 8 * 6 * 3])
        XCTAssertEqual(try f.readStrings("/source/files"), images)
        XCTAssertEqual(try f.dataset("/source/position").shape, [500, 2])
        XCTAssertEqual(try f.attribute("patch_height"), .int(8))
        XCTAssertEqual(try f.attribute("patch_width"), .int(6))
        XCTAssertEqual(try f.attribute("channels"), .int(3))
        XCTAssertEqual(try f.attribute("color"), .string("rgb"))
        XCTAssertEqual(try f.attribute("seed"), .int(4))
        XCTAssertTrue(try f.history().first?.hasPrefix("sk-patches \(SparseKit.version) | args: ") ?? false)

        // Every stored patch equals the image pixels at its recorded position.
        let data = try f.readMatrix("/data")
        let (imageIndex, _) = try f.read("/source/image", as: Int32.self)
        let (positions, _) = try f.read("/source/position", as: Int32.self)
        let planes = try images.map { try ImagePlane(png: $0, color: .rgb) }
        for i in stride(from: 0, to: 500, by: 7) {
            let plane = planes[Int(imageIndex[i])]
            let (row, column) = (Int(positions[2 * i]), Int(positions[2 * i + 1]))
            for r in 0..<8 { for c in 0..<6 { for ch in 0..<3 {
                XCTAssertEqual(data[i, (r * 6 + c) * 3 + ch], plane.pixels[((row + r) * plane.width + column + c) * 3 + ch])
            } } }
        }
        XCTAssertEqual(Set(imageIndex).count, 3, "all images contribute")
    }

    func testSameSeedSameBytes() throws {
        let folder = try temporaryFolder(self)
        // The same command line twice (the history records it, the output path included), the time fixed.
        let run = { (seed: String) in
            try ToolHarness.run("sk-patches", self.images + ["--count", "300", "--seed", seed, "--min-std", "0.01",
                                                             "-o", folder + "/p.h5"], environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        }
        let read = { try Data(contentsOf: URL(fileURLWithPath: folder + "/p.h5")) }
        XCTAssertEqual(try run("11").status, 0)
        let first = try read()
        XCTAssertEqual(try run("11").status, 0)
        XCTAssertEqual(try read(), first, "same seed, same bytes")
        let data = try HDF5File.open(folder + "/p.h5").readMatrix("/data")
        XCTAssertEqual(try run("12").status, 0)
        XCTAssertNotEqual(try HDF5File.open(folder + "/p.h5").readMatrix("/data"), data, "another seed, other patches")
    }

    func testGridMode() throws {
        let folder = try temporaryFolder(self)
        let result = try ToolHarness.run("sk-patches", [ToolHarness.fixture("images/camera.png"), "-o", folder + "/g.h5",
                                                        "--size", "16", "--grid", "--stride", "100", "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "", "--quiet prints nothing")
        // 512×512, 16×16 patches, stride 100: corners 0, 100, …, 400 (496 is the last valid) → 5 × 5.
        XCTAssertEqual(try HDF5File.open(folder + "/g.h5").dataset("/data").shape, [25, 256])
    }

    func testBadInputs() throws {
        let folder = try temporaryFolder(self)
        let out = folder + "/p.h5"
        func run(_ arguments: [String]) throws -> ToolHarness.Result { try ToolHarness.run("sk-patches", arguments) }
        let camera = ToolHarness.fixture("images/camera.png")
        assertFails(try run(["missing.png", "-o", out, "--count", "5"]), code: 66, containing: "missing.png: no such file",
                    folder: folder)
        for (name, message) in [("not-a-png.png", "is not a PNG image"), ("truncated.png", "corrupt or truncated PNG"),
                                ("empty.png", "is empty"), ("corrupt-data.png", "corrupt or truncated PNG"),
                                ("tiny-8x8.png", "image of 8×8 pixels is smaller than the 16×16 patch")]
        {
            let broken = ToolHarness.fixture("broken/" + name)
            assertFails(try run([camera, broken, "-o", out, "--count", "5"]), code: 65, containing: broken + ": " + message,
                        folder: folder)
        }
        assertFails(try run([camera, "-o", out, "--count", "5", "--size", "0"]), code: 64, containing: "at least 1",
                    folder: folder)
        assertFails(try run([camera, "-o", out]), code: 64, containing: "--count", folder: folder)
        assertFails(try run([camera, "-o", folder + "/no/such/dir/p.h5", "--count", "5"]), code: 73,
                    containing: "does not exist", folder: folder)
        assertFails(try run([camera, "-o", camera, "--count", "5"]), code: 64, containing: "is also an input", folder: folder)
    }

    func testFailureKeepsThePreviousOutput() throws {
        let folder = try temporaryFolder(self)
        let out = folder + "/p.h5"
        XCTAssertEqual(try ToolHarness.run("sk-patches", [images[0], "-o", out, "--count", "10"]).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let failed = try ToolHarness.run("sk-patches", [images[0], ToolHarness.fixture("broken/truncated.png"), "-o", out,
                                                        "--count", "10"])
        assertFails(failed, code: 65, containing: "truncated.png", folder: folder, keeping: ["p.h5"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), before)
    }
}

import Foundation
