import ArgumentParser
import DataKit
import ToolSupport

@main
struct PatchesCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-patches",
        abstract: "Cut image patches out of PNG files into a 'patches' HDF5 file.",
        discussion: """
            Random mode draws --count positions uniformly over all valid patch offsets of all images (the last row \
            and column included), so each image contributes in proportion to its number of valid positions. Grid \
            mode (--grid) takes every patch whose corner lies on a grid of --stride pixels.

            Pixel values are scaled to [0, 1]. --color gray converts colour with Y = 0.299 R + 0.587 G + 0.114 B; \
            --color rgb keeps three channels (gray images repeat their level). Alpha is dropped.

            --min-std T rejects flat patches: a patch whose values have a population standard deviation below T \
            (on the [0, 1] scale) is drawn again (random mode) or skipped (grid mode).

            Examples:
              sk-patches images/*.png -o patches.h5 --count 50000 --seed 1
              sk-patches photo.png -o grid.h5 --size 8 --grid --stride 8 --color rgb
            """,
        version: SparseKit.versionReport)

    @Argument(help: "PNG images (any flavour: gray, RGB, alpha, palette, 1–16 bit, interlaced).", completion: .file(extensions: ["png"]))
    var images: [String]

    @Option(name: .shortAndLong, help: "The patches file to write.", completion: .file(extensions: ["h5"]))
    var output: String

    @Option(parsing: .unconditional, help: "Patch height in pixels (and width, unless --width is given).")
    var size = 16

    @Option(parsing: .unconditional, help: "Patch width in pixels (default: --size).")
    var width: Int?

    @Option(parsing: .unconditional, help: "Number of random patches (at most \(Self.largestCount)).")
    var count: Int?

    @Option(parsing: .unconditional, help: "Seed of the random positions (same seed, same patches; default 0).")
    var seed: UInt64?

    @Option(help: "Colour model of the patches.")
    var color = PNGImage.ColorModel.gray

    @Option(name: .customLong("min-std"), parsing: .unconditional, help: "Reject patches whose standard deviation is below this value.")
    var minStd: Float?

    @Flag(help: "Take every patch on a grid instead of random ones.")
    var grid = false

    @Option(parsing: .unconditional, help: "Grid spacing in pixels (default: the patch size).")
    var stride: Int?

    @OptionGroup var common: CommonOptions

    /// The most random patches: beyond it the bound on draws (50 per patch) would overflow, and the file would not fit
    /// on any disk.
    static let largestCount = 10_000_000_000

    /// Random mode draws --count patches from --seed; grid mode takes them every --stride pixels.
    var optionRules: [OptionRule] {
        [OptionRule("--count", given: count != nil, applies: !grid, "without --grid (the grid decides how many)"),
         OptionRule("--seed", given: seed != nil, applies: !grid, "without --grid (the grid is not random)"),
         OptionRule("--stride", given: stride != nil, applies: grid, "with --grid")]
    }

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one PNG image") }
        guard size >= 1, (width ?? size) >= 1 else { throw ValidationError("the patch size must be at least 1") }
        try ToolRunner.validating { try OptionRule.refuseInapplicable(optionRules) }
        if !grid, count == nil { throw ValidationError("give --count N (or --grid)") }
        try Bounded.check([Bounded("--count", count, 1...Self.largestCount)])
        if let stride, stride < 1 { throw ValidationError("--stride must be at least 1") }
        if let minStd { guard minStd >= 0, minStd.isFinite else { throw ValidationError("--min-std must be ≥ 0") } }
    }

    func run() throws {
        try OutputPath.requireDistinct(output: output, inputs: images)
        let sampling: PatchSampling = grid ? .grid(stride: stride ?? size) : .random(count: count!, seed: seed ?? 0)
        let job = PatchesJob(
            imageFiles: images, output: output, patchHeight: size, patchWidth: width ?? size,
            color: color, sampling: sampling, minStd: minStd,
            history: [ToolRunner.provenance("sk-patches", inputs: images)])
        let progress = ProgressReporter(quiet: common.quiet)
        let summary = try progress.run("extracting", total: count, unit: "patches") {
            try job.run { progress.update($0) }
        }
        try common.finish(
            Result(output: output, patches: summary.count, dimension: summary.dimension, images: summary.images),
            line: "sk-patches: wrote \(summary.count) patches of \(summary.dimension) values from \(summary.images) "
                + "image(s) to \(output)")
    }

    struct Result: Encodable {
        var output: String
        var patches: Int
        var dimension: Int
        var images: Int
    }
}
