import DataKit

/// Predictions of a trained multi-label model: a ranking of the labels (for P@k, nDCG@k, PSP@k) and a predicted
/// label set (for the set metrics). sdlgm: rank by h_S(x), set = the top L̂ labels, L̂ = argmax p(L | x);
/// one-vs-all: rank by score, set = labels with sigmoid(score) > ½; most-frequent: rank by training frequency, set =
/// the round(mean training label count) most frequent labels. An ensemble ranks and predicts sets the same way from its
/// members' mean probabilities (`EnsembleScores`).
public struct SupervisedPredictor: Sendable {
    public var method: SupervisedTrainer.Method
    public var network: SupervisedNetwork?
    /// The other members of an ensemble (`sk-train sdlgm --ensemble M`: members 2…M, trained like `network` with the
    /// seeds that follow its seed); empty for a single model. Predictions then combine every member's probabilities
    /// (`EnsembleScores`).
    public var ensemble: [SupervisedNetwork] = []
    /// M, the networks whose predictions are combined (1 for a single model).
    public var members: Int { 1 + ensemble.count }
    /// The fraction of training points with each label (`/model/label_frequencies`).
    public var labelFrequencies: [Double]
    public var meanLabelCount: Double
    /// N, the training points the frequencies were counted over (attribute `training_points`); nil for a model
    /// written before SparseKit stored it.
    public var trainingPoints: Int?
    /// The rescaling of the input features fitted on the training rows, applied before the network.
    public var scaling: FeatureScaling
    /// The neighbour component (sdlgm, `--neighbours`): its training rows' label distribution blended into the label
    /// probabilities (`NeighbourIndex`); nil: none.
    public var neighbours: NeighbourIndex?

    /// A predictor of `method` (a network for sdlgm and one-vs-all, none for most-frequent) with the statistics of its
    /// training labels and the feature scaling it was trained with.
    public init(method: SupervisedTrainer.Method, network: SupervisedNetwork?, labelFrequencies: [Double], meanLabelCount: Double,
                trainingPoints: Int?, scaling: FeatureScaling = .identity) {
        self.method = method
        self.network = network
        self.labelFrequencies = labelFrequencies
        self.meanLabelCount = meanLabelCount
        self.trainingPoints = trainingPoints
        self.scaling = scaling
    }

    /// How many training points carry each label (the frequencies times N), nil without N.
    public var trainingLabelCounts: [Double]? {
        trainingPoints.map { n in labelFrequencies.map { ($0 * Double(n)).rounded() } }
    }

    /// The propensities of the labels from the training label counts the model stores (`Propensity`), nil for a
    /// model without `training_points`.
    public func propensities(a: Double = Propensity.defaults.a, b: Double = Propensity.defaults.b) -> [Double]? {
        guard let counts = trainingLabelCounts, let n = trainingPoints else { return nil }
        return Propensity.scores(counts: counts, points: n, a: a, b: b)
    }

    /// The hard codes of the rows of `x`: each row's predicted label set with the labels' scores as values (for
    /// most-frequent, the training frequencies).
    public func codes(_ x: CSRMatrix, batchSize: Int = 512) throws -> CSRMatrix {
        try predict(x, k: 1, batchSize: batchSize).sets
    }

    /// Rankings (top `k`, with their scores) and predicted sets (with the labels' scores as values; for
    /// most-frequent, the training frequencies) of every row of `x` (features as stored: the model's `scaling` is
    /// applied here), `batchSize` rows at a time; `progress` hears the rows done after each batch.
    public func predict(_ x: CSRMatrix, k: Int = 5, batchSize: Int = 512,
                        progress: (_ rowsDone: Int) -> Void = { _ in }) throws -> (ranking: TopKRanking, sets: CSRMatrix) {
        let c = labelFrequencies.count
        var ranking = TopKRanking(k: k, indices: [])
        var indptr: [Int64] = [0], indices: [Int64] = [], values: [Float] = []
        let frequencyScores = labelFrequencies.map(Float.init)
        let frequentSet = Array(TopKRanking(scores: Matrix(rows: 1, cols: c, storage: frequencyScores),
                                            k: max(1, min(c, Int(meanLabelCount.rounded())))).ranked(0)).map { Int($0) }.sorted()
        for start in stride(from: 0, to: x.rows, by: batchSize) {
            let rows = Array(start..<min(x.rows, start + batchSize))
            defer { progress(start + rows.count) }
            guard let network, method != .mostFrequent else {
                for _ in rows {
                    frequencyScores.withUnsafeBufferPointer { ranking.append(scores: $0) }
                    indices += frequentSet.map(Int64.init)
                    values += frequentSet.map { frequencyScores[$0] }
                    indptr.append(Int64(indices.count))
                }
                continue
            }
            let (levelLogits, scores) = try self.scores(of: x.gatheringRows(rows), network: network)
            scores.storage.withUnsafeBufferPointer { all in
                for i in rows.indices {
                    let row = UnsafeBufferPointer(rebasing: all[(i * c)..<((i + 1) * c)])
                    ranking.append(scores: row)
                    var set: [Int]
                    if let levelLogits {
                        let logits = levelLogits.storage[(i * levelLogits.cols)..<((i + 1) * levelLogits.cols)]
                        let level = logits.indices.max { logits[$0] < logits[$1] }! - logits.startIndex + 1
                        var top = TopKRanking(k: min(level, c), indices: [])
                        top.append(scores: row)
                        set = top.ranked(0).map(Int.init)
                    } else {
                        set = (0..<c).filter { row[$0] > 0 }  // sigmoid > ½
                    }
                    set.sort()
                    indices += set.map(Int64.init)
                    values += set.map { row[$0] }
                    indptr.append(Int64(indices.count))
                }
            }
        }
        let sets = try CSRMatrix(rows: x.rows, cols: c, indptr: indptr, indices: indices, values: values)
        return (ranking, sets)
    }

    /// The level logits and label scores of the rows `x` (features as stored; the model's `scaling` is applied
    /// here): the network's own for a single model; for an ensemble, the members' probabilities averaged
    /// (`EnsembleScores`); with `neighbours` (sdlgm), the log of the first-choice probabilities blended with the
    /// neighbours' label distribution (`NeighbourIndex.blend`).
    func scores(of x: CSRMatrix, network: SupervisedNetwork) throws -> (levelLogits: Matrix?, labelScores: Matrix) {
        let scaled = try scaling.apply(x)
        let outputs = ([network] + ensemble).map { member in
            let (levelLogits, labelScores, _) = member.forward(scaled)
            return (levelLogits, labelScores)
        }
        let labelKind: EnsembleScores.Kind = method == .oneVsAll ? .sigmoid : .softmax
        var combined = outputs[0]
        if outputs.count > 1 {
            let levels = outputs[0].0 == nil ? nil : EnsembleScores.combine(outputs.map { $0.0! }, .softmax)
            combined = (levels, EnsembleScores.combine(outputs.map(\.1), labelKind))
        }
        guard let neighbours, labelKind == .softmax else { return combined }
        return (combined.0, try neighbours.blend(EnsembleScores.logSoftmax(combined.1), rowsOf: x))
    }
}
