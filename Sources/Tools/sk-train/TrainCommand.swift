import ArgumentParser
import DataKit
import Foundation
import Models
import ToolSupport

@main
struct TrainCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-train",
        abstract: "Train a sparse latent model on a SparseKit data file.",
        version: SparseKit.versionReport,
        subcommands: [SparseCodingCommand.self, SDLGMCommand.self, BaselineCommand.self])

    /// Training stops after the current minibatch and writes a resumable model.
    static let stopsAtSafePoints = true
}
