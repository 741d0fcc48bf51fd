import DataKit
import Foundation
import XCTest

/// `sk-inspect --plot history|active-counts|labels` and `--reconstructions` on small models trained here: each
/// picture is a PNG of the size the JSON reports with ink in its panels, and each misuse is one line and exit 64
/// (or 65 for a file of the wrong kind) with nothing left at the output path.
final class InspectPicturesToolTests: XCTestCase {
    /// Bars data, an ES-SC model, an unsupervised SDLGM, a Gaussian baseline, the tiny multilabel file and a
    /// supervised SDLGM trained on it, in `folder`.
    func makeModels(_ folder: String) throws {
        func run(_ tool: String, _ arguments: [String]) throws {
            let result = try ToolHarness.run(tool, arguments + ["--quiet"])
            XCTAssertEqual(result.status, 0, "\(tool) \(arguments): \(result.stderr)")
        }
        try run("sk-synth", ["bars", "-o", folder + "/bars.h5", "--count", "300", "--seed", "1"])
        try run("sk-train", ["sc", folder + "/bars.h5", "-o", folder + "/essc.h5", "--latents", "10", "--epochs", "3", "--seed", "1"])
        try run("sk-train", ["sdlgm", folder + "/bars.h5", "-o", folder + "/sdlgm.h5", "--mode", "unsupervised", "--latents", "10",
                             "--max-active", "3", "--hidden", "16", "--epochs", "3", "--batch-size", "50", "--seed", "1"])
        try run("sk-train", ["baseline", folder + "/bars.h5", "-o", folder + "/gaussian.h5", "--model", "gaussian"])
        let tiny = ToolHarness.fixture("multilabel/tiny")
        try run("sk-convert", [tiny + ".arff", "--format", "arff", "--xml", tiny + ".xml", "-o", folder + "/tiny.h5"])
        try run("sk-train", ["sdlgm", folder + "/tiny.h5", "-o", folder + "/supervised.h5", "--hidden", "8", "--max-active", "2",
                             "--epochs", "2", "--seed", "1"])
    }

