import ArgumentParser
import DataKit
import Foundation
import Models
import ToolSupport

struct SparseCodingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sc",
        abstract: "Entropy-based sparse coding (ES-SC): Laplace prior, linear map W, Gaussian noise.",
        discussion: """
            Maximises the entropy objective L(W, q) = H[q] − H[prior] − H[noise] (Velychko et al., AISTATS 2024), \
            with σ² and λ at their closed forms, for diagonal or full-covariance Gaussian posteriors. Schemes: em (per \
            minibatch an E-step on the batch's q, then a gradient step on W = V/‖V‖; the E-step is coordinate ascent \
            per point with σ², λ re-estimated after every sweep, or with --e-step lbfgs the authors' one L-BFGS over \
            the batch) and full-batch (one L-BFGS over W and every q); amortized posteriors (an encoder x ↦ μ, s) \
            train with adam (Adam over the encoder and W on each minibatch). --anneal-prior weights the prior entropy by β, \
            from START down to 1 (START:EPOCHS) or epoch by epoch (B1,B2,…); the coordinate E-step holds λ at its \
            β = 1 optimum meanwhile, as the annealed objective has no maximum. Baselines on the same em path: --objective elbo-mc (the ELBO by \
            the reparameterization trick, σ² and λ learned) and --objective map-l1 (FISTA codes, penalty α; σ², λ estimated from the \
            codes at the end); and --objective likelihood, the same model trained by maximum likelihood itself (Monte \
            Carlo EM: every point keeps a Gibbs chain of its exact posterior, --samples sweeps per visit; no bound, no \
            posterior family), the reference for what the model can reach.

            Progress per epoch on stderr; the model file holds W, λ, σ², the configuration and the history.

            Examples:
              sk-train sc white.h5 -o model.h5 --latents 100 --epochs 10 \\
                  --anneal-prior 10,8,6,4,2 --seed 1
              sk-train sc white.h5 -o mapl1.h5 --latents 100 \\
                  --objective map-l1 --penalty 0.3 --seed 1
              sk-train sc white.h5 -o amortized.h5 --latents 100 \\
                  --posterior amortized --scheme adam --epochs 20 --anneal-prior 2:10
              sk-train sc white.h5 -o model.h5 --latents 100 --e-step lbfgs
              sk-synth bars -o bars.h5 --count 1000 --seed 1
              sk-train sc bars.h5 -o bars-model.h5 --latents 10 --posterior full \\
                  --scheme full-batch --epochs 10 --iterations 200 --seed 6
            """)

    @Argument(help: "A 'patches' or 'whitened' file (its /data rows are the data points).", completion: .file(extensions: ["h5"]))
    var input: String

    @Option(parsing: .unconditional, help: "Number of latents H.")
    var latents: Int

    @Option(help: "Posterior family: diagonal, full (full covariance; with --scheme full-batch), amortized or amortized-lowrank (an encoder network; with --scheme adam).")
    var posterior = SparseCodingTrainer.Posterior.diagonal

    @Option(help: "Training scheme: em, full-batch or adam.")
    var scheme = SparseCodingTrainer.Scheme.em

    @Option(help: "What to maximise: entropy (ES-SC), or a baseline: elbo-mc (Monte-Carlo ELBO), map-l1 (MAP codes by FISTA), likelihood (log p(x) by Monte Carlo EM).")
    var objective = SparseCodingTrainer.Objective.entropy

    @Option(parsing: .unconditional, help: "r of the amortized-lowrank covariances diag(s²) + U Uᵀ (default 5).")
    var rank: Int?

    @Option(parsing: .unconditional, help: "Monte-Carlo samples per point and E-step (elbo-mc), Gibbs sweeps per point and visit (likelihood); default 1.")
    var samples: Int?

    @Option(parsing: .unconditional, help: "α of the map-l1 energy ½‖x − W z‖² + α‖z‖₁ (default 0.1).")
    var penalty: Double?

    @Option(parsing: .unconditional, help: "Epochs (more epochs with --resume).")
    var epochs = 10

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Minibatch size (em, adam; default 512).")
    var batchSize: Int?

    @Option(name: .customLong("e-step"), help: "E-step solver of the em scheme (entropy objective): coordinate (per-point coordinate ascent, σ² and λ re-estimated after every sweep) or lbfgs (one L-BFGS over the batch, the authors' E-step).")
    var eStep = SparseCodingTrainer.EStep.coordinate

    @Option(parsing: .unconditional, help: "Most sweeps of a coordinate E-step; L-BFGS iterations per E-step (em --e-step lbfgs) or per epoch (full-batch); elbo-mc's Adam steps, map-l1's FISTA steps (default 100).")
    var iterations: Int?

    @Option(name: .customLong("e-step-tolerance"), parsing: .unconditional, help: "A coordinate E-step stops when a sweep raises L by less than this, in nats per point (default 0.01).")
    var eStepTolerance: Double?

    @Flag(name: .customLong("warm-start"), help: "Start each minibatch's E-step from its previous q (em; default: μ = 0, s = 1, as the reference).")
    var warmStart = false

    @Option(name: .customLong("lbfgs-history"), parsing: .unconditional, help: "L-BFGS memory: (s, y) pairs kept (default 20).")
    var lbfgsHistory: Int?

    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Step size of the M-step on W (em; default 0.5) or Adam's learning rate (adam; default 0.001).")
    var learningRate: Double?

    @Option(name: .customLong("anneal-prior"), help: ArgumentHelp("β_prior annealing: START:EPOCHS (β falls linearly to 1) or β per epoch B1,B2,… (then 1; the authors' EM-like schedule is 10,8,6,4,2).", valueName: "SCHEDULE"))
    var annealPrior: SparseCodingTrainer.Annealing?

    @Option(name: .customLong("noise-floor"), parsing: .unconditional, help: "The least σ² --objective likelihood may reach (default: none).")
    var noiseFloor: Double?

    @Option(name: .customLong("statistics-step"), parsing: .unconditional, help: "The least step γ of --objective likelihood's running statistics, in (0, 1] (default 0.2; about 1/γ minibatches are averaged).")
    var statisticsStep: Double?

    @Option(name: .customLong("m-step"), help: "How --objective likelihood updates W, σ², λ: em (closed-form maximisers of running statistics) or adam (Adam along the Rao-Blackwellized gradient of log p(x), --learning-rate, default 1e-3; keeps moving W when σ² is small, where em stalls).")
    var mStep = SparseCodingTrainer.MStep.em

    @Option(name: .customLong("init"), help: "An ES-SC model file whose W, σ², λ --objective likelihood starts from (to fine-tune it by maximum likelihood).", completion: .file(extensions: ["h5"]))
    var initialModel: String?

    @Flag(help: "Read minibatches from disk (shuffled blocks, shuffled within a buffer) instead of loading the data: for files larger than memory. Trains diagonal q with --scheme em or amortized q with --scheme adam; automatic when /data exceeds half of the machine's memory.")
    var stream = false

    @OptionGroup var training: TrainingRunOptions

    /// The trainer these options describe, defaults filled in; options that do not apply are refused.
    func trainer() throws -> SparseCodingTrainer {
        var trainer = SparseCodingTrainer(latents: latents, scheme: scheme, epochs: epochs)
        (trainer.posterior, trainer.objective, trainer.seed, trainer.stream) = (posterior, objective, training.seed ?? 0, stream)
        (trainer.eStep, trainer.mStep) = (eStep, mStep)
        let given: [(SparseCodingTrainer.Setting, Bool)] = [
            (.rank, rank != nil), (.samples, samples != nil), (.penalty, penalty != nil), (.batchSize, batchSize != nil),
            (.iterations, iterations != nil), (.lbfgsHistory, lbfgsHistory != nil), (.warmStart, warmStart),
            (.learningRate, learningRate != nil), (.annealPrior, annealPrior != nil), (.noiseFloor, noiseFloor != nil),
            (.initialModel, initialModel != nil), (.statisticsStep, statisticsStep != nil),
            (.eStep, eStep != .coordinate), (.eStepTolerance, eStepTolerance != nil), (.mStep, mStep != .em),
        ]
        try trainer.refuseInapplicable(given.filter(\.1).map(\.0))
        trainer.rank = rank ?? trainer.rank
        trainer.samples = samples ?? trainer.samples
        trainer.penalty = penalty ?? trainer.penalty
        trainer.batchSize = batchSize ?? trainer.batchSize
        trainer.iterations = iterations ?? trainer.iterations
        trainer.eStepTolerance = eStepTolerance ?? trainer.eStepTolerance
        trainer.lbfgsHistory = lbfgsHistory ?? trainer.lbfgsHistory
        trainer.warmStart = warmStart
        trainer.learningRate = learningRate ?? (trainer.usesAdam ? 1e-3 : 0.5)
        trainer.annealPrior = annealPrior
        trainer.noiseFloor = noiseFloor
        trainer.statisticsStep = statisticsStep ?? trainer.statisticsStep
        if initialModel != nil, training.resume != nil {
            throw SparseKitError.usage("--init starts a new run; --resume continues one: give one of them")
        }
        try trainer.validate()
        return trainer
    }

    func validate() throws {
        try Bounded.check([Bounded("--latents", latents, 1...TrainingLimits.latents), Bounded("--epochs", epochs, 1...TrainingLimits.epochs),
                           Bounded("--batch-size", batchSize, 1...TrainingLimits.batchSize),
                           Bounded("--iterations", iterations, 1...TrainingLimits.iterations),
                           Bounded("--lbfgs-history", lbfgsHistory, 1...TrainingLimits.history), Bounded("--rank", rank, 1...TrainingLimits.history),
                           Bounded("--samples", samples, 1...TrainingLimits.samples), Bounded("--anneal-prior", annealPrior?.epochs, 1...TrainingLimits.epochs)])
        _ = try ToolRunner.validating(trainer)
    }

    /// What the history's objective is: L (entropy), the exact ELBO (elbo-mc) or minus the MAP energy (map-l1).
    var objectiveLabel: String { [.elboMC: "ELBO", .mapL1: "-E_MAP", .likelihood: "log p(x,z)"][objective] ?? "L" }

    /// `trainer()` with the `--init` model read (at run time: a file that cannot be read is an input error, not a
    /// usage error).
    func startingTrainer() throws -> SparseCodingTrainer {
        var trainer = try trainer()
        if let initialModel { trainer.initialModel = (try SparseCodingModel.read(from: try HDF5File.open(initialModel)), initialModel) }
        return trainer
    }

    func run() throws {
        let job = try training.job(try startingTrainer(), tool: "sk-train sc", input: input) { record, lastEpoch in
            String(format: "epoch %d/%d: %@ = %.4f nats/point  σ² = %.5g  mean λ = %.4g  Gini = %.3f  β_prior = %.2f  (%.1f s)",
                   record.epoch, lastEpoch, objectiveLabel, record.objective, record.sigma2, record.meanLambda, record.gini,
                   record.betaPrior, record.seconds)
        }
        let trainer = try trainer()
        let history = try job.run().history
        let last = history.last!
        let summary = TrainingSummary(
            output: training.output, modelKind: "es-sc", epochs: history.count, objectiveName: trainer.objective.rawValue,
            objectiveDirection: .maximize, finalObjective: last.objective, seconds: history.map(\.seconds).reduce(0, +),
            history: history,
            details: Details(latents: trainer.latents, scheme: trainer.scheme.rawValue, posterior: trainer.posterior.rawValue,
                             sigma2: last.sigma2, meanLambda: last.meanLambda))
        try training.common.finish(summary, line: String(format: "sk-train sc: %@ = %.4f nats/point after %d epochs; model in %@",
                                                 objectiveLabel, last.objective, last.epoch, training.output))
    }

    /// The keys --json adds for ES-SC (`TrainingSummary`).
    struct Details: Encodable {
        var latents: Int
        var scheme: String
        var posterior: String
        var sigma2: Double
        var meanLambda: Double
    }
}
