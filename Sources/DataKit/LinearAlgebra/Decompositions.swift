import CLAPACKE

/// The eigendecomposition `A = V diag(values) Vᵀ` of a symmetric matrix, largest eigenvalue first.
public struct SymmetricEigen<Scalar: BinaryFloatingPoint & Sendable>: Sendable {
    /// Eigenvalues in descending order.
    public var values: [Scalar]
    /// Eigenvectors as the ROWS of an `n × n` row-major buffer, in the order of `values`: row k is the k-th
    /// eigenvector, its sign fixed so that its largest-magnitude entry is positive (the first such entry on ties).
    public var vectors: [Scalar]
    public var n: Int { values.count }
}

/// Decompositions through LAPACK (divide-and-conquer `?syevd`, Cholesky `?potrf`).
public enum Decompositions {
    /// Eigendecomposition of the symmetric `n × n` matrix `a` (row-major, full) in double precision (dsyevd).
    public static func symmetricEigen(_ a: [Double], n: Int) throws -> SymmetricEigen<Double> {
        precondition(a.count == n * n, "symmetricEigen: expected \(n)×\(n) elements")
        var w = [Double](repeating: 0, count: n)
        var z = a
        let info = z.withUnsafeMutableBufferPointer { pz in
            w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_dsyevd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), Int32(n),
                               pz.baseAddress, Int32(n), pw.baseAddress)
            }
        }
        guard info == 0 else { throw SparseKitError.internal("dsyevd failed to converge (info \(info))") }
        return orderedEigen(values: w, columnVectors: z, n: n)
    }

    /// Eigendecomposition of the symmetric `n × n` matrix in single precision (ssyevd).
    public static func symmetricEigen(_ a: Matrix) throws -> SymmetricEigen<Float> {
        precondition(a.rows == a.cols, "symmetricEigen: matrix is not square")
        let n = a.rows
        var w = [Float](repeating: 0, count: n)
        var z = a.storage
        let info = z.withUnsafeMutableBufferPointer { pz in
            w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_ssyevd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), Int32(n),
                               pz.baseAddress, Int32(n), pw.baseAddress)
            }
        }
        guard info == 0 else { throw SparseKitError.internal("ssyevd failed to converge (info \(info))") }
        return orderedEigen(values: w, columnVectors: z, n: n)
    }

    /// LAPACK returns ascending eigenvalues with eigenvectors as columns; reorder descending, as rows, signs fixed.
    private static func orderedEigen<S: BinaryFloatingPoint & Sendable>(values w: [S], columnVectors z: [S], n: Int)
        -> SymmetricEigen<S>
    {
        var values = [S](repeating: 0, count: n)
        var vectors = [S](repeating: 0, count: n * n)
        for k in 0..<n {
            let source = n - 1 - k
            values[k] = w[source]
            var largest: S = 0
            var sign: S = 1
            for i in 0..<n where abs(z[i * n + source]) > largest {
                largest = abs(z[i * n + source])
                sign = z[i * n + source] < 0 ? -1 : 1
            }
            for i in 0..<n { vectors[k * n + i] = sign * z[i * n + source] }
        }
        return SymmetricEigen(values: values, vectors: vectors)
    }

    /// The lower Cholesky factor `L` of the symmetric positive definite `a` (`a = L Lᵀ`, spotrf); zeros above.
    public static func cholesky(_ a: Matrix) throws -> Matrix {
        precondition(a.rows == a.cols, "cholesky: matrix is not square")
        let n = a.rows
        var l = a
        let info = l.storage.withUnsafeMutableBufferPointer {
            LAPACKE_spotrf(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), $0.baseAddress, Int32(n))
        }
        guard info == 0 else {
            throw SparseKitError.badInput(nil, info > 0
                ? "matrix is not positive definite (leading minor \(info))" : "spotrf: illegal argument \(-info)")
        }
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { l[i, j] = 0 } }
        return l
    }
}
