import DataKit
import XCTest

final class LinearAlgebraTests: XCTestCase {
    /// The product by three nested loops in double precision, as the reference.
    func naiveProduct(_ a: Matrix, _ b: Matrix) -> [Double] {
        var c = [Double](repeating: 0, count: a.rows * b.cols)
        for i in 0..<a.rows { for j in 0..<b.cols { for k in 0..<a.cols { c[i * b.cols + j] += Double(a[i, k]) * Double(b[k, j]) } } }
        return c
    }

    func assertClose(_ m: Matrix, _ reference: [Double], _ tolerance: Double, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(m.storage.count, reference.count, file: file, line: line)
        let worst = zip(m.storage, reference).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThan(worst, tolerance, file: file, line: line)
    }

    func testGemmWithEveryTransposeCombination() {
        let a = randomMatrix(7, 5, seed: 1), b = randomMatrix(5, 9, seed: 2)
        let reference = naiveProduct(a, b)
        assertClose(Matrix.product(a, b), reference, 1e-5)
        assertClose(Matrix.product(a.transposed, transposeA: true, b), reference, 1e-5)
        assertClose(Matrix.product(a, b.transposed, transposeB: true), reference, 1e-5)
        assertClose(Matrix.product(a.transposed, transposeA: true, b.transposed, transposeB: true), reference, 1e-5)
        var c = Matrix(rows: 7, cols: 9, repeating: 1)
        Matrix.gemm(a, b, alpha: 2, beta: 3, into: &c)
        assertClose(c, reference.map { 2 * $0 + 3 }, 1e-4)
    }

    func testGramIsTheFullSymmetricAtA() {
        let a = randomMatrix(50, 6, seed: 3)
        var c = Matrix(rows: 6, cols: 6)
        Matrix.gram(a, into: &c)
        assertClose(c, naiveProduct(a.transposed, a), 1e-4)
        XCTAssertEqual(c, c.transposed)
    }

    func testSymmetricEigenInBothPrecisions() throws {
        let x = randomMatrix(40, 6, seed: 4)
        var a = Matrix(rows: 6, cols: 6)
        Matrix.gram(x, into: &a)
        let single = try Decompositions.symmetricEigen(a)
        let double = try Decompositions.symmetricEigen(a.storage.map(Double.init), n: 6)
        XCTAssertEqual(double.values, double.values.sorted(by: >), "descending")
        for k in 0..<6 {
            let v = Array(double.vectors[(k * 6)..<((k + 1) * 6)])
            // A v = λ v
            for i in 0..<6 {
                let av = (0..<6).reduce(0.0) { $0 + Double(a[i, $1]) * v[$1] }
                XCTAssertEqual(av, double.values[k] * v[i], accuracy: 1e-4)
            }
            // Largest-magnitude entry positive.
            XCTAssertGreaterThan(v.max(by: { abs($0) < abs($1) })!, 0)
            XCTAssertEqual(Double(single.values[k]), double.values[k], accuracy: 1e-3 * double.values[0])
            for i in 0..<6 { XCTAssertEqual(Double(single.vectors[k * 6 + i]), v[i], accuracy: 1e-3) }
        }
    }

    func testCholeskyReconstructs() throws {
        let x = randomMatrix(30, 5, seed: 5)
        var a = Matrix(rows: 5, cols: 5)
        Matrix.gram(x, into: &a)
        let l = try Decompositions.cholesky(a)
        for i in 0..<5 { for j in (i + 1)..<5 { XCTAssertEqual(l[i, j], 0) } }
        assertClose(Matrix.product(l, l, transposeB: true), a.storage.map(Double.init), 1e-3)
        var singular = Matrix(rows: 2, cols: 2, repeating: 1)
        singular[1, 1] = -1
        assertThrows(.badInput, containing: "not positive definite") { _ = try Decompositions.cholesky(singular) }
    }
}
