import DataKit
import Models
import ToolSupport

/// The pictures of `sk-inspect` other than tiles: one library call each (`Sources/Models/Pictures`,
/// `LabelStatisticsPlot`), handed the tools' check of data rows against a model (`ModelInput`).
extension InspectCommand {
    func picture(_ drawing: Drawing, to output: String) throws -> PictureSummary {
        switch drawing {
        case .tiles:
            preconditionFailure("tiles are drawn by TilesJob")
        case .reconstructions:
            return try ReconstructionsPicture(model: inputs[0], data: inputs[1], count: count ?? 36, zoom: zoom,
                                              rows: Self.rows(model: inputs[0])).write(to: output)
        case .plot(.history):
            return try TrainingHistoryPlot(models: inputs).write(to: output)
        case .plot(.activeCounts):
            return try ActiveCountsPlot(model: inputs[0], data: inputs[1], rows: Self.rows(model: inputs[0])).write(to: output)
        case .plot(.labels):
            return try LabelStatisticsPlot(input: inputs[0]).write(to: output)
        }
    }

    /// Every row of a data file for `model`, as sk-encode reads them for an unsupervised model: the `/data` of a
    /// patches or whitened file (whitened like the model's training data), or a multilabel file's features.
    static func rows(model: String) -> ReconstructionsPicture.RowSource {
        { data, modelFile, dimension in
            let blocks = try ModelInput.denseRowBlocks(data, split: nil, model: model, modelFile: modelFile, dimension: dimension)
            return (blocks.count, blocks.read)
        }
    }
}
