import DataKit
import Distributed

/// Trainers that do not train over MPI yet refuse an `mpirun` job of several processes (exit 64) instead of training
/// the whole model on every rank.
enum SingleProcess {
    /// Throws a usage error naming `what` when this process is one of several ranks of an MPI job.
    static func require(_ what: String) throws {
        if ProcessGroup.launchedByMPIRun, ProcessGroup.world.size > 1 {
            throw SparseKitError.usage("\(what) does not train over MPI yet; run it without mpirun")
        }
    }
}
