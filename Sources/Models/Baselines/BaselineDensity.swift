import DataKit

/// The exact baseline densities of `sk-train baseline` (`es-sc.md`, "Evaluation"): a full-covariance Gaussian,
/// independent Laplace densities per dimension, and complete ICA with Laplace sources. Each is a linear change of
/// variables to independent coordinates (`LinearFactorialDensity`), so its log-density is exact, in nats per point.
public enum BaselineDensity: Sendable {
    case gaussian(GaussianDensity)
    case laplace(LaplaceDensity)
    case ica(ICADensity)

    /// The model's name, the `model` attribute of its file.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case gaussian, laplace, ica
    }

    public var kind: Kind {
        switch self {
        case .gaussian: .gaussian
        case .laplace: .laplace
        case .ica: .ica
        }
    }

    public var dimension: Int { factorial.dimension }

    /// log p(x) of each row of `x` (N × D) in nats, computed in double precision.
    public func logDensities(_ x: Matrix) -> [Double] { factorial.logDensities(x) }

    var factorial: LinearFactorialDensity {
        switch self {
        case .gaussian(let model): model.factorial
        case .laplace(let model): model.factorial
        case .ica(let model): model.factorial
        }
    }
}
