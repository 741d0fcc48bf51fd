import DataKit
import XCTest

final class HDF5Tests: XCTestCase {
    func testNumericDatasetsRoundTripWithShapesAndLayouts() throws {
        let path = try temporaryFolder(self) + "/round.h5"
        let m = randomMatrix(300, 70, seed: 1)  // 84 KB: chunked and compressed by default
        let small: [Int32] = [1, -2, 3, Int32.max, Int32.min, 0]
        let wide: [Int64] = [Int64.max, -1, 0, 42]
        let doubles: [Double] = [1e-300, -0.5, .pi, 1e300]
        let bytes: [UInt8] = [0, 255, 7]
        do {
            let f = try HDF5File.create(path)
            try f.write(m, to: "/a/b/matrix")
            try f.write(small, shape: [2, 3], to: "/ints")
            try f.write(wide, shape: [4], to: "/g/wide")
            try f.write(doubles, shape: [2, 2], to: "/doubles", layout: DatasetLayout(chunkRows: 1, gzipLevel: 9))
            try f.write(bytes, shape: [3], to: "/bytes")
            try f.close()
        }
        let f = try HDF5File.open(path)
        XCTAssertEqual(try f.readMatrix("/a/b/matrix"), m)
        XCTAssertEqual(try f.read("/ints", as: Int32.self).values, small)
        XCTAssertEqual(try f.read("/ints", as: Int32.self).shape, [2, 3])
        XCTAssertEqual(try f.read("/g/wide", as: Int64.self).values, wide)
        XCTAssertEqual(try f.read("/doubles", as: Double.self).values, doubles)
        XCTAssertEqual(try f.read("/bytes", as: UInt8.self).values, bytes)
        XCTAssertEqual(try f.dataset("/a/b/matrix").storageDescription, "chunks [300, 70], shuffle+gzip 4")
        XCTAssertEqual(try f.dataset("/doubles").storageDescription, "chunks [1, 2], shuffle+gzip 9")
        XCTAssertEqual(try f.dataset("/ints").storageDescription, "contiguous")
        XCTAssertEqual(try f.dataset("/ints").typeDescription, "int32")
        XCTAssertEqual(try f.dataset("/bytes").typeDescription, "uint8")
        XCTAssertEqual(try f.children(of: "/"), ["a", "bytes", "doubles", "g", "ints"])
        XCTAssertEqual(f.kind(of: "/a/b"), .group)
        XCTAssertEqual(f.kind(of: "/a/b/matrix"), .dataset)
        XCTAssertNil(f.kind(of: "/a/missing/deeper"))
        // Numeric conversion on read: int32 read as float.
        XCTAssertEqual(try f.read("/ints", as: Float.self).values[1], -2)
    }

    func testRowRangesAndExtendableDatasets() throws {
        let path = try temporaryFolder(self) + "/rows.h5"
        let m = randomMatrix(1000, 8, seed: 2)
        do {
            let f = try HDF5File.create(path)
            let ds = try f.createDataset("/grow", of: Float.self, shape: [0, 8],
                                         layout: DatasetLayout(chunkRows: 64, extendable: true))
            for start in stride(from: 0, to: 1000, by: 300) {
                let part = m.rowSlice(start..<min(1000, start + 300))
                try part.storage.withUnsafeBufferPointer { try ds.writeRows($0, at: start) }
            }
            XCTAssertEqual(ds.shape, [1000, 8])
            try f.close()
        }
        let f = try HDF5File.open(path)
        let ds = try f.dataset("/grow")
        XCTAssertEqual(ds.shape, [1000, 8])
        XCTAssertEqual(try ds.readRows(517, count: 3, as: Float.self), Array(m.storage[(517 * 8)..<(520 * 8)]))
        XCTAssertEqual(try ds.read(as: Float.self), m.storage)
        assertThrows(.badInput, containing: "out of range") { _ = try ds.readRows(999, count: 2, as: Float.self) }
    }

