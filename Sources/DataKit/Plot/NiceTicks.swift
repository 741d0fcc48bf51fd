import Foundation

/// Tick positions a reader takes in at a glance, and their labels.
///
/// Linear axes step by 1, 2 or 5 times a power of ten: the smallest such step that puts at most `target` intervals
/// over the data, with the axis widened to the multiples of the step around the data. Log axes put ticks at powers
/// of ten (every k-th power when there are more than six decades), adding 2 and 5 times them when the data spans less
/// than two decades.
public enum NiceTicks {
    /// The nice step for `span` split into at most `target` intervals: 1, 2 or 5 × 10^k (at least 1 with
    /// `integers`).
    public static func step(span: Double, target: Int, integers: Bool = false) -> Double {
        let raw = max(span, .leastNormalMagnitude) / Double(max(target, 1))
        let power = Foundation.pow(10, (Foundation.log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * power
        return integers ? max(1, step.rounded(.up)) : step
    }

    /// Ticks over `low...high` (widened to whole steps around the data) and the widened range. A single value is
    /// widened to a range around it first (±1 around 0, else ±10 % of its size, ±½ for integers).
    public static func linear(_ low: Double, _ high: Double, target: Int = 5, integers: Bool = false)
        -> (ticks: [Double], domain: ClosedRange<Double>)
    {
        var (low, high) = (min(low, high), max(low, high))
        if !(high > low) {
            let pad = integers ? 1 : (low == 0 ? 1 : abs(low) * 0.1)
            (low, high) = (low - pad, high + pad)
        }
        let step = Self.step(span: high - low, target: target, integers: integers)
        // Tolerate float noise so that 0.30000000000000004 does not open a new interval.
        let first = ((low / step) + 1e-9).rounded(.down), last = ((high / step) - 1e-9).rounded(.up)
        let ticks = stride(from: first, through: last + 0.5, by: 1).map { clean($0 * step, step: step) }
        return (ticks, ticks.first!...ticks.last!)
    }

    /// Ticks for a log axis over `low...high` (both positive) and the range widened to the outer ticks.
    public static func logarithmic(_ low: Double, _ high: Double) -> (ticks: [Double], domain: ClosedRange<Double>) {
        var (low, high) = (min(low, high), max(low, high))
        precondition(low > 0, "a log axis holds positive values")
        if !(high > low) { (low, high) = (low / 2, high * 2) }
        let a = Int(Foundation.log10(low).rounded(.down)), b = Int((Foundation.log10(high) - 1e-12).rounded(.up))
        let decades = b - a
        let ticks: [Double]
        if decades <= 2 {
            let candidates = (a...b).flatMap { k in [1.0, 2, 5].map { $0 * Foundation.pow(10, Double(k)) } }
            let below = candidates.last { $0 <= low * (1 + 1e-9) } ?? candidates[0]
            let above = candidates.first { $0 >= high * (1 - 1e-9) } ?? Foundation.pow(10, Double(b))
            ticks = candidates.filter { $0 >= below && $0 < above } + [above]
        } else {
            let every = max(1, (decades + 5) / 6)
            let first = Int((Double(a) / Double(every)).rounded(.down)), last = Int((Double(b) / Double(every)).rounded(.up))
            ticks = (first...last).map { Foundation.pow(10, Double($0 * every)) }
        }
        return (ticks, ticks.first!...ticks.last!)
    }

    /// `value` rounded to the decimals `step` has, so that 0.1 × 3 prints as 0.3 (and −0 as 0).
    static func clean(_ value: Double, step: Double) -> Double {
        let decimals = max(0, -Int(Foundation.log10(step).rounded(.down)) + 1)
        let scale = Foundation.pow(10, Double(min(decimals, 15)))
        let v = (value * scale).rounded() / scale
        return v == 0 ? 0 : v
    }

    /// Labels for `ticks` (one axis's ticks, equally spaced, or on a log axis): as few decimals as tell them apart,
    /// exponent notation (`1e-5`, `2.5e6`) for very large or very small values (on a linear axis all labels alike);
    /// minus signs as '−'.
    public static func labels(_ ticks: [Double], logarithmic: Bool = false) -> [String] {
        guard !ticks.isEmpty else { return [] }
        let largest = ticks.map(abs).max()!
        let nonZero = ticks.map(abs).filter { $0 > 0 }.min() ?? 1
        let step = logarithmic || ticks.count < 2 ? nonZero : abs(ticks[1] - ticks[0])
        let exponent = largest >= 1e5 || (largest < 1e-3 && largest > 0)
        return ticks.map { value in
            let text: String
            if logarithmic {
                text = value >= 1e5 || value < 1e-3 ? exponentLabel(value)
                    : plain(value, decimals: max(0, -Int(Foundation.log10(value).rounded(.down))))
            } else if exponent {
                text = exponentLabel(value)
            } else {
                text = plain(value, decimals: max(0, -Int((Foundation.log10(step) + 1e-9).rounded(.down))))
            }
            return text.replacingOccurrences(of: "-", with: "−")
        }
    }

    /// One value on its own (a note, a subtitle) in at most four significant digits: `1`, `0.5`, `312.6`, `2.5e-5`.
    public static func shortLabel(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : value > 0 ? "inf" : "−inf" }
        guard value != 0 else { return "0" }
        let size = abs(value)
        var text: String
        if size >= 1e5 || size < 1e-3 {
            text = exponentLabel(value)
        } else {
            text = plain(value, decimals: max(0, 3 - Int(Foundation.log10(size).rounded(.down))))
            if text.contains(".") {
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
            }
        }
        return text.replacingOccurrences(of: "-", with: "−")
    }

    /// `value` with `decimals` digits after the point.
    static func plain(_ value: Double, decimals: Int) -> String {
        String(format: "%.\(min(decimals, 12))f", value == 0 ? 0 : value)
    }

    /// `value` as mantissa e exponent with the shortest mantissa (`1e-5`, `2.5e6`).
    static func exponentLabel(_ value: Double) -> String {
        guard value != 0 else { return "0" }
        let exponent = Int(Foundation.log10(abs(value)).rounded(.down))
        var mantissa = String(format: "%.2f", value / Foundation.pow(10, Double(exponent)))
        while mantissa.hasSuffix("0") { mantissa.removeLast() }
        if mantissa.hasSuffix(".") { mantissa.removeLast() }
        return mantissa == "10" ? "1e\(exponent + 1)" : "\(mantissa)e\(exponent)"
    }
}
