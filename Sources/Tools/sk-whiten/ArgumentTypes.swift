import ArgumentParser
import DataKit

extension WhiteningMethod: ExpressibleByArgument {}

/// `--dog SIGMA1,SIGMA2`: the two σ of a difference-of-Gaussians filter, in pixels, each finite and within
/// `PatchFilter.sigmas` (so that a huge σ is refused here rather than sizing a kernel).
struct DoGSigmas: ExpressibleByArgument {
    var sigmas: (Double, Double)

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let s1 = parts[0], let s2 = parts[1],
              PatchFilter.sigmas.contains(s1), PatchFilter.sigmas.contains(s2) else { return nil }
        sigmas = (s1, s2)
    }
}
