import DataKit

/// The random streams of a minibatch's points: point n of a step's (global) minibatch draws from generator n of
/// the family that the step's seed fixes (`SeededGenerator(seed:stream:)`). What a point draws (noise, dropout
/// masks, a truncation) then depends on the seed, the step and its position in the minibatch only, not on which rank
/// of an MPI job holds it nor on how many points came before it on that rank: one process and P ranks draw alike.
public struct PointStreams {
    /// The generators of the points `positions`, in order.
    public var generators: [SeededGenerator]

    /// The streams of the points at `positions` of a minibatch whose draws are fixed by `seed`.
    public init(seed: UInt64, positions: Range<Int>) {
        generators = positions.map { SeededGenerator(seed: seed, stream: UInt64($0)) }
    }

    /// The streams of the points at `positions` of the next minibatch: its seed is the next number of `generator`,
    /// the run's generator (one draw per step, the same on every rank).
    public init(stepOf generator: inout SeededGenerator, positions: Range<Int>) {
        self.init(seed: generator.next(), positions: positions)
    }

    /// How many points.
    public var count: Int { generators.count }

    /// The generator of the i-th of these points.
    public subscript(i: Int) -> SeededGenerator {
        get { generators[i] }
        set { generators[i] = newValue }
    }
}
