import DataKit

/// Baseline densities in the contract's layout (`formats.md`, "Models"): kind `model`, attribute `model` =
/// `gaussian`, `laplace` or `ica`; `/model/mean` [D]; gaussian `/model/covariance` [D, D]; laplace `/model/scale` [D]
/// and `/model/location` [D] (the medians the density is centred on; a file without it is centred on the mean);
/// ica `/model/mixing` [D, D] (A, x = mean + A s) and `/model/scale` [D] (the sources' Laplace scales). Parameters are
/// float64, so the stored model reproduces the reported log-likelihoods. The configuration as attributes of
/// `/config`; `/history/objective` (the exact training log-likelihood per point after each fitting stage: one for
/// the closed-form fits, one per smoothing stage for ICA) and `/history/seconds`.
extension BaselineDensity {
    /// One fitting stage's exact training log-likelihood (nats/point) and duration.
    public typealias HistoryEntry = (logLikelihood: Double, seconds: Double)

    public func write(to file: HDF5File, configuration: [String: HDF5AttributeValue], history: [HistoryEntry],
                      provenance: [String]) throws
    {
        let d = dimension
        func vector(_ values: [Double], _ name: String) throws { try file.write(values, shape: [d], to: "/model/" + name) }
        func square(_ values: [Double], _ name: String) throws { try file.write(values, shape: [d, d], to: "/model/" + name) }
        switch self {
        case .gaussian(let model):
            try vector(model.mean, "mean")
            try square(model.covariance, "covariance")
        case .laplace(let model):
            try vector(model.mean, "mean")
            try vector(model.location, "location")
            try vector(model.scale, "scale")
        case .ica(let model):
            try vector(model.mean, "mean")
            try square(model.mixing, "mixing")
            try vector(model.scale, "scale")
        }
        try file.createGroup("/config")
        for (name, value) in configuration.sorted(by: { $0.key < $1.key }) { try file.setAttribute(name, value, on: "/config") }
        try file.write(history.map(\.logLikelihood), shape: [history.count], to: "/history/objective")
        try file.write(history.map(\.seconds), shape: [history.count], to: "/history/seconds")
        try file.setAttribute("model", .string(kind.rawValue))
        try file.writeHeader(kind: .model, history: provenance)
    }

    /// Whether a model file holds a baseline density (its `model` attribute names one).
    public static func isBaseline(_ file: HDF5File) throws -> Bool {
        guard let name = try file.attribute("model")?.stringValue else { return false }
        return Kind(rawValue: name) != nil
    }

    /// Reads a baseline density, checking every shape and that the parameters define a density.
    public static func read(from file: HDF5File) throws -> BaselineDensity {
        try file.requireKind(.model)
        guard let name = try file.attribute("model")?.stringValue, let kind = Kind(rawValue: name) else {
            throw SparseKitError.badInput(file.path, "is not a baseline density (attribute model is not gaussian, laplace or ica)")
        }
        let (mean, meanShape) = try file.read("/model/mean", as: Double.self)
        let d = mean.count
        guard meanShape == [d], d > 0 else { throw SparseKitError.badInput(file.path, "/model/mean is not a vector") }
        func read(_ name: String, shape: [Int]) throws -> [Double] {
            let (values, stored) = try file.read("/model/" + name, as: Double.self)
            guard stored == shape, values.allSatisfy(\.isFinite) else {
                throw SparseKitError.badInput(file.path, "/model/\(name) has shape \(stored), expected \(shape), or non-finite values")
            }
            return values
        }
        func positive(_ scale: [Double]) throws -> [Double] {
            guard scale.allSatisfy({ $0 > 0 }) else { throw SparseKitError.badInput(file.path, "/model/scale has a non-positive value") }
            return scale
        }
        do {
            switch kind {
            case .gaussian:
                let ridge = try file.attribute("ridge", of: "/config")?.doubleValue ?? 0
                return .gaussian(try GaussianDensity(mean: mean, covariance: read("covariance", shape: [d, d]), ridge: ridge))
            case .laplace:
                let location = file.exists("/model/location") ? try read("location", shape: [d]) : mean
                return .laplace(LaplaceDensity(mean: mean, location: location, scale: try positive(read("scale", shape: [d]))))
            case .ica:
                return .ica(try ICADensity(mean: mean, mixing: read("mixing", shape: [d, d]), scale: positive(read("scale", shape: [d]))))
            }
        } catch let error as SparseKitError where error.file == nil && error.kind == .badInput {
            throw SparseKitError.badInput(file.path, error.problem)
        }
    }
}
