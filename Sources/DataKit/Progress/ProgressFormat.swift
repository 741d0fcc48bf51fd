import Foundation

/// How progress lines write numbers for a person: short, and of nearly constant width so a redrawn line does not
/// jitter.
public enum ProgressFormat {
    /// A duration rounded to whole seconds and shown in its two largest units: "7s", "1m05s", "2h03m", "3d04h";
    /// "?" when it is not finite (negative durations read as 0s).
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let whole = seconds < 0.5 ? 0 : Int(min(seconds, 1e12).rounded())
        let (days, hours, minutes, rest) = (whole / 86_400, whole / 3_600 % 24, whole / 60 % 60, whole % 60)
        switch whole {
        case ..<60: return "\(rest)s"
        case ..<3_600: return "\(minutes)m" + twoDigits(rest) + "s"
        case ..<86_400: return "\(hours)h" + twoDigits(minutes) + "m"
        default: return "\(days)d" + twoDigits(hours) + "h"
        }
    }

    /// A rate per second with three significant digits, thousands as k and millions as M: "0.42", "38.2", "412",
    /// "1.65k", "16.5k", "2.10M"; "?" when it is not finite.
    public static func rate(_ perSecond: Double) -> String {
        guard perSecond.isFinite else { return "?" }
        let value = max(perSecond, 0)
        if value >= 999_500 { return significant(value / 1e6) + "M" }
        if value >= 999.5 { return significant(value / 1e3) + "k" }
        return significant(value)
    }

    /// A value for a progress line's running objective: five significant digits ("-123.46", "0.012346", "1.2346e+05").
    public static func value(_ value: Double) -> String { String(format: "%.5g", value) }

    /// `value` (below 999.5) with three significant digits, or two below 1 ("0.42", "0.042").
    static func significant(_ value: Double) -> String {
        switch value {
        case 99.95...: return String(format: "%.0f", value)
        case 9.995...: return String(format: "%.1f", value)
        case 0.995...: return String(format: "%.2f", value)
        case 0: return "0"
        default: return String(format: "%.2g", value)
        }
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
