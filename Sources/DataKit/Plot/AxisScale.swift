import Foundation

/// One axis of a chart: how values map to a fraction of the axis's length (linearly or by their logarithm), over a
/// domain widened to nice ticks (`NiceTicks`), with the ticks' labels.
public struct AxisScale: Sendable {
    public enum Kind: Sendable { case linear, logarithmic }

    public let kind: Kind
    public let domain: ClosedRange<Double>
    public let ticks: [Double]
    public let labels: [String]

    /// The scale that holds `values` (non-finite ones ignored, and on a log axis those ≤ 0), with about `target`
    /// intervals between ticks on a linear axis (whole-number ticks with `integers`), widened to include `include`
    /// (say, 0 for the bars of a histogram). A linear axis ends on ticks around the data, or, `tight`, exactly at the
    /// data's ends with the ticks that fall between them (epochs from 1 to N, bars from the first to the last).
    public init(fitting values: [Double], kind: Kind, target: Int = 5, integers: Bool = false, include: [Double] = [],
                tight: Bool = false)
    {
        let usable = (values + include).filter { $0.isFinite && (kind == .linear || $0 > 0) }
        self.kind = kind
        switch kind {
        case .linear:
            let (low, high) = (usable.min() ?? 0, usable.max() ?? 1)
            let (ticks, domain) = NiceTicks.linear(low, high, target: target, integers: integers)
            if tight, high > low {
                let inside = ticks.filter { $0 >= low - 1e-9 * (high - low) && $0 <= high + 1e-9 * (high - low) }
                (self.ticks, self.domain) = (inside, low...high)
            } else {
                (self.ticks, self.domain) = (ticks, domain)
            }
        case .logarithmic:
            let (ticks, domain) = NiceTicks.logarithmic(usable.min() ?? 1, usable.max() ?? 10)
            (self.ticks, self.domain) = (ticks, domain)
        }
        labels = NiceTicks.labels(ticks, logarithmic: kind == .logarithmic)
    }

    /// Where `value` sits along the axis: 0 at the domain's low end, 1 at its high end (nil for a value a log axis
    /// cannot show).
    public func fraction(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch kind {
        case .linear:
            return (value - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
        case .logarithmic:
            guard value > 0 else { return nil }
            let low = Foundation.log10(domain.lowerBound), high = Foundation.log10(domain.upperBound)
            return (Foundation.log10(value) - low) / (high - low)
        }
    }
}
