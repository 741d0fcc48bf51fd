import ArgumentParser
import DataKit
import ToolSupport

@main
struct ConvertCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-convert",
        abstract: "Convert multi-label datasets (XC, LIBSVM, Mulan/MEKA ARFF) to a 'multilabel' HDF5 file, and back.",
        discussion: """
            Formats:
              xc      header 'N F C', then one line per point 'l1,l2 f:v f:v' (0-based; a point without labels
                      starts with f:v). Split files (--split-file, 1-based rows, one column per split).
              libsvm  'l1,l2 f:v …' without a header; say --zero-based or --one-based (feature indices; never
                      guessed). Dimensions are inferred unless --features/--labels give them.
              arff    Mulan (labels named by --xml LABELS.xml, matched by name; nested labels flattened) or MEKA
                      ('-C n' in the relation); dense or sparse rows, '%' comments, '?' per --missing.
            Several input files (train and test) become one file with /splits/<name> (names from the file names, \
            or --split-names). Unsorted or repeated feature indices are errors unless --sort-indices (which sorts \
            them and sums repeated values). A malformed line is reported with its file and line number (exit 65).

            --like TRAIN.h5 gives the output TRAIN's feature and label counts and names, so that a test file \
            converted on its own lines up with the training file a model was trained on: LIBSVM indices beyond \
            TRAIN's counts, an XC header with other counts, or ARFF attributes TRAIN does not name are refused, \
            naming the file (ARFF labels are found by TRAIN's label names, so --xml is optional).

            --export writes an HDF5 file back as xc or libsvm text ('-o -' for standard output).

            Examples:
              sk-convert bibtex-train.arff --format arff --xml bibtex.xml -o bibtex-train.h5
              sk-convert bibtex-test.arff --format arff --like bibtex-train.h5 -o bibtex-test.h5
              sk-convert test.svm --format libsvm --one-based --like train.h5 -o test.h5
              sk-convert bibtex-train.arff bibtex-test.arff --format arff --xml bibtex.xml -o bibtex.h5
              sk-convert Eurlex_train.txt Eurlex_test.txt --format xc -o eurlex.h5
              sk-convert data.svm --format libsvm --one-based -o data.h5
              sk-convert bibtex.h5 --export libsvm -o bibtex.svm
            """,
        version: SparseKit.versionReport)

    @Argument(help: "Text files to convert, or one multilabel HDF5 file with --export.", completion: .file())
    var inputs: [String]

    @Option(name: .shortAndLong, help: "The file to write ('-' for standard output with --export).", completion: .file())
    var output: String

    @Option(help: "Input format.")
    var format: ConvertJob.Format?

    @Option(help: "Write the HDF5 input back as text in this format.")
    var export: TextExport.Format?

    @Flag(name: .customLong("zero-based"), help: "LIBSVM feature indices start at 0.")
    var zeroBased = false

    @Flag(name: .customLong("one-based"), help: "LIBSVM feature indices start at 1.")
    var oneBased = false

    @Option(help: "Mulan XML naming the label attributes (arff).", completion: .file(extensions: ["xml"]))
    var xml: String?

    @Option(parsing: .unconditional, help: "Number of features (libsvm; default: inferred).")
    var features: Int?

    @Option(parsing: .unconditional, help: "Number of labels (libsvm; default: inferred).")
    var labels: Int?

    @Option(help: ArgumentHelp("A converted file whose feature and label counts and names the output takes (a test file converted after its training file).", valueName: "TRAIN.h5"), completion: .file(extensions: ["h5"]))
    var like: String?

    @Flag(help: "Store /features as a dense float32 matrix instead of CSR.")
    var dense = false

    @Option(name: .customLong("split-file"), help: "XC split file (repeatable): 1-based row numbers, one column per split.")
    var splitFiles: [String] = []

    @Option(name: .customLong("split-column"), parsing: .unconditional, help: "Which column of the split files to use (1-based; default 1).")
    var splitColumn: Int?

    @Option(name: .customLong("split-names"), help: ArgumentHelp("Split names for the input files, one each.", valueName: "NAME1,NAME2,…"))
    var splitNames: SplitNames?

    @Option(help: "ARFF '?' values: an error, or read as zero (default error).")
    var missing: MissingValues?

    @Flag(name: .customLong("sort-indices"), help: "Sort unsorted feature indices and sum repeated ones.")
    var sortIndices = false

    @Option(name: .customLong("max-index"), parsing: .unconditional, help: "Largest feature or label count accepted (default 2^26 = \(ConvertJob.defaultIndexBound)): a larger index or declared count is refused, since every later array is sized by it.")
    var maxIndex: Int?

    @Option(name: .customLong("max-line-bytes"), parsing: .unconditional, help: "Longest text line read, in bytes (default 64 MiB = \(LineReader.defaultMaximumLineLength)).")
    var maxLineBytes: Int?

    @Option(help: "With --export: write only the rows of this split.")
    var split: String?

    @OptionGroup var common: CommonOptions

    /// Which options go with which conversion: the LIBSVM index base with LIBSVM text either way, the other
    /// options with one input format, or with conversion to HDF5 (or with --export) only.
    var optionRules: [OptionRule] {
        let converting = export == nil
        let libsvmText = converting ? format == .libsvm : export == .libsvm
        func reading(_ chosen: ConvertJob.Format) -> Bool { converting && format == chosen }
        return [
            OptionRule("--format", given: format != nil, applies: converting, "without --export (it names the text read)"),
            OptionRule("--split", given: split != nil, applies: !converting, "with --export"),
            OptionRule("--zero-based", given: zeroBased, applies: libsvmText, "to libsvm text (--format or --export libsvm)"),
            OptionRule("--one-based", given: oneBased, applies: libsvmText, "to libsvm text (--format or --export libsvm)"),
            OptionRule("--features", given: features != nil, applies: reading(.libsvm) && like == nil,
                       "with --format libsvm and without --like (the other formats and --like give it)"),
            OptionRule("--labels", given: labels != nil, applies: reading(.libsvm) && like == nil,
                       "with --format libsvm and without --like (the other formats and --like give it)"),
            OptionRule("--xml", given: xml != nil, applies: reading(.arff), "with --format arff"),
            OptionRule("--missing", given: missing != nil, applies: reading(.arff), "with --format arff"),
            OptionRule("--split-file", given: !splitFiles.isEmpty, applies: reading(.xc), "with --format xc"),
            OptionRule("--split-column", given: splitColumn != nil, applies: reading(.xc), "with --format xc"),
        ] + [("--like", like != nil), ("--split-names", splitNames != nil), ("--dense", dense), ("--sort-indices", sortIndices),
             ("--max-index", maxIndex != nil), ("--max-line-bytes", maxLineBytes != nil)].map {
            OptionRule($0.0, given: $0.1, applies: converting, "when converting text to HDF5 (not with --export)")
        }
    }

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input file") }
        guard !(zeroBased && oneBased) else { throw ValidationError("--zero-based and --one-based exclude each other") }
        guard (inputs + splitFiles).filter({ $0 == "-" }).count <= 1 else {
            throw ValidationError("'-' (standard input) is given more than once; it can be read only once")
        }
        try ToolRunner.validating { try OptionRule.refuseInapplicable(optionRules) }
        if export != nil {
            guard inputs.count == 1 else { throw ValidationError("--export reads one HDF5 file") }
            if writesStandardOutput, common.json {
                throw ValidationError("--json does not go with -o - (the export itself is standard output)")
            }
            return
        }
        guard !writesStandardOutput else { throw ValidationError("-o - (standard output) goes with --export") }
        guard let format else { throw ValidationError("give --format xc, libsvm or arff (or --export)") }
        if format == .libsvm, !zeroBased, !oneBased {
            throw ValidationError("libsvm needs --zero-based or --one-based (index bases are never guessed)")
        }
        // Counts beyond 2³¹ − 1 columns (far more than any dataset has) are refused before they size anything.
        try Bounded.check([Bounded("--features", features, 1...Int(Int32.max)), Bounded("--labels", labels, 1...Int(Int32.max)),
                           Bounded("--split-column", splitColumn, 1...Int(Int32.max)),
                           Bounded("--max-index", maxIndex, 1...Int(Int32.max)), Bounded("--max-line-bytes", maxLineBytes, 1...(1 << 40))])
    }

    /// Whether `-o -` asks for standard output (with --export).
    var writesStandardOutput: Bool { output == TextExport.standardOutput }

    func run() throws {
        if let export { return try runExport(export) }
        var job = ConvertJob(inputs: inputs, output: output, format: format!)
        job.denseFeatures = dense
        job.xml = xml
        job.oneBased = oneBased
        job.featureCount = features
        job.labelCount = labels
        job.like = try like.map { try MultiLabelSchema.read(path: $0) }
        job.splitFiles = splitFiles
        job.splitColumn = splitColumn ?? job.splitColumn
        job.splitNames = splitNames?.names
        job.missing = missing ?? job.missing
        job.sortIndices = sortIndices
        job.indexBound = maxIndex ?? job.indexBound
        job.maximumLineLength = maxLineBytes ?? job.maximumLineLength
        let sources = inputs + splitFiles + (xml.map { [$0] } ?? []) + (like.map { [$0] } ?? [])
        try OutputPath.requireDistinct(output: output, inputs: sources)
        job.history = [ToolRunner.provenance("sk-convert", inputs: sources)]
        let summary = try job.run()
        try common.finish(JSONMerged(summary, Output(output: output, format: format!.rawValue)), line: "sk-convert: \(summary.points) points, \(summary.features) features, "
            + "\(summary.labels) labels (\(summary.featureNonZeros) feature and \(summary.labelNonZeros) label non-zeros) "
            + "to \(output)")
    }

    private func runExport(_ format: TextExport.Format) throws {
        if !writesStandardOutput { try OutputPath.requireDistinct(output: output, inputs: inputs) }
        let dataset = try MultiLabelDataset.read(from: try HDF5File.open(inputs[0]))
        var rows: [Int64]?
        if let split {
            guard let chosen = dataset.splits.first(where: { $0.name == split }) else {
                throw SparseKitError.badInput(inputs[0], "has no split '\(split)' (it has: "
                    + dataset.splits.map(\.name).joined(separator: ", ") + ")")
            }
            rows = chosen.rows
        }
        try TextExport.write(dataset, format: format, oneBased: oneBased, rows: rows, to: output)
        if !writesStandardOutput {
            let points = rows?.count ?? dataset.pointCount
            try common.finish(Exported(output: output, format: format.rawValue, points: points, split: split),
                              line: "sk-convert: wrote \(points) points as \(format.rawValue) to \(output)")
        }
    }

    /// What --json adds to the conversion's summary (`docs/json.md`).
    struct Output: Encodable {
        var output: String
        var format: String
    }

    /// What --json prints after --export to a file (with `-o -` the export itself is stdout; --json is refused).
    struct Exported: Encodable {
        var output: String
        var format: String
        var points: Int
        var split: String?
    }
}
