import CMPI
import CMPIShim
import Foundation

/// The processes that run one SparseKit command together: all the ranks of an `mpirun` job (Open MPI), or this
/// process alone. The only place SparseKit calls MPI (with `ProcessGroup+Collectives.swift`).
///
/// MPI starts only when the process was launched by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`): run any other
/// way, `world` is `single` and no MPI function is ever called, so a tool behaves and starts as it did before MPI
/// (only the shared library is loaded). MPI's default error handler stays in place: a failed MPI call, or a rank
/// that dies, aborts the whole job, so there are no MPI error codes to check.
public struct ProcessGroup: Sendable, Equatable {
    /// This process's number, 0 ..< size; rank 0 writes the outputs.
    public let rank: Int
    /// The number of processes.
    public let size: Int
    /// Whether the group is an MPI job (collectives call MPI) rather than this process alone.
    public let usesMPI: Bool

    /// This process alone: collectives return their input.
    public static let single = ProcessGroup(rank: 0, size: 1, usesMPI: false)

    /// Whether this process was started by Open MPI's `mpirun` (read from the environment, without starting MPI).
    public static var launchedByMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// The processes of this run: under `mpirun`, MPI is initialised on first use (MPI_Init_thread, serialized
    /// calls: collectives come from one thread at a time) and the job's ranks returned; otherwise `single`.
    public static let world: ProcessGroup = {
        guard launchedByMPIRun else { return .single }
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
        var (rank, size): (Int32, Int32) = (0, 0)
        MPI_Comm_rank(sk_mpi_comm_world(), &rank)
        MPI_Comm_size(sk_mpi_comm_world(), &size)
        var exitCommunicator = sk_mpi_comm_world()
        MPI_Comm_dup(sk_mpi_comm_world(), &exitCommunicator)
        ExitCommunicator.handle = exitCommunicator
        let group = ProcessGroup(rank: Int(rank), size: Int(size), usesMPI: true)
        joinedGroup = group
        return group
    }()

    /// The MPI job this process has joined (`world` after MPI started), or nil: asks without starting MPI.
    public static var joined: ProcessGroup? { joinedGroup }

    /// Whether this rank writes outputs (rank 0).
    public var isRoot: Bool { rank == 0 }

    /// Rows `range` of a set of `count` rows shared out among the ranks, in rank order and as evenly as possible:
    /// rank r holds ⌊count·r/P⌋ ..< ⌊count·(r+1)/P⌋ (empty when count < P for some ranks).
    public func share(of count: Int) -> Range<Int> { Self.share(of: count, rank: rank, size: size) }

    /// Rank `rank`'s share of `count` rows among `size` ranks (see `share(of:)`).
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> { (count * rank / size)..<(count * (rank + 1) / size) }

    /// The processes of this job on this machine (Open MPI's `OMPI_COMM_WORLD_LOCAL_SIZE`; 1 alone): what divides
    /// the cores among the ranks.
    public var localSize: Int {
        guard usesMPI, let text = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"], let n = Int(text) else { return 1 }
        return max(1, n)
    }

    /// Ends MPI after a successful run (MPI_Finalize); nothing when MPI never started. Call once, at the end.
    public static func finish() {
        guard joinedGroup != nil else { return }
        MPI_Finalize()
    }

    /// Ends a failed run with `code`. Alone: `_exit(code)`. In an MPI job the ranks first wait up to `grace` seconds
    /// for each other (a non-blocking barrier on a communicator of its own, so collectives in flight elsewhere do
    /// not match it): when every rank fails alike (a usage error, a divergence, an interruption, all of which the
    /// ranks reach together, after rank 0 has written what it writes) they end together with `code`; when one rank
    /// fails alone (a bad row only it reads) the others are still training, and MPI_Abort ends the whole job.
    /// With `finalize` false the ranks that met leave without MPI_Finalize (when mpirun may be ending the job: it
    /// would not answer MPI_Finalize, which then waits until mpirun kills the rank).
    public static func fail(_ code: Int32, grace: Double = 5, finalize: Bool = true) -> Never {
        fflush(nil)
        guard let group = joinedGroup, group.size > 1, let communicator = ExitCommunicator.handle else {
            if joinedGroup != nil, finalize { MPI_Finalize() }
            _exit(code)
        }
        var request = sk_mpi_request_null()
        MPI_Ibarrier(communicator, &request)
        let deadline = Date().addingTimeInterval(grace)
        var done: Int32 = 0
        while done == 0 && Date() < deadline {
            MPI_Test(&request, &done, sk_mpi_status_ignore())
            if done == 0 { usleep(10_000) }
        }
        if done != 0 {
            if finalize { MPI_Finalize() }
            _exit(code)
        }
        MPI_Abort(sk_mpi_comm_world(), code)
        _exit(code)
    }
}

/// Set once, while `world` starts MPI (before any other thread can ask).
nonisolated(unsafe) private var joinedGroup: ProcessGroup?

/// A duplicate of MPI_COMM_WORLD for the exit barrier of `fail`.
enum ExitCommunicator {
    nonisolated(unsafe) static var handle: MPI_Comm?
}
