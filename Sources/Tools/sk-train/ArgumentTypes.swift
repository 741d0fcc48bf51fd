import ArgumentParser
import DataKit
import Foundation
import Models
import ToolSupport

// The trainers' option types as command-line values: each parses (and lists its values in --help and shell
// completion) itself, so no tool converts strings.

extension SparseCodingTrainer.Scheme: ExpressibleByArgument {}
extension SparseCodingTrainer.Posterior: ExpressibleByArgument {}
extension SparseCodingTrainer.Objective: ExpressibleByArgument {}
extension SparseCodingTrainer.EStep: ExpressibleByArgument {}
extension SparseCodingTrainer.MStep: ExpressibleByArgument {}

extension SparseCodingTrainer.Annealing: ExpressibleByArgument {
    /// `START:EPOCHS` (e.g. `10:5`) or `B1,B2,…` (e.g. `10,8,6,4,2`).
    public init?(argument: String) {
        self.init(text: argument)
    }
}

extension SupervisedTrainer.Method: ExpressibleByArgument {}

/// `--scale`: `auto` (nil: the trainer picks by the data, `FeatureStatistics.automaticMethod`) or a
/// `FeatureScaling.Method`.
struct ScaleChoice: ExpressibleByArgument {
    var method: FeatureScaling.Method?

    init?(argument: String) {
        if argument == "auto" { method = nil; return }
        guard let method = FeatureScaling.Method(rawValue: argument) else { return nil }
        self.method = method
    }

    static var allValueStrings: [String] { ["auto"] + FeatureScaling.Method.allCases.map(\.rawValue) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}
extension UnsupervisedSDLGM.DecoderKind: ExpressibleByArgument {}
extension UnsupervisedSDLGM.Likelihood: ExpressibleByArgument {}

extension UnsupervisedTrainer.Temperatures: ExpressibleByArgument {
    /// `START:END` or `START:END:EPOCHS`, e.g. `1:0.5`.
    public init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, let start = Double(parts[0]), let end = Double(parts[1]) else { return nil }
        let epochs = parts.count == 3 ? Int(parts[2]) : nil
        if parts.count == 3, epochs == nil { return nil }
        self.init(start: start, end: end, epochs: epochs)
    }
}

/// Layer sizes written `S1,S2,…` (e.g. `512` or `512,256`), each at least 1.
struct LayerSizes: ExpressibleByArgument, Equatable {
    var sizes: [Int]

    init(_ sizes: [Int]) { self.sizes = sizes }

    init?(argument: String) {
        guard let list = PositiveIntegers(argument: argument) else { return nil }
        sizes = list.values
    }
}

/// The largest values sk-train's count options take: beyond them a run could not fit in memory or finish, and
/// arithmetic on them (epochs numbered on from a resumed history, sizes multiplied into allocations) stays far from
/// overflow.
enum TrainingLimits {
    static let latents = 1 << 20
    static let width = 1 << 20
    static let epochs = 1_000_000
    static let batchSize = 1 << 24
    static let iterations = 1_000_000
    static let history = 10_000
    static let samples = 10_000
}

extension ValidationFold: ExpressibleByArgument {
    /// "I/K" (`--validation-fold 2/5`); the range of I and K is checked with the other settings.
    public init?(argument: String) { self.init(argument) }
}
