import DataKit
import Foundation
import Models
import XCTest

/// sk-patches → sk-whiten → sk-train baseline → sk-eval, as a user chains them, with the reported log-likelihoods
/// recomputed by scipy and numpy from the stored parameters.
final class BaselineToolTests: XCTestCase {
    /// Training and held-out 4×4 patches, whitened by the training transform; the folder and the two file paths.
    func whitenedPatches() throws -> (folder: String, train: String, heldOut: String) {
        let folder = try temporaryFolder(self)
        let images = ["camera.png", "horse.png", "grass-128.png"].map { ToolHarness.fixture("images/" + $0) }
        for (name, count, seed) in [("p", "2000", "1"), ("h", "600", "2")] {
            let patches = try ToolHarness.run("sk-patches", images + ["-o", "\(folder)/\(name).h5", "--size", "4", "--count", count, "--seed", seed])
            XCTAssertEqual(patches.status, 0, patches.stderr)
        }
        XCTAssertEqual(try ToolHarness.run("sk-whiten", [folder + "/p.h5", "-o", folder + "/w.h5", "--method", "zca", "--epsilon", "1e-3"]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-whiten", [folder + "/h.h5", "-o", folder + "/hw.h5", "--transform-from", folder + "/w.h5"]).status, 0)
        return (folder, folder + "/w.h5", folder + "/hw.h5")
    }

    func testBaselinesTrainAndEvaluateAsScipyComputesThem() throws {
        let (folder, train, heldOut) = try whitenedPatches()
        var reports: [BaselineDensity.Kind: BaselineEvaluation] = [:]
        for kind in BaselineDensity.Kind.allCases {
            let model = "\(folder)/\(kind.rawValue).h5"
            let fit = try ToolHarness.run("sk-train", ["baseline", train, "-o", model, "--model", kind.rawValue, "--json"]
                                                    + (kind == .ica ? ["--iterations", "60"] : []))
            XCTAssertEqual(fit.status, 0, fit.stderr)
            let file = try HDF5File.open(model)
            XCTAssertEqual(try file.fileKind(), .model)
            XCTAssertEqual(try file.attribute("model"), .string(kind.rawValue))
            XCTAssertEqual(file.kind(of: WhiteningTransform.group), .group, "the training data's whitening is copied")
            XCTAssertEqual(try file.history().last?.hasPrefix("sk-train baseline"), true)
            let tiles = try ToolHarness.run("sk-inspect", [model, "--tiles", "-o", "\(folder)/\(kind.rawValue).png"])
            if kind == .ica {
                XCTAssertEqual(tiles.status, 0, "ICA's mixing columns are drawn: " + tiles.stderr)
            } else {
                XCTAssertEqual(tiles.status, 65)
                XCTAssertTrue(tiles.stderr.contains("without fields to draw"), tiles.stderr)
            }
            let eval = try ToolHarness.run("sk-eval", [model, heldOut, "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
            let report = try ToolHarness.decode(BaselineEvaluation.self, eval.stdout)
            XCTAssertEqual(report.points, 600)
            XCTAssertEqual(report.dimension, 16)
            XCTAssertEqual(report.bitsPerDimension, report.logLikelihood.mean / (16 * log(2)), accuracy: 1e-12)
            XCTAssertNotNil(report.pixelSpaceLogLikelihood, "ZCA is invertible")
            reports[kind] = report
            let text = try ToolHarness.run("sk-eval", [model, heldOut])
            XCTAssertTrue(text.stdout.contains("nats/point") && text.stdout.contains("bits/dimension"), text.stdout)
        }
        // Natural image patches are sparse: Laplace beats the Gaussian, ICA beats both.
        XCTAssertGreaterThan(reports[.laplace]!.logLikelihood.mean, reports[.gaussian]!.logLikelihood.mean)
        XCTAssertGreaterThan(reports[.ica]!.logLikelihood.mean, reports[.laplace]!.logLikelihood.mean)

        guard let python = ToolHarness.python(with: ["h5py", "numpy", "scipy"]) else {
            throw XCTSkip("python3 with h5py, numpy and scipy is not installed; baseline log-likelihoods not cross-checked")
        }
        let script = """
            import sys, json, h5py, numpy as np, scipy.stats as st
            folder, data = sys.argv[1], sys.argv[2]
            reports = json.loads(sys.argv[3])
            f = h5py.File(data, "r")
            x = f["data"][()].astype(np.float64)
            logdet_m = np.linalg.slogdet(f["whitening/matrix"][()].astype(np.float64))[1]
            for kind in ["gaussian", "laplace", "ica"]:
                m = h5py.File(folder + "/" + kind + ".h5", "r")
                assert m.attrs["sparsekit.kind"] == "model" and m.attrs["model"] == kind
                mean = m["model/mean"][()]
                assert mean.shape == (16,) and mean.dtype == np.float64
                if kind == "gaussian":
                    logp = st.multivariate_normal.logpdf(x, mean, m["model/covariance"][()])
                elif kind == "laplace":
                    loc, scale = m["model/location"][()], m["model/scale"][()]
                    logp = st.laplace.logpdf(x, loc, scale).sum(1)
                else:
                    a, b = m["model/mixing"][()], m["model/scale"][()]
                    s = np.linalg.solve(a, (x - mean).T).T
                    logp = (-np.log(2 * b) - np.abs(s) / b).sum(1) - np.linalg.slogdet(a)[1]
                r = reports[kind]
                se = logp.std(ddof=1) / np.sqrt(len(logp))
                assert abs(r["logLikelihood"]["mean"] - logp.mean()) < 1e-6, (kind, r["logLikelihood"], logp.mean())
                assert abs(r["logLikelihood"]["standardError"] - se) < 1e-6, (kind, r["logLikelihood"], se)
                assert abs(r["pixelSpaceLogLikelihood"]["mean"] - (logp.mean() + logdet_m)) < 1e-4, (kind, r, logdet_m)
            print("ok")
            """
        let json = try JSONEncoder().encode(Dictionary(uniqueKeysWithValues: reports.map { ($0.key.rawValue, $0.value) }))
        let (status, output) = try ToolHarness.runPython(python, script, [folder, heldOut, String(decoding: json, as: UTF8.self)])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.hasPrefix("ok"), output)
    }

    func testTheLaplaceFitIsTheMedianAndMeanAbsoluteDeviation() throws {
        guard let python = ToolHarness.python(with: ["h5py", "numpy"]) else {
            throw XCTSkip("python3 with h5py and numpy is not installed; the Laplace fit not cross-checked")
        }
        let (folder, train, _) = try whitenedPatches()
        XCTAssertEqual(try ToolHarness.run("sk-train", ["baseline", train, "-o", folder + "/l.h5", "--model", "laplace"]).status, 0)
        let script = """
            import sys, h5py, numpy as np
            x = h5py.File(sys.argv[1], "r")["data"][()].astype(np.float64)
            m = h5py.File(sys.argv[2], "r")
            med = np.median(x, 0)
            assert np.abs(m["model/location"][()] - med).max() < 1e-7
            assert np.abs(m["model/scale"][()] - np.abs(x - med).mean(0)).max() < 1e-7
            assert np.abs(m["model/mean"][()] - x.mean(0)).max() < 1e-7
            print("ok")
            """
        let (status, output) = try ToolHarness.runPython(python, script, [train, folder + "/l.h5"])
        XCTAssertEqual(status, 0, output)
    }

    func testMismatchedDataAndBadOptionsFailWithOneLine() throws {
        let (folder, train, _) = try whitenedPatches()
        XCTAssertEqual(try ToolHarness.run("sk-train", ["baseline", train, "-o", folder + "/g.h5", "--model", "gaussian"]).status, 0)
        let images = [ToolHarness.fixture("images/camera.png")]
        XCTAssertEqual(try ToolHarness.run("sk-patches", images + ["-o", folder + "/p8.h5", "--size", "8", "--count", "100"]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-whiten", [folder + "/p8.h5", "-o", folder + "/w8.h5", "--method", "zca", "--epsilon", "1e-3"]).status, 0)
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        assertFails(try ToolHarness.run("sk-eval", [folder + "/g.h5", folder + "/w8.h5"]), code: 65, containing: "expects 16",
                    folder: folder, keeping: before)
        assertFails(try ToolHarness.run("sk-eval", [folder + "/g.h5", folder + "/h.h5"]), code: 65, containing: "--transform-from",
                    folder: folder, keeping: before)
        assertFails(try ToolHarness.run("sk-train", ["baseline", train, "-o", folder + "/x.h5", "--model", "pca"]), code: 64,
                    containing: "pca", folder: folder, keeping: before)
        assertFails(try ToolHarness.run("sk-train", ["baseline", train, "-o", folder + "/x.h5", "--model", "ica", "--iterations", "0"]),
                    code: 64, containing: "--iterations", folder: folder, keeping: before)
    }
}