    /// Whole-chunk writes are shuffled and deflated on all cores and written directly; the bytes must read back
    /// through HDF5's own filters exactly, including a zero-padded last chunk and later writes through HDF5 itself.
    func testParallelChunkCompressionReadsBackExactly() throws {
        let path = try temporaryFolder(self) + "/parallel.h5"
        let m = randomMatrix(1000, 37, seed: 4)
        var ints = (0..<2000).map { Int64($0 * 7919 % 1000) }
        do {
            let f = try HDF5File.create(path)
            let ds = try f.createDataset("/m", of: Float.self, shape: [1000, 37], layout: DatasetLayout(chunkRows: 128))
            try m.storage.withUnsafeBufferPointer { try ds.writeRows($0, at: 0) }  // 7 whole chunks + a padded one
            try f.write(m, to: "/small-chunks", layout: DatasetLayout(chunkRows: 3))  // 334 chunks: 11 blocks of 32
            try f.write(ints, shape: [1000, 2], to: "/ints", layout: DatasetLayout(chunkRows: 256, gzipLevel: 1))
            let grow = try f.createDataset("/grow", of: Float.self, shape: [0, 37], layout: DatasetLayout(chunkRows: 128, extendable: true))
            try m.rowSlice(0..<256).storage.withUnsafeBufferPointer { try grow.writeRows($0, at: 0) }      // direct
            try m.rowSlice(256..<300).storage.withUnsafeBufferPointer { try grow.writeRows($0, at: 256) }  // direct, padded
            try m.rowSlice(300..<1000).storage.withUnsafeBufferPointer { try grow.writeRows($0, at: 300) } // HDF5's path
            ints[5] = -1
            try f.dataset("/ints").write(ints)
            try f.close()
        }
        let f = try HDF5File.open(path)
        XCTAssertEqual(try f.readMatrix("/m"), m)
        XCTAssertEqual(try f.readMatrix("/grow"), m)
        XCTAssertEqual(try f.readMatrix("/small-chunks"), m)
        XCTAssertEqual(try f.read("/ints", as: Int64.self).values, ints)
        XCTAssertEqual(try f.dataset("/m").storageDescription, "chunks [128, 37], shuffle+gzip 4")
    }

    func testStringsAndAttributes() throws {
        let path = try temporaryFolder(self) + "/attrs.h5"
        let names = ["camera.png", "Grüße, ☃", "", "with space"]
        do {
            let f = try HDF5File.create(path)
            try f.writeStrings(names, to: "/source/files")
            try f.writeStrings([], to: "/empty")
            try f.write([1, 2] as [Int64], shape: [2], to: "/numbers")
            try f.setAttribute("s", .string("héllo"))
            try f.setAttribute("lines", .strings(["one", "two"]))
            try f.setAttribute("i", .int(-7))
            try f.setAttribute("shape", .ints([3, 4]))
            try f.setAttribute("d", .double(0.25))
            try f.setAttribute("ds", .doubles([1.5, -2]))
            try f.setAttribute("i", .int(8))  // replacing an attribute
            try f.setAttribute("on-dataset", .string("yes"), on: "/source/files")
            try f.close()
        }
        let f = try HDF5File.open(path)
        XCTAssertEqual(try f.readStrings("/source/files"), names)
        XCTAssertEqual(try f.readStrings("/empty"), [])
        XCTAssertEqual(try f.attribute("s"), .string("héllo"))
        XCTAssertEqual(try f.attribute("lines"), .strings(["one", "two"]))
        XCTAssertEqual(try f.attribute("i"), .int(8))
        XCTAssertEqual(try f.attribute("shape"), .ints([3, 4]))
        XCTAssertEqual(try f.attribute("d"), .double(0.25))
        XCTAssertEqual(try f.attribute("ds"), .doubles([1.5, -2]))
        XCTAssertEqual(try f.attribute("on-dataset", of: "/source/files"), .string("yes"))
        XCTAssertNil(try f.attribute("absent"))
        XCTAssertEqual(Set(try f.attributeNames()), ["s", "lines", "i", "shape", "d", "ds"])
        assertThrows(.badInput, containing: "/numbers is not a 1-D array of strings") { _ = try f.readStrings("/numbers") }
        assertThrows(.badInput, containing: "has no dataset /source") { _ = try f.readStrings("/source") }
    }

