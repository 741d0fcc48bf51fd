import DataKit
import Distributed
@testable import Models
import XCTest

/// The distributed em step (`SparseCodingTrainer+Distributed.swift`) run by one process: it must take the steps of
/// one process streaming the file (the same batches; the gradient's sums formed in another order, so W agrees to
/// rounding). The two-rank run is tested through mpirun in ToolTests (`DistributedToolTests`).
final class DistributedTrainingTests: XCTestCase {
    func testOneRankTakesTheStreamedSteps() throws {
        let folder = try temporaryFolder(self)
        let (x, _, _) = BarsData.sample(count: 600, seed: 1)
        let f = try HDF5File.create(folder + "/bars.h5")
        try f.write(x, to: "/data")
        try f.writeHeader(kind: .patches, history: ["test"])
        try f.close()
        let file = try HDF5File.open(folder + "/bars.h5")
        let reader = try ShuffledRowReader(file: file, blockRows: 128, bufferBlocks: 2)
        var trainer = SparseCodingTrainer(latents: 10, scheme: .em, epochs: 1)
        (trainer.batchSize, trainer.iterations, trainer.learningRate, trainer.seed) = (100, 30, 0.05, 3)
        var streamed = try SparseCodingSession(trainer, source: .stream(reader))
        var distributed = try SparseCodingSession(trainer, source: .stream(reader))
        for _ in 0..<3 {
            let a = try streamed.runEpoch(shouldStop: { false })
            let (terms, _) = try trainer.distributedEpoch(reader, .single, &distributed.state, &distributed.adam, .one, &distributed.generator,
                                                          shouldStop: { false })
            XCTAssertEqual(terms.value, a.objective, accuracy: 1e-4 * abs(a.objective))
        }
        let difference = zip(streamed.state.v.storage, distributed.state.v.storage).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(difference, 1e-4, "V agrees to rounding")
    }
}
