import ArgumentParser
import DataKit
import ToolSupport

@main
struct WhitenCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-whiten",
        abstract: "Whiten a 'patches' file (ZCA or PCA) and keep the transform for held-out data.",
        discussion: """
            Fits mean and covariance C = (1/N) Σ (x − mean)(x − mean)ᵀ, eigendecomposes C = V diag(e) Vᵀ \
            (LAPACK dsyevd; eigenvalues descending, each eigenvector's largest entry positive) and writes \
            whitened = (x − mean) · Mᵀ with M = V diag(1/√(e + ε)) Vᵀ (ZCA) or the first K rows of \
            diag(1/√(e + ε)) Vᵀ (PCA). The transform is stored under /whitening; --transform-from applies it to \
            new data, bit for bit as on the data it was fitted on.

            Optional per-patch preprocessing, stored with the transform and reapplied by --transform-from: \
            --dog S1,S2 (difference of Gaussians G(S1)∗x − G(S2)∗x per channel, reflecting borders) and \
            --remove-patch-mean.

            Examples:
              sk-whiten patches.h5 -o white.h5 --method zca --epsilon 1e-4
              sk-whiten patches.h5 -o pca.h5 --method pca --keep-variance 0.95
              sk-whiten heldout.h5 -o heldout-white.h5 --transform-from white.h5
            """,
        version: SparseKit.versionReport)

    @Argument(help: "A 'patches' file.", completion: .file(extensions: ["h5"]))
    var input: String

    @Option(name: .shortAndLong, help: "The whitened file to write.", completion: .file(extensions: ["h5"]))
    var output: String

    @Option(help: "The whitening (default zca).")
    var method: WhiteningMethod?

    @Option(parsing: .unconditional, help: "Absolute ε added to every eigenvalue (default 1e-05).")
    var epsilon: Double?

    @Option(parsing: .unconditional, help: "PCA: keep this many leading components.")
    var components: Int?

    @Option(name: .customLong("keep-variance"), parsing: .unconditional, help: "PCA: keep the fewest components holding this fraction of variance.")
    var keepVariance: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Difference-of-Gaussians filter (sigmas in pixels, each in 0...\(Int(PatchFilter.sigmas.upperBound))) applied to each patch first.",
                               valueName: "SIGMA1,SIGMA2"))
    var dog: DoGSigmas?

    @Flag(name: .customLong("remove-patch-mean"), help: "Subtract each patch's own mean (after --dog).")
    var removePatchMean = false

    @Option(name: .customLong("transform-from"), help: "Apply the transform stored in this whitened file (or a model trained on one) instead of fitting.", completion: .file(extensions: ["h5"]))
    var transformFrom: String?

    @OptionGroup var common: CommonOptions

    /// Fitting options do not go with --transform-from (the stored transform decides), and the choice of components
    /// goes with PCA only (ZCA keeps every dimension).
    var optionRules: [OptionRule] {
        let fitting = transformFrom == nil
        let pca = fitting && method == .pca
        return [("--method", method != nil), ("--epsilon", epsilon != nil), ("--dog", dog != nil),
                ("--remove-patch-mean", removePatchMean)].map {
            OptionRule($0.0, given: $0.1, applies: fitting, "when fitting (--transform-from applies a stored transform)")
        } + [("--components", components != nil), ("--keep-variance", keepVariance != nil)].map {
            OptionRule($0.0, given: $0.1, applies: pca, "when fitting with --method pca (ZCA keeps every dimension)")
        }
    }

    func validate() throws {
        try ToolRunner.validating { try OptionRule.refuseInapplicable(optionRules) }
        if let epsilon { guard epsilon >= 0, epsilon.isFinite else { throw ValidationError("--epsilon must be ≥ 0") } }
        guard components == nil || keepVariance == nil else {
            throw ValidationError("give --components or --keep-variance, not both")
        }
        if let components, components < 1 { throw ValidationError("--components must be at least 1") }
        if let keepVariance, !(keepVariance > 0 && keepVariance <= 1) {
            throw ValidationError("--keep-variance must be in (0, 1]")
        }
    }

    func run() throws {
        let inputs = [input] + (transformFrom.map { [$0] } ?? [])
        try OutputPath.requireDistinct(output: output, inputs: inputs)
        let source: WhitenJob.Source
        if let transformFrom {
            source = .stored(path: transformFrom)
        } else {
            let selection: ComponentSelection = components.map { .count($0) } ?? keepVariance.map { .variance($0) } ?? .all
            source = .fit(method: method ?? .zca, epsilon: epsilon ?? 1e-5, components: selection,
                          filter: PatchFilter(dog: dog?.sigmas, removePatchMean: removePatchMean))
        }
        let job = WhitenJob(input: input, output: output, source: source,
                            history: [ToolRunner.provenance("sk-whiten", inputs: inputs)])
        let progress = ProgressReporter(quiet: common.quiet)
        let summary = try progress.finishing { try job.run { progress.report($0, $1, $2) } }
        let t = summary.transform
        try common.finish(
            Result(output: output, rows: summary.rows, inputDimension: summary.inputDimension,
                   outputDimension: summary.outputDimension, method: t.method.rawValue, epsilon: t.epsilon,
                   largestEigenvalue: t.eigenvalues.first ?? 0, smallestEigenvalue: t.eigenvalues.last ?? 0),
            line: "sk-whiten: \(t.method.rawValue) whitened \(summary.rows) rows, \(summary.inputDimension) → "
                + "\(summary.outputDimension) values, into \(output)")
    }

    struct Result: Encodable {
        var output: String
        var rows: Int
        var inputDimension: Int
        var outputDimension: Int
        var method: String
        var epsilon: Double
        var largestEigenvalue: Double
        var smallestEigenvalue: Double
    }
}

import Foundation
