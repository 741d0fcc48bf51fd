import DataKit

/// Supervised multi-label models in the contract's layout (`formats.md`, "Models"): attribute `model` = `sdlgm`
/// (also for the baselines, told apart by `method`), attributes `method`, `max_active` (L0), `latents` (C, the label
/// space the codes live in), `likelihood` (`plackett-luce` or `bernoulli`); every weight under `/model/…`
/// (`input/{weight,bias}` with weight F × H input-major, `hidden<k>/…`, `labels/…`, `level/…`, and with the wide
/// path `wide/{weight,bias}`, F × C input-major), the training label frequencies at `/model/label_frequencies` (the
/// fraction of the N training points with each label) and N as attribute
/// `training_points` (so the training label counts, and from them the propensities, need no training file; models
/// written before it existed read with `trainingPoints` nil); the feature scaling as attribute `feature_scaling`
/// (`FeatureScaling.Method`; absent in older models: none) with `/model/feature_shift` and `/model/feature_scale`
/// (F values each) where the method has them; with the neighbour component, `/model/neighbours`
/// (`NeighbourIndex+File`); `/history/objective` (minus the training loss per point) and `/history/seconds`;
/// `TrainingJob` adds `/config` and `/training` (`ResumeState`).
extension SupervisedPredictor {
    /// Writes the weights, the label frequencies and the attributes that describe the model (L0 = `maxActive`).
    public func write(to file: HDF5File, maxActive: Int) throws {
        try file.createGroup("/model")
        try file.write(labelFrequencies, shape: [labelFrequencies.count], to: "/model/label_frequencies")
        if let network { try write(network, at: "/model", to: file) }
        for (k, member) in ensemble.enumerated() { try write(member, at: Self.memberGroup(k + 2), to: file) }
        if !ensemble.isEmpty { try file.setAttribute(Self.ensembleAttribute, .int(members)) }
        try file.setAttribute("model", .string("sdlgm"))
        try file.setAttribute("method", .string(method.rawValue))
        try file.setAttribute("max_active", .int(maxActive))
        try file.setAttribute("latents", .int(labelFrequencies.count))
        try file.setAttribute("likelihood", .string(method == .oneVsAll ? "bernoulli" : "plackett-luce"))
        try file.setAttribute("mean_label_count", .double(meanLabelCount))
        try file.setAttribute("hidden_layers", .int(network?.hidden.count ?? 0))
        if let trainingPoints { try file.setAttribute("training_points", .int(trainingPoints)) }
        try file.setAttribute("feature_scaling", .string(scaling.method.rawValue))
        if let shift = scaling.shift { try file.write(shift, shape: [shift.count], to: "/model/feature_shift") }
        if let scale = scaling.scale { try file.write(scale, shape: [scale.count], to: "/model/feature_scale") }
        try neighbours?.write(to: file)
    }

    /// The feature scaling a model file stores (identity for models written before it existed), checked against the
    /// `features` of its input layer.
    private static func readScaling(from file: HDF5File, features: Int) throws -> FeatureScaling {
        guard let attribute = try file.attribute("feature_scaling") else { return .identity }
        guard let name = attribute.stringValue, let method = FeatureScaling.Method(rawValue: name) else {
            throw SparseKitError.badInput(file.path, "attribute feature_scaling is \(attribute), not one of "
                + FeatureScaling.Method.allCases.map(\.rawValue).joined(separator: ", "))
        }
        func vector(_ path: String) throws -> [Float]? {
            guard file.kind(of: path) == .dataset else { return nil }
            let (values, shape) = try file.read(path, as: Float.self)
            guard shape.count == 1 else { throw SparseKitError.badInput(file.path, "\(path) has shape \(shape), expected [\(features)]") }
            return values
        }
        let scaling = FeatureScaling(method: method, shift: try vector("/model/feature_shift"), scale: try vector("/model/feature_scale"))
        if let problem = scaling.problem(features: features) { throw SparseKitError.badInput(file.path, "has \(problem)") }
        return scaling
    }

