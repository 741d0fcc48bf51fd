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
        switch try ModelKind.read(from: modelFile) {
        case .sparseCoding: try runSparseCoding(modelFile)
        case .unsupervisedSDLGM: try runUnsupervised(modelFile)
        case .supervisedSDLGM: try runMultiLabel(modelFile)
        case .baseline: try runBaseline(modelFile)
        }
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
}

extension SparseCodingEvaluation.LikelihoodMethod: ExpressibleByArgument {}
