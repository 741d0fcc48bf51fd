/// `sk-inspect MULTILABEL.h5 --plot labels`: a multilabel file's label frequencies, sorted from the most frequent
/// label down on a log scale (the long tail at a glance), and the histogram of label-set sizes (labels per point).
/// A file with splits gets one series per split, as fractions of the split's points so that splits of different
/// sizes compare; a file without splits one series over every row.
public struct LabelStatisticsPlot: Sendable {
    public var input: String

    public init(input: String) {
        self.input = input
    }

    /// One series: a name and the label rows it covers.
    struct Group {
        var name: String
        var labels: CSRMatrix
    }

    public func figure() throws -> PlotFigure {
        let file = try HDF5File.open(input)
        guard try file.fileKind() == .multilabel else {
            throw SparseKitError(.usage, file: input, "is a '\(try file.fileKind().rawValue)' file; --plot labels draws the labels of "
                + "a 'multilabel' file (sk-convert writes them)")
        }
        let dataset = try MultiLabelDataset.read(from: file)  // checked as every tool reads it
        let all = dataset.labels, c = all.cols
        guard c > 0, all.rows > 0 else { throw SparseKitError.badInput(input, "has no labels or no rows to draw") }
        try MemoryBudget.require([.words("label counts", c, dataset.splits.count + 1)], for: "counting \(c) labels", file: input)
        let groups = dataset.splits.isEmpty ? [Group(name: "every row", labels: all)]
            : dataset.splits.map { Group(name: "'\($0.name)' split", labels: all.gatheringRows($0.rows.map { Int($0) })) }

        func counts(_ labels: CSRMatrix) -> [Int] {
            var counts = [Int](repeating: 0, count: c)
            for j in labels.indices { counts[Int(j)] += 1 }
            return counts
        }
        let overall = counts(all)
        let order = overall.indices.sorted { overall[$0] != overall[$1] ? overall[$0] > overall[$1] : $0 < $1 }
        let ranks = (1...c).map(Double.init)
        let sizes = groups.map { g in (0..<g.labels.rows).map { Int(g.labels.indptr[$0 + 1] - g.labels.indptr[$0]) } }
        let largest = sizes.flatMap { $0 }.max() ?? 0

        var frequencies: [ChartPanel.Line] = [], histograms: [ChartPanel.Bars] = []
        for (k, group) in groups.enumerated() {
            let n = Double(max(group.labels.rows, 1)), groupCounts = counts(group.labels)
            frequencies.append(.init(x: ranks, y: order.map { Double(groupCounts[$0]) / n }, style: .series(k)))
            var bins = [Double](repeating: 0, count: largest + 1)
            for size in sizes[k] { bins[size] += 1 / n }
            histograms.append(.init(centers: (0...largest).map(Double.init), heights: bins, style: .series(k)))
        }
        let unused = overall.filter { $0 == 0 }.count
        let mean = Double(all.nonZeros) / Double(all.rows)
        let panels: [PlotFigure.Panel] = [
            .chart(ChartPanel(title: "label frequency, most frequent first", xTitle: "label rank (of \(c))",
                              yTitle: "fraction of points", yScale: .logarithmic, xIntegers: true,
                              xRange: c > 1 ? 1...Double(c) : nil, lines: frequencies,
                              note: unused > 0 ? "\(unused) unused" : nil)),
            .chart(ChartPanel(title: "labels per point", xTitle: "label-set size", yTitle: "fraction of points", xIntegers: true,
                              bars: histograms, note: "mean \(NiceTicks.shortLabel(mean))")),
        ]
        let legend = groups.count == 1 ? [] : zip(groups, sizes).enumerated().map { k, pair in
            PlotFigure.LegendEntry("\(pair.0.name): \(pair.1.count) points", .series(k))
        }
        return PlotFigure(title: "Labels of \(input)",
                          subtitle: ["\(all.rows) points, \(c) labels, \(NiceTicks.shortLabel(mean)) labels per point on average"],
                          legend: legend, panels: panels, columns: 2, chartSize: (520, 340))
    }

    /// Draws the figure to the PNG `output` (atomically).
    public func write(to output: String) throws -> PictureSummary {
        _ = try AtomicOutput(path: output)  // fail on an unwritable output before any work
        return try PictureSummary.write(try figure(), to: output, picture: "labels")
    }
}
