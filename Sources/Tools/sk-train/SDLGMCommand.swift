import ArgumentParser
import DataKit
import Foundation
import Models
import ToolSupport

struct SDLGMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdlgm",
        abstract: "Sparse deep latent generative model (SDLGM): sparse embeddings, or supervised multi-label learning.",
        discussion: """
            Supervised mode (Xu et al., IJCNN 2021): on a 'multilabel' file, a shared MLP of the sparse features \
            (the first layer multiplies the CSR rows by a dense weight, never densifying them) with two heads:
            p(L | x) over the label-set size L ≤ L0 and Plackett–Luce scores for the labels, trained with Adam on \
            −log p(L | x) minus the Monte-Carlo lower bound on log p(S | x, L). Points with more than L0 labels are \
            truncated to L0 of them (counted in the report); points without labels are left out of the loss. \
            --method one-vs-all trains the baseline logistic regression (same sparse first layer, no hidden layer), \
            --method most-frequent the most-frequent-labels predictor. The model stores the training label counts \
            and the number of training points, from which sk-eval computes the propensities. Evaluate with sk-eval.

            Features are rescaled before the first layer (--scale, fitted on the training rows, stored in the model \
            and applied by sk-eval and sk-encode): auto leaves binary features as they are, standardizes dense ones \
            (at least half of the entries non-zero) and divides sparse real values by each feature's largest \
            magnitude (max-abs); tf-idf and l2-rows suit sparse counts. Length: --epochs, or --steps Adam steps; by \
            default 20 epochs or enough for \(SupervisedTrainer.defaultSteps) steps on small data. --validation F holds out a \
            fraction F of the training rows, measures P@1 on them after every epoch, stops once it has not risen for \
            --patience epochs (10, or more to span 250 Adam steps) and keeps the best epoch's weights (/history/validation_precision, /config/best_epoch); \
            --validation-fold I/K holds out fold I of K instead (k-fold cross-validation: the K runs of one seed hold \
            out every training row once). --wide adds a linear map of the scaled features to the label scores (wide \
            & deep; the Plackett–Luce scores then contain one-vs-rest logistic regression's linear scorer), stored in \
            the model as /model/wide. --ensemble M trains M models one after another with the seeds --seed, \
            --seed + 1, … (each exactly the model a single run with that seed writes) and stores them in one file \
            (/model and /model/member2 … /model/memberM, attribute ensemble_members = M); sk-eval and sk-encode rank \
            and predict sets by the members' mean probabilities (the Plackett–Luce first-choice probabilities \
            softmax(h_S(x)) and p(L | x); one-vs-all: the sigmoids). It cannot be combined with --resume, \
            --validation, --validation-fold or mpirun. --neighbours K keeps the rows trained on in the model \
            (/model/neighbours) and blends the label distribution of each evaluated row's K most similar training \
            rows into the first-choice probabilities with weight --neighbour-weight (docs/neighbours.md).

            Rows: \(DefaultSplit.rule).

            Unsupervised mode: on a 'patches' or 'whitened' file (real-valued rows, --likelihood gaussian) or the \
            features of a 'multilabel' file (densified per run, e.g. binary words with --likelihood bernoulli), K = \
            --latents features with at most L0 = --max-active of them active per point: the level L and the support \
            are sampled in two Gumbel-Softmax steps by an encoder MLP (--hidden), the decoder is linear (--decoder \
            linear: a sparse-coding dictionary with an exact L0 constraint) or an MLP; Adam on the ELBO, S = --samples \
            relaxed samples per point, temperatures annealed from --tau START to END, --straight-through for hard \
            codes forward. Evaluate with sk-eval (held-out ELBO), encode with sk-encode (CSR codes, ≤ L0 per row).

            Examples:
              sk-convert bibtex-train.arff --format arff --xml bibtex.xml -o bibtex-train.h5
              sk-train sdlgm bibtex-train.h5 -o sdlgm.h5 --max-active 10 --hidden 512 --epochs 20 --seed 1
              sk-convert bibtex-train.arff bibtex-test.arff --format arff --xml bibtex.xml -o bibtex.h5
              sk-train sdlgm bibtex.h5 -o sdlgm.h5 --seed 1      # a file with splits: trains on 'train' 
              sk-train sdlgm bibtex.h5 -o ova.h5 --method one-vs-all --epochs 20 --seed 1
              sk-train sdlgm birds-train.h5 -o birds.h5 --validation 0.2 --epochs 500 --seed 1
              sk-train sdlgm bibtex-train.h5 -o fold2.h5 --wide --validation-fold 2/5 --steps 4000 --seed 1
              sk-train sdlgm bibtex-train.h5 -o five.h5 --ensemble 5 --scale l2-rows --hidden-dropout 0.5 --epochs 40 --seed 1
              sk-train sdlgm bibtex-train.h5 -o knn.h5 --neighbours 10 --neighbour-weight 0.3 --scale l2-rows --seed 1
              sk-train sdlgm medical-train.h5 -o med.h5 --ensemble 5 --label-smoothing 0.2 --epochs 334 --seed 1
              sk-train sdlgm white.h5 -o embed.h5 --mode unsupervised --latents 100 --max-active 10 --epochs 20
              sk-train sdlgm bibtex.h5 -o words.h5 --mode unsupervised --likelihood bernoulli --decoder mlp --split all
              sk-train sdlgm bibtex.h5 -o more.h5 --resume sdlgm.h5 --max-active 10 --hidden 512 --epochs 5 --seed 1
            """)

    enum Mode: String, CaseIterable, ExpressibleByArgument { case supervised, unsupervised }

    @Argument(help: "A 'multilabel' file (supervised); a 'patches', 'whitened' or 'multilabel' file (unsupervised).", completion: .file(extensions: ["h5"]))
    var input: String

    @Option(help: "supervised or unsupervised.")
    var mode = Mode.supervised

    @Option(help: "sdlgm, or a baseline: one-vs-all, most-frequent (supervised).")
    var method: SupervisedTrainer.Method?

    @Option(name: .customLong("max-active"), parsing: .unconditional, help: "L0: the largest label-set size modelled, or the most active features (default 10; supervised: at most the number of labels).")
    var maxActive: Int?

    @Option(help: ArgumentHelp("Hidden layer sizes of the shared MLP or the encoder, comma-separated (default 512).", valueName: "S1,S2,…"))
    var hidden: LayerSizes?

    @Option(parsing: .unconditional, help: "Epochs (more epochs with --resume; default 20, supervised: or more to make \(SupervisedTrainer.defaultSteps) Adam steps).")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Adam steps instead of --epochs, rounded up to whole epochs (supervised).")
    var steps: Int?

    @Option(help: "Feature scaling, fitted on the training rows and stored in the model (supervised; default auto).")
    var scale: ScaleChoice?

    @Option(parsing: .unconditional, help: ArgumentHelp("Hold out this fraction of the training rows; stop once their P@1 has not risen for --patience epochs, keeping the best epoch (supervised).", valueName: "fraction"))
    var validation: Double?

    @Option(name: .customLong("validation-fold"), help: ArgumentHelp("k-fold cross-validation: hold out fold I of K of the training rows (cut from an order drawn from --seed, so the K runs of one seed hold out every row once); early stopping as with --validation (supervised).", valueName: "I/K"))
    var validationFold: ValidationFold?

    @Option(parsing: .unconditional, help: "Epochs without a better validation P@1 before stopping (with --validation or --validation-fold; default 10, or more to span 250 Adam steps).")
    var patience: Int?

    @Option(parsing: .unconditional, help: "Input dropout: each stored feature of a training minibatch is dropped with this probability (supervised; default 0).")
    var dropout: Double?

    @Option(name: .customLong("hidden-dropout"), parsing: .unconditional, help: "Dropout on every hidden activation of the shared MLP during training (supervised sdlgm; default 0).")
    var hiddenDropout: Double?

    @Option(name: .customLong("label-smoothing"), parsing: .unconditional, help: "Label smoothing ε: the Plackett–Luce bound gets weight 1 − ε and the cross-entropy of the label softmax against the uniform distribution over the labels ε (supervised sdlgm; default 0).")
    var labelSmoothing: Double?

    @Flag(inversion: .prefixedNo, help: "A wide path: a linear map of the scaled features added to the label scores (wide & deep), so that the scores contain every linear scorer, one-vs-rest logistic regression's among them; stored in the model (supervised sdlgm; default off).")
    var wide: Bool?

    @Option(name: .customLong("wide-learning-rate"), parsing: .unconditional, help: "Adam's learning rate for the wide path (with --wide; default --learning-rate's).")
    var wideLearningRate: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Keep the training rows in the model and blend the label distribution of each row's K most similar ones (cosine on tf-idf, or standardized dense features) into the label probabilities; sk-eval and sk-encode may change K and the weight (supervised sdlgm; default: none; docs/neighbours.md).", valueName: "K"))
    var neighbours: Int?

    @Option(name: .customLong("neighbour-weight"), parsing: .unconditional, help: "α, the neighbours' weight in the blend (1 − α) p_model + α p_neighbours (with --neighbours; default \(NeighbourIndex.defaultWeight)).")
    var neighbourWeight: Double?

    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "Decoupled weight decay λ (AdamW): each step shrinks the weights by 1 − learning rate × λ (supervised; default 0).")
    var weightDecay: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Train M models, with the seeds --seed, --seed + 1, …, on the same rows with the same settings, and store them in one model file; sk-eval and sk-encode average their probabilities (supervised sdlgm and one-vs-all; default 1: a single model).", valueName: "M"))
    var ensemble: Int?

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Minibatch size (default 128).")
    var batchSize: Int?

    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Adam's learning rate (default 0.001).")
    var learningRate: Double?

    @Option(help: SplitSelection.help(.train, "train on"))
    var split: SplitSelection?

    @Option(parsing: .unconditional, help: "K: latent features (unsupervised; default 100).")
    var latents: Int?

    @Option(help: "linear or mlp (unsupervised; default linear).")
    var decoder: UnsupervisedSDLGM.DecoderKind?

    @Option(help: "gaussian or bernoulli (unsupervised; default gaussian).")
    var likelihood: UnsupervisedSDLGM.Likelihood?

    @Option(help: ArgumentHelp("Temperatures START:END of both Gumbel-Softmax steps, annealed exponentially per step over the first run's epochs or EPOCHS, then held (unsupervised; default 1:0.5).", valueName: "START:END[:EPOCHS]"))
    var tau: UnsupervisedTrainer.Temperatures?

    @Option(parsing: .unconditional, help: "Relaxed samples per point and step (unsupervised; default 1).")
    var samples: Int?

    @Flag(name: .customLong("straight-through"), help: "Hard codes forward, relaxed gradients backward (unsupervised).")
    var straightThrough = false

    @Option(name: .customLong("kl-warmup"), parsing: .unconditional, help: "Epochs over which the KL terms' weight rises from 0 to 1 (unsupervised; default 0).")
    var klWarmup: Int?

    @Flag(help: "Read minibatches from disk (shuffled blocks, shuffled within a buffer) instead of loading the data: for files larger than memory (supervised: multilabel files; unsupervised: patches or whitened files). Automatic when the data exceed half of the machine's memory.")
    var stream = false

    @OptionGroup var training: TrainingRunOptions

    /// The options given that apply in unsupervised mode only.
    var unsupervisedOnly: [String] {
        [("latents", latents != nil), ("decoder", decoder != nil), ("likelihood", likelihood != nil), ("tau", tau != nil),
         ("samples", samples != nil), ("straight-through", straightThrough), ("kl-warmup", klWarmup != nil)].filter(\.1).map(\.0)
    }

    /// The supervised trainer these options describe; options that do not apply are refused.
    func supervisedTrainer() throws -> SupervisedTrainer {
        if let option = unsupervisedOnly.first { throw SparseKitError.usage("--\(option) applies to --mode unsupervised only") }
        var trainer = SupervisedTrainer(method: method ?? .sdlgm, maxActive: maxActive ?? 10, epochs: epochs ?? 20)
        let given: [(SupervisedTrainer.Setting, Bool)] = [
            (.hidden, hidden != nil), (.maxActive, maxActive != nil), (.epochs, epochs != nil), (.batchSize, batchSize != nil),
            (.learningRate, learningRate != nil), (.seed, training.seed != nil), (.resume, training.resume != nil), (.stream, stream),
            (.steps, steps != nil), (.scale, scale != nil), (.validation, validation != nil), (.patience, patience != nil),
            (.dropout, dropout != nil), (.hiddenDropout, hiddenDropout != nil), (.weightDecay, weightDecay != nil),
            (.validationFold, validationFold != nil), (.wide, wide != nil), (.wideLearningRate, wideLearningRate != nil),
            (.ensemble, ensemble != nil), (.neighbours, neighbours != nil), (.neighbourWeight, neighbourWeight != nil),
            (.labelSmoothing, labelSmoothing != nil),
        ]
        try trainer.refuseInapplicable(given.filter(\.1).map(\.0))
        if ensemble != nil { try SupervisedEnsembleTrainer.refuseCombinations(given.filter(\.1).map(\.0)) }
        trainer.hidden = hidden?.sizes ?? trainer.hidden
        trainer.batchSize = batchSize ?? trainer.batchSize
        trainer.learningRate = learningRate ?? trainer.learningRate
        (trainer.seed, trainer.split, trainer.stream) = (training.seed ?? 0, split?.name, stream)
        (trainer.scaling, trainer.validation, trainer.patience) = (scale?.method, validation, patience ?? trainer.patience)
        (trainer.dropout, trainer.weightDecay) = (dropout ?? trainer.dropout, weightDecay ?? trainer.weightDecay)
        (trainer.hiddenDropout, trainer.validationFold, trainer.wide) = (hiddenDropout ?? trainer.hiddenDropout, validationFold, wide ?? trainer.wide)
        (trainer.wideLearningRate, trainer.neighbours) = (wideLearningRate, neighbours)
        trainer.neighbourWeight = neighbourWeight ?? trainer.neighbourWeight
        trainer.labelSmoothing = labelSmoothing ?? trainer.labelSmoothing
        if neighbourWeight != nil, neighbours == nil { throw SparseKitError.usage("--neighbour-weight applies with --neighbours only") }
        if patience != nil, !trainer.holdsOut { throw SparseKitError.usage("--patience applies with --validation or --validation-fold only") }
        if epochs != nil, steps != nil { throw SparseKitError.usage("give --epochs or --steps, not both") }
        try trainer.validate()
        return trainer
    }

    /// The unsupervised trainer these options describe; options that do not apply are refused.
    func unsupervisedTrainer() throws -> UnsupervisedTrainer {
        let supervisedOnly = [("method", method != nil), ("steps", steps != nil), ("scale", scale != nil), ("validation", validation != nil),
                              ("patience", patience != nil), ("dropout", dropout != nil),
                              ("hidden-dropout", hiddenDropout != nil), ("weight-decay", weightDecay != nil),
                              ("validation-fold", validationFold != nil), ("wide", wide != nil),
                              ("wide-learning-rate", wideLearningRate != nil), ("ensemble", ensemble != nil),
                              ("neighbours", neighbours != nil), ("neighbour-weight", neighbourWeight != nil),
                              ("label-smoothing", labelSmoothing != nil)]
        if let (option, _) = supervisedOnly.first(where: \.1) { throw SparseKitError.usage("--\(option) applies to --mode supervised only") }
        var trainer = UnsupervisedTrainer()
        trainer.latents = latents ?? trainer.latents
        trainer.maxActive = maxActive ?? trainer.maxActive
        trainer.hidden = hidden?.sizes ?? [512]
        trainer.decoder = decoder ?? trainer.decoder
        trainer.likelihood = likelihood ?? trainer.likelihood
        trainer.epochs = epochs ?? trainer.epochs
        trainer.batchSize = batchSize ?? trainer.batchSize
        trainer.learningRate = learningRate ?? trainer.learningRate
        trainer.samples = samples ?? trainer.samples
        trainer.temperatures = tau ?? trainer.temperatures
        (trainer.straightThrough, trainer.klWarmup, trainer.seed) = (straightThrough, klWarmup ?? 0, training.seed ?? 0)
        (trainer.split, trainer.stream) = (split?.name, stream)
        try trainer.validate()
        return trainer
    }

    func validate() throws {
        try Bounded.check([Bounded("--latents", latents, 1...TrainingLimits.latents), Bounded("--max-active", maxActive, 1...TrainingLimits.latents),
                           Bounded("--epochs", epochs, 1...TrainingLimits.epochs), Bounded("--batch-size", batchSize, 1...TrainingLimits.batchSize),
                           Bounded("--steps", steps, 1...TrainingLimits.epochs * 1000), Bounded("--patience", patience, 1...TrainingLimits.epochs),
                           Bounded("--samples", samples, 1...TrainingLimits.samples), Bounded("--kl-warmup", klWarmup, 0...TrainingLimits.epochs),
                           Bounded("--tau", tau?.epochs, 1...TrainingLimits.epochs),
                           Bounded("--ensemble", ensemble, 1...SupervisedEnsembleTrainer.mostMembers),
                           Bounded("--neighbours", neighbours, 1...NeighbourIndex.mostCount)]
                          + (hidden?.sizes ?? []).map { Bounded("--hidden", $0, 1...TrainingLimits.width) })
        try ToolRunner.validating {
            if mode == .supervised { _ = try supervisedTrainer() } else { _ = try unsupervisedTrainer() }
        }
    }

    /// The training job of this run for `trainer`, reporting `line(record)` per epoch.
    func job<T: Trainer>(_ trainer: T, line: @escaping (T.Session.Checkpoint.Record) -> String) throws -> TrainingJob<T> {
        try training.job(trainer, tool: "sk-train sdlgm", input: input) { record, lastEpoch in "epoch \(record.epoch)/\(lastEpoch): " + line(record) }
    }

    /// The split of the input trained on (nil: every row), by the rule every tool shares (`DefaultSplit`).
    func trainingSplit() throws -> String? { try SplitSelection.rows(split, default: .train, file: input) }

    func run() throws {
        if mode == .unsupervised { return try runUnsupervised() }
        var trainer = try supervisedTrainer()
        trainer.split = try trainingSplit()
        trainer = try trainer.resolvingDefaults(epochs: epochs, steps: steps, maxActive: maxActive, patience: patience, data: try HDF5File.open(input))
        guard let members = ensemble, members > 1 else {
            let result = try job(trainer, line: Self.line).run()
            return try finish(trainer, result, history: result.history)
        }
        let result = try training.job(SupervisedEnsembleTrainer(member: trainer, members: members), tool: "sk-train sdlgm", input: input) {
            record, _ in "member \(record.member ?? 1)/\(members), epoch \(record.epoch)/\(trainer.epochs): " + Self.line(record)
        }.run()
        try finish(trainer, result.members[0], history: result.history, members: members)
    }

    /// The progress line of one supervised epoch.
    static func line(_ record: SupervisedTrainer.EpochRecord) -> String {
        String(format: "loss = %.4f per point", record.loss)
            + (record.validationPrecision.map { String(format: "  validation P@1 = %.4f", $0) } ?? "")
            + String(format: "  (%.1f s)", record.seconds)
    }

    /// Reports a supervised run: `first`, the model (an ensemble's first member, whose data counts every member
    /// shares), `history` every epoch of every member.
    func finish(_ trainer: SupervisedTrainer, _ first: SupervisedCheckpoint, history: [SupervisedTrainer.EpochRecord], members: Int = 1) throws {
        let (points, labels) = (first.trainingPoints, first.predictor.labelFrequencies.count)
        let epochs = history.filter { ($0.member ?? 1) == 1 }.count
        let summary = TrainingSummary(
            output: training.output, modelKind: "sdlgm-supervised", epochs: epochs, objectiveName: "loss",
            objectiveDirection: .minimize, finalObjective: history.last?.loss,
            seconds: history.map(\.seconds).reduce(0, +), history: history,
            details: SupervisedDetails(method: trainer.method.rawValue, points: points, labels: labels, maxActive: trainer.maxActive,
                                       truncatedPoints: first.truncatedPoints, pointsWithoutLabels: first.pointsWithoutLabels,
                                       featureScaling: first.predictor.scaling.method.rawValue, bestEpoch: first.bestEpoch,
                                       ensembleMembers: members > 1 ? members : nil))
        try training.common.finish(summary, line: "sk-train sdlgm: \(trainer.method.rawValue) on \(points) points, \(labels) labels"
            + (history.last.map { String(format: ", loss %.4f after %d epochs", $0.loss, $0.epoch) } ?? "")
            + (members > 1 ? ", an ensemble of \(members) members (seeds \(trainer.seed)…\(trainer.seed &+ UInt64(members - 1)))" : "")
            + "; \(first.truncatedPoints) points truncated to L0 = \(trainer.maxActive), \(first.pointsWithoutLabels) without labels; "
            + "model in \(training.output)")
    }

    func runUnsupervised() throws {
        var trainer = try unsupervisedTrainer()
        trainer.split = try trainingSplit()
        let result = try job(trainer) {
            String(format: "ELBO = %.4f nats/point  MSE = %.5g  active = %.2f  τ = %.3f  (%.1f s)",
                   $0.elbo, $0.meanSquaredError, $0.active, $0.temperature, $0.seconds)
        }.run()
        let last = result.history.last!
        let summary = TrainingSummary(
            output: training.output, modelKind: "sdlgm-unsupervised", epochs: result.history.count, objectiveName: "elbo",
            objectiveDirection: .maximize, finalObjective: last.elbo, seconds: result.history.map(\.seconds).reduce(0, +),
            history: result.history,
            details: UnsupervisedDetails(latents: trainer.latents, maxActive: trainer.maxActive, meanActive: last.active))
        try training.common.finish(summary, line: String(format: "sk-train sdlgm: unsupervised, ELBO %.4f nats/point, %.2f active of L0 = %d after %d epochs; model in %@",
                                             last.elbo, last.active, trainer.maxActive, last.epoch, training.output))
    }

    /// The keys --json adds for a supervised model (`TrainingSummary`).
    struct SupervisedDetails: Encodable {
        var method: String
        var points: Int
        var labels: Int
        var maxActive: Int
        var truncatedPoints: Int
        var pointsWithoutLabels: Int
        var featureScaling: String
        /// The epoch whose weights the model holds (with --validation).
        var bestEpoch: Int?
        /// M, with --ensemble M ≥ 2.
        var ensembleMembers: Int?
    }

    /// The keys --json adds for an unsupervised model (`TrainingSummary`).
    struct UnsupervisedDetails: Encodable {
        var latents: Int
        var maxActive: Int
        var meanActive: Double
    }
}
