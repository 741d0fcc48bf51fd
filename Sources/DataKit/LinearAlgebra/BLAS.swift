import CBLAS

/// OpenBLAS's thread count. Idle OpenBLAS threads spin for a while after each call; where other work (compression)
/// keeps the cores busy between small BLAS calls, one BLAS thread is faster overall.
public enum BLASThreads {
    public static var count: Int { Int(openblas_get_num_threads()) }

    /// Runs `body` with `threads` BLAS threads, then restores the previous count.
    public static func with<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(previous) }
        return try body()
    }
}

/// Thin, checked wrappers over OpenBLAS for the products SparseKit's hot loops need.
extension Matrix {
    /// `C ← alpha · op(A) · op(B) + beta · C` (sgemm), with op the transpose when asked.
    public static func gemm(
        _ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0, into c: inout Matrix
    ) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "gemm: inner dimensions \(k) and \(kb) differ")
        precondition(c.rows == m && c.cols == n, "gemm: output is \(c.rows)×\(c.cols), expected \(m)×\(n)")
        guard m > 0, n > 0 else { return }
        if k == 0 {
            for i in c.storage.indices { c.storage[i] *= beta }
            return
        }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(
                        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.cols),
                        pb.baseAddress, Int32(b.cols), beta, pc.baseAddress, Int32(n))
                }
            }
        }
    }

    /// The product `op(A) · op(B)` as a new matrix.
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
        var c = Matrix(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }

    /// `C ← alpha · AᵀA + beta · C` on the upper triangle (ssyrk), then mirrored so `C` is a full symmetric matrix.
    /// With the rows of `A` as data points this is the scatter matrix, the core of a covariance.
    public static func gram(_ a: Matrix, alpha: Float = 1, beta: Float = 0, into c: inout Matrix) {
        precondition(c.rows == a.cols && c.cols == a.cols, "gram: output must be \(a.cols)×\(a.cols)")
        let n = a.cols
        guard n > 0 else { return }
        a.storage.withUnsafeBufferPointer { pa in
            c.storage.withUnsafeMutableBufferPointer { pc in
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(a.rows), alpha, pa.baseAddress,
                            Int32(n), beta, pc.baseAddress, Int32(n))
                for i in 0..<n { for j in 0..<i { pc[i * n + j] = pc[j * n + i] } }
            }
        }
    }
}