    /// Writes `network`'s layers under `group`: `input`, `hidden<k>`, `labels`, `level`, `wide`.
    private func write(_ network: SupervisedNetwork, at group: String, to file: HDF5File) throws {
        func write(_ weight: Matrix, _ bias: [Float], _ path: String) throws {
            try file.write(weight, to: path + "/weight")
            try file.write(bias, shape: [bias.count], to: path + "/bias")
        }
        try write(network.input.weight, network.input.bias, group + "/input")
        for (k, layer) in network.hidden.enumerated() { try write(layer.weight, layer.bias, "\(group)/hidden\(k)") }
        if let head = network.labelHead { try write(head.weight, head.bias, group + "/labels") }
        if let head = network.levelHead { try write(head.weight, head.bias, group + "/level") }
        if let wide = network.wide { try write(wide.weight, wide.bias, group + "/wide") }
    }

    /// Reads a model written by `write`, checking every shape the predictor relies on against the others (the input
    /// layer F × H₁, each hidden layer H_k → H_k+1, the label head → C and the level head → L0), the attributes
    /// (L0 ≥ 1, for SDLGM L0 ≤ C; `latents` = C) and that every value is finite, so that a model read here cannot
    /// trap in a layer later.
    public static func read(from file: HDF5File) throws -> (predictor: SupervisedPredictor, maxActive: Int) {
        try file.requireKind(.model)
        guard try file.attribute("model")?.stringValue == "sdlgm",
              let name = try file.attribute("method")?.stringValue, let method = SupervisedTrainer.Method(rawValue: name),
              case .int(let maxActive)? = try file.attribute("max_active"),
              case .double(let meanCount)? = try file.attribute("mean_label_count")
        else { throw SparseKitError.badInput(file.path, "is not a supervised SDLGM model (attributes model, method, max_active)") }
        func bad(_ problem: String) -> SparseKitError { .badInput(file.path, problem) }
        let (frequencies, frequencyShape) = try file.read("/model/label_frequencies", as: Double.self)
        let labels = frequencies.count
        guard frequencyShape == [labels], labels > 0, frequencies.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw bad("/model/label_frequencies must be a vector of C ≥ 1 finite, non-negative counts (shape \(frequencyShape))")
        }
        guard meanCount.isFinite, meanCount >= 0 else { throw bad("attribute mean_label_count is \(meanCount)") }
        guard maxActive >= 1, method != .sdlgm || maxActive <= labels else {
            throw bad("attribute max_active = \(maxActive) is outside 1...\(labels), the number of labels")
        }
        if let latents = try file.attribute("latents"), latents.intValue != labels {
            throw bad("attribute latents = \(latents) but /model/label_frequencies has \(labels) labels")
        }
        let trainingPoints = try readTrainingPoints(from: file, frequencies: frequencies)
        guard method != .mostFrequent else {
            return (SupervisedPredictor(method: method, network: nil, labelFrequencies: frequencies, meanLabelCount: meanCount,
                                        trainingPoints: trainingPoints), maxActive)
        }
        let network = try readNetwork(from: file, at: "/model", method: method, labels: labels, maxActive: maxActive)
        var predictor = SupervisedPredictor(method: method, network: network, labelFrequencies: frequencies, meanLabelCount: meanCount,
                                            trainingPoints: trainingPoints, scaling: try readScaling(from: file, features: network.input.inputs))
        predictor.neighbours = try NeighbourIndex.read(from: file, features: network.input.inputs, labels: labels)
        predictor.ensemble = try readMembers(from: file, method: method, labels: labels, maxActive: maxActive, like: network)
        return (predictor, maxActive)
    }

    /// The network under `group` (`/model`, or an ensemble member's `/model/member<m>`), every shape checked against
    /// the others and every value finite.
    private static func readNetwork(from file: HDF5File, at group: String, method: SupervisedTrainer.Method, labels: Int,
                                    maxActive: Int) throws -> SupervisedNetwork {
        func bad(_ problem: String) -> SparseKitError { .badInput(file.path, problem) }
        /// The layer in `path` taking `inputs` values to `outputs` values (nil: any), every value finite.
        func linear(_ path: String, inputs: Int, outputs: Int? = nil) throws -> Linear {
            let weight = try file.readMatrix(path + "/weight")
            let (bias, biasShape) = try file.read(path + "/bias", as: Float.self)
            guard weight.cols == inputs else {
                throw bad("\(path)/weight takes \(weight.cols) inputs (shape [\(weight.rows), \(weight.cols)]), the layer before gives \(inputs)")
            }
            if let outputs, weight.rows != outputs {
                throw bad("\(path)/weight gives \(weight.rows) outputs (shape [\(weight.rows), \(weight.cols)]), expected \(outputs)")
            }
            guard biasShape == [weight.rows] else { throw bad("\(path)/bias has shape \(biasShape), expected [\(weight.rows)]") }
            guard weight.isFinite, bias.allSatisfy(\.isFinite) else { throw bad("\(path) holds NaN or Inf") }
            return Linear(weight: weight, bias: bias)
        }
        let inputWeight = try file.readMatrix(group + "/input/weight")
        let (inputBias, inputBiasShape) = try file.read(group + "/input/bias", as: Float.self)
        guard inputBiasShape == [inputWeight.cols] else {
            throw bad("\(group)/input/bias has shape \(inputBiasShape), expected [\(inputWeight.cols)] (the columns of \(group)/input/weight)")
        }
        guard inputWeight.isFinite, inputBias.allSatisfy(\.isFinite) else { throw bad("\(group)/input holds NaN or Inf") }
        if method == .oneVsAll, inputWeight.cols != labels {
            throw bad("\(group)/input/weight gives \(inputWeight.cols) label scores, but the model has \(labels) labels")
        }
        var generator = SeededGenerator(seed: 0)
        var network = SupervisedNetwork(features: inputWeight.rows, labels: labels, hidden: [], maxActive: nil,
                                        typicalNonZeros: 1, generator: &generator)
        network.input.weight = inputWeight
        network.input.bias = inputBias
        network.input.weightGradient = Matrix(rows: inputWeight.rows, cols: inputWeight.cols)
        network.input.biasGradient = [Float](repeating: 0, count: inputBias.count)
        if method == .sdlgm {
            guard case .int(let layers)? = try file.attribute("hidden_layers"), layers >= 0 else {
                throw bad("has no valid hidden_layers attribute")
            }
            var width = inputWeight.cols
            for k in 0..<layers {
                guard file.kind(of: "\(group)/hidden\(k)") == .group else { throw bad("has hidden_layers = \(layers) but no \(group)/hidden\(k)") }
                let layer = try linear("\(group)/hidden\(k)", inputs: width)
                network.hidden.append(layer)
                width = layer.outputs
            }
            network.labelHead = try linear(group + "/labels", inputs: width, outputs: labels)
            network.levelHead = try linear(group + "/level", inputs: width, outputs: maxActive)
            if file.kind(of: group + "/wide") == .group {
                network.wide = try readWide(from: file, at: group + "/wide", features: inputWeight.rows, labels: labels)
            }
        }
        return network
    }

    /// An ensemble's members 2…M (`/model/member<m>`, M the root attribute `ensemble_members`; none without it),
    /// each of `first`'s shape.
    private static func readMembers(from file: HDF5File, method: SupervisedTrainer.Method, labels: Int, maxActive: Int,
                                    like first: SupervisedNetwork) throws -> [SupervisedNetwork] {
        guard let attribute = try file.attribute(ensembleAttribute) else { return [] }
        guard case .int(let m) = attribute, m >= 1, m <= SupervisedEnsembleTrainer.mostMembers else {
            throw SparseKitError.badInput(file.path, "attribute \(ensembleAttribute) must be a member count in 1...\(SupervisedEnsembleTrainer.mostMembers), not \(attribute)")
        }
        return try (0..<(m - 1)).map { k in
            let group = memberGroup(k + 2)
            guard file.kind(of: group) == .group else { throw SparseKitError.badInput(file.path, "has \(ensembleAttribute) = \(m) but no \(group)") }
            let network = try readNetwork(from: file, at: group, method: method, labels: labels, maxActive: maxActive)
            guard network.input.inputs == first.input.inputs, network.input.outputs == first.input.outputs,
                  network.hidden.map(\.outputs) == first.hidden.map(\.outputs), (network.wide == nil) == (first.wide == nil) else {
                throw SparseKitError.badInput(file.path, "\(group) has another shape than /model (the members of an ensemble share one)")
            }
            return network
        }
    }

    /// The root attribute holding an ensemble's member count M (written for M ≥ 2).
    public static let ensembleAttribute = "ensemble_members"

    /// The group of ensemble member `m` (2…M; member 1 is `/model` itself).
    static func memberGroup(_ m: Int) -> String { "/model/member\(m)" }

    /// The wide path `GROUP/{weight,bias}` (`/model/wide`): F × C input-major and C values, every value finite.
    private static func readWide(from file: HDF5File, at group: String, features: Int, labels: Int) throws -> SparseLinear {
        let weight = try file.readMatrix(group + "/weight")
        let (bias, biasShape) = try file.read(group + "/bias", as: Float.self)
        guard weight.rows == features, weight.cols == labels, biasShape == [labels] else {
            throw SparseKitError.badInput(file.path, "\(group) has weight [\(weight.rows), \(weight.cols)] and bias \(biasShape), "
                + "expected [\(features), \(labels)] and [\(labels)] (features × labels)")
        }
        guard weight.isFinite, bias.allSatisfy(\.isFinite) else { throw SparseKitError.badInput(file.path, "\(group) holds NaN or Inf") }
        return SparseLinear(weight: weight, bias: bias)
    }

    /// Whether the model file stores its training label counts (attribute `training_points`; models written before
    /// it existed do not).
    public static func storesTrainingCounts(_ file: HDF5File) throws -> Bool { try file.attribute("training_points") != nil }

    /// The attribute `training_points` (nil when absent: a model written before it existed), which must be a
    /// positive integer that turns every label frequency into a whole count of training points.
    private static func readTrainingPoints(from file: HDF5File, frequencies: [Double]) throws -> Int? {
        guard let attribute = try file.attribute("training_points") else { return nil }
        guard case .int(let n) = attribute, n >= 1 else {
            throw SparseKitError.badInput(file.path, "attribute training_points must be a positive integer, not \(attribute)")
        }
        func isCount(_ frequency: Double) -> Bool {
            let count = frequency * Double(n)
            return frequency <= 1 && abs(count - count.rounded()) <= 1e-6 * max(1, count)
        }
        if let label = frequencies.indices.first(where: { !isCount(frequencies[$0]) }) {
            throw SparseKitError.badInput(file.path, "/model/label_frequencies[\(label)] = \(frequencies[label]) is not a count of the "
                + "training_points = \(n) training points divided by \(n)")
        }
        return n
    }
}

