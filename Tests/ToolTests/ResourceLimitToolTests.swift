import DataKit
import Foundation
import XCTest

/// Sizes that come from input or options and cannot be held (issue 14): every one ends in one line and exit 70
/// (the machine or the process limit cannot hold it) or 65 (the input declares more than it holds) before any work,
/// never in an abort in the allocator (134), an overflow trap (132) or a run without end; nothing is left behind.
final class ResourceLimitToolTests: XCTestCase {
    /// 1 GiB of address space: far above what the tools need for the small inputs here.
    let gibibyte = 1 << 30

    /// A `patches` file of 200 rows of D = 256 (16×16 patches).
    func patches256(_ folder: String) throws -> String {
        let path = folder + "/p256.h5"
        let file = try HDF5File.create(path)
        try file.write(Matrix(rows: 200, cols: 256, storage: (0..<(200 * 256)).map { Float($0 % 13) - 6 }), to: "/data")
        try file.writeHeader(kind: .patches, history: ["test"])
        try PatchGeometry(height: 16, width: 16, channels: 1).write(to: file)
        try file.close()
        return path
    }

    /// Runs a Python script with h5py (or skips): the files a hostile writer makes.
    func python(_ script: String, _ arguments: [String]) throws {
        guard let python = ToolHarness.python(with: ["h5py", "numpy", "zlib"]) else { throw XCTSkip("needs python3 with h5py") }
        let (status, output) = try ToolHarness.runPython(python, script, arguments)
        XCTAssertEqual(status, 0, output)
    }

    /// A 15-byte LIBSVM file declaring label 4·10⁹ is refused by the index bound (it converted, and every later tool
    /// aborted); raised, the sizes it declares meet the checked path: sk-convert --dense and sk-inspect exit 70
    /// under a 1 GiB limit, leaving nothing behind.
    func testDeclaredIndicesAndDenseSizesBeyondMemory() throws {
        let folder = try temporaryFolder(self)
        try Data("4000000000 1:1\n".utf8).write(to: URL(fileURLWithPath: folder + "/big.svm"))
        let svm = ["--format", "libsvm", "--one-based"]
        assertFails(try ToolHarness.run("sk-convert", [folder + "/big.svm", "-o", folder + "/big.h5"] + svm), code: 65,
                    containing: "big.svm: line 1: label index 4000000000 is beyond the bound of 67108864 (raise it with --max-index)",
                    folder: folder, keeping: ["big.svm"])
        try Data("1 1:1\n2 2:1\n".utf8).write(to: URL(fileURLWithPath: folder + "/small.svm"))
        let dense = try ToolHarness.run("sk-convert", [folder + "/small.svm", "-o", folder + "/d.h5", "--dense", "--features",
                                                       "200000000", "--max-index", "2147483647"] + svm, addressSpace: gibibyte)
        assertFails(dense, code: 70, containing: "--dense: 2 × 200000000 features needs 1.49 GiB of memory, more than the address-space limit",
                    folder: folder, keeping: ["big.svm", "small.svm"])
        try Data("2000000000 1:1\n".utf8).write(to: URL(fileURLWithPath: folder + "/labels.svm"))
        let converted = try ToolHarness.run("sk-convert", [folder + "/labels.svm", "-o", folder + "/labels.h5", "--max-index", "2147483647"] + svm)
        XCTAssertEqual(converted.status, 0, converted.stderr)
        assertFails(try ToolHarness.run("sk-inspect", [folder + "/labels.h5"], addressSpace: gibibyte), code: 70,
                    containing: "labels.h5: counting 2000000001 labels needs 14.90 GiB of memory",
                    folder: folder, keeping: ["big.svm", "small.svm", "labels.svm", "labels.h5"])
    }

    /// Options that size the trainers' state beyond memory (sc --latents 100000 on D = 256, a 2²⁰ × 2²⁰ sdlgm layer,
    /// --samples beyond a 2 GiB limit) end with 70 before the first epoch, naming the largest part.
    func testTrainerStateBeyondMemory() throws {
        let folder = try temporaryFolder(self)
        let data = try patches256(folder)
        let model = folder + "/m.h5"
        assertFails(try ToolHarness.run("sk-train", ["sc", data, "-o", model, "--latents", "100000", "--epochs", "1"]), code: 70,
                    containing: "--latents 100000 (the largest: the H × H products, 37.25 GiB)", folder: folder, keeping: ["p256.h5"])
        let unsupervised = ["sdlgm", data, "--mode", "unsupervised", "-o", model, "--epochs", "1"]
        assertFails(try ToolHarness.run("sk-train", unsupervised + ["--hidden", "1048576,1048576"]), code: 70,
                    containing: "the encoder's 1048576×1048576 layer with Adam's moments", folder: folder, keeping: ["p256.h5"])
        assertFails(try ToolHarness.run("sk-train", unsupervised + ["--samples", "10000", "--batch-size", "200"], addressSpace: 2 * gibibyte),
                    code: 70, containing: "--samples 10000 (the largest: the samples, 10.61 GiB)", folder: folder, keeping: ["p256.h5"])
    }

