import DataKit
import XCTest

final class CSRMatrixTests: XCTestCase {
    func sparseRandom(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
        var g = SeededGenerator(seed: seed)
        var m = Matrix(rows: rows, cols: cols)
        for i in m.storage.indices where g.uniform() < 0.2 { m.storage[i] = Float(g.normal()) }
        return m
    }

    func testDenseRoundTripAndProduct() throws {
        let dense = sparseRandom(30, 12, seed: 1)
        let csr = CSRMatrix(dense: dense)
        XCTAssertEqual(csr.dense(), dense)
        XCTAssertEqual(csr.nonZeros, dense.storage.filter { $0 != 0 }.count)
        let w = randomMatrix(12, 5, seed: 2)
        XCTAssertLessThan(csr.multiplied(by: w).maxAbsDifference(Matrix.product(dense, w)), 1e-5)
    }

    /// The transpose (an empty column included) and dW += Xᵀ dY against the dense products.
    func testTransposeAndTransposedProduct() throws {
        var dense = sparseRandom(30, 12, seed: 4)
        for i in 0..<30 { dense[i, 7] = 0 }
        let csr = CSRMatrix(dense: dense)
        XCTAssertEqual(csr.transposed().dense(), dense.transposed)
        XCTAssertEqual(csr.transposed().transposed(), csr)
        let dy = randomMatrix(30, 5, seed: 5)
        var into = randomMatrix(12, 5, seed: 6)
        let expected = Matrix.product(dense.transposed, dy).storage.enumerated().map { $0.element + into.storage[$0.offset] }
        csr.accumulateTransposedProduct(dy, into: &into)
        XCTAssertLessThan(into.maxAbsDifference(Matrix(rows: 12, cols: 5, storage: expected)), 1e-5)
    }

    func testHDF5GroupRoundTripInTheAnndataLayout() throws {
        let path = try temporaryFolder(self) + "/csr.h5"
        let csr = CSRMatrix(dense: sparseRandom(40, 9, seed: 3))
        do {
            let f = try HDF5File.create(path)
            try f.write(csr, to: "/features")
            try f.close()
        }
        let f = try HDF5File.open(path)
        XCTAssertEqual(try f.readCSR("/features"), csr)
        XCTAssertEqual(try f.attribute("encoding-type", of: "/features"), .string("csr_matrix"))
        XCTAssertEqual(try f.attribute("encoding-version", of: "/features"), .string("0.1.0"))
        XCTAssertEqual(try f.attribute("shape", of: "/features"), .ints([40, 9]))
        XCTAssertEqual(try f.dataset("/features/indices").typeDescription, "int64")
        XCTAssertEqual(try f.dataset("/features/data").typeDescription, "float32")
        assertThrows(.badInput, containing: "has no CSR group /labels") { _ = try f.readCSR("/labels") }
    }

    /// Rows appended block by block (one block with empty rows, one with none at all) make the group that writing
    /// the whole matrix makes: the same arrays and attributes.
    func testRowsWriterAppendsTheWholeMatrix() throws {
        let path = try temporaryFolder(self) + "/csr.h5"
        let whole = CSRMatrix(dense: sparseRandom(70, 9, seed: 4))
        let empty = CSRMatrix(dense: Matrix(rows: 5, cols: 9))
        do {
            let f = try HDF5File.create(path)
            let writer = try CSRRowsWriter(file: f, groupPath: "/codes", cols: 9)
            try writer.append(whole.gatheringRows(Array(0..<30)))
            try writer.append(empty)
            try writer.append(CSRMatrix(dense: Matrix(rows: 0, cols: 9)))
            try writer.append(whole.gatheringRows(Array(30..<70)))
            try writer.finish()
            XCTAssertEqual(writer.rows, 75)
            XCTAssertEqual(writer.nonZeros, whole.nonZeros)
            try f.close()
        }
        let f = try HDF5File.open(path)
        let expected = CSRMatrix.stacking([whole.gatheringRows(Array(0..<30)), empty, whole.gatheringRows(Array(30..<70))])
        XCTAssertEqual(try f.readCSR("/codes"), expected)
        XCTAssertEqual(try f.attribute("encoding-type", of: "/codes"), .string("csr_matrix"))
        XCTAssertEqual(try f.attribute("shape", of: "/codes"), .ints([75, 9]))
        XCTAssertEqual(try f.dataset("/codes/indptr").typeDescription, "int64")
    }

    func testInvalidArraysAreRejected() {
        assertThrows(.badInput, containing: "unsorted or duplicate column 1") {
            _ = try CSRMatrix(rows: 1, cols: 3, indptr: [0, 2], indices: [2, 1], values: [1, 1])
        }
        assertThrows(.badInput, containing: "column 3 outside 0..<3") {
            _ = try CSRMatrix(rows: 1, cols: 3, indptr: [0, 1], indices: [3], values: [1])
        }
        assertThrows(.badInput, containing: "indptr decreases at row 1") {
            _ = try CSRMatrix(rows: 2, cols: 3, indptr: [0, 2, 1], indices: [0], values: [1])
        }
        assertThrows(.badInput, containing: "indptr has 2 entries, expected 3") {
            _ = try CSRMatrix(rows: 2, cols: 3, indptr: [0, 0], indices: [], values: [])
        }
    }
}
