import Foundation

/// Units of log-densities (`es-sc.md`, "Evaluation": nats per patch; bits per pixel = nats / (D ln 2)).
public enum DensityUnits {
    /// `natsPerPoint` / (D ln 2): a log-density per point (or a code length, with its sign) in bits per dimension.
    /// The sign is kept: a log-likelihood gives a (usually negative) log-likelihood in bits per dimension; pass
    /// minus it for a code length.
    public static func bitsPerDimension(natsPerPoint: Double, dimension: Int) -> Double {
        precondition(dimension > 0, "bits per dimension of a 0-dimensional density")
        return natsPerPoint / (Double(dimension) * log(2))
    }
}
