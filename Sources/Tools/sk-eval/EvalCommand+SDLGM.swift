import DataKit
import Models
import ToolSupport

/// `sk-eval` for SDLGM models: unsupervised (held-out ELBO, reconstruction, --loglik) and supervised multi-label
/// (ranking and set metrics on a split of a 'multilabel' file).
extension EvalCommand {
    func runUnsupervised(_ modelFile: HDF5File) throws {
        let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
        let rows = try ModelInput.denseRowBlocks(try dataPath(), split: evaluatedSplit, model: model,
                                                 modelFile: modelFile, dimension: sdlgm.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        var report = try UnsupervisedEvaluation.run(sdlgm, rows: rows.count, samples: elboSampleCount,
                                                    likelihoodSamples: loglik ? importanceSamples : nil, seed: samplerSeed,
                                                    progress: { progress.report("evaluating rows", $0, $1) }, block: rows.read)
        progress.finish()
        if let marginal = report.marginalLogLikelihood, let offset = try whiteningLogAbsDeterminant(of: dataPath()) {
            report.whiteningLogAbsDeterminant = offset
            report.marginalPixelSpaceLogLikelihood = marginal.mean + offset
        }
        if common.json { try ToolRunner.printJSON(report) } else { print(report.text) }
    }

    func runMultiLabel(_ modelFile: HDF5File) throws {
        let (predictor, _) = try SupervisedPredictor.read(from: modelFile)
        let data = try dataPath()
        let dataFile = try HDF5File.open(data)
        guard try dataFile.fileKind() == .multilabel else {
            throw SparseKitError.badInput(data, "is not a 'multilabel' file; SDLGM models are evaluated on multilabel files")
        }
        let dataset = try MultiLabelDataset.read(from: dataFile)
        let (x, y) = try dataset.rows(ofSplit: evaluatedSplit, in: data)
        let (_, training) = try dataset.rows(ofSplit: propensityRows, in: data)
        let features = predictor.network?.input.inputs ?? x.cols
        guard x.cols == features, y.cols == predictor.labelFrequencies.count else {
            throw SparseKitError.badInput(data, "has \(x.cols) features and \(y.cols) labels; \(model) expects \(features) and \(predictor.labelFrequencies.count)")
        }
        let report = try SupervisedEvaluation.run(predictor, features: x, labels: y, trainingLabels: training, a: propensity.a,
                                                 b: propensity.b)
        if common.json { try ToolRunner.printJSON(report) } else { print(report.text) }
    }
}
