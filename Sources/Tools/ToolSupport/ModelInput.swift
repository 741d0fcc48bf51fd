import DataKit

/// Reading data for a trained model: the rows must have the model's dimension, and data for a model trained on
/// whitened patches must be whitened the same way. Mismatches say which stage to rerun.
public enum ModelInput {
    public static func matching(_ path: String, model: String, modelFile: HDF5File, dimension: Int) throws -> Matrix {
        let file = try HDF5File.open(path)
        let kind = try file.requireKind(.patches, .whitened)
        if kind == .patches, modelFile.kind(of: WhiteningTransform.group) == .group {
            throw SparseKitError.badInput(path, "holds raw patches but \(model) was trained on whitened data; "
                + "run sk-whiten \(path) -o OUT.h5 --transform-from \(model) first")
        }
        let x = try file.readDataMatrix()
        guard x.cols == dimension else {
            throw SparseKitError.badInput(path, "rows have \(x.cols) values but \(model) expects \(dimension); "
                + "prepare the data with the patch size and whitening used for training")
        }
        return x
    }
}
