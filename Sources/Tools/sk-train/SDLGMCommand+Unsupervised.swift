import ArgumentParser
import DataKit
import Foundation
import Models
import ToolSupport

/// `sk-train sdlgm --mode unsupervised`.
extension SDLGMCommand {
    var temperatures: (start: Double, end: Double)? {
        let parts = tau.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 2, tau.split(separator: ":").count == 2, parts.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        return (parts[0], parts[1])
    }

    func validateUnsupervised() throws {
        guard latents >= 1, maxActive <= latents else { throw ValidationError("--max-active (L0) must be at most --latents (K)") }
        guard UnsupervisedSDLGM.DecoderKind(rawValue: decoder) != nil else { throw ValidationError("--decoder must be linear or mlp") }
        guard UnsupervisedSDLGM.Likelihood(rawValue: likelihood) != nil else {
            throw ValidationError("--likelihood must be gaussian or bernoulli")
        }
        guard temperatures != nil else { throw ValidationError("--tau takes START:END, two positive numbers, e.g. 1:0.5") }
        guard samples >= 1, klWarmup >= 0 else { throw ValidationError("--samples must be at least 1, --kl-warmup at least 0") }
    }

    func runUnsupervised() throws {
        try ToolRunner.requireDistinct(output: output, inputs: [input])  // -o may be the --resume file: output is atomic
        let atomic = try AtomicOutput(path: output)
        let data = try HDF5File.open(input)
        var reader: ShuffledRowReader?  // set when streaming from disk
        if try data.requireKind(.patches, .whitened, .multilabel) != .multilabel {
            reader = try ShuffledRowReader(file: data)
            reader!.allowedRange = likelihood == "bernoulli" ? 0...1 : nil
            if !stream, !reader!.exceedsHalfOfMemory { reader = nil }
        } else if stream {
            throw SparseKitError.usage("--stream reads patches or whitened files; \(input) is a multilabel file")
        }
        let x = reader == nil ? try ModelInput.denseRows(input, split: split == "all" ? nil : split) : nil
        if likelihood == "bernoulli", let x, let bad = x.storage.first(where: { !(0...1).contains($0) }) {
            throw SparseKitError.badInput(input, "holds \(bad): Bernoulli data must lie in [0, 1]")
        }
        let dimension = reader?.cols ?? x!.cols
        var trainer = UnsupervisedTrainer()
        (trainer.latents, trainer.maxActive, trainer.hidden) = (latents, maxActive, hiddenSizes)
        trainer.decoder = UnsupervisedSDLGM.DecoderKind(rawValue: decoder)!
        trainer.likelihood = UnsupervisedSDLGM.Likelihood(rawValue: likelihood)!
        (trainer.epochs, trainer.batchSize, trainer.learningRate) = (epochs, batchSize, learningRate)
        (trainer.samples, trainer.temperatures, trainer.straightThrough, trainer.seed) = (samples, temperatures!, straightThrough, seed)
        trainer.klWarmup = klWarmup
        var start: UnsupervisedSDLGM?, previous: [UnsupervisedTrainer.EpochRecord] = []
        if let resume {
            let file = try HDF5File.open(resume)
            let model = try UnsupervisedSDLGM.read(from: file)
            guard model.dimension == dimension, model.latents == latents, model.maxActive == maxActive,
                  model.likelihood.rawValue == likelihood, model.decoderKind.rawValue == decoder
            else {
                throw SparseKitError.badInput(resume, "was trained with D = \(model.dimension), --latents \(model.latents), "
                    + "--max-active \(model.maxActive), --likelihood \(model.likelihood.rawValue), --decoder \(model.decoderKind.rawValue); "
                    + "resume with the same")
            }
            (start, previous) = (model, try UnsupervisedTrainer.EpochRecord.read(from: file))
        }
        let report = { (record: UnsupervisedTrainer.EpochRecord) -> Bool in
            ProgressReporter.note(String(format: "epoch %d/%d: ELBO = %.4f nats/point  MSE = %.5g  active = %.2f  τ = %.3f  (%.1f s)",
                                         previous.count + record.epoch, previous.count + epochs, record.elbo, record.meanSquaredError,
                                         record.active, record.temperature, record.seconds), quiet: common.quiet || common.json)
            return true
        }
        let (model, trained) = try reader.map { try trainer.train(streaming: $0, from: start, report: report) }
            ?? trainer.train(x!, from: start, report: report)
        let history = previous + trained.map { var r = $0; r.epoch += previous.count; return r }
        let configuration: [String: HDF5AttributeValue] = [
            "mode": .string(mode), "latents": .int(latents), "max_active": .int(maxActive), "hidden": .string(hidden),
            "decoder": .string(decoder), "likelihood": .string(likelihood), "epochs": .int(epochs), "batch_size": .int(batchSize),
            "learning_rate": .double(learningRate), "tau": .string(tau), "samples": .int(samples),
            "straight_through": .int(straightThrough ? 1 : 0), "kl_warmup": .int(klWarmup), "split": .string(split), "seed": .int(Int(bitPattern: UInt(seed))),
            "resumed_from": .string(resume ?? "none"), "streamed": .int(reader == nil ? 0 : 1),
        ]
        try atomic.commit { path in
            let file = try HDF5File.create(path)
            try model.write(to: file, history: history, configuration: configuration,
                            provenance: try data.history() + [ToolRunner.provenance("sk-train sdlgm", inputs: [input] + (resume.map { [$0] } ?? []))])
            if data.kind(of: WhiteningTransform.group) == .group { try file.copy(WhiteningTransform.group, from: data) }
            try PatchGeometry.read(from: data)?.write(to: file)
            try file.close()
        }
        if Interruption.requested { throw ToolRunner.interrupted(output, epochs: history.count) }
        let last = history.last!
        try common.finish(last, line: String(format: "sk-train sdlgm: unsupervised, ELBO %.4f nats/point, %.2f active of L0 = %d after %d epochs; model in %@",
                                             last.elbo, last.active, maxActive, last.epoch, output))
    }
}
