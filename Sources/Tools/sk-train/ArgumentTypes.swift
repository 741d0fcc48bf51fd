import ArgumentParser
import Models

// The trainers' option types as command-line values: each parses (and lists its values in --help and shell
// completion) itself, so no tool converts strings.

extension SparseCodingTrainer.Scheme: ExpressibleByArgument {}
extension SparseCodingTrainer.Posterior: ExpressibleByArgument {}
extension SparseCodingTrainer.Objective: ExpressibleByArgument {}

extension SparseCodingTrainer.Annealing: ExpressibleByArgument {
    /// `START:EPOCHS`, e.g. `10:5`.
    public init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Double(parts[0]), let epochs = Int(parts[1]) else { return nil }
        self.init(start: start, epochs: epochs)
    }

    public static var defaultValueDescription: String { "START:EPOCHS" }
}
