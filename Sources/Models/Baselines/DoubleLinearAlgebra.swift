import CBLAS
import CLAPACKE
import DataKit
import Foundation

/// The few double-precision dense operations the baseline densities (and likelihood training's M-step) need, on row-major `[Double]` buffers, through
/// BLAS (`dgemm`) and LAPACK (`dpotrf`, `dposv`, `dtrtri`, `dgetrf`, `dgetri`). Exact log-densities need double precision
/// where float32 would round: log-determinants, Cholesky factors, inverses.
enum DoubleLinearAlgebra {
    /// C = A · op(B) with A m × k and op(B) k × n (B stored n × k when `transposeB`).
    static func multiply(_ a: UnsafePointer<Double>, rows m: Int, inner k: Int, _ b: UnsafePointer<Double>, cols n: Int,
                         transposeB: Bool, into c: UnsafeMutablePointer<Double>)
    {
        guard m > 0, n > 0, k > 0 else { return }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(transposeB ? k : n), 0, c, Int32(n))
    }

    /// A · B for n × n matrices.
    static func product(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: n * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { multiply(pa.baseAddress!, rows: n, inner: n, pb.baseAddress!, cols: n, transposeB: false, into: $0.baseAddress!) }
            }
        }
        return c
    }

    /// The lower Cholesky factor L (A = L Lᵀ, zeros above the diagonal) of a symmetric n × n matrix, or nil when A is
    /// not (numerically) positive definite.
    static func choleskyLower(_ a: [Double], n: Int) -> [Double]? {
        var l = a
        let info = l.withUnsafeMutableBufferPointer {
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), $0.baseAddress, Int32(n))
        }
        guard info == 0 else { return nil }
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { l[i * n + j] = 0 } }
        return l
    }

    /// X with A X = B for a symmetric positive-definite n × n A and an n × `columns` B (LAPACK dposv), or nil when A is
    /// not (numerically) positive definite.
    static func positiveDefiniteSolve(_ a: [Double], n: Int, _ b: [Double], columns: Int) -> [Double]? {
        var (factor, x) = (a, b)
        let info = factor.withUnsafeMutableBufferPointer { pa in
            x.withUnsafeMutableBufferPointer {
                LAPACKE_dposv(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), Int32(columns), pa.baseAddress, Int32(n),
                              $0.baseAddress, Int32(columns))
            }
        }
        return info == 0 ? x : nil
    }

    /// L⁻¹ of a lower-triangular n × n matrix with a non-zero diagonal (zeros above the diagonal).
    static func lowerTriangularInverse(_ l: [Double], n: Int) -> [Double] {
        var inverse = l
        let info = inverse.withUnsafeMutableBufferPointer {
            LAPACKE_dtrtri(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "L")), CChar(UInt8(ascii: "N")), Int32(n), $0.baseAddress, Int32(n))
        }
        precondition(info == 0, "dtrtri: singular triangular factor (info \(info))")
        return inverse
    }

    /// A⁻¹ and log|det A| of a square n × n matrix by LU with partial pivoting, or nil when A is singular.
    static func inverseAndLogAbsDeterminant(_ a: [Double], n: Int) -> (inverse: [Double], logAbsDeterminant: Double)? {
        var lu = a
        var pivots = [Int32](repeating: 0, count: n)
        let factored = lu.withUnsafeMutableBufferPointer { pa in
            pivots.withUnsafeMutableBufferPointer { LAPACKE_dgetrf(LAPACK_ROW_MAJOR, Int32(n), Int32(n), pa.baseAddress, Int32(n), $0.baseAddress) }
        }
        guard factored == 0 else { return nil }
        var logDeterminant = 0.0
        for i in 0..<n { logDeterminant += log(abs(lu[i * n + i])) }
        let inverted = lu.withUnsafeMutableBufferPointer { pa in
            pivots.withUnsafeMutableBufferPointer { LAPACKE_dgetri(LAPACK_ROW_MAJOR, Int32(n), pa.baseAddress, Int32(n), $0.baseAddress) }
        }
        guard inverted == 0, logDeterminant.isFinite else { return nil }
        return (lu, logDeterminant)
    }

    /// C^{-1/2} = V diag(1/√e) Vᵀ of a symmetric positive definite n × n matrix, or nil when an eigenvalue is at most
    /// 1e-10 of the largest (a rank-deficient covariance).
    static func inverseSquareRoot(_ c: [Double], n: Int) throws -> [Double]? {
        let eigen = try Decompositions.symmetricEigen(c, n: n)
        let largest = eigen.values.first ?? 0
        guard largest > 0, eigen.values.allSatisfy({ $0 > 1e-10 * largest }) else { return nil }
        var scaled = eigen.vectors  // row k = eigenvector k, scaled by 1/√e_k
        for k in 0..<n {
            let factor = 1 / eigen.values[k].squareRoot()
            for j in 0..<n { scaled[k * n + j] *= factor }
        }
        var result = [Double](repeating: 0, count: n * n)  // Vᵀ-rows product: Σ_k v_k,i v_k,j / √e_k
        eigen.vectors.withUnsafeBufferPointer { v in
            scaled.withUnsafeBufferPointer { s in
                result.withUnsafeMutableBufferPointer {
                    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, v.baseAddress, Int32(n),
                                s.baseAddress, Int32(n), 0, $0.baseAddress, Int32(n))
                }
            }
        }
        return result
    }
}
