import ArgumentParser
import DataKit
import Models
import ToolSupport

@main
struct EvalCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-eval",
        abstract: "Evaluate a model on data: objective, held-out ELBO, log-likelihood, sparsity.",
        discussion: """
            For ES-SC models: W, σ² and λ stay fixed from training and q is fitted per point. Reports the entropy
            objective on the data, the held-out ELBO (mean ± standard error), the Gini coefficient of the posterior
            means, and σ², λ. With --loglik also log p(x) per point in nats and bits per dimension: by default
            annealed importance sampling (K = --chains chains per point from the prior through T = --temperatures
            tempered posteriors on a sigmoid schedule, exact Gibbs sweeps; a stochastic lower bound), with the
            per-point variance of the chains' log-weights; --loglik-method is gives plain importance sampling with
            the fitted q widened 1.5× (--samples per point), for comparison only. --bdmc N checks the estimator
            (bidirectional Monte Carlo): N points simulated from the model, forward AIS (lower bound) and reverse
            AIS from the simulated latents (upper bound); the gap bounds the error of both (DATA is not read).
            A model file with only /model/W, /model/lambda and /model/sigma2 is enough. The rows are read and
            evaluated 8,192 at a time, so memory stays bounded however large the data file is.

            For unsupervised SDLGM models (on the kind of file they were trained on): the held-out ELBO of the
            discrete model (hard samples, --elbo-samples per point; mean ± standard error), its log-likelihood and
            KL parts, the reconstruction error of the evaluation codes (L̂ = argmax q(L|x), the top-L̂ features,
            values μ) against the data's variance, and the histogram of active features per code (never above L0).
            With --loglik, log p(x) by importance sampling (--samples per point; nats/point and bits/dimension, mean
            ESS): for a linear Gaussian decoder only the ordered support is sampled and p(x | S) is exact.

            For supervised SDLGM models (and their baselines) on a 'multilabel' file: P@k, nDCG@k, PSP@k and
            PSnDCG@k for k = 1, 3, 5 on --split (propensities from the --propensity-split labels, normalized as
            pyxclib computes them), micro/macro/example F1, Hamming loss, subset accuracy and the mean predicted
            versus true label count.

            Examples:
              sk-eval model.h5 heldout-white.h5
              sk-eval model.h5 heldout-white.h5 --loglik --json | jq .logLikelihood
              sk-eval model.h5 heldout-white.h5 --loglik --loglik-method is --samples 1000
              sk-eval model.h5 --bdmc 200 --temperatures 1000 --chains 16
              sk-eval sdlgm.h5 bibtex.h5 --split test
              sk-eval embed.h5 heldout-white.h5 --elbo-samples 20
            """,
        version: SparseKit.version)

    @Argument(help: "A model file.")
    var model: String

    @Argument(help: "A 'patches' or 'whitened' file prepared as the training data were (ES-SC), or a 'multilabel' file (SDLGM); not read with --bdmc.")
    var data: String?

    @Flag(help: "Also estimate the log-likelihood.")
    var loglik = false

    @Option(name: .customLong("loglik-method"), help: "ES-SC log-likelihood estimator: ais (annealed importance sampling) or is (importance sampling with the fitted q).")
    var loglikMethod: SparseCodingEvaluation.LikelihoodMethod = .ais

    @Option(help: "AIS chains K per point (ES-SC).")
    var chains = AnnealedImportanceSampling.defaultChains

    @Option(help: "AIS temperatures T (ES-SC).")
    var temperatures = AnnealedImportanceSampling.defaultTemperatures

    @Option(help: "Check AIS by bidirectional Monte Carlo on this many points simulated from the ES-SC model.")
    var bdmc: Int?

    @Flag(name: .customLong("per-point"), help: "With --loglik and --json (ES-SC): also every point's ELBO, log-likelihood, log-weight variance and ESS (perPoint).")
    var perPoint = false

    @Option(help: "Importance samples per point (--loglik-method is; SDLGM --loglik).")
    var samples = 1000

    @Option(help: "Seed of the samplers.")
    var seed: UInt64 = 0

    @Option(name: .customLong("elbo-samples"), help: "Samples per point of the held-out ELBO (unsupervised SDLGM).")
    var elboSamples = 10

    @Option(help: "The split to evaluate (SDLGM; 'all' for every row).")
    var split = "test"

    @Option(name: .customLong("propensity-split"), help: "The split whose labels give the propensities (SDLGM).")
    var propensitySplit = "train"

    @Option(name: .customLong("propensity-a"), help: "Propensity parameter A (SDLGM).")
    var propensityA = 0.55

    @Option(name: .customLong("propensity-b"), help: "Propensity parameter B (SDLGM).")
    var propensityB = 1.5

    @OptionGroup var common: CommonOptions

    /// The largest value of each count option: beyond them the buffers they size (K chains × H, K log-weights,
    /// N simulated points × (D + H)) would not fit in memory, or a run would take years.
    static let limits: [(name: String, bound: Int)] = [("--samples", 10_000_000), ("--elbo-samples", 100_000),
                                                       ("--chains", 100_000), ("--temperatures", 10_000_000),
                                                       ("--bdmc", 100_000)]

    func validate() throws {
        for ((name, bound), value) in zip(Self.limits, [samples, elboSamples, chains, temperatures, bdmc ?? 1])
        where !(1...bound).contains(value) {
            throw ValidationError("\(name) must be between 1 and \(bound), not \(value)")
        }
        guard data != nil || bdmc != nil else { throw ValidationError("give a data file (or --bdmc N for an ES-SC model)") }
    }

    func run() throws {
        let modelFile = try HDF5File.open(model)
        if try UnsupervisedSDLGM.isUnsupervised(modelFile) { return try runUnsupervised(modelFile) }
        if try modelFile.attribute("model")?.stringValue == "sdlgm" { return try runMultiLabel(modelFile) }
        if try BaselineDensity.isBaseline(modelFile) { return try runBaseline(modelFile) }
        let sc = try SparseCodingModel.read(from: modelFile)
        if let bdmc { return try runBDMC(sc, points: bdmc) }
        let rows = try ModelInput.matchingDataset(try dataPath(), model: model, modelFile: modelFile, dimension: sc.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        let settings = SparseCodingEvaluation.LikelihoodSettings(
            method: loglikMethod, samples: loglikMethod == .ais ? chains : samples, temperatures: temperatures, seed: seed,
            keepsPerPoint: perPoint)
        var report = try SparseCodingEvaluation.run(sc, rowsOf: rows, likelihood: loglik ? settings : nil) {
            progress.report("evaluating rows", $0, $1)
        }
        progress.finish()
        if report.logLikelihood != nil, let offset = try whiteningLogAbsDeterminant(of: dataPath()) {
            report.logLikelihood!.whiteningLogAbsDeterminant = offset
            report.logLikelihood!.pixelSpaceMean = report.logLikelihood!.mean + offset
        }
        if common.json { try ToolRunner.printJSON(report) } else { print(report.text) }
    }

    /// Bidirectional Monte Carlo on points simulated from the model: both bounds and their gap.
    func runBDMC(_ sc: SparseCodingModel, points: Int) throws {
        let bounds = BidirectionalMonteCarlo.run(sc, points: points, temperatures: temperatures, chains: chains, seed: seed)
        if common.json { try ToolRunner.printJSON(bounds) } else { print(bounds.text) }
    }

    /// log|det M| of the data file's whitening matrix, when it has an invertible one: added to a log-density of
    /// the whitened data it gives the density of the patches before whitening.
    func whiteningLogAbsDeterminant(of path: String) throws -> Double? {
        let file = try HDF5File.open(path)
        guard file.kind(of: WhiteningTransform.group) == .group else { return nil }
        return try WhiteningTransform.read(from: file).logAbsDeterminant
    }

    /// The data file, which every evaluation but --bdmc needs.
    func dataPath() throws -> String {
        guard let data else { throw ValidationError("give a data file to evaluate on") }
        return data
    }

    func runUnsupervised(_ modelFile: HDF5File) throws {
        let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
        let rows = try ModelInput.denseRowBlocks(try dataPath(), split: split == "all" ? nil : split, model: model,
                                                 modelFile: modelFile, dimension: sdlgm.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        var report = try UnsupervisedEvaluation.run(sdlgm, rows: rows.count, samples: elboSamples,
                                                    likelihoodSamples: loglik ? samples : nil, seed: seed,
                                                    progress: { progress.report("evaluating rows", $0, $1) }, block: rows.read)
        progress.finish()
        if let marginal = report.marginalLogLikelihood, let offset = try whiteningLogAbsDeterminant(of: dataPath()) {
            report.whiteningLogAbsDeterminant = offset
            report.marginalPixelSpaceLogLikelihood = marginal.mean + offset
        }
        if common.json { try ToolRunner.printJSON(report) } else { print(report.text) }
    }

    func runMultiLabel(_ modelFile: HDF5File) throws {
        let (predictor, _) = try MultiLabelPredictor.read(from: modelFile)
        let data = try dataPath()
        let dataFile = try HDF5File.open(data)
        guard try dataFile.fileKind() == .multilabel else {
            throw SparseKitError.badInput(data, "is not a 'multilabel' file; SDLGM models are evaluated on multilabel files")
        }
        let dataset = try MultiLabelDataset.read(from: dataFile)
        let (x, y) = try dataset.rows(ofSplit: split == "all" ? nil : split, in: data)
        let (_, training) = try dataset.rows(ofSplit: propensitySplit == "all" ? nil : propensitySplit, in: data)
        let features = predictor.network?.input.inputs ?? x.cols
        guard x.cols == features, y.cols == predictor.labelFrequencies.count else {
            throw SparseKitError.badInput(data, "has \(x.cols) features and \(y.cols) labels; \(model) expects \(features) and \(predictor.labelFrequencies.count)")
        }
        let report = try MultiLabelEvaluation.run(predictor, features: x, labels: y, trainingLabels: training, a: propensityA, b: propensityB)
        if common.json { try ToolRunner.printJSON(report) } else { print(report.text) }
    }
}

extension SparseCodingEvaluation.LikelihoodMethod: ExpressibleByArgument {}
