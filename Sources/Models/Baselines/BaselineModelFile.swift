import DataKit

/// Baseline densities in the contract's layout (`formats.md`, "Models"): kind `model`, attribute `model` =
/// `gaussian`, `laplace` or `ica`; `/model/mean` [D]; gaussian `/model/covariance` [D, D]; laplace `/model/scale` [D]
/// and `/model/location` [D] (the medians the density is centred on; a file without it is centred on the mean);
/// ica `/model/mixing` [D, D] (A, x = mean + A s) and `/model/scale` [D] (the sources' Laplace scales). Parameters are
/// float64, so the stored model reproduces the reported log-likelihoods. The configuration as attributes of
/// `/config`; `/history/objective` (the exact training log-likelihood per point after each fitting stage: one for
/// the closed-form fits, one per smoothing stage for ICA) and `/history/seconds`; `TrainingJob` writes those and the
/// rest of the file (`BaselineTrainer`).
extension BaselineDensity: TrainedModel {
    public var modelKind: ModelKind { .baseline(kind) }

    /// Writes the parameters (float64) and the attribute that names the density.
    public func write(to file: HDF5File) throws {
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
        try file.setAttribute("model", .string(kind.rawValue))
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
        if let k = mean.firstIndex(where: { !$0.isFinite }) {
            throw SparseKitError.badInput(file.path, "/model/mean holds \(mean[k]) at index \(k)")
        }
        func read(_ name: String, shape: [Int]) throws -> [Double] {
            let (values, stored) = try file.read("/model/" + name, as: Double.self)
            guard stored == shape, values.allSatisfy(\.isFinite) else {
                throw SparseKitError.badInput(file.path, "/model/\(name) has shape \(stored), expected \(shape), or non-finite values")
            }
            return values
        }
        func positive(_ scale: [Double]) throws -> [Double] {
            guard scale.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw SparseKitError.badInput(file.path, "/model/scale has a non-positive value") }
            return scale
        }
        do {
            switch kind {
            case .gaussian:
                let ridge = file.exists("/config") ? try file.attribute("ridge", of: "/config")?.doubleValue ?? 0 : 0
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
