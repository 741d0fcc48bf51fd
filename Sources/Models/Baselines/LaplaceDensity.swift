import DataKit
import Foundation

/// Independent Laplace densities per dimension, fitted by maximum likelihood:
///
///     log p(x) = Σ_j [ −log(2 b_j) − |x_j − m_j| / b_j ],
///     location m_j = the median of column j,   scale b_j = (1/N) Σ_n |x_nj − m_j| (the mean absolute deviation from
///     the median),
///
/// the ML estimates (the median minimizes Σ|x − m|; b then solves ∂/∂b = 0). For an even N the median is the mean of
/// the two middle values (any point between them is a maximizer). A column with b_j = 0 (constant) has no density:
/// fitting refuses it. `mean` (the column means) is stored because the file contract asks for `/model/mean`; the
/// density uses `location`.
public struct LaplaceDensity: Sendable {
    public var mean: [Double]
    public var location: [Double]
    public var scale: [Double]

    public var dimension: Int { location.count }

    public init(mean: [Double], location: [Double], scale: [Double]) {
        (self.mean, self.location, self.scale) = (mean, location, scale)
    }

    /// The ML fit to the rows of `x` (N × D).
    public static func fit(_ x: Matrix) throws -> LaplaceDensity {
        guard x.rows >= 1 else { throw SparseKitError.badInput(nil, "no rows to fit a Laplace density to") }
        let (n, d) = (x.rows, x.cols)
        var location = [Double](repeating: 0, count: d), scale = location
        var column = [Float](repeating: 0, count: n)
        for j in 0..<d {
            for r in 0..<n { column[r] = x.storage[r * d + j] }
            column.sort()
            let median = n % 2 == 1 ? Double(column[n / 2]) : (Double(column[n / 2 - 1]) + Double(column[n / 2])) / 2
            location[j] = median
            scale[j] = column.reduce(0.0) { $0 + abs(Double($1) - median) } / Double(n)
            guard scale[j] > 0 else {
                throw SparseKitError.badInput(nil, "dimension \(j + 1) is constant (mean absolute deviation 0): no Laplace density fits it")
            }
        }
        return LaplaceDensity(mean: ColumnStatistics.means(x), location: location, scale: scale)
    }

    var factorial: LinearFactorialDensity {
        LinearFactorialDensity(centre: location, transform: nil, logAbsDeterminant: 0, factor: .laplace(scales: scale))
    }
}
