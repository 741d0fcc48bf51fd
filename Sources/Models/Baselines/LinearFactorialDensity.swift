import DataKit
import Foundation

/// The shape every baseline density shares: a linear change of variables to independent coordinates,
///
///     s = P (x − c),    log p(x) = Σ_h log f_h(s_h) + log|det P|,
///
/// with f_h a standard normal (the Gaussian, P = L⁻¹ for the Cholesky factor L of the covariance) or a Laplace
/// density with scale b_h, log f_h(s) = −log(2 b_h) − |s|/b_h (independent Laplace: P = I, c = the medians; ICA:
/// P = B = A⁻¹). Log-densities are computed in double precision from float32 rows.
struct LinearFactorialDensity: Sendable {
    /// The density of each coordinate s_h.
    enum Factor: Sendable {
        case standardNormal
        case laplace(scales: [Double])
    }

    var centre: [Double]
    /// P, D × D row-major; nil for the identity.
    var transform: [Double]?
    var logAbsDeterminant: Double
    var factor: Factor

    var dimension: Int { centre.count }

    /// s = P (x − c) of each row of `x` (N × D), row-major N × D, in double precision.
    func coordinates(_ x: Matrix) -> [Double] {
        precondition(x.cols == dimension, "rows have \(x.cols) values, the density \(dimension)")
        let (n, d) = (x.rows, dimension)
        var centred = [Double](repeating: 0, count: n * d)
        x.storage.withUnsafeBufferPointer { px in
            for r in 0..<n { for j in 0..<d { centred[r * d + j] = Double(px[r * d + j]) - centre[j] } }
        }
        guard let transform else { return centred }
        var s = [Double](repeating: 0, count: n * d)
        centred.withUnsafeBufferPointer { pc in
            transform.withUnsafeBufferPointer { pt in
                s.withUnsafeMutableBufferPointer {
                    DoubleLinearAlgebra.multiply(pc.baseAddress!, rows: n, inner: d, pt.baseAddress!, cols: d, transposeB: true, into: $0.baseAddress!)
                }
            }
        }
        return s
    }

    /// log p(x) of each row of `x` (N × D), in nats.
    func logDensities(_ x: Matrix) -> [Double] {
        let (n, d) = (x.rows, dimension)
        let s = coordinates(x)
        var result = [Double](repeating: 0, count: n)
        s.withUnsafeBufferPointer { ps in
            switch factor {
            case .standardNormal:
                let constant = -0.5 * Double(d) * log(2 * Double.pi) + logAbsDeterminant
                for r in 0..<n {
                    var squares = 0.0
                    for j in 0..<d { squares += ps[r * d + j] * ps[r * d + j] }
                    result[r] = constant - 0.5 * squares
                }
            case .laplace(let scales):
                let constant = scales.reduce(0) { $0 - log(2 * $1) } + logAbsDeterminant
                let inverseScales = scales.map { 1 / $0 }
                for r in 0..<n {
                    var deviations = 0.0
                    for j in 0..<d { deviations += abs(ps[r * d + j]) * inverseScales[j] }
                    result[r] = constant - deviations
                }
            }
        }
        return result
    }
}
