import DataKit
import Foundation

/// The ranks of a simulated MPI job in one process, one thread each (`run`), swapping rows as MPI_Alltoallv would
/// (`exchange`, the contract of `ProcessGroup.exchange`, of floats or integers): lets `RankShareReader` be tested with
/// P ranks without mpirun.
final class InProcessExchange: @unchecked Sendable {
    let ranks: Int
    private let condition = NSCondition()
    private var sent: [(values: Any, counts: [Int])?]
    private var (arrived, collected, collecting) = (0, 0, false)

    init(ranks: Int) {
        self.ranks = ranks
        sent = .init(repeating: nil, count: ranks)
    }

    /// Rank `rank`'s part of one all-to-all: blocks until every rank has called it, then returns what each sent it.
    func exchange<T>(rank: Int, _ values: [T], _ counts: [Int]) -> [T] {
        condition.lock()
        defer { condition.unlock() }
        while collecting { condition.wait() }  // the previous round is still being collected
        sent[rank] = (values, counts)
        arrived += 1
        if arrived == ranks { collecting = true; condition.broadcast() }
        while !collecting { condition.wait() }
        var received: [T] = []
        for source in 0..<ranks {
            let (sentValues, counts) = sent[source]!
            let values = sentValues as! [T]
            let offset = counts[0..<rank].reduce(0, +)
            received += values[offset..<(offset + counts[rank])]
        }
        collected += 1
        if collected == ranks { (arrived, collected, collecting) = (0, 0, false); condition.broadcast() }
        return received
    }

    /// Rank `rank`'s `RowExchange`: floats and integers alike.
    func rowExchange(rank: Int) -> RowExchange {
        RowExchange(floats: { self.exchange(rank: rank, $0, $1) }, integers: { self.exchange(rank: rank, $0, $1) })
    }

    /// Runs `body(rank)` for every rank on threads of their own and returns their results (or errors) in rank order.
    func run<T>(_ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, Error>] {
        let results = Results<T>(count: ranks)
        let done = DispatchGroup()
        for rank in 0..<ranks {
            done.enter()
            Thread {
                results.set(rank, Result { try body(rank) })
                done.leave()
            }.start()
        }
        done.wait()
        return results.values
    }
}

/// The ranks' results, set from their threads.
private final class Results<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, Error>?]
    init(count: Int) { slots = .init(repeating: nil, count: count) }
    func set(_ rank: Int, _ result: Result<T, Error>) { lock.withLock { slots[rank] = result } }
    var values: [Result<T, Error>] { lock.withLock { slots.map { $0! } } }
}
