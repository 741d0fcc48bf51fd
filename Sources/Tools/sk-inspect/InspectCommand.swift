import ArgumentParser
import DataKit
import ToolSupport

@main
struct InspectCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-inspect",
        abstract: "Show what a SparseKit HDF5 file holds, or draw its rows as tiles.",
        discussion: """
            Without --tiles: the kind, attributes, history, and every dataset with type, shape, storage and basic \
            statistics (min, max, mean, std, zeros, non-finite values).

            With --tiles: the first --count rows of /data (or a model's fields: the columns of ES-SC's W, ICA's \
            mixing matrix or an unsupervised SDLGM's linear decoder) drawn as image tiles, \
            each scaled on its own: symmetrically around zero (0 is mid-gray) for whitened data and models, \
            from its minimum to its maximum for raw patches (change with --scaling).

            Examples:
              sk-inspect patches.h5
              sk-inspect white.h5 --json | jq '.datasets[0].statistics'
              sk-inspect white.h5 --tiles -o tiles.png --count 100
            """,
        version: SparseKit.versionReport)

    @Argument(help: "A SparseKit HDF5 file.")
    var input: String

    @Flag(help: "Draw tiles to the PNG given with -o.")
    var tiles = false

    @Option(name: .shortAndLong, help: "The PNG to write with --tiles.")
    var output: String?

    @Option(parsing: .unconditional, help: "How many tiles to draw, with --tiles (default 100).")
    var count: Int?

    @Option(help: "Per tile, with --tiles: symmetric (around zero) or range (min to max) (default: symmetric for whitened data and models, range for raw patches).")
    var scaling: TileRenderer.Scaling?

    @Option(parsing: .unconditional, help: "Pixels per patch pixel, with --tiles, at most \(Self.largestZoom) (default: tiles at least 48 pixels wide).")
    var zoom: Int?

    @OptionGroup var common: CommonOptions

    /// The largest `--zoom`: beyond it one tile alone would be an image of millions of pixels.
    static let largestZoom = 64

    /// The options that draw tiles apply with --tiles only.
    var optionRules: [OptionRule] {
        [("-o", output != nil), ("--count", count != nil), ("--scaling", scaling != nil), ("--zoom", zoom != nil)].map {
            OptionRule($0.0, given: $0.1, applies: tiles, "with --tiles")
        }
    }

    func validate() throws {
        try ToolRunner.validating { try OptionRule.refuseInapplicable(optionRules) }
        if tiles, output == nil { throw ValidationError("--tiles needs -o FILE.png") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        try Bounded.check([Bounded("--zoom", zoom, 1...Self.largestZoom)])
    }

    func run() throws {
        if tiles, let output {
            try OutputPath.requireDistinct(output: output, inputs: [input])
            let job = TilesJob(input: input, output: output, count: count ?? 100, scaling: scaling, zoom: zoom,
                               modelFields: Self.fieldsDataset(of:))
            let summary = try job.run()
            try common.finish(
                TilesResult(output: output, tiles: summary.tiles, source: summary.source, width: summary.width,
                            height: summary.height),
                line: "sk-inspect: drew \(summary.tiles) tiles of \(summary.source) (\(summary.width)×\(summary.height) "
                    + "pixels) to \(output)")
            return
        }
        let summary = try FileSummary.of(try HDF5File.open(input))
        if common.json { try ToolRunner.printJSON(summary) } else { print(summary.text) }
    }

    struct TilesResult: Encodable {
        var output: String
        var tiles: Int
        var source: String
        var width: Int
        var height: Int
    }
}