    /// Runs sk-inspect with `--json`, checks the reported picture against the PNG written, and returns the PNG.
    func draw(_ arguments: [String], output: String, panels: Int, file: StaticString = #filePath, line: UInt = #line) throws -> PNGImage {
        let result = try ToolHarness.run("sk-inspect", arguments + ["-o", output, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        let picture = try PNGCodec.decode(file: output)
        XCTAssertEqual(report["output"] as? String, output, file: file, line: line)
        XCTAssertEqual(report["panels"] as? Int, panels, "\(arguments)", file: file, line: line)
        XCTAssertEqual([report["width"] as? Int, report["height"] as? Int], [picture.width, picture.height], file: file, line: line)
        XCTAssertEqual(picture.channels, 3, file: file, line: line)
        return picture
    }

    /// The share of pixels that are not white in the rows `rows` of `picture` (8-bit RGB).
    func ink(_ picture: PNGImage, rows: Range<Int>) -> Double {
        var inked = 0
        for y in rows {
            for x in 0..<picture.width where (0..<3).contains(where: { picture.samples[(y * picture.width + x) * 3 + $0] != 255 }) {
                inked += 1
            }
        }
        return Double(inked) / Double(max(rows.count * picture.width, 1))
    }

    func testEveryPictureIsDrawn() throws {
        let folder = try temporaryFolder(self)
        try makeModels(folder)
        let (essc, sdlgm, bars) = (folder + "/essc.h5", folder + "/sdlgm.h5", folder + "/bars.h5")

        // ES-SC's history: the objective, three entropies, σ², mean λ and the Gini (β is 1 throughout: said, not drawn).
        let history = try draw([essc, "--plot", "history"], output: folder + "/history.png", panels: 7)
        XCTAssertGreaterThan(ink(history, rows: (history.height / 2)..<history.height), 0.01, "the lower panels are drawn")
        XCTAssertEqual(ink(history, rows: 0..<2), 0, "white margin")
        // Several files on one plot: the union of their columns, one colour each.
        let three = try draw([essc, sdlgm, folder + "/gaussian.h5", "--plot", "history"], output: folder + "/three.png", panels: 14)
        XCTAssertGreaterThan(three.height, history.height)
        _ = try draw([folder + "/supervised.h5", "--plot", "history"], output: folder + "/supervised-history.png", panels: 1)

        // Reconstructions: patches, reconstructions, residuals; --count tiles each, --zoom pixels per pixel.
        let recon = try draw([essc, bars, "--reconstructions", "--count", "9", "--zoom", "4"], output: folder + "/recon.png", panels: 3)
        XCTAssertGreaterThanOrEqual(recon.width, 3 * (3 * (5 * 4 + 1) + 1), "three grids of 3 × 3 tiles of 20 pixels")
        XCTAssertGreaterThan(ink(recon, rows: (recon.height - 60)..<recon.height), 0.05, "tiles are gray, not white")
        _ = try draw([sdlgm, bars, "--reconstructions"], output: folder + "/sdlgm-recon.png", panels: 3)

        // Histograms of active features (unsupervised) and of predicted label-set sizes (supervised), label statistics.
        let active = try draw([sdlgm, bars, "--plot", "active-counts"], output: folder + "/active.png", panels: 1)
        XCTAssertGreaterThan(ink(active, rows: (active.height / 2)..<active.height), 0.02)
        _ = try draw([folder + "/supervised.h5", folder + "/tiny.h5", "--plot", "active-counts"], output: folder + "/sets.png", panels: 1)
        let labels = try draw([folder + "/tiny.h5", "--plot", "labels"], output: folder + "/labels.png", panels: 2)
        XCTAssertGreaterThan(ink(labels, rows: (labels.height / 2)..<labels.height), 0.02)

        // Without --json: one line on stderr saying what was drawn where.
        let plain = try ToolHarness.run("sk-inspect", [essc, "--plot", "history", "-o", folder + "/again.png"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stderr.hasPrefix("sk-inspect: drew history (7 panels, "), plain.stderr)
        XCTAssertEqual(plain.stdout, "")
    }

    func testPicturesAModelOrFileCannotHaveAreRefused() throws {
        let folder = try temporaryFolder(self)
        try makeModels(folder)
        // A previous picture at the output path survives every failure.
        let out = folder + "/out.png"
        try Data("previous".utf8).write(to: URL(fileURLWithPath: out))
        let kept: Set = ["bars.h5", "essc.h5", "sdlgm.h5", "gaussian.h5", "tiny.h5", "supervised.h5", "out.png"]
        func fails(_ arguments: [String], code: Int32, _ fragment: String, line: UInt = #line) throws {
            assertFails(try ToolHarness.run("sk-inspect", arguments + ["-o", out]), code: code, containing: fragment,
                        folder: folder, keeping: kept, line: line)
            XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "previous", line: line)
        }
        let (essc, sdlgm, bars, tiny) = (folder + "/essc.h5", folder + "/sdlgm.h5", folder + "/bars.h5", folder + "/tiny.h5")
        let supervised = folder + "/supervised.h5"

        // Kinds without such a picture: exit 64 naming the file.
        try fails([supervised, tiny, "--reconstructions"], code: 64, "supervised.h5: is a supervised SDLGM model")
        try fails([folder + "/gaussian.h5", bars, "--reconstructions"], code: 64, "gaussian.h5: is a gaussian baseline density")
        try fails([essc, bars, "--plot", "active-counts"], code: 64, "essc.h5: is a model of kind es-sc")
        try fails([essc, "--plot", "labels"], code: 64, "essc.h5: is a 'model' file; --plot labels draws")
        // Files of the wrong kind where a model or data is expected: bad input, 65.
        try fails([bars, "--plot", "history"], code: 65, "bars.h5")
        try fails([essc, bars, "--plot", "history"], code: 65, "bars.h5")
        try fails([essc, tiny, "--reconstructions"], code: 65, "tiny.h5")
        try fails([supervised, bars, "--plot", "active-counts"], code: 65, "is not a 'multilabel' file")
        // Usage: the number of files each picture takes, one drawing at a time, options where they apply.
        try fails([essc, "--reconstructions"], code: 64, "--reconstructions takes a model file and a data file, not 1 file")
        try fails([sdlgm, bars, tiny, "--plot", "active-counts"], code: 64, "takes an SDLGM model file and a data file, not 3 files")
        try fails([tiny, bars, "--plot", "labels"], code: 64, "takes one multilabel file")
        try fails([essc, "--plot", "history", "--tiles"], code: 64, "draw one thing at a time")
        try fails([essc, "--plot", "history", "--count", "4"], code: 64, "--count applies only with --tiles or --reconstructions")
        try fails([essc, bars, "--reconstructions", "--scaling", "range"], code: 64, "--scaling applies only with --tiles")
        try fails([essc, "--plot", "curves"], code: 64, "--plot")
        assertFails(try ToolHarness.run("sk-inspect", [essc, "--plot", "history", "-o", essc]), code: 64,
                    containing: "the output \(essc) is also an input", folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-inspect", [essc, "--plot", "history"]), code: 64, containing: "--plot history needs -o",
                    folder: folder, keeping: kept)
        assertFails(try ToolHarness.run("sk-inspect", [essc, "--plot", "history", "-o", folder + "/absent/x.png"]), code: 73,
                    containing: "absent", folder: folder, keeping: kept)
    }
}
