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
            Supervised mode (../shared/docs/sdlgm.md): on a 'multilabel' file, a shared MLP of the sparse features
            (the first layer multiplies the CSR rows by a dense weight, never densifying them) with two heads:
            p(L | x) over the label-set size L ≤ L0 and Plackett–Luce scores for the labels, trained with Adam on
            −log p(L | x) minus the Monte-Carlo lower bound on log p(S | x, L). Points with more than L0 labels are
            truncated to L0 of them (counted in the report); points without labels are left out of the loss.
            --method one-vs-all trains the baseline logistic regression (same sparse first layer, no hidden layer),
            --method most-frequent the most-frequent-labels predictor. Evaluate with sk-eval --split test.

            Unsupervised mode: on a 'patches' or 'whitened' file (real-valued rows, --likelihood gaussian) or the
            features of a 'multilabel' file (densified per run, e.g. binary words with --likelihood bernoulli), K =
            --latents features with at most L0 = --max-active of them active per point: the level L and the support
            are sampled in two Gumbel-Softmax steps by an encoder MLP (--hidden), the decoder is linear (--decoder
            linear: a sparse-coding dictionary with an exact L0 constraint) or an MLP; Adam on the ELBO, S = --samples
            relaxed samples per point, temperatures annealed from --tau START to END, --straight-through for hard
            codes forward. Evaluate with sk-eval (held-out ELBO), encode with sk-encode (CSR codes, ≤ L0 per row).

            Examples:
              sk-convert bibtex-train.arff bibtex-test.arff --format arff --xml bibtex.xml -o bibtex.h5
              sk-train sdlgm bibtex.h5 -o sdlgm.h5 --max-active 10 --hidden 512 --epochs 20 --seed 1
              sk-train sdlgm bibtex.h5 -o ova.h5 --method one-vs-all --epochs 20 --seed 1
              sk-train sdlgm white.h5 -o embed.h5 --mode unsupervised --latents 100 --max-active 10 --epochs 20
              sk-train sdlgm bibtex.h5 -o words.h5 --mode unsupervised --likelihood bernoulli --decoder mlp --split all
            """)

    @Argument(help: "A 'multilabel' file (supervised); a 'patches', 'whitened' or 'multilabel' file (unsupervised).")
    var input: String

    @Option(name: .shortAndLong, help: "The model file to write.")
    var output: String

    @Option(help: "supervised or unsupervised.")
    var mode = "supervised"

    @Option(help: "sdlgm, or a baseline: one-vs-all, most-frequent.")
    var method = "sdlgm"

    @Option(name: .customLong("max-active"), help: "L0: the largest label-set size modelled.")
    var maxActive = 10

    @Option(help: "Hidden layer sizes of the shared MLP, comma-separated.")
    var hidden = "512"

    @Option(help: "Epochs.")
    var epochs = 20

    @Option(name: .customLong("batch-size"), help: "Minibatch size.")
    var batchSize = 128

    @Option(name: .customLong("learning-rate"), help: "Adam's learning rate.")
    var learningRate = 1e-3

    @Option(help: "The split to train on ('all' for every row).")
    var split = "train"

    @Option(help: "Seed of the initial weights, the batch order and the sampled orderings or noise.")
    var seed: UInt64 = 0

    @Option(help: "K: latent features (unsupervised).")
    var latents = 100

    @Option(help: "linear or mlp (unsupervised).")
    var decoder = "linear"

    @Option(help: "gaussian or bernoulli (unsupervised).")
    var likelihood = "gaussian"

    @Option(help: "Temperatures START:END of both Gumbel-Softmax steps, annealed exponentially per step (unsupervised).")
    var tau = "1:0.5"

    @Option(help: "Relaxed samples per point and step (unsupervised).")
    var samples = 1

    @Flag(name: .customLong("straight-through"), help: "Hard codes forward, relaxed gradients backward (unsupervised).")
    var straightThrough = false

    @Option(name: .customLong("kl-warmup"), help: "Epochs over which the KL terms' weight rises from 0 to 1 (unsupervised).")
    var klWarmup = 0

    @Option(help: "Continue training this model (its weights, and σ² when unsupervised; epochs numbered on; Adam restarts).")
    var resume: String?

    @Flag(help: "Read minibatches from disk (shuffled blocks, shuffled within a buffer) instead of loading the data: for files larger than memory (supervised: multilabel files; unsupervised: patches or whitened files). Automatic when the data exceed half of the machine's memory.")
    var stream = false

    @OptionGroup var common: CommonOptions

    var hiddenSizes: [Int] { hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard mode == "supervised" || mode == "unsupervised" else {
            throw ValidationError("--mode must be supervised or unsupervised")
        }
        if mode == "unsupervised" { try validateUnsupervised() }
        if resume != nil, method == "most-frequent" { throw ValidationError("--resume continues a network: sdlgm or one-vs-all") }
        guard MultiLabelTrainer.Method(rawValue: method) != nil else {
            throw ValidationError("--method must be sdlgm, one-vs-all or most-frequent")
        }
        guard !hiddenSizes.isEmpty, hiddenSizes.count == hidden.split(separator: ",").count, hiddenSizes.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--hidden takes positive sizes separated by commas, e.g. 512 or 512,256")
        }
        guard maxActive >= 1, epochs >= 1, batchSize >= 1 else {
            throw ValidationError("--max-active, --epochs and --batch-size must be at least 1")
        }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
    }

    func run() throws {
        if mode == "unsupervised" { return try runUnsupervised() }
        try ToolRunner.requireDistinct(output: output, inputs: [input])
        let atomic = try AtomicOutput(path: output)
        let file = try HDF5File.open(input)
        let reader = try MultiLabelRowReader(file: file, split: split == "all" ? nil : split)
        let streaming = stream || reader.exceedsHalfOfMemory
        let rows = streaming ? nil : try MultiLabelDataset.read(from: file).rows(ofSplit: split == "all" ? nil : split, in: input)
        let (points, features, labels) = (reader.rows, reader.featureCount, reader.labelCount)
        var trainer = MultiLabelTrainer(method: MultiLabelTrainer.Method(rawValue: method)!, maxActive: maxActive, epochs: epochs)
        trainer.hidden = hiddenSizes
        trainer.batchSize = batchSize
        trainer.learningRate = learningRate
        trainer.seed = seed
        var start: SupervisedNetwork?, previous: [MultiLabelTrainer.EpochRecord] = []
        if let resume {
            let file = try HDF5File.open(resume)
            let (predictor, trainedMaxActive) = try MultiLabelPredictor.read(from: file)
            let sizes = predictor.network.map { [$0.input.outputs] + $0.hidden.map(\.outputs) }
            guard predictor.method == trainer.method, trainedMaxActive == maxActive, let network = predictor.network,
                  network.input.inputs == features, network.labels == labels,
                  trainer.method == .oneVsAll || sizes == hiddenSizes
            else {
                throw SparseKitError.badInput(resume, "was trained with another --method, --max-active, --hidden or data shape; resume with the same")
            }
            (start, previous) = (network, try MultiLabelTrainer.EpochRecord.read(from: file))
        }
        let report = { (record: MultiLabelTrainer.EpochRecord) -> Bool in
            ProgressReporter.note(String(format: "epoch %d/%d: loss = %.4f per point  (%.1f s)", previous.count + record.epoch,
                                         previous.count + epochs, record.loss, record.seconds), quiet: common.quiet || common.json)
            return true
        }
        let trained = try rows.map { try trainer.train(features: $0.features, labels: $0.labels, from: start, report: report) }
            ?? trainer.train(streaming: reader, from: start, report: report)
        var result = trained
        result.history = previous + trained.history.map { var r = $0; r.epoch += previous.count; return r }
        let configuration: [String: HDF5AttributeValue] = [
            "mode": .string(mode), "method": .string(method), "max_active": .int(maxActive), "hidden": .string(hidden),
            "epochs": .int(epochs), "batch_size": .int(batchSize), "learning_rate": .double(learningRate), "split": .string(split),
            "seed": .int(Int(bitPattern: UInt(seed))), "truncated_points": .int(result.truncatedPoints),
            "resumed_from": .string(resume ?? "none"), "streamed": .int(streaming ? 1 : 0),
            "points_without_labels": .int(result.pointsWithoutLabels),
        ]
        try atomic.commit { path in
            let out = try HDF5File.create(path)
            try result.predictor.write(to: out, maxActive: maxActive, history: result.history, configuration: configuration,
                                       provenance: try file.history() + [ToolRunner.provenance("sk-train sdlgm", inputs: [input] + (resume.map { [$0] } ?? []))])
            try out.close()
        }
        if result.interrupted { throw ToolRunner.interrupted(output, epochs: result.history.count) }
        let summary = Summary(output: output, method: method, points: points, labels: labels, epochs: result.history.count,
                              finalLoss: result.history.last?.loss, truncatedPoints: result.truncatedPoints,
                              pointsWithoutLabels: result.pointsWithoutLabels)
        try common.finish(summary, line: "sk-train sdlgm: \(method) on \(points) points, \(labels) labels"
            + (result.history.last.map { String(format: ", loss %.4f after %d epochs", $0.loss, $0.epoch) } ?? "")
            + "; \(result.truncatedPoints) points truncated to L0 = \(maxActive), \(result.pointsWithoutLabels) without labels; model in \(output)")
    }

    struct Summary: Encodable {
        var output: String
        var method: String
        var points: Int
        var labels: Int
        var epochs: Int
        var finalLoss: Double?
        var truncatedPoints: Int
        var pointsWithoutLabels: Int
    }
}
