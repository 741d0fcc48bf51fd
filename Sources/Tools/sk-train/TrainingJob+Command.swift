import DataKit
import Models
import ToolSupport

extension TrainingJob {
    /// The job of an `sk-train` subcommand: this invocation's provenance line (`tool` on `input` and the model to
    /// resume), stopped at the next safe point by SIGINT or SIGTERM, a progress line while each epoch runs (on a
    /// terminal) and `line(record)` per epoch on stderr (nothing when it returns nil, or with `quiet`).
    init(_ trainer: T, tool: String, input: String, output: String, resume: String?, seedGiven: Bool, quiet: Bool,
         line: @escaping (T.Session.Checkpoint.Record, _ lastEpoch: Int) -> String?) {
        self.init(trainer: trainer, input: input, output: output, resume: resume,
                  provenance: ToolRunner.provenance(tool, inputs: [input] + (resume.map { [$0] } ?? [])))
        shouldStop = { Interruption.stopAtThisSafePoint() }
        self.seedGiven = seedGiven
        let quiet = quiet || !CommonOptions.reports  // in an MPI job, rank 0 reports for every rank
        progressLine = ProgressReporter(quiet: quiet)
        progress = { record, lastEpoch in
            if let text = line(record, lastEpoch) { ProgressReporter.note(text, quiet: quiet) }
        }
    }
}
