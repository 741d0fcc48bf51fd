import DataKit

/// Reading data for a trained model: the rows must have the model's dimension, and data for a model trained on
/// whitened patches must be whitened the same way. Mismatches say which stage to rerun.
public enum ModelInput {
    /// The `/data` dataset of a patches or whitened file whose rows have the model's dimension (and are whitened if
    /// the model was trained on whitened data); not read, so that its rows can be streamed block by block.
    public static func matchingDataset(_ path: String, model: String, modelFile: HDF5File, dimension: Int) throws
        -> HDF5Dataset
    {
        let file = try HDF5File.open(path)
        let data = try file.patchRows(.patches, .whitened).data
        try check(columns: data.shape[1], file: file, model: model, modelFile: modelFile, dimension: dimension)
        return data
    }

    /// Whether the data file at `path` is a 'multilabel' file, whose splits `--split` chooses (false for nil).
    public static func isMultiLabel(_ path: String?) throws -> Bool {
        guard let path else { return false }
        return try HDF5File.open(path).fileKind() == .multilabel
    }

    /// Rows for an unsupervised model, `count` of them, handed out block by block by `read(range)`: the `/data` of a
    /// patches or whitened file read by hyperslab, or the features of a multilabel file's split (of every row for
    /// nil; CSR in memory) densified a block at a time. Checked against the model as `matchingDataset` checks.
    public struct DenseRowBlocks {
        public let count: Int
        public let read: (Range<Int>) throws -> Matrix
    }

    public static func denseRowBlocks(_ path: String, split: String?, model: String, modelFile: HDF5File, dimension: Int)
        throws -> DenseRowBlocks
    {
        let file = try HDF5File.open(path)
        guard try file.requireKind(.patches, .whitened, .multilabel) == .multilabel else {
            let data = try matchingDataset(path, model: model, modelFile: modelFile, dimension: dimension)
            return DenseRowBlocks(count: data.shape[0]) { try data.readFiniteRows($0) }
        }
        let features = try MultiLabelDataset.read(from: file).rows(ofSplit: split, in: path).features
        try check(columns: features.cols, file: file, model: model, modelFile: modelFile, dimension: dimension)
        return DenseRowBlocks(count: features.rows) { features.gatheringRows(Array($0)).dense() }
    }

    /// Refuses a 'multilabel' file whose feature or label count differs from the model's (nil: any), pointing to
    /// `sk-convert --like`, which converts a test file with the counts of the training file.
    public static func requireMultiLabelShape(of path: String, features: Int, labels: Int, model: String, modelFeatures: Int?,
                                              modelLabels: Int) throws {
        guard features != (modelFeatures ?? features) || labels != modelLabels else { return }
        throw SparseKitError.badInput(path, "has \(features) features and \(labels) labels, but \(model) was trained on "
            + "\(modelFeatures.map(String.init) ?? "any number of") features and \(modelLabels) labels; convert it with "
            + "sk-convert ... --like TRAIN.h5 (the training file) to give it the training file's counts")
    }

    static func check(columns: Int, file: HDF5File, model: String, modelFile: HDF5File, dimension: Int) throws {
        if try file.fileKind() == .patches, modelFile.kind(of: WhiteningTransform.group) == .group {
            throw SparseKitError.badInput(file.path, "holds raw patches but \(model) was trained on whitened data; "
                + "run sk-whiten \(file.path) -o OUT.h5 --transform-from \(model) first")
        }
        guard columns == dimension else {
            throw SparseKitError.badInput(file.path, "rows have \(columns) values but \(model) expects \(dimension); "
                + "prepare the data with the patch size and whitening used for training")
        }
    }
}
