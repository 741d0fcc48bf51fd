import ArgumentParser
import DataKit

extension TileRenderer.Scaling: ExpressibleByArgument {}

/// The figures `--plot` draws.
enum PlotKind: String, ExpressibleByArgument, CaseIterable {
    case history
    case activeCounts = "active-counts"
    case labels
}