    func testFileKindsAndHistory() throws {
        let path = try temporaryFolder(self) + "/kind.h5"
        do {
            let f = try HDF5File.create(path)
            try f.writeHeader(kind: .whitened, history: ["a", "b"])
            try f.close()
        }
        let f = try HDF5File.open(path)
        XCTAssertEqual(try f.fileKind(), .whitened)
        XCTAssertEqual(try f.history(), ["a", "b"])
        XCTAssertEqual(try f.attribute(RootAttribute.formatVersion), .int(1))
        assertThrows(.badInput, containing: "is a 'whitened' file; expected patches") { try f.requireKind(.patches) }
        let noKind = try HDF5File.open(Fixtures.path("broken/no-kind.h5"))
        assertThrows(.badInput, containing: "not a SparseKit file") { _ = try noKind.fileKind() }
    }

    func testBrokenAndMissingFiles() {
        assertThrows(.missingInput, containing: "nowhere.h5: no such file") { _ = try HDF5File.open("nowhere.h5") }
        assertThrows(.badInput, containing: "not an HDF5 file") { _ = try HDF5File.open(Fixtures.path("broken/not-hdf5.h5")) }
        assertThrows(.badInput, containing: "truncated") {
            let f = try HDF5File.open(Fixtures.path("broken/truncated.h5"))
            _ = try f.read("/data", as: Float.self)
        }
        assertThrows(.badInput, containing: "has no dataset /nope") {
            _ = try HDF5File.open(Fixtures.path("broken/good-4x4.h5")).dataset("/nope")
        }
        assertThrows(.badInput, containing: "non-numeric") {
            _ = try HDF5File.open(Fixtures.path("broken/strings-data.h5")).read("/data", as: Float.self)
        }
        assertThrows(.cannotCreateOutput) { _ = try HDF5File.create("/no/such/folder/x.h5") }
    }

    /// A header may declare any extent (a chunked dataset stores nothing until written): reading one larger than
    /// the machine's memory is refused with a line and exit 70 (`MemoryBudget`), not attempted.
    func testExtentsBeyondMemoryAreRefused() throws {
        let path = try temporaryFolder(self) + "/huge.h5"
        let f = try HDF5File.create(path)
        _ = try f.createDataset("/data", of: Float.self, shape: [1 << 40, 256], layout: DatasetLayout(chunkRows: 1024))
        try f.writeHeader(kind: .patches, history: [])
        try f.close()
        let file = try HDF5File.open(path)
        assertThrows(.internal, containing: "huge.h5: /data: reading it needs 1048576.00 GiB of memory, more than this machine's memory") {
            _ = try file.readDataMatrix()
        }
        XCTAssertEqual(try file.dataset("/data").readRows(5, count: 2, as: Float.self), [Float](repeating: 0, count: 512), "rows read")
        let reader = try ShuffledRowReader(file: file)
        XCTAssertTrue(reader.exceedsHalfOfMemory)
    }

    func testCopyCarriesGroupsWithAttributes() throws {
        let folder = try temporaryFolder(self)
        do {
            let f = try HDF5File.create(folder + "/a.h5")
            try f.write([1, 2, 3] as [Int32], shape: [3], to: "/source/image")
            try f.setAttribute("note", .string("kept"), on: "/source")
            try f.close()
        }
        let source = try HDF5File.open(folder + "/a.h5")
        let target = try HDF5File.create(folder + "/b.h5")
        try target.copy("/source", from: source)
        try target.close()
        let copy = try HDF5File.open(folder + "/b.h5")
        XCTAssertEqual(try copy.read("/source/image", as: Int32.self).values, [1, 2, 3])
        XCTAssertEqual(try copy.attribute("note", of: "/source"), .string("kept"))
    }

    /// A fuzzer's file (fuzz/libhdf5-findings): a compact /data whose header stores fewer bytes than its shape
    /// declares, which libhdf5 1.10 reads through a null pointer; refused before the read, naming the dataset.
    func testCompactDatasetShorterThanItsShapeIsRefused() throws {
        let path = Fixtures.root.appendingPathComponent("fuzz/libhdf5-findings/crash-d81ab11799d3ac37797af730f73abeae49227463").path
        let file = try HDF5File.open(path)
        assertThrows(.badInput, containing: "bytes of compact data") { _ = try file.readDataMatrix() }
    }
}
