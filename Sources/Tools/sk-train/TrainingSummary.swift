import ToolSupport

/// What every `sk-train` subcommand prints with --json (`docs/json.md`): one object of the same shape for every
/// model kind — the model file written, its kind, the epochs in its history (resumed ones included), the final
/// training objective (which one, and whether training maximises or minimises it), the seconds of those epochs and
/// the per-epoch history — merged with `details`, the keys of that kind.
struct TrainingSummary<Record: Encodable, Details: Encodable>: Encodable {
    enum Direction: String, Encodable { case maximize, minimize }

    var output: String
    var modelKind: String
    var epochs: Int
    /// The objective `finalObjective` is: entropy, elbo-mc or map-l1 (ES-SC's --objective), elbo, loss, log_likelihood.
    var objectiveName: String
    var objectiveDirection: Direction
    /// The last epoch's objective; nil when there was no epoch (a most-frequent model).
    var finalObjective: Double?
    /// Seconds of the epochs in the history.
    var seconds: Double
    var history: [Record]
    var details: Details

    enum CodingKeys: CodingKey {
        case output, modelKind, epochs, objectiveName, objectiveDirection, finalObjective, seconds, history
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(output, forKey: .output)
        try container.encode(modelKind, forKey: .modelKind)
        try container.encode(epochs, forKey: .epochs)
        try container.encode(objectiveName, forKey: .objectiveName)
        try container.encode(objectiveDirection, forKey: .objectiveDirection)
        try container.encode(finalObjective, forKey: .finalObjective)  // null when absent, never missing
        try container.encode(seconds, forKey: .seconds)
        try container.encode(history, forKey: .history)
        try details.encode(to: encoder)
    }
}
