/// What a progress line says at one redraw, and how that reads in a given width:
///
///     epoch 3/20  [=========>         ]  412/800 batches  38.2/s  ELBO = -123.46  ETA 10s  run ETA 6m12s
///     evaluating  [===>               ]  8192/20000 rows  1.65k/s  ETA 7s
///
/// The rate is units per second over the stage so far; the stage's ETA follows from it when the total is known,
/// else from how long earlier stages took (`typicalStageSeconds`); the run's ETA adds `stagesAfter` more stages of
/// that typical length (the first stage's own projected length before any has ended).
public struct ProgressLine: Sendable, Equatable {
    /// What is under way, e.g. "epoch 3/20" or "evaluating".
    public var stage: String
    /// Units done in this stage.
    public var done = 0
    /// Units in the stage, when known.
    public var total: Int?
    /// What is counted, plural: "batches", "rows", "patches".
    public var unit: String
    /// Seconds since the stage began.
    public var elapsed = 0.0
    /// What `value` is, e.g. "ELBO"; the value is shown only with a name.
    public var valueName: String?
    /// A running value, e.g. the objective over the epoch's minibatches so far.
    public var value: Double?
    /// The mean length in seconds of the stages that ended before this one.
    public var typicalStageSeconds: Double?
    /// Stages still to come after this one (later epochs).
    public var stagesAfter = 0

    /// The bar's width, brackets included, in a line of `width` characters: a quarter of it, within 12...32
    /// (fixed for a given width, so the bar does not jitter as the other fields change length).
    static func barWidth(inLineOf width: Int) -> Int { min(max(width / 4, 12), 32) }

    public init(stage: String, total: Int?, unit: String, valueName: String? = nil, typicalStageSeconds: Double? = nil,
                stagesAfter: Int = 0) {
        (self.stage, self.total, self.unit, self.valueName) = (stage, total, unit, valueName)
        (self.typicalStageSeconds, self.stagesAfter) = (typicalStageSeconds, stagesAfter)
    }

    /// Units per second so far (nil before the first unit).
    public var rate: Double? { done > 0 && elapsed > 0 ? Double(done) / elapsed : nil }

    /// Seconds until the stage ends: at the rate so far when the total is known, else as long as the typical
    /// earlier stage; nil when neither tells.
    public var stageRemaining: Double? {
        if let total, let rate { return Double(max(total - done, 0)) / rate }
        return typicalStageSeconds.map { max($0 - elapsed, 0) }
    }

    /// Seconds until the last stage ends (nil when no stage follows, or nothing tells).
    public var runRemaining: Double? {
        guard stagesAfter > 0, let remaining = stageRemaining else { return nil }
        return remaining + Double(stagesAfter) * (typicalStageSeconds ?? elapsed + remaining)
    }

    /// The line in at most `width` characters. What does not fit goes in this order: the value, the rate, the
    /// run's ETA, the counts; the stage and its ETA (or the time elapsed) stay, cut at `width` if even they do not
    /// fit. The bar (when the total is known) is drawn only where it fits beside what stays.
    public func text(width: Int) -> String {
        // (text, rank): the highest rank is dropped first; 0 never.
        var fields: [(text: String, rank: Int)] = [(stage, 0)]
        if let total {
            fields.append(("\(min(done, total))/\(total) \(unit)", 1))
        } else if done > 0 {
            fields.append(("\(done) \(unit)", 1))
        }
        if let rate { fields.append((ProgressFormat.rate(rate) + "/s", 3)) }
        if let valueName, let value { fields.append(("\(valueName) = " + ProgressFormat.value(value), 4)) }
        if let remaining = stageRemaining {
            fields.append(("ETA " + ProgressFormat.duration(remaining), 0))
        } else {
            fields.append((ProgressFormat.duration(elapsed) + " elapsed", 0))
        }
        if let run = runRemaining { fields.append(("run ETA " + ProgressFormat.duration(run), 2)) }

        func length() -> Int { fields.reduce(-2) { $0 + $1.text.count + 2 } }
        while length() > width, let drop = fields.indices.filter({ fields[$0].rank > 0 }).max(by: { fields[$0].rank < fields[$1].rank }) {
            fields.remove(at: drop)
        }
        let barWidth = Self.barWidth(inLineOf: width)
        if total != nil, length() + 2 + barWidth <= width { fields.insert((bar(width: barWidth), 0), at: 1) }
        let line = fields.map(\.text).joined(separator: "  ")
        return line.count > width ? String(line.prefix(max(width, 0))) : line
    }

    /// `[=====>     ]` of `width` characters, brackets included, filled in proportion to done / total.
    func bar(width: Int) -> String {
        let cells = width - 2
        guard let total, total > 0 else { return "[" + String(repeating: " ", count: cells) + "]" }
        let filled = min(cells, cells * min(done, total) / total)
        let head = filled < cells && done > 0 ? ">" : ""
        return "[" + String(repeating: "=", count: filled) + head + String(repeating: " ", count: cells - filled - head.count) + "]"
    }
}