extension SupervisedTrainer.EpochRecord {
    /// Writes `history` as `/history/objective` (minus the loss), `/history/seconds`, when training held rows
    /// out, `/history/validation_precision` (P@1 on them), and for an ensemble `/history/member` (each epoch's
    /// member, 1…M: the epochs of member 1, then of member 2, …).
    public static func write(_ history: [Self], to file: HDF5File) throws {
        try file.write(history.map { -$0.loss }, shape: [history.count], to: "/history/objective")
        try file.write(history.map(\.seconds), shape: [history.count], to: "/history/seconds")
        let members = history.compactMap(\.member)
        if !members.isEmpty { try file.write(members.map(Int64.init), shape: [members.count], to: "/history/member") }
        let validated = history.compactMap(\.validationPrecision)
        if !validated.isEmpty, validated.count == history.count {
            try file.write(validated, shape: [history.count], to: "/history/validation_precision")
        }
    }

    /// The history a model file holds (epochs numbered from 1).
    public static func read(from file: HDF5File) throws -> [Self] {
        let (objective, _) = try file.read("/history/objective", as: Double.self)
        let (seconds, _) = try file.read("/history/seconds", as: Double.self)
        guard objective.count == seconds.count else {
            throw SparseKitError.badInput(file.path, "/history/seconds has \(seconds.count) epochs, /history/objective \(objective.count)")
        }
        var validated: [Double]?
        if file.kind(of: "/history/validation_precision") == .dataset {
            validated = try file.read("/history/validation_precision", as: Double.self).0
            guard validated!.count == objective.count, validated!.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                throw SparseKitError.badInput(file.path, "/history/validation_precision must hold one P@1 in [0, 1] per epoch")
            }
        }
        return objective.indices.map { Self(epoch: $0 + 1, loss: -objective[$0], seconds: seconds[$0], validationPrecision: validated?[$0]) }
    }
}