    /// A PNG header declaring 20000×20000 pixels: with a few bytes of image data it is bad input (65); with enough
    /// compressed data (1-bit rows of zeros, 48 KB) it needs 1.12 GiB to decode, more than a 1 GiB limit (70).
    func testPNGDeclaringMorePixelsThanItHoldsOrMemoryTakes() throws {
        let folder = try temporaryFolder(self)
        try python("""
            import struct, sys, zlib
            def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
            for name, rows in (('header.png', 10), ('real.png', 20000)):
                ihdr = struct.pack('>IIBBBBB', 20000, 20000, 1, 0, 0, 0, 0)
                data = zlib.compress(b'\\0' * 2501 * rows, 9)
                open(sys.argv[1] + '/' + name, 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', data) + chunk(b'IEND', b''))
            """, [folder])
        let pngs: Set = ["header.png", "real.png"]
        assertFails(try ToolHarness.run("sk-patches", [folder + "/header.png", "-o", folder + "/p.h5", "--size", "8", "--count", "10"],
                                        addressSpace: gibibyte),
                    code: 65, containing: "header.png: declares 20000×20000 pixels, more than its", folder: folder, keeping: pngs)
        assertFails(try ToolHarness.run("sk-patches", [folder + "/real.png", "-o", folder + "/p.h5", "--size", "8", "--count", "10"],
                                        addressSpace: gibibyte),
                    code: 70, containing: "real.png: decoding 20000×20000 pixels needs 1.12 GiB of memory", folder: folder, keeping: pngs)
    }

    /// Products of declared extents are overflow-checked: a multilabel file with dense /features of 2⁶¹ × 2²⁸ values
    /// (chunked, nothing written) trapped (132) where sk-train sized the data; now its size is "more than memory",
    /// and the network it would need is refused with 70.
    func testOverflowingDeclaredExtents() throws {
        let folder = try temporaryFolder(self)
        try python("""
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['sparsekit.kind'] = 'multilabel'; f.attrs['sparsekit.format_version'] = 1
                f.create_dataset('features', shape=(2**61, 2**28), dtype='f4', chunks=(1, 2**20))
                g = f.create_group('labels'); g.attrs['shape'] = np.array([2**61, 20])
                g.create_dataset('indptr', shape=(2**61 + 1,), dtype='i8', chunks=(1024,))
                g.create_dataset('indices', data=np.array([0], dtype='i8')); g.create_dataset('data', data=np.array([1], dtype='f4'))
            """, [folder + "/overflow.h5"])
        assertFails(try ToolHarness.run("sk-train", ["sdlgm", folder + "/overflow.h5", "-o", folder + "/m.h5", "--epochs", "1", "--split", "all"]),
                    code: 70, containing: "training with 268435456 features, 20 labels and --hidden 512", folder: folder, keeping: ["overflow.h5"])
    }

    /// A line without end (/dev/zero) is refused at the bound (64 MiB unless --max-line-bytes raises it) with its line
    /// number, instead of growing the buffer until memory runs out; the bound is an option.
    func testLineWithoutEnd() throws {
        let folder = try temporaryFolder(self)
        assertFails(try ToolHarness.run("sk-convert", ["/dev/zero", "--format", "xc", "-o", folder + "/x.h5"], addressSpace: gibibyte),
                    code: 65, containing: "/dev/zero: line 1: longer than 67108864 bytes", folder: folder)
        try Data("2 3 2\n0 0:1 2:0.5\n1 1:2\n".utf8).write(to: URL(fileURLWithPath: folder + "/small.xc"))
        assertFails(try ToolHarness.run("sk-convert", [folder + "/small.xc", "--format", "xc", "-o", folder + "/x.h5", "--max-line-bytes", "8"]),
                    code: 65, containing: "small.xc: line 2: longer than 8 bytes", folder: folder, keeping: ["small.xc"])
        let raised = try ToolHarness.run("sk-convert", [folder + "/small.xc", "--format", "xc", "-o", folder + "/x.h5", "--max-line-bytes", "16"])
        XCTAssertEqual(raised.status, 0, raised.stderr)
    }

    /// Sizes that make one minibatch run for minutes are refused before any file is read: a rank-1000 factor of a
    /// 10 × 10 covariance (550 s a minibatch before).
    func testNonsensicalSizes() throws {
        let folder = try temporaryFolder(self)
        let data = try patches256(folder)
        assertFails(try ToolHarness.run("sk-train", ["sc", data, "-o", folder + "/m.h5", "--latents", "10", "--epochs", "1", "--scheme", "adam",
                                                     "--posterior", "amortized-lowrank", "--rank", "1000"]),
                    code: 64, containing: "--rank 1000 exceeds --latents 10", folder: folder, keeping: ["p256.h5"])
    }
}
