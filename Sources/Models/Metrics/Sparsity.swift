import DataKit

/// Sparsity measures.
public enum Sparsity {
    /// The Gini coefficient of |a| (Hurley & Rickard): 1 − 2 Σ_k (a_(k)/‖a‖₁) (H − k + ½)/H over the sorted
    /// magnitudes; 0 for equal magnitudes, → 1 for one non-zero.
    public static func gini(_ a: ArraySlice<Float>) -> Double {
        let sorted = a.map { Double(abs($0)) }.sorted()
        let total = sorted.reduce(0, +)
        guard total > 0 else { return 0 }
        let h = Double(sorted.count)
        var sum = 0.0
        for (k, value) in sorted.enumerated() { sum += value / total * (h - Double(k + 1) + 0.5) / h }
        return 1 - 2 * sum
    }

    /// The mean over rows of the Gini coefficient of each row.
    public static func meanGini(_ m: Matrix) -> Double {
        guard m.rows > 0 else { return 0 }
        return (0..<m.rows).reduce(0.0) { $0 + gini(m.row($1)) } / Double(m.rows)
    }
}
