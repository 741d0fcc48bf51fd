import DataKit
import Foundation

/// The `map-l1` baseline's codes (`es-sc.md`, "Baselines"): for each row x_n the MAP code of the sparse coding model,
///   z_n = argmin_z ½‖x_n − W z‖² + α ‖z‖₁   (α = σ²/λ for a shared λ),
/// by FISTA (Beck & Teboulle 2009): a gradient step on the smooth part with step 1/ℓ, ℓ = λ_max(WᵀW), soft
/// thresholding at α/ℓ, and Nesterov momentum t_{k+1} = (1 + √(1 + 4t_k²))/2. Each iteration is two gemms over the
/// batch: the gradient is Y G − X W with G = WᵀW.
public struct LassoCoder {
    public var penalty: Double
    public var iterations: Int

    public init(penalty: Double, iterations: Int) {
        self.penalty = penalty
        self.iterations = iterations
    }

    /// The codes of the rows of `x` (B × H), warm-started from `start` if given.
    public func codes(_ x: Matrix, w: Matrix, start: Matrix? = nil) -> Matrix {
        let (b, h) = (x.rows, w.cols)
        let gram = Matrix.product(w, transposeA: true, w)
        // ℓ = λ_max(G); the trace bounds it from above should LAPACK fail (a smaller step, still convergent).
        let trace = (0..<h).reduce(0.0) { $0 + Double(gram[$1, $1]) }
        let lipschitz = max((try? Decompositions.symmetricEigen(gram)).flatMap { $0.values.first.map(Double.init) } ?? trace, 1e-12)
        let xw = Matrix.product(x, w)
        let threshold = Float(penalty / lipschitz), step = Float(1 / lipschitz)
        var z = start ?? Matrix(rows: b, cols: h)
        var y = z, gradient = Matrix(rows: b, cols: h)
        var t = 1.0
        for _ in 0..<iterations {
            gradient.storage = xw.storage
            Matrix.gemm(y, gram, alpha: 1, beta: -1, into: &gradient)  // Y G − X W
            let previous = z
            for i in 0..<(b * h) {
                let v = y.storage[i] - step * gradient.storage[i]
                z.storage[i] = v > threshold ? v - threshold : (v < -threshold ? v + threshold : 0)
            }
            let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
            let momentum = Float((t - 1) / tNext)
            for i in 0..<(b * h) { y.storage[i] = z.storage[i] + momentum * (z.storage[i] - previous.storage[i]) }
            t = tNext
        }
        return z
    }

    /// The MAP energy per point, ½‖x − W z‖² + α‖z‖₁, averaged over the rows.
    public func energy(_ x: Matrix, w: Matrix, codes z: Matrix) -> Double {
        var residual = x
        Matrix.gemm(z, w, transposeB: true, alpha: -1, beta: 1, into: &residual)
        let l1 = z.storage.reduce(0.0) { $0 + Double(abs($1)) }
        return (0.5 * dot(residual.storage, residual.storage) + penalty * l1) / Double(x.rows)
    }
}
