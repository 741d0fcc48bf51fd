import CLAPACKE
import Foundation

/// Whitening methods (`formats.md`).
public enum WhiteningMethod: String, Sendable, CaseIterable {
    /// ZCA: matrix = V diag(1/√(e + ε)) Vᵀ, K = D, whitened patches stay in pixel space.
    case zca
    /// PCA: matrix = the first K rows of diag(1/√(e + ε)) Vᵀ.
    case pca
}

/// How many PCA components to keep.
public enum ComponentSelection: Sendable, Equatable {
    case all
    case count(Int)
    /// The fewest leading components whose eigenvalues sum to at least this fraction of the total.
    case variance(Double)
}

/// A fitted whitening transform: whitened = (filter(x) − mean) · matrixᵀ, stored under `/whitening`.
public struct WhiteningTransform: Sendable {
    public var method: WhiteningMethod
    public var epsilon: Double
    public var filter: PatchFilter
    /// Mean of the filtered training rows [D].
    public var mean: [Float]
    /// [K, D].
    public var matrix: Matrix
    /// [D, K]: x − mean ≈ inverse · whitened.
    public var inverse: Matrix
    /// Eigenvalues of the covariance, descending [D].
    public var eigenvalues: [Double]

    public var inputDimension: Int { mean.count }
    public var outputDimension: Int { matrix.rows }

    /// log|det M| of the stored `matrix` M, by an LU factorization (LAPACK `dgetrf`) of M in double precision; nil when
    /// M is not square (PCA keeping fewer components than dimensions) or is singular.
    ///
    /// Change of variables: if p_w is a density of the whitened rows w = (filter(x) − mean) · Mᵀ, then
    /// p_w(w) + log|det M| is the log-density of the FILTERED rows filter(x) at the same point. Without a per-patch
    /// filter (no `--remove-patch-mean`, no `--dog`) filter(x) = x, so this is the density of the raw patches as
    /// stored in the `patches` file (values on the [0, 1] scale); with a filter it is the density of the filtered
    /// patches, not of the raw ones.
    public var logAbsDeterminant: Double? {
        let n = matrix.rows
        guard n == matrix.cols, n > 0 else { return nil }
        var lu = matrix.storage.map(Double.init)
        var pivots = [Int32](repeating: 0, count: n)
        let info = lu.withUnsafeMutableBufferPointer { a in
            pivots.withUnsafeMutableBufferPointer { LAPACKE_dgetrf(LAPACK_ROW_MAJOR, Int32(n), Int32(n), a.baseAddress, Int32(n), $0.baseAddress) }
        }
        guard info == 0 else { return nil }  // > 0: an exactly zero pivot, M singular
        var sum = 0.0
        for i in 0..<n { sum += log(abs(lu[i * n + i])) }
        return sum.isFinite ? sum : nil
    }

    /// Rows processed per BLAS call; fitting and applying use the same boundaries, so a stored transform reproduces
    /// the fitted output bit for bit.
    public static let chunkRows = 4096

    /// Builds the transform from the mean and covariance (`formats.md`: C = V diag(e) Vᵀ, eigenvalues descending,
    /// each eigenvector's largest-magnitude entry positive).
    public static func fit(mean: [Double], covariance: [Double], method: WhiteningMethod, epsilon: Double,
                           components: ComponentSelection, filter: PatchFilter) throws -> WhiteningTransform
    {
        let d = mean.count
        let eigen = try Decompositions.symmetricEigen(covariance, n: d)
        let values = eigen.values.map { max($0, 0) }  // round-off can leave tiny negative eigenvalues
        let k: Int
        switch (method, components) {
        case (.zca, _), (.pca, .all): k = d
        case (.pca, .count(let count)):
            guard count >= 1, count <= d else {
                throw SparseKitError.usage("--components \(count) is outside 1...\(d), the data's dimension")
            }
            k = count
        case (.pca, .variance(let fraction)):
            let total = values.reduce(0, +)
            var running = 0.0, kept = 0
            while kept < d, running < fraction * total { running += values[kept]; kept += 1 }
            k = max(1, kept)
        }
        // Eigenvalues below 1e-10 of the largest are rounding noise of a rank-deficient covariance (a constant or
        // duplicated pixel): whitening them without ε would amplify that noise a hundred-thousandfold.
        let floor = 1e-10 * (values.first ?? 0)
        if let bad = values.prefix(k).firstIndex(where: { $0 + epsilon <= floor }) {
            throw SparseKitError.badInput(nil, "the covariance is singular (eigenvalue \(bad + 1) of \(d) is 0); "
                + "use --epsilon > 0 or fewer --components")
        }
        let scale = values.map { 1 / ($0 + epsilon).squareRoot() }
        let unscale = values.map { ($0 + epsilon).squareRoot() }
        let v = eigen.vectors  // row i = eigenvector i
        var matrix = Matrix(rows: k, cols: d), inverse = Matrix(rows: d, cols: k)
        switch method {
        case .pca:
            for i in 0..<k {
                for j in 0..<d {
                    matrix[i, j] = Float(scale[i] * v[i * d + j])
                    inverse[j, i] = Float(unscale[i] * v[i * d + j])
                }
            }
        case .zca:
            for a in 0..<d {
                for b in a..<d {
                    var w = 0.0, u = 0.0
                    for i in 0..<d {
                        let p = v[i * d + a] * v[i * d + b]
                        w += scale[i] * p
                        u += unscale[i] * p
                    }
                    matrix[a, b] = Float(w); matrix[b, a] = Float(w)
                    inverse[a, b] = Float(u); inverse[b, a] = Float(u)
                }
            }
        }
        return WhiteningTransform(method: method, epsilon: epsilon, filter: filter, mean: mean.map { Float($0) },
                                  matrix: matrix, inverse: inverse, eigenvalues: eigen.values)
    }

