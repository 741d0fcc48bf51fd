import DataKit
import XCTest

/// Files written by the tools open in h5py with the contract's names, types and attributes.
final class H5pyCompatibilityTests: XCTestCase {
    func testPatchesAndWhitenedFilesOpenInH5py() throws {
        guard let python = ToolHarness.python(with: ["h5py", "numpy"]) else {
            throw XCTSkip("python3 with h5py and numpy is not installed; h5py compatibility not checked")
        }
        let folder = try temporaryFolder(self)
        let images = ["camera.png", "horse.png"].map { ToolHarness.fixture("images/" + $0) }
        XCTAssertEqual(try ToolHarness.run("sk-patches", images + ["-o", folder + "/p.h5", "--size", "8", "--count", "2000"]).status, 0)
        XCTAssertEqual(try ToolHarness.run("sk-whiten", [folder + "/p.h5", "-o", folder + "/w.h5", "--method", "zca"]).status, 0)
        let script = """
            import sys, h5py, numpy as np
            p = h5py.File(sys.argv[1], "r"); w = h5py.File(sys.argv[2], "r")
            assert p.attrs["sparsekit.kind"] == "patches", p.attrs["sparsekit.kind"]
            assert p.attrs["sparsekit.format_version"] == 1
            assert p["data"].dtype == np.float32 and p["data"].shape == (2000, 64)
            assert p["data"].compression == "gzip" and p["data"].shuffle
            assert p["source/image"].dtype == np.int32 and p["source/position"].shape == (2000, 2)
            files = [s.decode() if isinstance(s, bytes) else s for s in p["source/files"][()]]
            assert files[0].endswith("camera.png"), files
            history = list(w.attrs["sparsekit.history"])
            assert len(history) == 2 and history[1].startswith("sk-whiten"), history
            x = p["data"][()].astype(np.float64)
            xc = x - x.mean(0)
            e, v = np.linalg.eigh(xc.T @ xc / len(x))
            e, v = e[::-1], v[:, ::-1]
            v = v * np.sign(v[np.abs(v).argmax(0), np.arange(v.shape[1])])
            eps = w["whitening"].attrs["epsilon"]
            m = v @ np.diag(1 / np.sqrt(np.maximum(e, 0) + eps)) @ v.T
            ref = xc @ m.T
            diff = np.abs(ref - w["data"][()]).max()
            assert diff < 1e-3 * max(1, np.abs(ref).max()), diff
            assert np.abs(w["whitening/eigenvalues"][()] - e).max() < 1e-6 * e[0]
            print("ok", diff)
            """
        let (status, output) = try ToolHarness.runPython(python, script, [folder + "/p.h5", folder + "/w.h5"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.hasPrefix("ok"), output)
    }

    func testCSRGroupsReadAsScipyMatrices() throws {
        guard let python = ToolHarness.python(with: ["h5py", "numpy", "scipy"]) else {
            throw XCTSkip("python3 with h5py, numpy and scipy is not installed; CSR compatibility not checked")
        }
        let path = try temporaryFolder(self) + "/csr.h5"
        var g = SeededGenerator(seed: 5)
        var dense = Matrix(rows: 25, cols: 11)
        for i in dense.storage.indices where g.uniform() < 0.3 { dense.storage[i] = Float(g.below(9) + 1) }
        do {
            let f = try HDF5File.create(path)
            try f.write(CSRMatrix(dense: dense), to: "/features")
            try f.write(dense, to: "/dense")
            try f.close()
        }
        let script = """
            import sys, h5py, numpy as np, scipy.sparse as sp
            f = h5py.File(sys.argv[1], "r"); g = f["features"]
            assert g.attrs["encoding-type"] == "csr_matrix" and g.attrs["encoding-version"] == "0.1.0"
            m = sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=tuple(g.attrs["shape"]))
            assert m.has_sorted_indices and g["indices"].dtype == np.int64 and g["indptr"].dtype == np.int64
            assert (m.toarray() == f["dense"][()]).all()
            print("ok")
            """
        let (status, output) = try ToolHarness.runPython(python, script, [path])
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output, "ok\n")
    }
}

import Foundation
