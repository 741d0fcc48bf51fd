import ArgumentParser
import DataKit
import Models
import ToolSupport

@main
struct SynthCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-synth",
        abstract: "Generate synthetic data with a known generating model.",
        version: SparseKit.versionReport,
        subcommands: [BarsCommand.self])
}

struct BarsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bars",
        abstract: "The bars test: 5 horizontal + 5 vertical bars on 5×5, Laplace(0, 1) sources, Gaussian noise.",
        discussion: """
            Writes a 'patches' file (5×5 gray patches, /data [N, 25]) with the generating model beside the data:
            /generating/W [25, 10] (bar pixels 1) and /generating/z [N, 10].

            Example:
              sk-synth bars -o bars.h5 --count 1000 --seed 1
            """)

    @Option(name: .shortAndLong, help: "The file to write.", completion: .file(extensions: ["h5"]))
    var output: String

    @Option(parsing: .unconditional, help: "Number of data points (at most \(Self.largestCount)).")
    var count = 1000

    @Option(parsing: .unconditional, help: "Noise standard deviation.")
    var noise = 0.1

    @Option(parsing: .unconditional, help: "Seed of the sources and the noise.")
    var seed: UInt64 = 0

    @OptionGroup var common: CommonOptions

    /// The most points: their 35 values each are sampled in memory.
    static let largestCount = 10_000_000

    func validate() throws {
        try Bounded.check([Bounded("--count", count, 1...Self.largestCount)])
        guard noise >= 0, noise.isFinite else { throw ValidationError("--noise must be ≥ 0") }
    }

    func run() throws {
        let (x, z, w) = BarsData.sample(count: count, noise: noise, seed: seed)
        try AtomicOutput(path: output).commit { path in
            let file = try HDF5File.create(path)
            try file.write(x, to: "/data")
            try file.write(w, to: "/generating/W")
            try file.write(z, to: "/generating/z")
            try PatchGeometry(height: 5, width: 5, channels: 1).write(to: file)
            try file.setAttribute("seed", .int(Int(bitPattern: UInt(seed))))
            try file.setAttribute("noise", .double(noise), on: "/generating")
            try file.writeHeader(kind: .patches, history: [ToolRunner.provenance("sk-synth bars", inputs: [])])
            try file.close()
        }
        try common.finish(Result(output: output, points: count, dimension: x.cols, noise: noise, seed: seed),
                          line: "sk-synth bars: \(count) points to \(output)")
    }

    /// What --json prints (`docs/json.md`).
    struct Result: Encodable {
        var output: String
        var points: Int
        var dimension: Int
        var noise: Double
        var seed: UInt64
    }
}