    /// Whitens already-filtered rows: (x − mean) · matrixᵀ, by sgemm.
    public func apply(toFiltered chunk: Matrix) -> Matrix {
        precondition(chunk.cols == inputDimension, "chunk has \(chunk.cols) columns, transform expects \(inputDimension)")
        var centred = chunk
        let d = inputDimension
        centred.storage.withUnsafeMutableBufferPointer { c in
            for r in 0..<chunk.rows { for j in 0..<d { c[r * d + j] -= mean[j] } }
        }
        return Matrix.product(centred, matrix, transposeB: true)
    }

    // MARK: Storage under /whitening

    public static let group = "/whitening"

    public func write(to file: HDF5File) throws {
        let g = WhiteningTransform.group
        try file.write(mean, shape: [mean.count], to: g + "/mean")
        try file.write(matrix, to: g + "/matrix")
        try file.write(inverse, to: g + "/inverse")
        try file.write(eigenvalues, shape: [eigenvalues.count], to: g + "/eigenvalues")
        try file.setAttribute("method", .string(method.rawValue), on: g)
        try file.setAttribute("epsilon", .double(epsilon), on: g)
        try file.setAttribute("remove_patch_mean", .int(filter.removePatchMean ? 1 : 0), on: g)
        if let (s1, s2) = filter.dog { try file.setAttribute("dog_sigmas", .doubles([s1, s2]), on: g) }
    }

    /// Reads the transform stored in `file`, checking every shape against the others.
    public static func read(from file: HDF5File) throws -> WhiteningTransform {
        let g = group
        guard file.kind(of: g) == .group else { throw SparseKitError.badInput(file.path, "has no \(g) group (not whitened?)") }
        let (mean, meanShape) = try file.read(g + "/mean", as: Float.self)
        let matrix = try file.readMatrix(g + "/matrix")
        let inverse = try file.readMatrix(g + "/inverse")
        let (eigenvalues, _) = try file.read(g + "/eigenvalues", as: Double.self)
        let d = mean.count
        guard meanShape.count == 1, matrix.cols == d, inverse.rows == d, inverse.cols == matrix.rows,
              eigenvalues.count == d, mean.allFinite, matrix.isFinite
        else { throw SparseKitError.badInput(file.path, "\(g) has inconsistent shapes or non-finite values") }
        guard let name = try file.attribute("method", of: g)?.stringValue, let method = WhiteningMethod(rawValue: name) else {
            throw SparseKitError.badInput(file.path, "\(g) has no valid 'method' attribute")
        }
        let epsilon = try file.attribute("epsilon", of: g)?.doubleValue ?? 0
        var filter = PatchFilter(removePatchMean: try file.attribute("remove_patch_mean", of: g)?.intValue == 1)
        if let sigmas = try file.attribute("dog_sigmas", of: g), case .doubles(let s) = sigmas, s.count == 2 {
            guard s.allSatisfy(PatchFilter.sigmas.contains) else {
                throw SparseKitError.badInput(file.path, "\(g) has DoG sigmas \(s) outside \(PatchFilter.sigmas)")
            }
            filter.dog = (s[0], s[1])
        }
        return WhiteningTransform(method: method, epsilon: epsilon, filter: filter, mean: mean, matrix: matrix,
                                  inverse: inverse, eigenvalues: eigenvalues)
    }
}
