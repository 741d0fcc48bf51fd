import ArgumentParser
import DataKit
import Foundation
import Models
import ToolSupport

@main
struct TrainCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-train",
        abstract: "Train a sparse latent model on a SparseKit data file.",
        version: SparseKit.version,
        subcommands: [SparseCodingCommand.self, SDLGMCommand.self, BaselineCommand.self])

    /// Training stops after the current minibatch and writes a resumable model.
    static let stopsAtSafePoints = true
}

struct SparseCodingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sc",
        abstract: "Entropy-based sparse coding (ES-SC): Laplace prior, linear map W, Gaussian noise.",
        discussion: """
            Maximises the entropy objective L(W, q) = H[q] − H[prior] − H[noise] (../shared/docs/es-sc.md), with
            σ² and λ at their closed forms, for diagonal or full-covariance Gaussian posteriors. Schemes: em (per
            minibatch an L-BFGS E-step on the batch's q, then a gradient step on W = V/‖V‖) and full-batch (one
            L-BFGS over W and every q); amortized posteriors (an encoder x ↦ μ, s) train with adam (Adam over
            the encoder and W on each minibatch). --anneal-prior START:EPOCHS weights the prior entropy by β from START
            down to 1. Baselines on the same em path: --objective elbo-mc (the ELBO by the reparameterization
            trick, σ² and λ learned) and --objective map-l1 (FISTA codes, penalty α; σ², λ estimated from the
            codes at the end).
            Progress per epoch on stderr; the model file holds W, λ, σ², the configuration and the history.

            Examples:
              sk-train sc white.h5 -o model.h5 --latents 100 --scheme em --epochs 10 --anneal-prior 10:5 --seed 1
              sk-train sc white.h5 -o mapl1.h5 --latents 100 --objective map-l1 --penalty 0.3 --seed 1
              sk-train sc white.h5 -o amortized.h5 --latents 100 --posterior amortized --scheme adam --epochs 20 --anneal-prior 2:10
              sk-synth bars -o bars.h5 --count 1000 --seed 1
              sk-train sc bars.h5 -o bars-model.h5 --latents 10 --posterior full --scheme full-batch --epochs 10 --iterations 200 --seed 6
            """)

    @Argument(help: "A 'patches' or 'whitened' file (its /data rows are the data points).")
    var input: String

    @Option(name: .shortAndLong, help: "The model file to write.")
    var output: String

    @Option(help: "Number of latents H.")
    var latents: Int

    @Option(help: "Posterior family: diagonal, full (full covariance; with --scheme full-batch), amortized or amortized-lowrank (an encoder network; with --scheme adam).")
    var posterior = "diagonal"

    @Option(help: "r of the amortized-lowrank covariances diag(s²) + U Uᵀ.")
    var rank = 5

    @Option(help: "Training scheme: em, full-batch or adam.")
    var scheme = "em"

    @Option(help: "What to maximise: entropy (ES-SC), or a baseline: elbo-mc (Monte-Carlo ELBO), map-l1 (MAP codes by FISTA).")
    var objective = "entropy"

    @Option(help: "Monte-Carlo samples per point and E-step (elbo-mc).")
    var samples = 1

    @Option(help: "α of the map-l1 energy ½‖x − W z‖² + α‖z‖₁.")
    var penalty = 0.1

    @Option(help: "Epochs.")
    var epochs = 10

    @Option(name: .customLong("batch-size"), help: "Minibatch size (em).")
    var batchSize = 512

    @Option(help: "L-BFGS iterations per E-step (em) or per epoch (full-batch).")
    var iterations = 100

    @Flag(name: .customLong("warm-start"), help: "Start each minibatch's E-step from its previous q (em; default: μ = 0, s = 1, as the reference).")
    var warmStart = false

    @Option(name: .customLong("lbfgs-history"), help: "L-BFGS memory: (s, y) pairs kept.")
    var lbfgsHistory = 20

    @Option(name: .customLong("learning-rate"), help: "Step size of the M-step on W (em; default 0.5) or Adam's learning rate (adam; default 0.001).")
    var learningRate: Double?

    @Option(name: .customLong("anneal-prior"), help: "β_prior annealing START:EPOCHS (β falls linearly to 1).")
    var annealPrior: String?

    @Option(help: "A model file to continue training from (same data dimension, latents and posterior family); --epochs more epochs.")
    var resume: String?

    @Option(help: "Seed of the initial W and the minibatch order.")
    var seed: UInt64 = 0

    @Flag(help: "Read minibatches from disk (shuffled blocks, shuffled within a buffer) instead of loading the data: for files larger than memory. Trains diagonal q with --scheme em or amortized q with --scheme adam; automatic when /data exceeds half of the machine's memory.")
    var stream = false

    @OptionGroup var common: CommonOptions

    func parsedAnnealing() throws -> (Double, Int)? {
        guard let annealPrior else { return nil }
        let parts = annealPrior.split(separator: ":")
        guard parts.count == 2, let start = Double(parts[0]), let span = Int(parts[1]), start >= 1, span >= 1 else {
            throw ValidationError("--anneal-prior takes START:EPOCHS with START ≥ 1, e.g. 10:5")
        }
        return (start, span)
    }

    func validate() throws {
        guard latents >= 1 else { throw ValidationError("--latents must be at least 1") }
        guard let family = SparseCodingTrainer.Posterior(rawValue: posterior) else {
            throw ValidationError("--posterior must be diagonal, full, amortized or amortized-lowrank")
        }
        if family == .full, scheme != "full-batch" { throw ValidationError("--posterior full trains with --scheme full-batch") }
        if family.isAmortized != (scheme == "adam") {
            throw ValidationError("--posterior amortized and amortized-lowrank train with --scheme adam, and --scheme adam trains only them")
        }
        guard rank >= 1 else { throw ValidationError("--rank must be at least 1") }
        guard SparseCodingTrainer.Scheme(rawValue: scheme) != nil else { throw ValidationError("--scheme must be em, full-batch or adam") }
        guard let goal = SparseCodingTrainer.Objective(rawValue: objective) else {
            throw ValidationError("--objective must be entropy, elbo-mc or map-l1")
        }
        if goal != .entropy, scheme != "em" || family != .diagonal {
            throw ValidationError("--objective \(objective) trains diagonal posteriors with --scheme em")
        }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard penalty > 0, penalty.isFinite else { throw ValidationError("--penalty must be positive") }
        guard epochs >= 1, batchSize >= 1, iterations >= 1, lbfgsHistory >= 1 else {
            throw ValidationError("--epochs, --batch-size, --iterations and --lbfgs-history must be at least 1")
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--learning-rate must be positive") }
        _ = try parsedAnnealing()
    }

    /// The model to resume from, checked against this run's configuration.
    func checkpoint(_ path: String) throws -> SparseCodingTrainer.Checkpoint {
        let file = try HDF5File.open(path)
        let model = try SparseCodingModel.read(from: file)
        for (name, value) in [("posterior", posterior), ("objective", objective)] {
            let stored = try file.attribute(name, of: "/config")?.stringValue ?? (name == "objective" ? "entropy" : "diagonal")
            guard stored == value else {
                throw SparseKitError.badInput(path, "was trained with --\(name) \(stored), not \(value)")
            }
        }
        let encoder = try GaussianEncoder.read(from: file, dimension: model.dimension, latents: model.latents)
        return .init(model: model, encoder: encoder, history: try EpochRecord.read(from: file))
    }

    /// What the history's objective is: L (entropy), the exact ELBO (elbo-mc) or minus the MAP energy (map-l1).
    var objectiveLabel: String { ["elbo-mc": "ELBO", "map-l1": "-E_MAP"][objective] ?? "L" }

    /// The --learning-rate, or the scheme's default.
    var stepSize: Double { learningRate ?? (scheme == "adam" ? 1e-3 : 0.5) }

    func run() throws {
        try ToolRunner.requireDistinct(output: output, inputs: [input])  // -o may be the --resume file: output is atomic
        let atomic = try AtomicOutput(path: output)
        let data = try HDF5File.open(input)
        var trainer = SparseCodingTrainer(latents: latents, scheme: SparseCodingTrainer.Scheme(rawValue: scheme)!, epochs: epochs)
        trainer.posterior = SparseCodingTrainer.Posterior(rawValue: posterior)!
        trainer.objective = SparseCodingTrainer.Objective(rawValue: objective)!
        trainer.rank = rank
        trainer.samples = samples
        trainer.penalty = penalty
        trainer.batchSize = batchSize
        trainer.iterations = iterations
        trainer.lbfgsHistory = lbfgsHistory
        trainer.warmStart = warmStart
        trainer.learningRate = stepSize
        trainer.annealPrior = try parsedAnnealing()
        trainer.seed = seed
        if let resume { trainer.resume = try checkpoint(resume) }
        let totalEpochs = (trainer.resume?.history.count ?? 0) + epochs
        let reader = try ShuffledRowReader(file: data)
        let streaming = stream || reader.exceedsHalfOfMemory
        if streaming, let restriction = trainer.streamingRestriction {
            throw SparseKitError.usage(stream ? "--stream: \(restriction)"
                : "\(input): /data takes \(reader.dataBytes >> 20) MiB, more than half of this machine's memory, so it must be "
                    + "streamed from disk, but \(restriction)")
        }
        let report = { (record: EpochRecord) -> Bool in
            ProgressReporter.note(String(format: "epoch %d/%d: %@ = %.4f nats/point  σ² = %.5g  mean λ = %.4g  Gini = %.3f  β_prior = %.2f  (%.1f s)",
                                         record.epoch, totalEpochs, objectiveLabel, record.objective, record.sigma2, record.meanLambda, record.gini,
                                         record.betaPrior, record.seconds), quiet: common.quiet || common.json)
            return true
        }
        let result = streaming ? try trainer.train(streaming: reader, report: report) : try trainer.train(data.readDataMatrix(), report: report)
        let configuration: [String: HDF5AttributeValue] = [
            "latents": .int(latents), "posterior": .string(posterior), "objective": .string(objective), "rank": .int(rank),
            "samples": .int(samples), "penalty": .double(penalty), "scheme": .string(scheme), "epochs": .int(epochs),
            "batch_size": .int(batchSize), "iterations": .int(iterations), "lbfgs_history": .int(lbfgsHistory), "warm_start": .int(warmStart ? 1 : 0), "learning_rate": .double(stepSize),
            "anneal_prior": .string(annealPrior ?? "none"), "seed": .int(Int(bitPattern: UInt(seed))), "resumed_from": .string(resume ?? "none"),
            "streamed": .int(streaming ? 1 : 0),
        ]
        try atomic.commit { path in
            let file = try HDF5File.create(path)
            try result.model.write(to: file, configuration: configuration, history: result.history,
                                   provenance: try data.history() + [ToolRunner.provenance("sk-train sc", inputs: [input] + (resume.map { [$0] } ?? []))])
            try result.encoder?.write(to: file)
            if data.kind(of: WhiteningTransform.group) == .group { try file.copy(WhiteningTransform.group, from: data) }
            try PatchGeometry.read(from: data)?.write(to: file)
            try file.close()
        }
        if let stoppedEarly = result.stoppedEarly { throw SparseKitError.badInput(input, stoppedEarly + "; model written to \(output)") }
        if result.interrupted { throw ToolRunner.interrupted(output, epochs: result.history.count) }
        let last = result.history.last!
        try common.finish(last, line: String(format: "sk-train sc: %@ = %.4f nats/point after %d epochs; model in %@",
                                             objectiveLabel, last.objective, last.epoch, output))
    }
}
