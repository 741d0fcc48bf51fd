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
            For ES-SC models: W, σ² and λ stay fixed from training and q is fitted per point. Reports the entropy \
            objective on the data, the held-out ELBO (mean ± standard error), the Gini coefficient of the posterior \
            means, and σ², λ. With --loglik also log p(x) per point in nats and bits per dimension: by default \
            annealed importance sampling (K = --chains chains per point from the prior through T = --temperatures \
            tempered posteriors on a sigmoid schedule, exact Gibbs sweeps; a stochastic lower bound), with the \
            per-point variance of the chains' log-weights; --loglik-method is gives plain importance sampling with \
            the fitted q widened 1.5× (--samples per point), for comparison only. --bdmc N checks the estimator \
            (bidirectional Monte Carlo): N points simulated from the model, forward AIS (lower bound) and reverse \
            AIS from the simulated latents (upper bound); the gap bounds the error of both (DATA is not read). \
            A model file with only /model/W, /model/lambda and /model/sigma2 is enough. The rows are read and \
            evaluated 8,192 at a time, so memory stays bounded however large the data file is.

            For unsupervised SDLGM models (on the kind of file they were trained on): the held-out ELBO of the \
            discrete model (hard samples, --elbo-samples per point; mean ± standard error), its log-likelihood and \
            KL parts, the reconstruction error of the evaluation codes (L̂ = argmax q(L|x), the top-L̂ features, \
            values μ) against the data's variance, and the histogram of active features per code (never above L0). \
            With --loglik, log p(x) by importance sampling (--samples per point; nats/point and bits/dimension, mean \
            ESS): for a linear Gaussian decoder only the ordered support is sampled and p(x | S) is exact.

            For supervised SDLGM models (and their baselines) on a 'multilabel' file: P@k, nDCG@k, PSP@k and \
            PSnDCG@k at each k of --k (default 1,3,5) as pyxclib's xc_metrics computes them (PSP and PSnDCG \
            normalized by the ideal ranking's), micro/macro/example F1, Hamming loss, subset accuracy and the mean \
            predicted versus true label count. The propensities (Jain et al. 2016, pyxclib's \
            compute_inv_propesity, --propensity-a/-b) come from the training label counts stored in the model, so \
            the training file is not needed; a model written before SparseKit stored them takes them from the \
            labels of --propensity-split (default: the data file's 'train' split, if it has one), or reports none. \
            pyxclib's typical A, B: 0.55, 1.5 (the default), 0.5, 0.4 for Wikipedia data sets, 0.6, 2.6 for Amazon.

            Rows of a 'multilabel' file (SDLGM): \(DefaultSplit.rule).

            Examples:
              sk-eval model.h5 heldout-white.h5
              sk-eval model.h5 heldout-white.h5 --loglik --json | jq .log_likelihood
              sk-eval model.h5 heldout-white.h5 --loglik --loglik-method is --samples 1000
              sk-eval model.h5 --bdmc 200 --temperatures 1000 --chains 16
              sk-eval sdlgm.h5 bibtex-test.h5 --k 1,3,5,10
              sk-eval sdlgm.h5 bibtex.h5             # a file with splits: its 'test' split
              sk-eval knn.h5 bibtex-test.h5 --neighbours 20 --neighbour-weight 0.4   # a model trained with --neighbours
              sk-eval embed.h5 heldout-white.h5 --elbo-samples 20
            """,
        version: SparseKit.versionReport)

    @Argument(help: "A model file.", completion: .file(extensions: ["h5"]))
    var model: String

    @Argument(help: "A 'patches' or 'whitened' file prepared as the training data were (ES-SC), or a 'multilabel' file (SDLGM); not read with --bdmc.", completion: .file(extensions: ["h5"]))
    var data: String?

    @Flag(help: "Also estimate the log-likelihood (ES-SC without --bdmc; unsupervised SDLGM).")
    var loglik = false

    @Option(name: .customLong("loglik-method"), help: "ES-SC log-likelihood estimator, with --loglik: ais (annealed importance sampling; the default) or is (importance sampling with the fitted q).")
    var loglikMethod: SparseCodingEvaluation.LikelihoodMethod?

    @Option(parsing: .unconditional, help: "AIS chains K per point (ES-SC with --loglik or --bdmc; default \(AnnealedImportanceSampling.defaultChains)).")
    var chains: Int?

    @Option(parsing: .unconditional, help: "AIS temperatures T (ES-SC with --loglik or --bdmc; default \(AnnealedImportanceSampling.defaultTemperatures)).")
    var temperatures: Int?

    @Option(name: .customLong("transition"), help: "AIS transitions: coordinate (Gibbs sweeps, O(H²)), blocked (joint draws through the Laplace prior's scale mixture, O(D²H): for models with small σ², where coordinate chains freeze) or collapsed (the blocked draws with z integrated out of the weights: for H ≥ D and very small σ², about twice blocked's cost); ES-SC with --loglik or --bdmc; default coordinate.")
    var transitionOption: AnnealedImportanceSampling.Transition?

    @Option(name: .customLong("schedule"), help: "AIS temperature spacing: sigmoid (Grosse et al.; default) or geometric (even in log β, from β = σ²/(100 × the model's variance per dimension): for very small σ², with --transition collapsed).")
    var scheduleOption: AnnealedImportanceSampling.Schedule?

    @Option(parsing: .unconditional, help: "Check AIS by bidirectional Monte Carlo on this many points simulated from the ES-SC model.")
    var bdmc: Int?

    @Flag(name: .customLong("per-point"), help: "With --loglik and --json (ES-SC, unsupervised SDLGM): also every point's held-out ELBO, log-likelihood, log-weight variance and ESS (per_point).")
    var perPoint = false

    @Option(parsing: .unconditional, help: "Importance samples per point (ES-SC --loglik-method is; unsupervised SDLGM --loglik; default 1000).")
    var samples: Int?

    @Option(parsing: .unconditional, help: "Seed of the samplers (ES-SC with --loglik or --bdmc; unsupervised SDLGM; default 0).")
    var seed: UInt64?

    @Option(name: .customLong("elbo-samples"), parsing: .unconditional, help: "Samples per point of the held-out ELBO (unsupervised SDLGM; default 10).")
    var elboSamples: Int?

    @Option(help: SplitSelection.help(.test, "evaluate (SDLGM on a 'multilabel' file)"))
    var split: SplitSelection?

    @Option(name: .customLong("k"), help: ArgumentHelp("The ks of P@k, nDCG@k, PSP@k and PSnDCG@k, comma-separated (supervised SDLGM; default 1,3,5).", valueName: "K1,K2,…"))
    var ks: PositiveIntegers?

    @Option(name: .customLong("propensity-split"), help: "For a supervised model written before SparseKit stored its training label counts: the split whose labels give the propensities, or 'all' (default: 'train', if the data file has it).")
    var propensitySplit: SplitSelection?

    @Option(name: .customLong("propensity-a"), parsing: .unconditional, help: "Propensity parameter A (supervised SDLGM; default 0.55, pyxclib's for most data sets).")
    var propensityA: Double?

    @Option(name: .customLong("propensity-b"), parsing: .unconditional, help: "Propensity parameter B (supervised SDLGM; default 1.5, pyxclib's for most data sets).")
    var propensityB: Double?

    @OptionGroup var neighbourOptions: NeighbourOptions

    @OptionGroup var common: CommonOptions

    func validate() throws {
        // The largest value of each count option: beyond them the buffers they size (K chains × H, K log-weights,
        // N simulated points × (D + H)) would not fit in memory, or a run would take years.
        try Bounded.check([Bounded("--samples", samples, 1...10_000_000), Bounded("--elbo-samples", elboSamples, 1...100_000),
                           Bounded("--chains", chains, 1...100_000), Bounded("--temperatures", temperatures, 1...10_000_000),
                           Bounded("--bdmc", bdmc, 1...100_000)] + (ks?.values ?? []).map { Bounded("--k", $0, 1...Self.largestK) })
        // p_l = 1 / (1 + C (N_l + B)^(−A)): B ≤ 0 takes the logarithm of 0 or less for a label never seen, A ≤ 0 makes
        // frequent labels rarer; NaN and Inf turn every PSnDCG into NaN.
        for (name, value) in [("--propensity-a", propensityA), ("--propensity-b", propensityB)] {
            if let value, !(value > 0 && value.isFinite) { throw ValidationError("\(name) must be a positive finite number, not \(value)") }
        }
        guard data != nil || bdmc != nil else { throw ValidationError("give a data file (or --bdmc N for an ES-SC model)") }
    }

    /// The largest k of --k: a ranking of that depth per point is held in memory.
    static let largestK = 100_000

    func run() throws {
        let modelFile = try HDF5File.open(model)
        let kind = try ModelKind.read(from: modelFile)
        try OptionRule.refuseInapplicable(try optionRules(for: kind), context: "\(model) is a model of kind \(kind)")
        switch kind {
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

