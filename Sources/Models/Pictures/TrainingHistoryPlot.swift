import DataKit

/// `sk-inspect MODEL… --plot history`: the per-epoch record of one or more model files as small multiples, one panel
/// per `/history` column (the objective first, then the terms and parameters the model's kind records), sharing one
/// epoch axis, one colour per file.
///
/// ES-SC records the objective, its three entropies, σ², mean λ, the Gini sparsity of the posterior means and the
/// annealed prior weight β; unsupervised SDLGM the ELBO, its expected log-likelihood and three KL terms, the mean
/// squared error, active features, temperature and σ²; supervised SDLGM minus its loss and, when trained with
/// `--validation`, P@1 on the held-out rows; baselines their log-likelihood. Epoch durations are not drawn, nor a
/// column that is the same number in every epoch of every file (said in the subtitle instead).
public struct TrainingHistoryPlot: Sendable {
    public var models: [String]

    public init(models: [String]) {
        self.models = models
    }

    /// The panel title of each known column, in the order panels are drawn; other columns follow with their name.
    public static let titles: [(column: String, title: String)] = [
        ("objective", "objective per point"),
        ("posterior_entropy", "posterior entropy"), ("prior_entropy", "prior entropy"), ("noise_entropy", "noise entropy"),
        ("log_likelihood", "expected log-likelihood"), ("level_kl", "KL of the level L"), ("support_kl", "KL of the support"),
        ("value_kl", "KL of the values"), ("mean_squared_error", "mean squared error"),
        ("sigma2", "noise variance σ²"), ("mean_lambda", "mean prior scale λ"), ("gini", "Gini sparsity of μ"),
        ("active", "mean active features"), ("validation_precision", "validation P@1"),
        ("beta_prior", "prior weight β (annealing)"), ("temperature", "relaxation temperature"),
    ]

    /// Columns never drawn: durations are not a property of training.
    static let skipped: Set<String> = ["seconds"]

    /// One model file's history: its columns by name, each one value per epoch.
    struct History {
        var path: String
        /// The model's kind as users name it; for supervised models the method (sdlgm, one-vs-all, most-frequent).
        var kind: String
        var columns: [String: [Double]]
        var epochs: Int
    }

    /// Reads the `/history` columns of a model file, all of one length (that of `/history/objective`).
    static func read(_ path: String) throws -> History {
        let file = try HDF5File.open(path)
        let kind = try ModelKind.read(from: file)
        guard file.kind(of: "/history/objective") == .dataset else {
            throw SparseKitError.badInput(path, "has no /history/objective, so no training history to draw")
        }
        var columns: [String: [Double]] = [:]
        for name in try file.children(of: "/history") where !skipped.contains(name) && file.kind(of: "/history/" + name) == .dataset {
            let (values, shape) = try file.read("/history/" + name, as: Double.self)
            guard shape.count == 1 else { throw SparseKitError.badInput(path, "/history/\(name) has shape \(shape), expected one value per epoch") }
            columns[name] = values
        }
        let epochs = columns["objective"]!.count
        if let (name, values) = columns.first(where: { $0.value.count != epochs }) {
            throw SparseKitError.badInput(path, "/history/\(name) has \(values.count) epochs, /history/objective \(epochs)")
        }
        let method = kind == .supervisedSDLGM ? try file.attribute("method")?.stringValue : nil
        return History(path: path, kind: method.map { "supervised \($0)" } ?? kind.description, columns: columns, epochs: epochs)
    }

    /// The figure: one panel per column any file has, in `titles` order, lines for the files that have it.
    public func figure() throws -> PlotFigure {
        let histories = try models.map(Self.read)
        let epochs = max(1, histories.map(\.epochs).max() ?? 1)
        let known = Self.titles.map(\.column)
        let names = Set(histories.flatMap(\.columns.keys))
        let ordered = known.filter(names.contains) + names.subtracting(known).sorted()
        var panels: [PlotFigure.Panel] = [], constant: [String] = []
        for name in ordered {
            let series = histories.enumerated().compactMap { k, h in h.columns[name].map { (k, $0) } }
            let values = series.flatMap(\.1).filter(\.isFinite)
            if name != "objective", let first = values.first, values.allSatisfy({ $0 == first }) {
                constant.append("\(name) = \(NiceTicks.shortLabel(first))")
                continue
            }
            let lines = series.map { k, values in
                ChartPanel.Line(x: values.indices.map { Double($0 + 1) }, y: values, style: .series(k))
            }
            let title = Self.titles.first { $0.column == name }?.title ?? name.replacingOccurrences(of: "_", with: " ")
            panels.append(.chart(ChartPanel(title: title, xTitle: "epoch", xIntegers: true, xRange: 1...Double(epochs), lines: lines)))
        }
        var subtitle = histories.count == 1
            ? ["\(histories[0].kind), \(histories[0].epochs) epoch\(histories[0].epochs == 1 ? "" : "s")"] : []
        if !constant.isEmpty { subtitle.append("the same in every epoch: " + constant.joined(separator: ", ")) }
        let legend = histories.count == 1 ? [] : histories.enumerated().map { k, h in
            PlotFigure.LegendEntry("\(h.path): \(h.kind), \(h.epochs) epoch\(h.epochs == 1 ? "" : "s")", .series(k))
        }
        let title = histories.count == 1 ? "Training history of \(histories[0].path)" : "Training history of \(histories.count) models"
        return PlotFigure(title: title, subtitle: subtitle, legend: legend, panels: panels)
    }

    /// Draws the figure to the PNG `output` (atomically); returns the number of panels and the picture's size.
    public func write(to output: String) throws -> PictureSummary {
        _ = try AtomicOutput(path: output)  // fail on an unwritable output before reading the models
        return try PictureSummary.write(try figure(), to: output, picture: "history")
    }
}
