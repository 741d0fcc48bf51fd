import ArgumentParser
import DataKit
import Models
import ToolSupport

@main
struct InspectCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-inspect",
        abstract: "Show what a SparseKit HDF5 file holds, draw its rows as tiles, or plot training and data.",
        discussion: """
            Without a drawing option: the kind, attributes, history, and every dataset with type, shape, storage and \
            basic statistics (min, max, mean, std, zeros, non-finite values).

            With --tiles: the first --count rows of /data (or a model's fields: the columns of ES-SC's W, ICA's \
            mixing matrix or an unsupervised SDLGM's linear decoder) drawn as image tiles, \
            each scaled on its own: symmetrically around zero (0 is mid-gray) for whitened data and models, \
            from its minimum to its maximum for raw patches (change with --scaling).

            With --reconstructions MODEL DATA: the first --count rows of a patches or whitened file (default 36) \
            beside their reconstructions and residuals, as tiles on each patch's gray scale: ES-SC from the \
            posterior means (W μ), unsupervised SDLGM from its evaluation codes (f(z)).

            With --plot history MODEL...: every /history column per epoch, one panel each on a shared epoch axis, \
            one colour per model file: the objective, ES-SC's three entropies, σ², mean λ and Gini sparsity, \
            SDLGM's ELBO terms, a supervised model's validation P@1.

            With --plot active-counts SDLGM_MODEL DATA: the histogram of active features per point (unsupervised, \
            every row), or of predicted label-set sizes beside the true ones (supervised, the 'test' split if the \
            file has one).

            With --plot labels MULTILABEL: label frequencies, most frequent first on a log scale, and the \
            histogram of label-set sizes, one series per split.

            Every picture is a PNG written to -o (atomically: a failure leaves no file there).

            Examples:
              sk-inspect patches.h5
              sk-inspect white.h5 --json | jq '.datasets[0].statistics'
              sk-inspect white.h5 --tiles -o tiles.png --count 100
              sk-inspect essc.h5 sdlgm.h5 --plot history -o history.png
              sk-inspect essc.h5 heldout.h5 --reconstructions -o recon.png
              sk-inspect sdlgm.h5 heldout.h5 --plot active-counts -o active.png
              sk-inspect medical-train.h5 --plot labels -o labels.png
            """,
        version: SparseKit.versionReport)

    @Argument(help: ArgumentHelp("A SparseKit HDF5 file; with --plot history one or more model files; with --reconstructions "
        + "or --plot active-counts a model file and a data file.", valueName: "file"))
    var inputs: [String]

    @Flag(help: "Draw tiles to the PNG given with -o.")
    var tiles = false

    @Flag(help: "Draw the first --count rows of DATA beside MODEL's reconstructions of them to the PNG given with -o.")
    var reconstructions = false

    @Option(help: ArgumentHelp("Draw a figure to the PNG given with -o: history, active-counts or labels.", valueName: "plot"))
    var plot: PlotKind?

    @Option(name: .shortAndLong, help: "The PNG to write with --tiles, --reconstructions or --plot.")
    var output: String?

    @Option(parsing: .unconditional, help: "How many tiles to draw, with --tiles (default 100) or --reconstructions (default 36).")
    var count: Int?

    @Option(help: "Per tile, with --tiles: symmetric (around zero) or range (min to max) (default: symmetric for whitened data and models, range for raw patches).")
    var scaling: TileRenderer.Scaling?

    @Option(parsing: .unconditional, help: "Pixels per patch pixel, with --tiles or --reconstructions, at most \(Self.largestZoom) (default: tiles at least 48 pixels wide).")
    var zoom: Int?

    @OptionGroup var common: CommonOptions

    /// The largest `--zoom`: beyond it one tile alone would be an image of millions of pixels.
    static let largestZoom = 64

    /// What is drawn, if anything.
    enum Drawing: Equatable {
        case tiles, reconstructions, plot(PlotKind)

        var option: String {
            switch self {
            case .tiles: return "--tiles"
            case .reconstructions: return "--reconstructions"
            case .plot(let kind): return "--plot \(kind.rawValue)"
            }
        }

        /// The input files it takes, as help names them, and how many.
        var files: (names: String, counts: ClosedRange<Int>) {
            switch self {
            case .tiles: return ("one data or model file", 1...1)
            case .reconstructions: return ("a model file and a data file", 2...2)
            case .plot(.history): return ("one or more model files", 1...Int.max)
            case .plot(.activeCounts): return ("an SDLGM model file and a data file", 2...2)
            case .plot(.labels): return ("one multilabel file", 1...1)
            }
        }
    }

    var drawings: [Drawing] {
        (tiles ? [.tiles] : []) + (reconstructions ? [.reconstructions] : []) + (plot.map { [.plot($0)] } ?? [])
    }

    /// The options that apply to some drawings only.
    var optionRules: [OptionRule] {
        let drawing = drawings.first
        let tiled = drawing == .tiles || drawing == .reconstructions
        return [OptionRule("-o", given: output != nil, applies: drawing != nil, "with --tiles, --reconstructions or --plot"),
                OptionRule("--count", given: count != nil, applies: tiled, "with --tiles or --reconstructions"),
                OptionRule("--scaling", given: scaling != nil, applies: drawing == .tiles, "with --tiles"),
                OptionRule("--zoom", given: zoom != nil, applies: tiled, "with --tiles or --reconstructions")]
    }

    func validate() throws {
        guard drawings.count <= 1 else {
            throw ValidationError("draw one thing at a time: \(drawings.map(\.option).joined(separator: " and ")) were given")
        }
        try ToolRunner.validating { try OptionRule.refuseInapplicable(optionRules) }
        let (names, counts) = drawings.first?.files ?? ("one file", 1...1)
        guard counts.contains(inputs.count) else {
            throw ValidationError("\(drawings.first?.option ?? "sk-inspect without a drawing option") takes \(names), "
                + "not \(inputs.count) file\(inputs.count == 1 ? "" : "s")")
        }
        if let drawing = drawings.first, output == nil { throw ValidationError("\(drawing.option) needs -o FILE.png") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        try Bounded.check([Bounded("--zoom", zoom, 1...Self.largestZoom)])
    }

    func run() throws {
        guard let drawing = drawings.first, let output else {
            let summary = try FileSummary.of(try HDF5File.open(inputs[0]))
            if common.json { try ToolRunner.printJSON(summary) } else { print(summary.text) }
            return
        }
        try OutputPath.requireDistinct(output: output, inputs: inputs)
        if drawing == .tiles { return try drawTiles(inputs[0], to: output) }
        let summary = try picture(drawing, to: output)
        try common.finish(summary, line: "sk-inspect: drew \(summary.picture) (\(summary.panels) panel\(summary.panels == 1 ? "" : "s"), "
            + "\(summary.width)×\(summary.height) pixels) to \(output)")
    }

    func drawTiles(_ input: String, to output: String) throws {
        let job = TilesJob(input: input, output: output, count: count ?? 100, scaling: scaling, zoom: zoom,
                           modelFields: Self.fieldsDataset(of:))
        let summary = try job.run()
        try common.finish(
            TilesResult(output: output, tiles: summary.tiles, source: summary.source, width: summary.width,
                        height: summary.height),
            line: "sk-inspect: drew \(summary.tiles) tiles of \(summary.source) (\(summary.width)×\(summary.height) "
                + "pixels) to \(output)")
    }

    struct TilesResult: Encodable {
        var output: String
        var tiles: Int
        var source: String
        var width: Int
        var height: Int
    }
}
