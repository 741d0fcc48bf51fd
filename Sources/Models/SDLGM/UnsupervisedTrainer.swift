import DataKit
import Foundation

/// Trains unsupervised SDLGM (`sdlgm.md`) by amortized variational inference: Adam on −ELBO over the encoder, the
/// decoder and log σ², the ELBO estimated with `samples` draws of the relaxed (or straight-through) two-step sample
/// per point, both temperatures annealed exponentially per step from `temperatures.start` to `temperatures.end`.
public struct UnsupervisedTrainer: Sendable {
    public var latents = 100
    public var maxActive = 10
    public var hidden = [256]
    public var decoder = UnsupervisedSDLGM.DecoderKind.linear
    public var likelihood = UnsupervisedSDLGM.Likelihood.gaussian
    public var epochs = 20
    public var batchSize = 128
    public var learningRate = 1e-3
    public var samples = 1
    public var temperatures = (start: 1.0, end: 0.5)
    public var straightThrough = false
    /// Epochs over which the KL weight β rises linearly from 0 to 1 (0: β = 1 throughout).
    public var klWarmup = 0
    public var seed: UInt64 = 0

    public init() {}

    /// One epoch's record, means per point over the epoch's batches (the training estimate).
    public struct EpochRecord: Sendable, Codable, Equatable {
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

    /// The temperature after `step` of `total` steps.
    func temperature(step: Int, total: Int) -> Double {
        temperatures.start * pow(temperatures.end / temperatures.start, Double(step) / Double(max(total, 1)))
    }

    /// Trains on the rows of x from a fresh model (or from `start`); `report` sees every epoch and may stop training.
    public func train(_ x: Matrix, from start: UnsupervisedSDLGM? = nil, report: (EpochRecord) -> Bool = { _ in true }) throws
        -> (model: UnsupervisedSDLGM, history: [EpochRecord])
    {
        guard x.rows > 0 else { throw SparseKitError.usage("no training points") }
        var order = Array(0..<x.rows)
        return try train(dimension: x.cols, rows: x.rows, from: start, report: report) { generator, body in
            order.shuffle(using: &generator)
            for first in stride(from: 0, to: x.rows, by: batchSize) {
                guard try body(x.gathering(Array(order[first..<min(x.rows, first + batchSize)])), &generator) else { return }
            }
        }
    }

    /// Trains on every row of `reader`'s file each epoch, reading minibatches from disk: memory holds the model,
    /// Adam's moments and the reader's buffer, whatever the file's size.
    public func train(streaming reader: ShuffledRowReader, from start: UnsupervisedSDLGM? = nil,
                      report: (EpochRecord) -> Bool = { _ in true }) throws -> (model: UnsupervisedSDLGM, history: [EpochRecord])
    {
        try train(dimension: reader.cols, rows: reader.rows, from: start, report: report) { generator, body in
            try reader.forEachBatch(size: batchSize, using: &generator, body)
        }
    }

    /// The training loop over the minibatches that `epochBatches` hands to its body, one epoch per call (the body
    /// draws its noise from the generator it is lent, and returns false to end the epoch).
    private func train(dimension: Int, rows: Int, from start: UnsupervisedSDLGM?, report: (EpochRecord) -> Bool,
                       epochBatches: (inout SeededGenerator, (Matrix, inout SeededGenerator) throws -> Bool) throws -> Void) throws
        -> (model: UnsupervisedSDLGM, history: [EpochRecord])
    {
        var generator = SeededGenerator(seed: seed)
        var model: UnsupervisedSDLGM
        if let start {
            model = start
        } else {
            model = UnsupervisedSDLGM(dimension: dimension, latents: latents, maxActive: maxActive, hidden: hidden, decoder: decoder,
                                      likelihood: likelihood, generator: &generator)
        }
        var adam = Adam(learningRate: learningRate)
        let batches = (rows + batchSize - 1) / batchSize
        var history: [EpochRecord] = []
        var step = 0
        for epoch in 0..<epochs {
            let started = Date()
            var sums = UnsupervisedObjective.Terms()
            var processed = 0  // all rows, unless interrupted
            var tau = temperatures.start
            try epochBatches(&generator) { xb, generator in
                processed += xb.rows
                tau = temperature(step: step, total: epochs * batches)
                let klWeight = klWarmup > 0 ? min(1, Double(step + 1) / Double(klWarmup * batches)) : 1
                model.encoder.zeroGradients()
                model.decoder.zeroGradients()
                var gradLogNoiseVariance = 0.0
                for _ in 0..<samples {
                    let noise = UnsupervisedObjective.Noise(points: xb.rows, maxActive: model.maxActive, latents: model.latents,
                                                            generator: &generator)
                    let (terms, _, gradSigma) = UnsupervisedObjective.evaluate(
                        &model, xb, noise: noise, mode: straightThrough ? .straightThrough : .relaxed,
                        levelTemperature: tau, supportTemperature: tau, klWeight: klWeight, accumulateGradients: true)
                    sums.add(terms, weight: 1 / Double(samples))
                    gradLogNoiseVariance += gradSigma
                }
                if samples > 1 {  // the mean over the samples
                    for k in model.encoder.layers.indices { model.encoder.layers[k].scaleGradients(by: 1 / Float(samples)) }
                    for k in model.decoder.layers.indices { model.decoder.layers[k].scaleGradients(by: 1 / Float(samples)) }
                    gradLogNoiseVariance /= Double(samples)
                }
                if model.likelihood == .bernoulli { gradLogNoiseVariance = 0 }
                adam.beginStep(parameterCount: model.encoder.layers.parameterCount + model.decoder.layers.parameterCount + 1)
                var offset = 0
                model.encoder.layers.step(&adam, offset: &offset)
                model.decoder.layers.step(&adam, offset: &offset)
                var logNoiseVariance = [model.logNoiseVariance]
                adam.update(&logNoiseVariance, [Float(gradLogNoiseVariance)], offset: offset)
                model.logNoiseVariance = logNoiseVariance[0]
                step += 1
                return !Interruption.requested
            }
            let n = Double(max(processed, 1))
            let record = EpochRecord(
                epoch: epoch + 1, elbo: sums.elbo / n, logLikelihood: sums.logLikelihood / n, levelKL: sums.levelKL / n,
                supportKL: sums.supportKL / n, valueKL: sums.valueKL / n, meanSquaredError: sums.squaredError / (n * Double(dimension)),
                active: sums.active / n, temperature: tau, sigma2: exp(Double(model.logNoiseVariance)),
                seconds: Date().timeIntervalSince(started))
            guard record.elbo.isFinite else {
                throw SparseKitError.badInput(nil, "training diverged at epoch \(epoch + 1) (ELBO \(record.elbo))")
            }
            history.append(record)
            if !report(record) || Interruption.requested { break }
        }
        return (model, history)
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
}
