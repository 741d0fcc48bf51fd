import DataKit
import Foundation

/// Complete ICA with Laplace sources:
///
///     x = μ + A s,   s_h independent Laplace(0, b_h),
///     log p(x) = Σ_h [ −log(2 b_h) − |s_h| / b_h ] − log|det A|,   s = A⁻¹ (x − μ) = B (x − μ),
///
/// the exact change of variables (log|det B| = −log|det A|). Fitted by `ICAFit`.
public struct ICADensity: Sendable {
    public var mean: [Double]
    /// A, D × D row-major: column h is source h's contribution to x.
    public var mixing: [Double]
    /// b_h, the sources' Laplace scales.
    public var scale: [Double]
    /// B = A⁻¹.
    public let unmixing: [Double]
    /// log|det B| = −log|det A|.
    let unmixingLogAbsDeterminant: Double

    public var dimension: Int { mean.count }

    /// The density with this mean, mixing matrix A (invertible) and positive source scales.
    public init(mean: [Double], mixing: [Double], scale: [Double]) throws {
        let d = mean.count
        guard mixing.count == d * d, scale.count == d, scale.allSatisfy({ $0 > 0 && $0.isFinite }),
              let (unmixing, logDeterminant) = DoubleLinearAlgebra.inverseAndLogAbsDeterminant(mixing, n: d)
        else { throw SparseKitError.badInput(nil, "the ICA mixing matrix is not \(d)×\(d) invertible or a scale is not positive") }
        (self.mean, self.mixing, self.scale, self.unmixing, unmixingLogAbsDeterminant) = (mean, mixing, scale, unmixing, -logDeterminant)
    }

    var factorial: LinearFactorialDensity {
        LinearFactorialDensity(centre: mean, transform: unmixing, logAbsDeterminant: unmixingLogAbsDeterminant, factor: .laplace(scales: scale))
    }
}
