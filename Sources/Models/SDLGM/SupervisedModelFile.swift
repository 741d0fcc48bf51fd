import DataKit

/// Supervised multi-label models in the contract's layout (`formats.md`, "Models"): attribute `model` = `sdlgm`
/// (also for the baselines, told apart by `method`), attributes `method`, `max_active` (L0), `latents` (C, the label
/// space the codes live in), `likelihood` (`plackett-luce` or `bernoulli`); every weight under `/model/…`
/// (`input/{weight,bias}` with weight F × H input-major, `hidden<k>/…`, `labels/…`, `level/…`), the training label
/// frequencies at `/model/label_frequencies`; `/history/objective` (minus the training loss per point) and
/// `/history/seconds`; `TrainingJob` adds `/config` and `/training` (`ResumeState`).
extension SupervisedPredictor {
    /// Writes the weights, the label frequencies and the attributes that describe the model (L0 = `maxActive`).
    public func write(to file: HDF5File, maxActive: Int) throws {
        try file.createGroup("/model")
        try file.write(labelFrequencies, shape: [labelFrequencies.count], to: "/model/label_frequencies")
        if let network {
            try file.write(network.input.weight, to: "/model/input/weight")
            try file.write(network.input.bias, shape: [network.input.bias.count], to: "/model/input/bias")
            for (k, layer) in network.hidden.enumerated() { try write(layer, "/model/hidden\(k)", file) }
            if let head = network.labelHead { try write(head, "/model/labels", file) }
            if let head = network.levelHead { try write(head, "/model/level", file) }
        }
        try file.setAttribute("model", .string("sdlgm"))
        try file.setAttribute("method", .string(method.rawValue))
        try file.setAttribute("max_active", .int(maxActive))
        try file.setAttribute("latents", .int(labelFrequencies.count))
        try file.setAttribute("likelihood", .string(method == .oneVsAll ? "bernoulli" : "plackett-luce"))
        try file.setAttribute("mean_label_count", .double(meanLabelCount))
        try file.setAttribute("hidden_layers", .int(network?.hidden.count ?? 0))
    }

    private func write(_ layer: Linear, _ group: String, _ file: HDF5File) throws {
        try file.write(layer.weight, to: group + "/weight")
        try file.write(layer.bias, shape: [layer.bias.count], to: group + "/bias")
    }

    /// Reads a model written by `write`, checking that the layers fit together.
    public static func read(from file: HDF5File) throws -> (predictor: SupervisedPredictor, maxActive: Int) {
        try file.requireKind(.model)
        guard try file.attribute("model")?.stringValue == "sdlgm",
              let name = try file.attribute("method")?.stringValue, let method = SupervisedTrainer.Method(rawValue: name),
              case .int(let maxActive)? = try file.attribute("max_active"),
              case .double(let meanCount)? = try file.attribute("mean_label_count")
        else { throw SparseKitError.badInput(file.path, "is not a supervised SDLGM model (attributes model, method, max_active)") }
        let (frequencies, _) = try file.read("/model/label_frequencies", as: Double.self)
        guard method != .mostFrequent else {
            return (SupervisedPredictor(method: method, network: nil, labelFrequencies: frequencies, meanLabelCount: meanCount), maxActive)
        }
        func linear(_ group: String) throws -> Linear {
            let weight = try file.readMatrix(group + "/weight")
            let (bias, _) = try file.read(group + "/bias", as: Float.self)
            guard bias.count == weight.rows else { throw SparseKitError.badInput(file.path, "\(group): bias and weight differ in size") }
            return Linear(weight: weight, bias: bias)
        }
        let inputWeight = try file.readMatrix("/model/input/weight")
        let (inputBias, _) = try file.read("/model/input/bias", as: Float.self)
        var generator = SeededGenerator(seed: 0)
        var network = SupervisedNetwork(features: inputWeight.rows, labels: frequencies.count, hidden: [], maxActive: nil,
                                        typicalNonZeros: 1, generator: &generator)
        network.input.weight = inputWeight
        network.input.bias = inputBias
        network.input.weightGradient = Matrix(rows: inputWeight.rows, cols: inputWeight.cols)
        network.input.biasGradient = [Float](repeating: 0, count: inputBias.count)
        if method == .sdlgm {
            guard case .int(let layers)? = try file.attribute("hidden_layers") else {
                throw SparseKitError.badInput(file.path, "has no hidden_layers attribute")
            }
            network.hidden = try (0..<layers).map { try linear("/model/hidden\($0)") }
            network.labelHead = try linear("/model/labels")
            network.levelHead = try linear("/model/level")
        }
        var width = inputWeight.cols
        for layer in network.denseLayers.dropLast(method == .sdlgm ? 2 : 0) {
            guard layer.inputs == width else { throw SparseKitError.badInput(file.path, "layer sizes do not chain") }
            width = layer.outputs
        }
        guard network.labels == frequencies.count, inputBias.count == inputWeight.cols,
              network.parameters.allSatisfy(\.isFinite)
        else { throw SparseKitError.badInput(file.path, "holds inconsistent or non-finite weights") }
        return (SupervisedPredictor(method: method, network: network, labelFrequencies: frequencies, meanLabelCount: meanCount), maxActive)
    }
}

extension SupervisedTrainer.EpochRecord {
    /// Writes `history` as `/history/objective` (minus the loss) and `/history/seconds`.
    public static func write(_ history: [Self], to file: HDF5File) throws {
        try file.write(history.map { -$0.loss }, shape: [history.count], to: "/history/objective")
        try file.write(history.map(\.seconds), shape: [history.count], to: "/history/seconds")
    }

    /// The history a model file holds (epochs numbered from 1).
    public static func read(from file: HDF5File) throws -> [Self] {
        let (objective, _) = try file.read("/history/objective", as: Double.self)
        let (seconds, _) = try file.read("/history/seconds", as: Double.self)
        guard objective.count == seconds.count else {
            throw SparseKitError.badInput(file.path, "/history/seconds has \(seconds.count) epochs, /history/objective \(objective.count)")
        }
        return objective.indices.map { Self(epoch: $0 + 1, loss: -objective[$0], seconds: seconds[$0]) }
    }
}
