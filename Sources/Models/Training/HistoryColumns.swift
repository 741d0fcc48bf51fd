import DataKit

/// An epoch record stored as `/history/<name>` float64 columns, one value per epoch (`formats.md`, "Models").
public protocol HistoryColumns: TrainingRecord {
    /// The datasets and the fields they hold; the first is `objective`.
    static var columns: [(String, WritableKeyPath<Self, Double>)] { get }
    /// The record of epoch `epoch` (from 1) with every column zero, for `read` to fill in.
    init(blankEpoch epoch: Int)
}

extension HistoryColumns {
    /// Writes `history` as the `/history/<name>` columns.
    public static func write(_ history: [Self], to file: HDF5File) throws {
        for (name, path) in columns {
            try file.write(history.map { $0[keyPath: path] }, shape: [history.count], to: "/history/" + name)
        }
    }

    /// The history a model file holds (epochs numbered from 1); every column must have the same length.
    public static func read(from file: HDF5File) throws -> [Self] {
        var records: [Self]?
        for (name, path) in columns {
            let (values, _) = try file.read("/history/" + name, as: Double.self)
            if records == nil { records = values.indices.map { Self(blankEpoch: $0 + 1) } }
            guard values.count == records!.count else {
                throw SparseKitError.badInput(file.path, "/history/\(name) has \(values.count) epochs, /history/objective \(records!.count)")
            }
            for k in values.indices { records![k][keyPath: path] = values[k] }
        }
        return records ?? []
    }
}
