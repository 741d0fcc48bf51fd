import DataKit

/// What a model file holds, read once from its root attributes (`formats.md`, "Models"): attribute `model` =
/// `es-sc`, `sdlgm` (with `mode` = `unsupervised` for sparse embeddings, otherwise supervised multi-label with its
/// `method`), or a baseline density's name (`gaussian`, `laplace`, `ica`). Tools dispatch on it instead of testing
/// attributes themselves.
public enum ModelKind: Sendable, Equatable, CustomStringConvertible {
    /// Entropy-based sparse coding (`SparseCodingModel`).
    case sparseCoding
    /// Supervised multi-label SDLGM, or one of its baselines (one-vs-all, most-frequent).
    case supervisedSDLGM
    /// Unsupervised SDLGM (sparse embeddings).
    case unsupervisedSDLGM
    /// A baseline density (`BaselineDensity`).
    case baseline(BaselineDensity.Kind)

    /// The kind of `file`, which must be a SparseKit model file; one error line naming the file otherwise.
    public static func read(from file: HDF5File) throws -> ModelKind {
        try file.requireKind(.model)
        let name = try file.attribute("model")?.stringValue
        switch name {
        case "es-sc": return .sparseCoding
        case "sdlgm": return try file.attribute("mode")?.stringValue == "unsupervised" ? .unsupervisedSDLGM : .supervisedSDLGM
        default:
            if let name, let baseline = BaselineDensity.Kind(rawValue: name) { return .baseline(baseline) }
            throw SparseKitError.badInput(file.path, "holds an unknown model (attribute model = \(name.map { "'\($0)'" } ?? "missing"); "
                + "expected es-sc, sdlgm, gaussian, laplace or ica)")
        }
    }

    /// The `model` attribute's value (and the mode for SDLGM), as users name the kind.
    public var description: String {
        switch self {
        case .sparseCoding: return "es-sc"
        case .supervisedSDLGM: return "sdlgm (supervised)"
        case .unsupervisedSDLGM: return "sdlgm (unsupervised)"
        case .baseline(let kind): return kind.rawValue
        }
    }

    /// The kind as `--json` names it (`docs/json.md`): es-sc, sdlgm-supervised, sdlgm-unsupervised, or the
    /// baseline's name (gaussian, laplace, ica).
    public var identifier: String {
        switch self {
        case .sparseCoding: return "es-sc"
        case .supervisedSDLGM: return "sdlgm-supervised"
        case .unsupervisedSDLGM: return "sdlgm-unsupervised"
        case .baseline(let kind): return kind.rawValue
        }
    }
}
