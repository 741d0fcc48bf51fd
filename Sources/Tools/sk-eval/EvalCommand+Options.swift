import ArgumentParser
import DataKit
import Models
import ToolSupport

extension SparseCodingEvaluation.LikelihoodMethod: ExpressibleByArgument {}
extension AnnealedImportanceSampling.Transition: ExpressibleByArgument {}
extension AnnealedImportanceSampling.Schedule: ExpressibleByArgument {}

/// Which of `sk-eval`'s options apply to which evaluation, and their values with the defaults filled in.
extension EvalCommand {
    /// Every mode-dependent option and whether it applies to a model of `kind` with the options given; the first
    /// given outside its modes is refused (exit 64). `--split` on an unsupervised model applies to a 'multilabel'
    /// data file only, so the data file's kind is read for it.
    func optionRules(for kind: ModelKind) throws -> [OptionRule] {
        let (sc, unsupervised, supervised) = (kind == .sparseCoding, kind == .unsupervisedSDLGM, kind == .supervisedSDLGM)
        let simulating = sc && bdmc != nil
        let scLikelihood = sc && loglik && !simulating
        let ais = simulating || scLikelihood && likelihoodMethod == .ais
        let multilabelData = try supervised || unsupervised && split != nil && ModelInput.isMultiLabel(data)
        // A model that stores its training label counts gives the propensities itself.
        let storesCounts = try supervised && SupervisedPredictor.storesTrainingCounts(try HDF5File.open(model))
        return [
            OptionRule("--bdmc", given: bdmc != nil, applies: sc, "to ES-SC models"),
            OptionRule("a data file", given: data != nil, applies: !simulating, "without --bdmc (it simulates its points)"),
            OptionRule("--loglik", given: loglik, applies: (sc && !simulating) || unsupervised,
                       "to ES-SC models (without --bdmc) and unsupervised SDLGM models (the baselines' is exact)"),
            OptionRule("--loglik-method", given: loglikMethod != nil, applies: scLikelihood, "with --loglik on ES-SC models"),
            OptionRule("--chains", given: chains != nil, applies: ais, "to AIS: ES-SC models with --bdmc, or --loglik without --loglik-method is"),
            OptionRule("--temperatures", given: temperatures != nil, applies: ais, "to AIS: ES-SC models with --bdmc, or --loglik without --loglik-method is"),
            OptionRule("--transition", given: transitionOption != nil, applies: ais, "to AIS: ES-SC models with --bdmc, or --loglik without --loglik-method is"),
            OptionRule("--schedule", given: scheduleOption != nil, applies: ais, "to AIS: ES-SC models with --bdmc, or --loglik without --loglik-method is"),
            OptionRule("--per-point", given: perPoint, applies: (scLikelihood || unsupervised && loglik) && common.json,
                       "with --loglik and --json on ES-SC and unsupervised SDLGM models"),
            OptionRule("--samples", given: samples != nil, applies: scLikelihood && !ais || unsupervised && loglik,
                       "with --loglik-method is (ES-SC) or --loglik (unsupervised SDLGM)"),
            OptionRule("--seed", given: seed != nil, applies: simulating || scLikelihood || unsupervised,
                       "to sampled estimates: ES-SC models with --loglik or --bdmc, unsupervised SDLGM models"),
            OptionRule("--elbo-samples", given: elboSamples != nil, applies: unsupervised, "to unsupervised SDLGM models"),
            OptionRule("--split", given: split != nil, applies: multilabelData, "to SDLGM models on a 'multilabel' file"),
            OptionRule("--propensity-split", given: propensitySplit != nil, applies: supervised && !storesCounts,
                       "to supervised models written before SparseKit stored the training label counts; "
                           + "this model's propensities come from the counts it stores"),
        ] + [("--k", ks != nil), ("--propensity-a", propensityA != nil), ("--propensity-b", propensityB != nil),
             ("--neighbours", neighbourOptions.count != nil), ("--neighbour-weight", neighbourOptions.weight != nil)].map {
            OptionRule($0.0, given: $0.1, applies: supervised, "to supervised SDLGM models")
        }
    }

    var likelihoodMethod: SparseCodingEvaluation.LikelihoodMethod { loglikMethod ?? .ais }
    var aisChains: Int { chains ?? AnnealedImportanceSampling.defaultChains }
    var aisTemperatures: Int { temperatures ?? AnnealedImportanceSampling.defaultTemperatures }
    var transition: AnnealedImportanceSampling.Transition { transitionOption ?? .coordinate }
    var importanceSamples: Int { samples ?? 1000 }
    var samplerSeed: UInt64 { seed ?? 0 }
    var elboSampleCount: Int { elboSamples ?? 10 }
    /// The rows evaluated (SDLGM): the split's name, nil for every row (`DefaultSplit`, the rule every tool shares).
    func evaluatedSplit() throws -> String? { try SplitSelection.rows(split, default: .test, file: try dataPath()) }
    /// The ks of the ranking metrics, ascending, each once.
    var rankingKs: [Int] { ks.map { Array(Set($0.values)).sorted() } ?? RankingMetrics.defaultKs }
    /// The propensity model's parameters.
    var propensity: (a: Double, b: Double) { (propensityA ?? Propensity.defaults.a, propensityB ?? Propensity.defaults.b) }
}
