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
        version: SparseKit.version)

    @Argument(help: "A 'patches' file.")
    var input: String

    @Option(name: .shortAndLong, help: "The whitened file to write.")
    var output: String

    @Option(help: "zca or pca.")
    var method: String = "zca"

    @Option(help: "Absolute ε added to every eigenvalue.")
    var epsilon: Double = 1e-5

    @Option(help: "PCA: keep this many leading components.")
    var components: Int?

    @Option(name: .customLong("keep-variance"), help: "PCA: keep the fewest components holding this fraction of variance.")
    var keepVariance: Double?

    @Option(help: "Difference-of-Gaussians filter 'SIGMA1,SIGMA2' (pixels) applied to each patch first.")
    var dog: String?

    @Flag(name: .customLong("remove-patch-mean"), help: "Subtract each patch's own mean (after --dog).")
    var removePatchMean = false

    @Option(name: .customLong("transform-from"), help: "Apply the transform stored in this whitened file (or a model trained on one) instead of fitting.")
    var transformFrom: String?

    @OptionGroup var common: CommonOptions

    func parsedDog() throws -> (Double, Double)? {
        guard let dog else { return nil }
        let parts = dog.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let s1 = parts[0], let s2 = parts[1], s1 >= 0, s2 >= 0, s1.isFinite, s2.isFinite else {
            throw ValidationError("--dog takes two non-negative sigmas, e.g. --dog 0.5,2")
        }
        return (s1, s2)
    }

    func validate() throws {
        guard let method = WhiteningMethod(rawValue: method) else { throw ValidationError("--method must be zca or pca") }
        guard epsilon >= 0, epsilon.isFinite else { throw ValidationError("--epsilon must be ≥ 0") }
        guard components == nil || keepVariance == nil else {
            throw ValidationError("give --components or --keep-variance, not both")
        }
        if method == .zca, components != nil || keepVariance != nil {
            throw ValidationError("ZCA keeps every dimension; --components and --keep-variance go with --method pca")
        }
        if let components, components < 1 { throw ValidationError("--components must be at least 1") }
        if let keepVariance, !(keepVariance > 0 && keepVariance <= 1) {
            throw ValidationError("--keep-variance must be in (0, 1]")
        }
        _ = try parsedDog()
        if transformFrom != nil, dog != nil || removePatchMean || components != nil || keepVariance != nil {
            throw ValidationError("--transform-from applies a stored transform; fitting options do not go with it")
        }
    }

    func run() throws {
        let inputs = [input] + (transformFrom.map { [$0] } ?? [])
        try ToolRunner.requireDistinct(output: output, inputs: inputs)
        let source: WhitenJob.Source
        if let transformFrom {
            source = .stored(path: transformFrom)
        } else {
            let selection: ComponentSelection = components.map { .count($0) } ?? keepVariance.map { .variance($0) } ?? .all
            source = .fit(method: WhiteningMethod(rawValue: method)!, epsilon: epsilon, components: selection,
                          filter: PatchFilter(dog: try parsedDog(), removePatchMean: removePatchMean))
        }
        let job = WhitenJob(input: input, output: output, source: source,
                            history: [ToolRunner.provenance("sk-whiten", inputs: inputs)])
        let progress = ProgressReporter(quiet: common.quiet)
        let summary = try job.run { progress.report($0, $1, $2) }
        progress.finish()
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
