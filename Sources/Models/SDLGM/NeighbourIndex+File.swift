import DataKit

/// A model's neighbour component in its file: the group `/model/neighbours` with the CSR groups `rows` (the training
/// rows in the representation, unit rows) and `labels` (their label sets), the representation's `scale` (F values)
/// and, for `standardize`, `shift`, and the attributes `count` (K), `weight` (α) and `representation` (`tf-idf` or
/// `standardize`).
extension NeighbourIndex {
    static let group = "/model/neighbours"

    func write(to file: HDF5File) throws {
        try file.createGroup(Self.group)
        try file.write(rows, to: Self.group + "/rows")
        try file.write(labels, to: Self.group + "/labels")
        if let scale = representation.scale { try file.write(scale, shape: [scale.count], to: Self.group + "/scale") }
        if let shift = representation.shift { try file.write(shift, shape: [shift.count], to: Self.group + "/shift") }
        try file.setAttribute("count", .int(count), on: Self.group)
        try file.setAttribute("weight", .double(weight), on: Self.group)
        try file.setAttribute("representation", .string(representation.method.rawValue), on: Self.group)
    }

    /// The component a model file stores (nil: none), checked against the model's `features` and `labels`: shapes,
    /// finite values, unit rows, K ≥ 1 and α in [0, 1].
    static func read(from file: HDF5File, features: Int, labels: Int) throws -> NeighbourIndex? {
        guard file.kind(of: group) == .group else { return nil }
        func bad(_ problem: String) -> SparseKitError { .badInput(file.path, "\(group): \(problem)") }
        guard case .int(let count)? = try file.attribute("count", of: group),
              let weight = try file.attribute("weight", of: group)?.doubleValue,
              let name = try file.attribute("representation", of: group)?.stringValue,
              let method = FeatureScaling.Method(rawValue: name), [.tfidf, .standardize].contains(method)
        else { throw bad("needs the attributes count (an integer), weight (a number) and representation (tf-idf or standardize)") }
        if let problem = problem(count: count, weight: weight) { throw bad("attribute count = \(count), weight = \(weight): \(problem)") }
        func vector(_ name: String) throws -> [Float]? {
            guard file.kind(of: group + "/" + name) == .dataset else { return nil }
            return try file.read(group + "/" + name, as: Float.self).values
        }
        let representation = FeatureScaling(method: method, shift: try vector("shift"), scale: try vector("scale"))
        if let problem = representation.problem(features: features) { throw bad("has \(problem)") }
        let rows = try file.readCSR(group + "/rows"), labelSets = try file.readCSR(group + "/labels")
        guard rows.cols == features, labelSets.cols == labels, rows.rows == labelSets.rows, rows.rows >= 1 else {
            throw bad("rows [\(rows.rows), \(rows.cols)] and labels [\(labelSets.rows), \(labelSets.cols)] must be N ≥ 1 rows of the "
                + "model's \(features) features and \(labels) labels")
        }
        for i in 0..<rows.rows {
            let norm = rows.row(i).values.reduce(0.0) { $0 + Double($1) * Double($1) }
            guard norm == 0 || abs(norm - 1) < 1e-3 else { throw bad("row \(i) of rows is not a unit row (squared norm \(norm))") }
        }
        return try NeighbourIndex(representation: representation, rows: rows, labels: labelSets, count: count, weight: weight)
    }
}
