import DataKit
import XCTest

final class ConvertToolTests: XCTestCase {
    func fixture(_ name: String) -> String { ToolHarness.fixture("multilabel/" + name) }

    func testMulanTrainAndTestBecomeSplitsAndInspectReportsThem() throws {
        let folder = try temporaryFolder(self)
        let out = folder + "/medical.h5"
        let result = try ToolHarness.run("sk-convert", [fixture("medical-train.arff"), fixture("medical-test.arff"),
                                                        "--format", "arff", "--xml", fixture("medical.xml"), "-o", out, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(summary?["points"] as? Int, 978)
        XCTAssertEqual(summary?["splits"] as? [String: Int], ["train": 333, "test": 645])
        let f = try HDF5File.open(out)
        XCTAssertEqual(try f.fileKind(), .multilabel)
        XCTAssertEqual(try f.attribute("source_format"), .string("arff"))
        XCTAssertEqual(try f.readStrings("/label_names").first, "Class-0-593_70")
        XCTAssertEqual(try f.readStrings("/feature_names").count, 1449)
        let inspect = try ToolHarness.run("sk-inspect", [out])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        for fragment in ["N = 978 points, F = 1449 features, C = 45 labels", "label cardinality 1.2454",
                         "points without labels 0", "splits: test 645, train 333", "most frequent labels: Class-"] {
            XCTAssertTrue(inspect.stdout.contains(fragment), "missing '\(fragment)' in\n\(inspect.stdout)")
        }
    }

    func testDenseFeaturesAndExportToStandardOutput() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try ToolHarness.run("sk-convert", [fixture("tiny.xc"), "--format", "xc", "--dense", "-o", folder + "/d.h5"]).status, 0)
        XCTAssertEqual(try HDF5File.open(folder + "/d.h5").dataset("/features").shape, [4, 5])
        let exported = try ToolHarness.run("sk-convert", [folder + "/d.h5", "--export", "xc", "-o", "-"])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertEqual(exported.stdout, "4 5 3\n0,2 0:0.5 3:1.25\n1:2 4:-0.125\n1\n0,1,2 0:0.001 2:3.5 4:7\n", "the fixture, byte for byte")
        XCTAssertEqual(exported.stderr, "")
    }

    func testReadsStandardInput() throws {
        let folder = try temporaryFolder(self)
        let text = try Data(contentsOf: URL(fileURLWithPath: fixture("tiny-one-based.svm")))
        let result = try ToolHarness.run("sk-convert", ["-", "--format", "libsvm", "--one-based", "-o", folder + "/s.h5"], input: text)
        XCTAssertEqual(result.status, 0, result.stderr)
        let d = try MultiLabelDataset.read(from: try HDF5File.open(folder + "/s.h5"))
        XCTAssertEqual([d.pointCount, d.features.cols, d.labels.cols, d.features.nonZeros], [4, 5, 3, 7])
    }

    func testBadLinesAreOneLineWithFileAndLineNumber() throws {
        let folder = try temporaryFolder(self)
        let bad = folder + "/bad.xc"
        _ = FileManager.default.createFile(atPath: bad, contents: Data("2 5 3\r\n0 1:0.5\r\n1 2:x".utf8))
        assertFails(try ToolHarness.run("sk-convert", [bad, "--format", "xc", "-o", folder + "/out.h5"]), code: 65,
                    containing: "bad.xc: line 3: feature 2 has a non-numeric value", folder: folder, keeping: ["bad.xc"])
        assertFails(try ToolHarness.run("sk-convert", [bad, "--format", "libsvm", "-o", folder + "/out.h5"]), code: 64,
                    containing: "--zero-based or --one-based", folder: folder, keeping: ["bad.xc"])
        assertFails(try ToolHarness.run("sk-convert", [folder + "/none.xc", "--format", "xc", "-o", folder + "/out.h5"]),
                    code: 66, containing: "none.xc: no such file", folder: folder, keeping: ["bad.xc"])
        assertFails(try ToolHarness.run("sk-convert", [fixture("tiny.arff"), "--format", "arff", "--xml",
                                                       fixture("medical.xml"), "-o", folder + "/out.h5"]),
                    code: 65, containing: "label 'Class-0-593_70' from", folder: folder, keeping: ["bad.xc"])
        assertFails(try ToolHarness.run("sk-convert", [ToolHarness.fixture("broken/good-4x4.h5"), "--export", "xc", "-o",
                                                       folder + "/out.xc"]),
                    code: 65, containing: "is a 'patches' file; expected multilabel", folder: folder, keeping: ["bad.xc"])
    }

    /// What we export, scikit-learn's load_svmlight_file reads as the same matrices.
    func testExportedLIBSVMLoadsInScikitLearn() throws {
        guard let python = ToolHarness.python(with: ["h5py", "numpy", "scipy", "sklearn"]) else {
            throw XCTSkip("python3 with h5py, scipy and scikit-learn is not installed; LIBSVM export not cross-checked")
        }
        let folder = try temporaryFolder(self)
        let h5 = folder + "/emotions.h5", svm = folder + "/emotions.svm"
        XCTAssertEqual(try ToolHarness.run("sk-convert", [fixture("emotions-train.arff"), fixture("emotions-test.arff"),
                                                          "--format", "arff", "--xml", fixture("emotions.xml"), "-o", h5]).status, 0)
        // A point without labels and one without features, to check the edge cases of the text format.
        XCTAssertEqual(try ToolHarness.run("sk-convert", [fixture("tiny.xc"), "--format", "xc", "-o", folder + "/tiny.h5"]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-convert", [h5, "--export", "libsvm", "--zero-based", "-o", svm]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-convert", [folder + "/tiny.h5", "--export", "libsvm", "--zero-based", "-o",
                                                          folder + "/tiny.svm"]).status, 0)
        let script = """
            import sys, h5py, numpy as np, scipy.sparse as sp
            from sklearn.datasets import load_svmlight_file
            for h5, svm in zip(sys.argv[1::2], sys.argv[2::2]):
                f = h5py.File(h5, "r")
                def csr(g): return sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=tuple(g.attrs["shape"]))
                X, Y = csr(f["features"]), csr(f["labels"])
                Xs, ys = load_svmlight_file(svm, multilabel=True, zero_based=True, n_features=X.shape[1])
                assert Xs.dtype == np.float64 and (Xs.astype(np.float32) != X).nnz == 0, "features differ"
                Ys = sp.lil_matrix(Y.shape)
                for i, labels in enumerate(ys):
                    for l in labels: Ys[i, int(l)] = 1
                assert (Ys.tocsr() != Y).nnz == 0, "labels differ"
            print("ok")
            """
        let (status, output) = try ToolHarness.runPython(python, script, [h5, svm, folder + "/tiny.h5", folder + "/tiny.svm"])
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output, "ok\n")
    }
}

import Foundation
