import DataKit

/// `sk-inspect SDLGM_MODEL DATA --plot active-counts`: how many features (unsupervised) or labels (supervised) an
/// SDLGM model switches on per point, as a histogram over 0…L0.
///
/// Unsupervised: the number of non-zeros of each row's evaluation code (`UnsupervisedSDLGM.codes`, L̂ = argmax
/// q(L | x)) over every row of a patches, whitened or multilabel file. Supervised (and its baselines): the size of
/// each predicted label set (`SupervisedPredictor`) over the rows of a multilabel file that sk-eval reads (its
/// 'test' split, or every row without splits), beside the sizes of the true label sets of the same rows.
public struct ActiveCountsPlot: Sendable {
    public var model: String
    public var data: String
    /// The rows of `data` for an unsupervised model (`ReconstructionsPicture.RowSource`).
    public var rows: ReconstructionsPicture.RowSource

    public init(model: String, data: String, rows: @escaping ReconstructionsPicture.RowSource) {
        self.model = model
        self.data = data
        self.rows = rows
    }

    /// Points per count 0…`largest` (counts above it in the last bin, which cannot happen for codes of at most L0).
    static func histogram(_ counts: [Int], largest: Int) -> [Double] {
        var bins = [Double](repeating: 0, count: largest + 1)
        for c in counts { bins[min(max(c, 0), largest)] += 1 }
        return bins
    }

    /// The number of stored entries of each row of `codes`.
    static func rowLengths(_ codes: CSRMatrix) -> [Int] {
        (0..<codes.rows).map { Int(codes.indptr[$0 + 1] - codes.indptr[$0]) }
    }

    /// The mean of `counts` as a note.
    static func mean(_ counts: [Int]) -> String {
        NiceTicks.shortLabel(Double(counts.reduce(0, +)) / Double(max(counts.count, 1)))
    }

    public func figure() throws -> PlotFigure {
        let modelFile = try HDF5File.open(model)
        let kind = try ModelKind.read(from: modelFile)
        switch kind {
        case .unsupervisedSDLGM:
            let sdlgm = try UnsupervisedSDLGM.read(from: modelFile)
            let source = try rows(data, modelFile, sdlgm.dimension)
            var counts: [Int] = []
            for start in stride(from: 0, to: source.count, by: UnsupervisedSDLGM.blockRows) {
                counts += Self.rowLengths(try sdlgm.codes(try source.read(start..<min(source.count, start + UnsupervisedSDLGM.blockRows))))
            }
            let bins = Self.histogram(counts, largest: sdlgm.maxActive)
            let chart = ChartPanel(title: "active features per point", xTitle: "active features (of \(sdlgm.latents))",
                                   yTitle: "points", xIntegers: true,
                                   bars: [.init(centers: bins.indices.map(Double.init), heights: bins, style: .series(0))],
                                   note: "mean \(Self.mean(counts))")
            return PlotFigure(title: "Active features of \(model) on \(data)",
                              subtitle: ["unsupervised SDLGM, every row (\(counts.count) points): the non-zeros of each evaluation code,",
                                         "the most probable number of features under q(L | x), at most L0 = \(sdlgm.maxActive)"],
                              panels: [.chart(chart)], chartSize: (720, 400))
        case .supervisedSDLGM:
            let (predictor, maxActive) = try SupervisedPredictor.read(from: modelFile)
            let file = try HDF5File.open(data)
            guard try file.fileKind() == .multilabel else {
                throw SparseKitError.badInput(data, "is not a 'multilabel' file; a supervised model predicts the label sets of multilabel files")
            }
            let dataset = try MultiLabelDataset.read(from: file)
            let split = try DefaultSplit.test.split(in: file)
            let (x, y) = try dataset.rows(ofSplit: split, in: data)
            let labels = predictor.labelFrequencies.count
            if y.cols != labels || x.cols != (predictor.network?.input.inputs ?? x.cols) {
                throw SparseKitError.badInput(data, "has \(x.cols) features and \(y.cols) labels, but \(model) was trained on "
                    + "\(predictor.network.map { "\($0.input.inputs)" } ?? "any number of") features and \(labels) labels; "
                    + "convert it with sk-convert ... --like TRAIN.h5")
            }
            let predicted = Self.rowLengths(try predictor.predict(x, k: 1).sets), truth = Self.rowLengths(y)
            let largest = max(maxActive, predicted.max() ?? 0, truth.max() ?? 0)
            let (p, t) = (Self.histogram(predicted, largest: largest), Self.histogram(truth, largest: largest))
            let centers = (0...largest).map(Double.init)
            let chart = ChartPanel(title: "labels per point", xTitle: "label-set size", yTitle: "points", xIntegers: true,
                                   bars: [.init(centers: centers, heights: p, style: .series(0)), .init(centers: centers, heights: t, style: .series(1))],
                                   note: "means: \(Self.mean(predicted)) predicted, \(Self.mean(truth)) true")
            return PlotFigure(title: "Predicted label-set sizes of \(model) on \(data)",
                              subtitle: [(predictor.method == .sdlgm ? "supervised SDLGM" : "supervised baseline \(predictor.method.rawValue)")
                                  + ", " + (split.map { "the '\($0)' split" } ?? "every row") + " (\(x.rows) points), at most L0 = \(maxActive) labels"],
                              legend: [.init("predicted label set", .series(0), bar: true), .init("true label set", .series(1), bar: true)],
                              panels: [.chart(chart)], chartSize: (720, 400))
        case .sparseCoding, .baseline:
            throw SparseKitError(.usage, file: model, "is a model of kind \(kind); --plot active-counts draws SDLGM models "
                + "(ES-SC codes are dense: every latent is non-zero)")
        }
    }

    /// Draws the figure to the PNG `output` (atomically).
    public func write(to output: String) throws -> PictureSummary {
        _ = try AtomicOutput(path: output)  // fail on an unwritable output before any work
        return try PictureSummary.write(try figure(), to: output, picture: "active-counts")
    }
}
