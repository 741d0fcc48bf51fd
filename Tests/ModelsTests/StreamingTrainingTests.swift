import DataKit
@testable import Models
import XCTest

/// ES-SC trained from minibatches read from disk (`SparseCodingTrainer.train(streaming:)`).
final class StreamingTrainingTests: XCTestCase {
    func barsFile(count: Int) throws -> (path: String, x: Matrix) {
        let folder = try temporaryFolder(self)
        let (x, _, _) = BarsData.sample(count: count, seed: 1)
        let f = try HDF5File.create(folder + "/bars.h5")
        try f.write(x, to: "/data")
        try f.writeHeader(kind: .patches, history: ["test"])
        try f.close()
        return (folder + "/bars.h5", x)
    }

    /// With the whole file in one block, the reader's order is the in-memory trainer's (the same draws from the same
    /// generator), so both take the same steps: the same W bit for bit, with either E-step. Both keep the running
    /// record (each batch's sums at the W and q of its own E-step), so their histories and σ², λ agree too. (Before,
    /// the in-memory record was L over all N at the epoch's final W with the q's stored along the way; that differs
    /// here, and at small σ² by tens of nats.)
    func testStreamingEMTakesTheInMemorySteps() throws {
        let (path, x) = try barsFile(count: 600)
        for eStep in SparseCodingTrainer.EStep.allCases {
            var trainer = SparseCodingTrainer(latents: 10, scheme: .em, epochs: 4)
            (trainer.batchSize, trainer.iterations, trainer.learningRate, trainer.seed, trainer.eStep) = (100, 30, 0.05, 3, eStep)
            let inMemory = try trainer.train(x)
            let streamed = try trainer.train(streaming: try ShuffledRowReader(file: try HDF5File.open(path)))
            XCTAssertEqual(streamed.model.w, inMemory.model.w, "\(eStep)")
            XCTAssertEqual(streamed.mu.rows, 0, "no per-point state")
            let last = streamed.history.last!
            XCTAssertEqual(Double(streamed.model.sigma2), last.sigma2, accuracy: 1e-6 * last.sigma2, "the model keeps the running σ²")
            XCTAssertEqual(streamed.model.sigma2, inMemory.model.sigma2, "\(eStep)")
            XCTAssertEqual(streamed.model.lambda, inMemory.model.lambda, "\(eStep)")
            for (a, b) in zip(inMemory.history, streamed.history) {
                XCTAssertEqual(b.objective, a.objective, accuracy: 1e-9 * abs(a.objective), "\(eStep), epoch \(a.epoch)")
                XCTAssertEqual(b.sigma2, a.sigma2, accuracy: 1e-9 * a.sigma2, "\(eStep), epoch \(a.epoch)")
            }
            guard eStep == .lbfgs else { continue }
            for (earlier, later) in zip(streamed.history, streamed.history.dropFirst()) {
                XCTAssertGreaterThan(later.objective, earlier.objective, "the running L rises on these settings")
            }
        }
    }

    /// Small blocks and buffer: amortized q trains with Adam from disk, and its running L rises; settings that
    /// keep per-point state are refused.
    func testStreamingAdamAndRestrictions() throws {
        let (path, _) = try barsFile(count: 500)
        let reader = try ShuffledRowReader(file: try HDF5File.open(path), blockRows: 40, bufferBlocks: 3)
        var trainer = SparseCodingTrainer(latents: 10, scheme: .adam, epochs: 6)
        (trainer.posterior, trainer.batchSize, trainer.learningRate, trainer.seed) = (.amortized, 50, 0.01, 1)
        let result = try trainer.train(streaming: reader)
        XCTAssertNotNil(result.encoder)
        XCTAssertGreaterThan(result.history.last!.objective, result.history.first!.objective + 1)
        XCTAssertEqual(result.history.map(\.epoch), Array(1...6))
        for (scheme, posterior, objective, warm) in [(SparseCodingTrainer.Scheme.fullBatch, SparseCodingTrainer.Posterior.diagonal, SparseCodingTrainer.Objective.entropy, false),
                                                     (.em, .diagonal, .mapL1, false), (.em, .diagonal, .entropy, true),
                                                     (.adam, .amortizedLowRank, .entropy, false)] {
            var refused = SparseCodingTrainer(latents: 10, scheme: scheme, epochs: 1)
            (refused.posterior, refused.objective, refused.warmStart) = (posterior, objective, warm)
            XCTAssertNotNil(refused.streamingRestriction)
            XCTAssertThrowsError(try refused.train(streaming: reader))
        }
    }

