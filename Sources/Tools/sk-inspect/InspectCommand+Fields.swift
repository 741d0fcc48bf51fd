import DataKit
import Models

/// What `sk-inspect --tiles` draws of a model file, by the model's kind.
extension InspectCommand {
    /// The D × H dataset of `file` whose columns are the model's learned fields (ES-SC's W, ICA's mixing matrix A,
    /// the weight of an unsupervised SDLGM's linear decoder); one error line naming the file and the kind for a model
    /// that has none.
    @Sendable static func fieldsDataset(of file: HDF5File) throws -> String {
        let kind = try ModelKind.read(from: file)
        switch kind {
        case .sparseCoding:
            return "/model/W"
        case .baseline(.ica):
            return "/model/mixing"
        case .baseline(.gaussian), .baseline(.laplace):
            throw SparseKitError.badInput(file.path, "is a model without fields to draw (a \(kind) baseline density; "
                + "of the baselines only ica has a mixing matrix to draw)")
        case .unsupervisedSDLGM:
            guard file.kind(of: "/model/decoder/layer1") == nil else {
                throw SparseKitError.badInput(file.path, "has an MLP decoder: its fields are not one matrix to draw (train with --decoder linear)")
            }
            return "/model/decoder/layer0/weight"
        case .supervisedSDLGM:
            throw SparseKitError(.usage, file: file.path, "a supervised SDLGM model has no dictionary to draw; --tiles draws "
                + "data rows, ES-SC's W, ICA's mixing matrix or an unsupervised SDLGM's linear decoder")
        }
    }
}
