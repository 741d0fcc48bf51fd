import DataKit

/// W = V / ‖V‖_col, the gauge fix of the reference code: W always has unit-norm columns while V is optimised freely.
enum ColumnNormalization {
    /// W from V, and the column norms ‖v_h‖.
    static func normalized(_ v: Matrix) -> (w: Matrix, norms: [Float]) {
        var norms = [Float](repeating: 0, count: v.cols)
        for r in 0..<v.rows { for c in 0..<v.cols { norms[c] += v[r, c] * v[r, c] } }
        norms = norms.map { max($0.squareRoot(), 1e-12) }
        var w = v
        for r in 0..<v.rows { for c in 0..<v.cols { w[r, c] /= norms[c] } }
        return (w, norms)
    }

    /// The gradient w.r.t. V from the gradient G w.r.t. W: (G − W diag(Σ_d W∘G)) / ‖v‖, column by column.
    static func backward(w: Matrix, norms: [Float], gradW: UnsafePointer<Float>, into gradV: UnsafeMutablePointer<Float>) {
        let (d, h) = (w.rows, w.cols)
        var projection = [Float](repeating: 0, count: h)
        for r in 0..<d { for c in 0..<h { projection[c] += w[r, c] * gradW[r * h + c] } }
        for r in 0..<d { for c in 0..<h { gradV[r * h + c] = (gradW[r * h + c] - w[r, c] * projection[c]) / norms[c] } }
    }
}
