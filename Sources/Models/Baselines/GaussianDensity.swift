import DataKit
import Foundation

/// A full-covariance Gaussian fitted by maximum likelihood:
///
///     mean μ = (1/N) Σ x_n,   covariance C = (1/N) Σ (x_n − μ)(x_n − μ)ᵀ,
///     log N(x; μ, C) = −(D/2) log 2π − Σ_i log L_ii − ½ ‖L⁻¹ (x − μ)‖²,   C = L Lᵀ (Cholesky),
///
/// all in double precision (`CovarianceAccumulator`, LAPACK `dpotrf`). When C is singular (a constant or duplicated
/// dimension) a ridge r·I is added, r = 1e-12 · trace(C)/D, multiplied by 10 until the Cholesky factorization
/// succeeds; the stored covariance includes it and `ridge` records it (0 for a non-singular C).
public struct GaussianDensity: Sendable {
    public var mean: [Double]
    /// D × D, row-major.
    public var covariance: [Double]
    public var ridge: Double
    /// The lower Cholesky factor of `covariance`.
    let choleskyFactor: [Double]

    public var dimension: Int { mean.count }

    /// The density with this mean and covariance; the covariance must be symmetric positive definite.
    public init(mean: [Double], covariance: [Double], ridge: Double = 0) throws {
        let d = mean.count
        guard covariance.count == d * d, let factor = DoubleLinearAlgebra.choleskyLower(covariance, n: d) else {
            throw SparseKitError.badInput(nil, "the Gaussian's covariance is not \(d)×\(d) symmetric positive definite")
        }
        (self.mean, self.covariance, self.ridge, choleskyFactor) = (mean, covariance, ridge, factor)
    }

    /// The maximum-likelihood Gaussian of the rows of `x` (N × D), with the smallest ridge that makes C positive definite.
    public static func fit(_ x: Matrix) throws -> GaussianDensity {
        guard x.rows >= 1 else { throw SparseKitError.badInput(nil, "no rows to fit a Gaussian to") }
        var accumulator = CovarianceAccumulator(dimension: x.cols)
        for start in stride(from: 0, to: x.rows, by: WhiteningTransform.chunkRows) {
            accumulator.add(x.rowSlice(start..<min(x.rows, start + WhiteningTransform.chunkRows)))
        }
        let (mean, covariance) = accumulator.result()
        let d = x.cols
        let trace = (0..<d).reduce(0.0) { $0 + covariance[$1 * d + $1] }
        var ridge = 0.0
        var ridged = covariance
        while DoubleLinearAlgebra.choleskyLower(ridged, n: d) == nil {
            ridge = ridge == 0 ? 1e-12 * max(trace / Double(d), Double.leastNormalMagnitude) : ridge * 10
            ridged = covariance
            for i in 0..<d { ridged[i * d + i] += ridge }
        }
        return try GaussianDensity(mean: mean, covariance: ridged, ridge: ridge)
    }

    /// s = L⁻¹ (x − μ) standard normal, log|det L⁻¹| = −Σ log L_ii.
    var factorial: LinearFactorialDensity {
        let d = dimension
        let logDeterminant = (0..<d).reduce(0.0) { $0 + log(choleskyFactor[$1 * d + $1]) }
        return LinearFactorialDensity(centre: mean, transform: DoubleLinearAlgebra.lowerTriangularInverse(choleskyFactor, n: d),
                                      logAbsDeterminant: -logDeterminant, factor: .standardNormal)
    }
}
