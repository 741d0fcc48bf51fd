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
        version: SparseKit.version)

    @Argument(help: "A SparseKit HDF5 file.")
    var input: String

    @Flag(help: "Draw tiles to the PNG given with -o.")
    var tiles = false

    @Option(name: .shortAndLong, help: "The PNG to write with --tiles.")
    var output: String?

    @Option(help: "How many tiles to draw.")
    var count = 100

    @Option(help: "symmetric (around zero) or range (min to max), per tile.")
    var scaling: String?

    @Option(help: "Pixels per patch pixel (default: tiles at least 48 pixels wide).")
    var zoom: Int?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if tiles {
            guard output != nil else { throw ValidationError("--tiles needs -o FILE.png") }
        } else if output != nil {
            throw ValidationError("-o goes with --tiles")
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        if let zoom, zoom < 1 { throw ValidationError("--zoom must be at least 1") }
        if let scaling, TileRenderer.Scaling(rawValue: scaling) == nil {
            throw ValidationError("--scaling must be symmetric or range")
        }
    }

    func run() throws {
        if tiles, let output {
            try ToolRunner.requireDistinct(output: output, inputs: [input])
            let job = TilesJob(input: input, output: output, count: count,
                               scaling: scaling.flatMap(TileRenderer.Scaling.init(rawValue:)), zoom: zoom,
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