    /// Unsupervised SDLGM from disk: with one block, the first epoch sees the in-memory batches and noise (the same
    /// generator draws), so the models agree bit for bit; with small blocks, training still proceeds.
    func testStreamingUnsupervisedSDLGM() throws {
        let (path, x) = try barsFile(count: 300)
        var trainer = UnsupervisedTrainer()
        (trainer.latents, trainer.maxActive, trainer.hidden, trainer.epochs, trainer.batchSize, trainer.seed) = (10, 3, [16], 1, 50, 4)
        let inMemory = try trainer.train(x)
        let streamed = try trainer.train(streaming: try ShuffledRowReader(file: try HDF5File.open(path)))
        XCTAssertEqual(streamed.model.encoder.layers.parameters, inMemory.model.encoder.layers.parameters)
        XCTAssertEqual(streamed.model.decoder.layers.parameters, inMemory.model.decoder.layers.parameters)
        XCTAssertEqual(streamed.history.map(\.elbo), inMemory.history.map(\.elbo))
        trainer.epochs = 8
        trainer.learningRate = 0.01
        let small = try trainer.train(streaming: try ShuffledRowReader(file: try HDF5File.open(path), blockRows: 32, bufferBlocks: 2))
        XCTAssertGreaterThan(small.history.last!.elbo, small.history.first!.elbo + 5, "\(small.history.map(\.elbo))")
    }

    /// Supervised SDLGM from disk: the planted rule of `SupervisedSDLGMTests` is learned to P@1 = 1 with small
    /// blocks, and the label statistics (frequencies, truncated and unlabelled points) equal the in-memory ones.
    func testStreamingSupervisedSDLGMLearnsThePlantedRule() throws {
        var g = SeededGenerator(seed: 9)
        let (x, y) = try plantedMultiLabel(400, using: &g), (xt, yt) = try plantedMultiLabel(100, using: &g)
        let folder = try temporaryFolder(self)
        let file = try HDF5File.create(folder + "/planted.h5")
        try MultiLabelDataset(features: x, labels: y, sourceFormat: "test").write(to: file, history: [])
        try file.close()
        var trainer = SupervisedTrainer(method: .sdlgm, maxActive: 3, epochs: 30)
        (trainer.hidden, trainer.batchSize, trainer.learningRate, trainer.seed) = ([16], 32, 0.01, 1)
        let reader = try MultiLabelRowReader(file: try HDF5File.open(folder + "/planted.h5"), split: nil, blockRows: 48, bufferBlocks: 2)
        let streamed = try trainer.train(streaming: reader)
        let inMemory = try trainer.train(features: x, labels: y)
        XCTAssertEqual(streamed.predictor.labelFrequencies, inMemory.predictor.labelFrequencies)
        XCTAssertEqual(streamed.predictor.meanLabelCount, inMemory.predictor.meanLabelCount)
        XCTAssertEqual([streamed.truncatedPoints, streamed.pointsWithoutLabels], [inMemory.truncatedPoints, inMemory.pointsWithoutLabels])
        XCTAssertEqual(streamed.pointsWithoutLabels, 8)
        let report = try SupervisedEvaluation.run(streamed.predictor, features: xt, labels: yt)
        XCTAssertEqual(report.ranking[0].precision, 0.98, accuracy: 0.001, "P@1: every labelled test point right (2 of 100 have no labels)")
    }
}
