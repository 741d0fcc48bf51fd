import ArgumentParser
import DataKit
import Models
import ToolSupport

/// The options every resumable trainer of `sk-train` takes: where the model goes, the model to continue, the seed,
/// and the common output options.
struct TrainingRunOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The model file to write (may be the --resume file: it is replaced only once complete).", completion: .file(extensions: ["h5"]))
    var output: String

    @Option(help: "A model file to continue training from, exactly where it stopped (same data shape and settings): --epochs more epochs.", completion: .file(extensions: ["h5"]))
    var resume: String?

    @Option(parsing: .unconditional, help: "Seed of everything random: initial weights, minibatch order, sampled noise (default 0; a resumed run continues its model's stream).")
    var seed: UInt64?

    @OptionGroup var common: CommonOptions

    /// Whether progress and the final line stay off stderr.
    var quiet: Bool { common.quiet || common.json }

    /// The job training `trainer` on `input` for the subcommand `tool`, with `line(record, lastEpoch)` per epoch on
    /// stderr; refuses an output that is the input (the --resume file may be the output).
    func job<T: Trainer>(_ trainer: T, tool: String, input: String,
                         line: @escaping (T.Session.Checkpoint.Record, _ lastEpoch: Int) -> String?) throws -> TrainingJob<T> {
        try OutputPath.requireDistinct(output: output, inputs: [input])
        return TrainingJob(trainer, tool: tool, input: input, output: output, resume: resume, seedGiven: seed != nil, quiet: quiet,
                           line: line)
    }
}
