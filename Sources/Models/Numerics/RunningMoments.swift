import Foundation

/// The mean and standard error of a sample seen one value at a time (Welford's update), for estimates over data
/// read block by block.
public struct RunningMoments: Sendable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    /// Σ (x − mean)² so far.
    private var squaredDeviations = 0.0

    public init() {}

    public mutating func add(_ value: Double) {
        count += 1
        let delta = value - mean
        mean += delta / Double(count)
        squaredDeviations += delta * (value - mean)
    }

    /// The unbiased sample variance s²; 0 for fewer than two values.
    public var variance: Double { count > 1 ? squaredDeviations / Double(count - 1) : 0 }

    /// sqrt(s² / n); 0 for fewer than two values.
    public var standardError: Double { (variance / Double(max(count, 1))).squareRoot() }
}
