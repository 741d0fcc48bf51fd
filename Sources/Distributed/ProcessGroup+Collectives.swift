import CMPI
import CMPIShim

/// The collective operations training needs. Every rank must call the same ones in the same order with the same
/// counts (MPI's rule); alone (`usesMPI` false) each returns at once with its input unchanged.
extension ProcessGroup {
    /// x ← Σ_ranks x, elementwise, on every rank (MPI_Allreduce in place with MPI_SUM). Every rank gets the same
    /// bits. The order of the additions is Open MPI's, so the sum differs from a one-process sum by rounding only.
    public func sum(_ values: inout [Double]) {
        guard usesMPI, size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(sk_mpi_in_place(), $0.baseAddress, Int32($0.count), sk_mpi_double(), sk_mpi_sum(), sk_mpi_comm_world())
        }
    }

    /// The same for single precision (half the bytes of `sum(_: inout [Double])`).
    public func sum(_ values: inout [Float]) {
        guard usesMPI, size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(sk_mpi_in_place(), $0.baseAddress, Int32($0.count), sk_mpi_float(), sk_mpi_sum(), sk_mpi_comm_world())
        }
    }

    /// x ← max_ranks x, elementwise, on every rank (e.g. a stop flag that any rank may raise).
    public func maximum(_ values: inout [Double]) {
        guard usesMPI, size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(sk_mpi_in_place(), $0.baseAddress, Int32($0.count), sk_mpi_double(), sk_mpi_max(), sk_mpi_comm_world())
        }
    }

    /// Every rank's `values` become rank `root`'s (MPI_Bcast); the count must agree on every rank.
    public func broadcast(_ values: inout [Double], from root: Int = 0) {
        guard usesMPI, size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Bcast($0.baseAddress, Int32($0.count), sk_mpi_double(), Int32(root), sk_mpi_comm_world())
        }
    }

    /// The same for single precision.
    public func broadcast(_ values: inout [Float], from root: Int = 0) {
        guard usesMPI, size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Bcast($0.baseAddress, Int32($0.count), sk_mpi_float(), Int32(root), sk_mpi_comm_world())
        }
    }

    /// Returns when every rank has called it (MPI_Barrier).
    public func barrier() {
        guard usesMPI, size > 1 else { return }
        MPI_Barrier(sk_mpi_comm_world())
    }
}

extension ProcessGroup {
    /// All-to-all of floats (MPI_Alltoall of the counts, then MPI_Alltoallv): `send` holds what this rank sends to
    /// each rank, rank after rank, `counts[q]` values for rank q; returns what every rank sent this one, rank after
    /// rank. Alone, `send` itself. Every rank must call it; a count beyond Int32 is a programming error.
    public func exchange(_ send: [Float], counts: [Int]) -> [Float] { exchange(send, counts: counts, type: sk_mpi_float()) }

    /// The same for 64-bit integers (the column indices and row lengths of CSR rows).
    public func exchange(_ send: [Int64], counts: [Int]) -> [Int64] { exchange(send, counts: counts, type: sk_mpi_int64()) }

    private func exchange<T: Numeric>(_ send: [T], counts: [Int], type: MPI_Datatype) -> [T] {
        precondition(counts.count == size && counts.reduce(0, +) == send.count, "exchange: one count per rank, adding up to the values")
        guard usesMPI, size > 1 else { return send }
        precondition(send.count < Int(Int32.max), "exchange: more than 2^31 values")
        var sendCounts = counts.map { Int32($0) }
        var receiveCounts = [Int32](repeating: 0, count: size)
        _ = MPI_Alltoall(&sendCounts, 1, sk_mpi_int(), &receiveCounts, 1, sk_mpi_int(), sk_mpi_comm_world())
        let total = receiveCounts.reduce(0) { $0 + Int($1) }
        precondition(total < Int(Int32.max), "exchange: more than 2^31 values")
        var sendOffsets = [Int32](repeating: 0, count: size), receiveOffsets = sendOffsets
        for q in 1..<size {
            sendOffsets[q] = sendOffsets[q - 1] + sendCounts[q - 1]
            receiveOffsets[q] = receiveOffsets[q - 1] + receiveCounts[q - 1]
        }
        var received = [T](repeating: 0, count: total)
        send.withUnsafeBufferPointer { s in
            received.withUnsafeMutableBufferPointer { r in
                _ = MPI_Alltoallv(s.baseAddress, &sendCounts, &sendOffsets, type,
                                  r.baseAddress, &receiveCounts, &receiveOffsets, type, sk_mpi_comm_world())
            }
        }
        return received
    }
}
