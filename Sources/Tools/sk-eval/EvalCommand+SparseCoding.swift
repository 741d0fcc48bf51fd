import DataKit
import Models
import ToolSupport

/// `sk-eval` for ES-SC models: the entropy objective, held-out ELBO and (with --loglik) log-likelihood, or with
/// --bdmc the bidirectional Monte Carlo check of the estimator.
extension EvalCommand {
    func runSparseCoding(_ modelFile: HDF5File) throws {
        let sc = try SparseCodingModel.read(from: modelFile)
        if let bdmc { return try runBDMC(sc, points: bdmc) }
        let rows = try ModelInput.matchingDataset(try dataPath(), model: model, modelFile: modelFile, dimension: sc.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        let settings = SparseCodingEvaluation.LikelihoodSettings(
            method: likelihoodMethod, samples: likelihoodMethod == .ais ? aisChains : importanceSamples, temperatures: aisTemperatures,
            transition: transition, schedule: scheduleOption ?? .sigmoid, seed: samplerSeed,
            keepsPerPoint: perPoint)
        var report = try progress.run("evaluating", total: rows.shape[0], unit: "rows") {
            try SparseCodingEvaluation.run(sc, rowsOf: rows, likelihood: loglik ? settings : nil) { done, _ in progress.update(done) }
        }
        if report.logLikelihood != nil, let offset = try whiteningLogAbsDeterminant(of: dataPath()) {
            report.logLikelihood!.whiteningLogAbsDeterminant = offset
            report.logLikelihood!.pixelSpaceMean = report.logLikelihood!.mean + offset
        }
        if common.json { try ToolRunner.printJSON(report, adding: ["model_kind": "es-sc", "evaluation": "held-out"]) } else { print(report.text) }
    }

    /// Bidirectional Monte Carlo on points simulated from the model: both bounds and their gap.
    func runBDMC(_ sc: SparseCodingModel, points: Int) throws {
        let bounds = BidirectionalMonteCarlo.run(sc, points: points, temperatures: aisTemperatures, chains: aisChains,
                                                  transition: transition, schedule: scheduleOption ?? .sigmoid, seed: samplerSeed)
        if common.json { try ToolRunner.printJSON(bounds, adding: ["model_kind": "es-sc", "evaluation": "bdmc"]) } else { print(bounds.text) }
    }
}
