import DataKit

/// Reading and writing ES-SC models in the contract's layout (`formats.md`, "Models"): kind `model`, attribute
/// `model` = `es-sc`, `/model/W` [D, H], `/model/lambda` [H], `/model/sigma2` (scalar); `TrainingJob` adds the
/// configuration as attributes of `/config`, `/history/<metric>` [epochs], `/training` (`ResumeState`) and the
/// training data's `/whitening`.
extension SparseCodingModel: TrainedModel {
    public var modelKind: ModelKind { .sparseCoding }

    /// Writes W, λ, σ² and the attribute that names the model.
    public func write(to file: HDF5File) throws {
        try file.write(w, to: "/model/W")
        try file.write(lambda, shape: [lambda.count], to: "/model/lambda")
        try file.write([sigma2], shape: [], to: "/model/sigma2")
        try file.setAttribute("model", .string("es-sc"))
    }

    /// Reads W, λ, σ² (all a model file needs to be evaluated), checking shapes and values.
    public static func read(from file: HDF5File) throws -> SparseCodingModel {
        try file.requireKind(.model)
        guard try file.attribute("model")?.stringValue == "es-sc" else {
            throw SparseKitError.badInput(file.path, "is not an ES-SC model (attribute model is not 'es-sc')")
        }
        let w = try file.readMatrix("/model/W")
        let (lambda, lambdaShape) = try file.read("/model/lambda", as: Float.self)
        let (sigma2, sigma2Shape) = try file.read("/model/sigma2", as: Float.self)
        func bad(_ problem: String) -> SparseKitError { .badInput(file.path, problem) }
        guard w.rows > 0, w.cols > 0, w.isFinite else {
            throw bad("/model/W must be a non-empty D × H matrix of finite values (shape [\(w.rows), \(w.cols)])")
        }
        guard lambdaShape == [w.cols] else {
            throw bad("/model/lambda has shape \(lambdaShape), expected [\(w.cols)] (one value per column of /model/W)")
        }
        if let k = lambda.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            throw bad("/model/lambda holds \(lambda[k]) at index \(k); every Laplace scale λ is positive and finite")
        }
        guard sigma2Shape.isEmpty || sigma2Shape == [1], sigma2.count == 1 else {
            throw bad("/model/sigma2 has shape \(sigma2Shape), expected a scalar")
        }
        guard sigma2[0] > 0, sigma2[0].isFinite else { throw bad("/model/sigma2 is \(sigma2[0]); it must be positive and finite") }
        return SparseCodingModel(w: w, lambda: lambda, sigma2: sigma2[0])
    }
}

/// The amortized encoder under `/model/encoder/<layer>/{weight,bias}` (`formats.md`, "Models").
extension GaussianEncoder {
    public func write(to file: HDF5File) throws {
        for (name, layer) in zip(layerNames, layers) {
            try file.write(layer.weight, to: "/model/encoder/\(name)/weight")
            try file.write(layer.bias, shape: [layer.bias.count], to: "/model/encoder/\(name)/bias")
        }
    }

    /// The encoder stored in `file`, or nil if the model has none; checked against W's D × H.
    public static func read(from file: HDF5File, dimension: Int, latents: Int) throws -> GaussianEncoder? {
        guard file.exists("/model/encoder") else { return nil }
        var generator = SeededGenerator(seed: 0)
        let rank = file.exists("/model/encoder/factors/bias")
            ? try file.dataset("/model/encoder/factors/bias").shape.first.map { $0 / max(latents, 1) } ?? 0 : 0
        var encoder = GaussianEncoder(dimension: dimension, latents: latents, rank: rank, generator: &generator)
        var layers = encoder.layers
        for (k, name) in encoder.layerNames.enumerated() {
            let weight = try file.readMatrix("/model/encoder/\(name)/weight")
            let (bias, _) = try file.read("/model/encoder/\(name)/bias", as: Float.self)
            guard weight.rows == layers[k].weight.rows, weight.cols == layers[k].weight.cols, bias.count == weight.rows,
                  weight.isFinite, bias.allSatisfy(\.isFinite)
            else {
                throw SparseKitError.badInput(file.path, "/model/encoder/\(name) does not fit an encoder for D = \(dimension), H = \(latents)")
            }
            layers[k] = Linear(weight: weight, bias: bias)
        }
        encoder.layers = layers
        return encoder
    }
}

extension EpochRecord: HistoryColumns {
    /// The `/history/<name>` datasets and the fields they hold.
    public static var columns: [(String, WritableKeyPath<EpochRecord, Double>)] { [
        ("objective", \.objective), ("posterior_entropy", \.posteriorEntropy), ("prior_entropy", \.priorEntropy),
        ("noise_entropy", \.noiseEntropy), ("sigma2", \.sigma2), ("mean_lambda", \.meanLambda), ("gini", \.gini),
        ("beta_prior", \.betaPrior), ("seconds", \.seconds),
    ] }

    public init(blankEpoch epoch: Int) {
        self.init(epoch: epoch, objective: 0, posteriorEntropy: 0, priorEntropy: 0, noiseEntropy: 0, sigma2: 0, meanLambda: 0,
                  gini: 0, betaPrior: 1, seconds: 0)
    }
}
