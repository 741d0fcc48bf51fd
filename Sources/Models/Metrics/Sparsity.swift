import DataKit

/// Sparsity measures.
public enum Sparsity {
    /// The Gini coefficient of |a| (Hurley & Rickard): 1 − 2 Σ_k (a_(k)/‖a‖₁) (H − k + ½)/H over the sorted
    /// magnitudes; 0 for equal magnitudes, → 1 for one non-zero.
    public static func gini(_ a: ArraySlice<Float>) -> Double {
        var scratch: [Float] = []
        return gini(a, scratch: &scratch)
    }

    /// The same, sorting in `scratch` (reused across calls, so a loop over rows allocates once).
    static func gini(_ a: ArraySlice<Float>, scratch: inout [Float]) -> Double {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: a.lazy.map { abs($0) })
        scratch.withUnsafeMutableBufferPointer { $0.sort() }
        let total = scratch.reduce(0.0) { $0 + Double($1) }
        guard total > 0 else { return 0 }
        let h = Double(scratch.count)
        var sum = 0.0
        for (k, value) in scratch.enumerated() { sum += Double(value) / total * (h - Double(k + 1) + 0.5) / h }
        return 1 - 2 * sum
    }

    /// The mean over rows of the Gini coefficient of each row.
    public static func meanGini(_ m: Matrix) -> Double {
        guard m.rows > 0 else { return 0 }
        var scratch: [Float] = []
        scratch.reserveCapacity(m.cols)
        return (0..<m.rows).reduce(0.0) { $0 + gini(m.row($1), scratch: &scratch) } / Double(m.rows)
    }
}
