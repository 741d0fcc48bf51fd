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
