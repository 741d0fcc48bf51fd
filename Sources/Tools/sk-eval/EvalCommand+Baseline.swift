import DataKit
import Models
import ToolSupport

/// `sk-eval` for baseline densities (`sk-train baseline`): the exact held-out log-likelihood.
extension EvalCommand {
    /// Prints the points, the held-out log-likelihood (mean ± standard error, nats/point), bits per dimension, and
    /// when the data file's whitening matrix M is invertible the same plus log|det M| (the density before whitening).
    func runBaseline(_ modelFile: HDF5File) throws {
        let density = try BaselineDensity.read(from: modelFile)
        let path = try dataPath()
        let rows = try ModelInput.matchingDataset(path, model: model, modelFile: modelFile, dimension: density.dimension)
        let offset = try whiteningLogAbsDeterminant(of: path)
        let progress = ProgressReporter(quiet: common.quiet)
        let report = try progress.run("evaluating", total: rows.shape[0], unit: "rows") {
            try BaselineEvaluation.run(density, rows: rows.shape[0], whiteningLogAbsDeterminant: offset,
                                       progress: { done, _ in progress.update(done) }) { try rows.readFiniteRows($0) }
        }
        if common.json { try ToolRunner.printJSON(report, adding: ["model_kind": density.kind.rawValue, "evaluation": "held-out"]) } else { print(report.text) }
    }
}
