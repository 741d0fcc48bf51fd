import DataKit
import Distributed
import Foundation

/// Trains unsupervised SDLGM (`sdlgm.md`) by amortized variational inference: Adam on −ELBO over the encoder, the
/// decoder and log σ², the ELBO estimated with `samples` draws of the relaxed (or straight-through) two-step sample
/// per point, both temperatures annealed exponentially per step (`Temperatures`). `UnsupervisedSession` runs the
/// epochs.
public struct UnsupervisedTrainer: Trainer {
    /// Both Gumbel-Softmax temperatures fall exponentially per step from `start` to `end` over `epochs` epochs (nil:
    /// over the first run's epochs), then stay at `end`; written `START:END` or `START:END:EPOCHS`.
    public struct Temperatures: Sendable, Equatable, Codable, CustomStringConvertible {
        public var start: Double
        public var end: Double
        public var epochs: Int?

        public init(start: Double, end: Double, epochs: Int? = nil) {
            (self.start, self.end, self.epochs) = (start, end, epochs)
        }

        public var description: String { "\(start.shortDescription):\(end.shortDescription)" + (epochs.map { ":\($0)" } ?? "") }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }

        public init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            let parts = text.split(separator: ":").map(String.init)
            guard parts.count == 2 || parts.count == 3, let start = Double(parts[0]), let end = Double(parts[1]) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not START:END[:EPOCHS]"))
            }
            self.init(start: start, end: end, epochs: parts.count == 3 ? Int(parts[2]) : nil)
        }
    }

    public var latents = 100
    public var maxActive = 10
    public var hidden = [256]
    public var decoder = UnsupervisedSDLGM.DecoderKind.linear
    public var likelihood = UnsupervisedSDLGM.Likelihood.gaussian
    public var epochs = 20
    public var batchSize = 128
    public var learningRate = 1e-3
    public var samples = 1
    public var temperatures = Temperatures(start: 1, end: 0.5)
    public var straightThrough = false
    /// Epochs over which the KL weight β rises linearly from 0 to 1 (0: β = 1 throughout).
    public var klWarmup = 0
    public var seed: UInt64 = 0
    /// The split of a multilabel file whose features are the data (nil: every row).
    public var split: String?
    /// Read minibatches from disk instead of loading the data (patches or whitened files); also chosen when the
    /// data exceed half of the machine's memory.
    public var stream = false

    enum CodingKeys: String, CodingKey {
        case latents, maxActive, hidden, decoder, likelihood, epochs, batchSize, learningRate, samples, straightThrough, klWarmup, seed, split
        case temperatures = "tau"
    }

    public init() {}

    /// Checks the configuration on its own; usage errors name the options.
    public func validate() throws {
        func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws {
            if !condition { throw SparseKitError.usage(problem()) }
        }
        try require(latents >= 1 && maxActive >= 1, "--latents and --max-active must be at least 1")
        try require(maxActive <= latents, "--max-active (L0) must be at most --latents (K)")
        try require(!hidden.isEmpty && hidden.allSatisfy { $0 >= 1 }, "--hidden takes positive sizes separated by commas, e.g. 512 or 512,256")
        try require(epochs >= 1 && batchSize >= 1 && samples >= 1, "--epochs, --batch-size and --samples must be at least 1")
        try require(klWarmup >= 0, "--kl-warmup must be at least 0")
        try require(learningRate > 0 && learningRate.isFinite, "--learning-rate must be positive")
        let t = temperatures
        try require(t.start > 0 && t.end > 0 && t.start.isFinite && t.end.isFinite && (t.epochs ?? 1) >= 1,
                    "--tau takes START:END or START:END:EPOCHS, positive numbers, e.g. 1:0.5")
    }

    /// One epoch's record, means per point over the epoch's batches (the training estimate).
    public struct EpochRecord: TrainingRecord, Codable, Equatable {
        public var epoch: Int
        public var elbo: Double
        public var logLikelihood: Double
        public var levelKL: Double
        public var supportKL: Double
        public var valueKL: Double
        /// ‖x − E[x | z]‖² / D.
        public var meanSquaredError: Double
        /// Mean number of active features (Σ m for relaxed masks).
        public var active: Double
        public var temperature: Double
        public var sigma2: Double
        public var seconds: Double
    }

    /// The temperature after `step` of a schedule of `total` steps (then held at the end).
    func temperature(step: Int, total: Int) -> Double {
        temperatures.start * pow(temperatures.end / temperatures.start, min(1, Double(step) / Double(max(total, 1))))
    }

    /// Trains on the rows of x from a fresh model, or continues `resume`; the convenience tests and benchmarks use.
    public func train(_ x: Matrix, resume: UnsupervisedCheckpoint? = nil, shouldStop: () -> Bool = { false }) throws
        -> UnsupervisedCheckpoint
    {
        var session = try UnsupervisedSession(self, source: .memory(x), resume: resume)
        for _ in 0..<epochs where !shouldStop() { _ = try session.runEpoch(shouldStop: shouldStop) }
        return session.checkpoint
    }

    /// As `train(_:)`, reading minibatches from disk: memory holds the model, Adam's moments and the reader's buffer.
    public func train(streaming reader: ShuffledRowReader, resume: UnsupervisedCheckpoint? = nil,
                      shouldStop: () -> Bool = { false }) throws -> UnsupervisedCheckpoint {
        var session = try UnsupervisedSession(self, source: .stream(reader), resume: resume)
        for _ in 0..<epochs where !shouldStop() { _ = try session.runEpoch(shouldStop: shouldStop) }
        return session.checkpoint
    }

    /// One Adam step on −ELBO of a minibatch of `batchPoints` points at temperature `tau` and KL weight `klWeight`,
    /// of which this process holds the rows `xb` (all of them alone; its share among `group`'s ranks over MPI): the
    /// gradient on these rows, added up over the ranks with the batch's terms and the stop flags in one all-reduce
    /// (`DataParallel.sum`), then Adam's step, the same on every rank. Row i draws its noise from `streams[i]`
    /// (`samples` draws, one after another). Adds the batch's terms (averaged over the samples) to `sums`; returns
    /// whether any rank asked to stop (`stopping`, asked once the gradient is formed).
    @discardableResult
    func step(_ model: inout UnsupervisedSDLGM, _ adam: inout Adam, _ xb: Matrix, batchPoints: Int, tau: Double, klWeight: Double,
              _ sums: inout UnsupervisedObjective.Terms, streams: inout PointStreams, group: ProcessGroup = .single,
              stopping: () -> Bool = { false }) -> Bool {
        model.encoder.zeroGradients()
        model.decoder.zeroGradients()
        var gradLogNoiseVariance = 0.0
        var batch = UnsupervisedObjective.Terms()
        for _ in 0..<samples where xb.rows > 0 {  // a rank's share is empty when the batch has fewer points than ranks
            let noise = UnsupervisedObjective.Noise(maxActive: model.maxActive, latents: model.latents, streams: &streams)
            let (terms, _, gradSigma) = UnsupervisedObjective.evaluate(
                &model, xb, noise: noise, mode: straightThrough ? .straightThrough : .relaxed,
                levelTemperature: tau, supportTemperature: tau, klWeight: klWeight, accumulateGradients: true)
            batch.add(terms, weight: 1 / Double(samples))
            gradLogNoiseVariance += gradSigma
        }
        if samples > 1 {  // the mean over the samples
            for k in model.encoder.layers.indices { model.encoder.layers[k].scaleGradients(by: 1 / Float(samples)) }
            for k in model.decoder.layers.indices { model.decoder.layers[k].scaleGradients(by: 1 / Float(samples)) }
            gradLogNoiseVariance /= Double(samples)
        }
        if model.likelihood == .bernoulli { gradLogNoiseVariance = 0 }
        var shared = batch.packed + [stopping() ? 1 : 0]
        if group.size > 1 {
            var gradient = model.encoder.layers.gradients + model.decoder.layers.gradients + [Float(gradLogNoiseVariance)]
            DataParallel.sum(&gradient, points: xb.rows, of: batchPoints, sums: &shared, over: group)
            let encoderCount = model.encoder.layers.parameterCount
            model.encoder.layers.gradients = Array(gradient[..<encoderCount])
            model.decoder.layers.gradients = Array(gradient[encoderCount..<(gradient.count - 1)])
            gradLogNoiseVariance = Double(gradient[gradient.count - 1])
            batch = .init(packed: shared)
        }
        sums.add(batch)
        adam.beginStep(parameterCount: model.encoder.layers.parameterCount + model.decoder.layers.parameterCount + 1)
        var offset = 0
        model.encoder.layers.step(&adam, offset: &offset)
        model.decoder.layers.step(&adam, offset: &offset)
        var logNoiseVariance = [model.logNoiseVariance]
        adam.update(&logNoiseVariance, [Float(gradLogNoiseVariance)], offset: offset)
        model.logNoiseVariance = logNoiseVariance[0]
        return shared[shared.count - 1] > 0
    }
}

extension UnsupervisedObjective.Terms {
    /// Adds `weight` times each of other's sums.
    mutating func add(_ other: Self, weight: Double = 1) {
        elbo += weight * other.elbo
        logLikelihood += weight * other.logLikelihood
        levelKL += weight * other.levelKL
        supportKL += weight * other.supportKL
        valueKL += weight * other.valueKL
        squaredError += weight * other.squaredError
        active += weight * other.active
    }

    /// The seven sums in a row (to add them up over the ranks), and back.
    var packed: [Double] { [elbo, logLikelihood, levelKL, supportKL, valueKL, squaredError, active] }

    init(packed: [Double]) {
        (elbo, logLikelihood, levelKL, supportKL, valueKL) = (packed[0], packed[1], packed[2], packed[3], packed[4])
        (squaredError, active) = (packed[5], packed[6])
    }
}
