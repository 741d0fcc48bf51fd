import DataKit
import XCTest

/// Every HDF5 string flavour h5py and numpy write reads back as written (issue 14: `np.bytes_("patches")` read as
/// 'patche', fixed-length UTF-8 could not be read at all): attributes and datasets, variable or fixed length, ASCII
/// or UTF-8, null-terminated, null-padded or space-padded.
final class H5pyStringFlavourTests: XCTestCase {
    /// The flavours: attribute name, and the Python expression that writes it (`f` is the open file).
    static let flavours: [(name: String, expected: String, python: String)] = [
        ("bytes_fixed_nullpad", "patches", #"f.attrs["bytes_fixed_nullpad"] = np.bytes_("patches")"#),
        ("str_variable_utf8", "Größe ✓", #"f.attrs["str_variable_utf8"] = "Größe ✓""#),
        ("bytes_variable_ascii", "patches",
         #"f.attrs.create("bytes_variable_ascii", b"patches", dtype=h5py.string_dtype("ascii"))"#),
        ("fixed_utf8", "Größe ✓",
         #"f.attrs.create("fixed_utf8", "Größe ✓".encode(), dtype=h5py.string_dtype("utf-8", len("Größe ✓".encode())))"#),
        ("fixed_ascii_padded", "abc", #"f.attrs.create("fixed_ascii_padded", b"abc", dtype=h5py.string_dtype("ascii", 8))"#),
        ("nullterm", "kind", "fixed(\"nullterm\", b\"kind\", 8, h5py.h5t.STR_NULLTERM)"),
        ("nullterm_full", "patches", "fixed(\"nullterm_full\", b\"patches\", 8, h5py.h5t.STR_NULLTERM)"),
        ("spacepad", "white", "fixed(\"spacepad\", b\"white\", 9, h5py.h5t.STR_SPACEPAD)"),
        ("spacepad_utf8", "Größe", "fixed(\"spacepad_utf8\", \"Größe\".encode(), 12, h5py.h5t.STR_SPACEPAD, h5py.h5t.CSET_UTF8)"),
    ]

    /// The script: writes each flavour as a root attribute, and the same values as fixed-length null-padded and UTF-8
    /// string datasets, with a low-level writer for the paddings h5py's high-level API does not expose.
    static let script = """
        import sys, h5py, numpy as np
        f = h5py.File(sys.argv[1], "w")
        def fixed(name, value, size, pad, cset=h5py.h5t.CSET_ASCII):
            t = h5py.h5t.C_S1.copy(); t.set_size(size); t.set_strpad(pad); t.set_cset(cset)
            space = h5py.h5s.create(h5py.h5s.SCALAR)
            a = h5py.h5a.create(f.id, name.encode(), t, space)
            a.write(np.array(value.ljust(size, b" " if pad == h5py.h5t.STR_SPACEPAD else b"\\0"), dtype="S%d" % size), mtype=t)
        """ + "\n" + flavours.map(\.python).joined(separator: "\n") + "\n" + """
        f.create_dataset("names_fixed", data=np.array([b"patches", b"ab", b"whitened"], dtype="S8"))
        d = f.create_dataset("names_fixed_utf8", shape=(2,), dtype=h5py.string_dtype("utf-8", 8))
        d.id.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(["Größe".encode(), b"x"], dtype="S8"), mtype=d.id.get_type())
        f.attrs["list_fixed"] = np.array([b"first", b"second"], dtype="S6")
        f.close()
        print("ok")
        """

    func testEveryStringFlavourH5pyWritesReadsBackAsWritten() throws {
        guard let python = ToolHarness.python(with: ["h5py", "numpy"]) else {
            throw XCTSkip("python3 with h5py and numpy is not installed; string flavours not checked")
        }
        let path = try temporaryFolder(self) + "/strings.h5"
        let (status, output) = try ToolHarness.runPython(python, Self.script, [path])
        XCTAssertEqual(status, 0, output)
        let file = try HDF5File.open(path)
        for flavour in Self.flavours {
            XCTAssertEqual(try file.attribute(flavour.name), .string(flavour.expected), flavour.name)
        }
        XCTAssertEqual(try file.readStrings("/names_fixed"), ["patches", "ab", "whitened"])
        XCTAssertEqual(try file.readStrings("/names_fixed_utf8"), ["Größe", "x"])
        XCTAssertEqual(try file.attribute("list_fixed"), .strings(["first", "second"]))
    }

    /// A patches file as a Python user writes it, with `np.bytes_` attributes (the kind read as 'patche' before):
    /// the tools read it.
    func testPatchesFileWithFixedLengthKindIsRead() throws {
        guard let python = ToolHarness.python(with: ["h5py", "numpy"]) else {
            throw XCTSkip("python3 with h5py and numpy is not installed; string flavours not checked")
        }
        let folder = try temporaryFolder(self)
        let script = """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], "w") as f:
                f.create_dataset("data", data=np.random.default_rng(1).random((200, 16), dtype=np.float32))
                f.attrs["sparsekit.kind"] = np.bytes_("patches")
                f.attrs["sparsekit.format_version"] = 1
                f.attrs["patch_height"] = 4; f.attrs["patch_width"] = 4; f.attrs["channels"] = 1
                f.attrs["color"] = np.bytes_("gray")
            print("ok")
            """
        let (status, output) = try ToolHarness.runPython(python, script, [folder + "/p.h5"])
        XCTAssertEqual(status, 0, output)
        let whiten = try ToolHarness.run("sk-whiten", [folder + "/p.h5", "-o", folder + "/w.h5", "--quiet"])
        XCTAssertEqual(whiten.status, 0, whiten.stderr)
        XCTAssertEqual(try HDF5File.open(folder + "/w.h5").fileKind(), .whitened)
    }
}
