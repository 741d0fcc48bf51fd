import DataKit
import Models
import ToolSupport

/// `sk-eval` for SDLGM models: unsupervised (held-out ELBO, reconstruction, --loglik) and supervised multi-label
/// (ranking and set metrics on a split of a 'multilabel' file).
extension EvalCommand {
    func runUnsupervised(_ modelFile: HDF5File) throws {
        let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
        let rows = try ModelInput.denseRowBlocks(try dataPath(), split: try evaluatedSplit(), model: model,
                                                 modelFile: modelFile, dimension: sdlgm.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        var report = try progress.run("evaluating", total: rows.count, unit: "rows") {
            try UnsupervisedEvaluation.run(sdlgm, rows: rows.count, samples: elboSampleCount,
                                           likelihoodSamples: loglik ? importanceSamples : nil, keepsPerPoint: perPoint,
                                           seed: samplerSeed,
                                           progress: { done, _ in progress.update(done) }, block: rows.read)
        }
        if let marginal = report.marginalLogLikelihood, let offset = try whiteningLogAbsDeterminant(of: dataPath()) {
            report.whiteningLogAbsDeterminant = offset
            report.marginalPixelSpaceLogLikelihood = marginal.mean + offset
        }
        if common.json { try ToolRunner.printJSON(report, adding: ["model_kind": "sdlgm-unsupervised", "evaluation": "held-out"]) } else { print(report.text) }
    }

    func runMultiLabel(_ modelFile: HDF5File) throws {
        let predictor = try SupervisedPredictor.read(from: modelFile).predictor
            .overridingNeighbours(count: neighbourOptions.count, weight: neighbourOptions.weight, model: model)
        let data = try dataPath()
        let dataFile = try HDF5File.open(data)
        guard try dataFile.fileKind() == .multilabel else {
            throw SparseKitError.badInput(data, "is not a 'multilabel' file; SDLGM models are evaluated on multilabel files")
        }
        let dataset = try MultiLabelDataset.read(from: dataFile)
        let (x, y) = try dataset.rows(ofSplit: try evaluatedSplit(), in: data)
        try ModelInput.requireMultiLabelShape(of: data, features: x.cols, labels: y.cols, model: model,
                                              modelFeatures: predictor.network?.input.inputs, modelLabels: predictor.labelFrequencies.count)
        // A model without stored training label counts: the labels of --propensity-split, or of the 'train' split.
        var fallback: (labels: CSRMatrix, description: String)?
        if predictor.trainingPoints == nil {
            if let chosen = propensitySplit {
                fallback = (try dataset.rows(ofSplit: chosen.name, in: data).labels,
                            "the labels of " + (chosen.name.map { "split '\($0)'" } ?? "every row") + " of \(data)")
            } else if dataset.splits.contains(where: { $0.name == DefaultSplit.train.rawValue }) {
                fallback = (try dataset.rows(ofSplit: DefaultSplit.train.rawValue, in: data).labels,
                            "the labels of split '\(DefaultSplit.train.rawValue)' of \(data)")
            }
        }
        let progress = ProgressReporter(quiet: common.quiet)
        let report = try progress.run("evaluating", total: x.rows, unit: "rows") {
            try SupervisedEvaluation.run(predictor, features: x, labels: y, ks: rankingKs, a: propensity.a, b: propensity.b,
                                         fallbackTrainingLabels: fallback, progress: { progress.update($0) })
        }
        if common.json { try ToolRunner.printJSON(report, adding: ["model_kind": "sdlgm-supervised", "evaluation": "multilabel"]) } else { print(report.text) }
    }
}
