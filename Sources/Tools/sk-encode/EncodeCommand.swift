import ArgumentParser
import DataKit
import Models
import ToolSupport

@main
struct EncodeCommand: SparseKitCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk-encode",
        abstract: "Encode every row of a data file with a trained model.",
        discussion: """
            For ES-SC models: the posterior q_n = N(μ_n, diag(s_n²)) of every row, fitted with W, σ², λ fixed \
            (or, for a model with an amortized encoder, the encoder's output), written as /codes (μ, N × H) and \
            /codes_std (s, N × H) in a 'codes' file. The rows are read, encoded and written 8,192 at a time, so \
            memory stays bounded however large the data file is.

            For unsupervised SDLGM models: the evaluation code of every row (L̂ = argmax q(L | x), the top-L̂ support \
            scores, values μ; at most L0 non-zeros per row) as a CSR group /codes [N, K].

            For supervised SDLGM models (and their baselines) on a 'multilabel' file: the hard code of every row, \
            its predicted label set (the top L̂ = argmax p(L | x) labels, so at most L0 per row), as a CSR group \
            /codes [N, C] whose values are the label scores. With --top-k K also /predictions, a CSR group [N, C] \
            holding each row's K highest-scoring labels with their scores (stored by label index as every CSR group; \
            sort a row's scores, descending, for its ranking; ties rank the lower label first), from which P@k, \
            nDCG@k and the other metrics up to k = K can be computed (pyxclib reads it as a score matrix). With \
            --export xc the same top-K predictions are written as text instead, in the Extreme Classification \
            Repository's sparse score-file format (pyxclib's read_sparse_file): a header 'N C', then one line per \
            row of 'label:score' pairs, best first ('-o -' for standard output). For an ensemble (sk-train sdlgm \
            --ensemble M) the scores are the logarithm of the members' mean Plackett–Luce first-choice probabilities \
            (one-vs-all: the logit of their mean sigmoid), and L̂ maximizes their mean p(L | x).

            Rows of a 'multilabel' file (SDLGM): \(DefaultSplit.rule).

            Examples:
              sk-encode model.h5 heldout-white.h5 -o codes.h5
              sk-encode sdlgm.h5 bibtex-test.h5 -o pred.h5 --top-k 10
              sk-encode sdlgm.h5 bibtex-test.h5 -o scores.txt --top-k 10 --export xc
              sk-encode sdlgm.h5 bibtex.h5 -o codes.h5            # a file with splits: its 'test' split
              sk-encode knn.h5 bibtex-test.h5 -o pred.h5 --top-k 10 --neighbour-weight 0   # the network alone
            """,
        version: SparseKit.versionReport)

    @Argument(help: "A model file.", completion: .file(extensions: ["h5"]))
    var model: String

    @Argument(help: "A 'patches' or 'whitened' file (ES-SC), or a 'multilabel' file (SDLGM).", completion: .file(extensions: ["h5"]))
    var data: String

    @Option(help: SplitSelection.help(.test, "encode (SDLGM on a 'multilabel' file)"))
    var split: SplitSelection?

    @Option(name: .shortAndLong, help: "The codes file to write ('-' for standard output with --export).", completion: .file(extensions: ["h5"]))
    var output: String

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Also write each row's K highest-scoring labels with their scores as /predictions (supervised SDLGM).")
    var topK: Int?

    @Option(help: "Write the --top-k predictions as text in this format instead of a codes file: xc (the Extreme Classification Repository's score files).")
    var export: PredictionExport?

    enum PredictionExport: String, ExpressibleByArgument, CaseIterable { case xc }

    /// The largest --top-k: a ranking of that depth per row is held in memory.
    static let largestTopK = 100_000

    func validate() throws {
        try Bounded.check([Bounded("--top-k", topK, 1...Self.largestTopK)])
        guard export != nil || output != TextExport.standardOutput else {
            throw ValidationError("-o - (standard output) goes with --export")
        }
        if output == TextExport.standardOutput, common.json {
            throw ValidationError("--json does not go with -o - (the export itself is standard output)")
        }
        try ToolRunner.validating {
            try OptionRule.refuseInapplicable([OptionRule("--export", given: export != nil, applies: topK != nil,
                                                          "with --top-k K (it writes the top-K predictions)")])
        }
    }

    @OptionGroup var neighbourOptions: NeighbourOptions

    @OptionGroup var common: CommonOptions

    func run() throws {
        if output != TextExport.standardOutput { try OutputPath.requireDistinct(output: output, inputs: [model, data]) }
        let modelFile = try HDF5File.open(model)
        let kind = try ModelKind.read(from: modelFile)
        try OptionRule.refuseInapplicable(try optionRules(for: kind), context: "\(model) is a model of kind \(kind)")
        if export != nil { return try exportPredictions(modelFile) }
        let atomic = try AtomicOutput(path: output)
        switch kind {
        case .sparseCoding: try encodeSparseCoding(modelFile, atomic)
        case .unsupervisedSDLGM: try encodeUnsupervised(modelFile, atomic)
        case .supervisedSDLGM: try encodeMultiLabel(modelFile, atomic)
        case .baseline(let kind):
            throw SparseKitError(.usage, file: model, "is a \(kind) baseline density, which has no latent codes; "
                + "sk-encode encodes with es-sc and sdlgm models")
        }
    }

    /// The options that apply to one kind of model only: `--split` chooses rows of a 'multilabel' file, which only
    /// SDLGM models encode; `--top-k` (and so `--export`) ranks labels, which only supervised models have.
    func optionRules(for kind: ModelKind) throws -> [OptionRule] {
        let sdlgm = kind == .supervisedSDLGM || kind == .unsupervisedSDLGM
        return [OptionRule("--split", given: split != nil, applies: try sdlgm && ModelInput.isMultiLabel(data),
                           "to SDLGM models on a 'multilabel' file"),
                OptionRule("--top-k", given: topK != nil, applies: kind == .supervisedSDLGM, "to supervised SDLGM models (they rank labels)"),
                OptionRule("--neighbours", given: neighbourOptions.count != nil, applies: kind == .supervisedSDLGM, "to supervised SDLGM models"),
                OptionRule("--neighbour-weight", given: neighbourOptions.weight != nil, applies: kind == .supervisedSDLGM,
                           "to supervised SDLGM models")]
    }

    /// Writes the codes file through `atomic` (`CodesFile`), `writeCodes` filling in the codes; returns what it returns.
    func writeCodes<T>(maxActive: Int? = nil, _ atomic: AtomicOutput, _ writeCodes: (HDF5File) throws -> T) throws -> T {
        try CodesFile.write(to: atomic, model: model, data: data, maxActive: maxActive,
                            provenance: ToolRunner.provenance("sk-encode", inputs: [model, data]), codes: writeCodes)
    }

    func encodeSparseCoding(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let sc = try SparseCodingModel.read(from: modelFile)
        let rows = try ModelInput.matchingDataset(data, model: model, modelFile: modelFile, dimension: sc.dimension)
        let codes = PosteriorCodes(model: sc, encoder: try GaussianEncoder.read(from: modelFile, dimension: sc.dimension,
                                                                                latents: sc.latents))
        let progress = ProgressReporter(quiet: common.quiet)
        try writeCodes(atomic) { file in
            try progress.run("encoding", total: rows.shape[0], unit: "rows") {
                try codes.encode(rowsOf: rows, into: file) { done, _ in progress.update(done) }
            }
        }
        let n = rows.shape[0]
        try common.finish(Result(output: output, modelKind: "es-sc", points: n, latents: sc.latents),
                          line: "sk-encode: \(n) rows encoded with \(sc.latents) latents to \(output)")
    }

    func encodeUnsupervised(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
        let rows = try ModelInput.denseRowBlocks(data, split: split?.name, model: model,
                                                 modelFile: modelFile, dimension: sdlgm.dimension)
        let progress = ProgressReporter(quiet: common.quiet)
        let nonZeros = try writeCodes(maxActive: sdlgm.maxActive, atomic) { file in
            try progress.run("encoding", total: rows.count, unit: "rows") {
                try sdlgm.writeCodes(rows: rows.count, into: file, groupPath: "/codes", progress: { done, _ in progress.update(done) },
                                     block: rows.read)
            }
        }
        try common.finish(Result(output: output, modelKind: "sdlgm-unsupervised", points: rows.count, latents: sdlgm.latents),
                          line: "sk-encode: \(rows.count) rows encoded with at most \(sdlgm.maxActive) of \(sdlgm.latents) "
                              + "features (\(nonZeros) non-zeros) to \(output)")
    }

    /// The supervised model, the rows of the data file it encodes (`DefaultSplit`'s rule) with their split, and
    /// the predictions of those rows: the ranking to depth `--top-k` (1 without it) and the predicted label sets.
    func predictMultiLabel(_ modelFile: HDF5File) throws
        -> (predictor: SupervisedPredictor, maxActive: Int, split: String?, ranking: TopKRanking, sets: CSRMatrix)
    {
        let (stored, maxActive) = try SupervisedPredictor.read(from: modelFile)
        let predictor = try stored.overridingNeighbours(count: neighbourOptions.count, weight: neighbourOptions.weight, model: model)
        let dataFile = try HDF5File.open(data)
        guard try dataFile.fileKind() == .multilabel else {
            throw SparseKitError.badInput(data, "is not a 'multilabel' file; SDLGM models encode multilabel files")
        }
        let dataset = try MultiLabelDataset.read(from: dataFile)
        let chosen = try SplitSelection.rows(split, default: .test, file: data)
        let (x, y) = try dataset.rows(ofSplit: chosen, in: data)
        try ModelInput.requireMultiLabelShape(of: data, features: x.cols, labels: y.cols, model: model,
                                              modelFeatures: predictor.network?.input.inputs, modelLabels: predictor.labelFrequencies.count)
        let progress = ProgressReporter(quiet: common.quiet)
        let (ranking, sets) = try progress.run("predicting", total: x.rows, unit: "rows") {
            try predictor.predict(x, k: topK ?? 1) { progress.update($0) }
        }
        return (predictor, maxActive, chosen, ranking, sets)
    }

    func encodeMultiLabel(_ modelFile: HDF5File, _ atomic: AtomicOutput) throws {
        let (predictor, maxActive, chosen, ranking, codes) = try predictMultiLabel(modelFile)
        let labels = predictor.labelFrequencies.count
        try writeCodes(maxActive: maxActive, atomic) { file in
            try file.write(codes, to: "/codes")
            try file.setAttribute("split", .string(chosen ?? "all"))
            if let topK {
                try file.write(try ranking.matrix(labels: labels), to: "/predictions")
                try file.setAttribute("top_k", .int(topK))
            }
        }
        try common.finish(Result(output: output, modelKind: "sdlgm-supervised", points: codes.rows, latents: codes.cols, topK: topK),
                          line: "sk-encode: \(codes.rows) rows encoded as predicted label sets of \(labels) labels (\(codes.nonZeros) "
                              + "non-zeros)" + (topK.map { " and their top \($0) labels by score" } ?? "") + " to \(output)")
    }

    /// `--export xc`: the top-K predictions as an XC score file (`TextExport.writeScores`).
    func exportPredictions(_ modelFile: HDF5File) throws {
        let (predictor, _, _, ranking, _) = try predictMultiLabel(modelFile)
        try TextExport.writeScores(try ranking.matrix(labels: predictor.labelFrequencies.count), to: output)
        if output != TextExport.standardOutput {
            try common.finish(Exported(output: output, format: "xc", points: ranking.count, topK: topK!),
                              line: "sk-encode: top \(topK!) labels of \(ranking.count) rows written as XC scores to \(output)")
        }
    }

    /// What --json prints (`docs/json.md`): the codes file, the model's kind, rows encoded and code width
    /// (latents; labels for a supervised model), and --top-k when given.
    struct Result: Encodable {
        var output: String
        var modelKind: String
        var points: Int
        var latents: Int
        var topK: Int?
    }

    /// What --json prints after --export to a file (with `-o -` the export itself is stdout; --json is refused).
    struct Exported: Encodable {
        var output: String
        var format: String
        var points: Int
        var topK: Int
    }
}

import Foundation
