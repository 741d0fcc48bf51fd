import DataKit
import Foundation

/// Unsupervised SDLGM models in the contract's layout (`formats.md`, "Models"): attributes `model` = `sdlgm`,
/// `mode` = `unsupervised`, `max_active` (L0), `latents` (K), `likelihood`, `decoder`; the encoder's layers at
/// `/model/encoder/layer<k>/{weight,bias}` (weight out × in), the decoder's at `/model/decoder/layer<k>/…`,
/// `/model/log_sigma2` (scalar); `/history/objective` (the training ELBO per point) and the other columns of
/// `UnsupervisedTrainer.EpochRecord`.
extension UnsupervisedSDLGM: TrainedModel {
    public var modelKind: ModelKind { .unsupervisedSDLGM }

    /// The log σ² a model file may hold: σ² from 10⁻²⁶ to 10²⁶, where the Gaussian likelihood of rows within the
    /// readers' value bound stays finite (a log σ² of 10³⁰ turned every ELBO into NaN).
    public static let logNoiseVarianceRange: ClosedRange<Float> = -60...60

    /// Writes the layers, log σ² and the attributes that describe the model.
    public func write(to file: HDF5File) throws {
        try file.createGroup("/model")
        for (name, network) in [("encoder", encoder), ("decoder", decoder)] {
            for (k, layer) in network.layers.enumerated() {
                try file.write(layer.weight, to: "/model/\(name)/layer\(k)/weight")
                try file.write(layer.bias, shape: [layer.bias.count], to: "/model/\(name)/layer\(k)/bias")
            }
        }
        try file.write([logNoiseVariance], shape: [], to: "/model/log_sigma2")
        try file.setAttribute("model", .string("sdlgm"))
        try file.setAttribute("mode", .string("unsupervised"))
        try file.setAttribute("max_active", .int(maxActive))
        try file.setAttribute("latents", .int(latents))
        try file.setAttribute("likelihood", .string(likelihood.rawValue))
        try file.setAttribute("decoder", .string(decoderKind.rawValue))
    }

    /// Whether a model file holds an unsupervised SDLGM model.
    public static func isUnsupervised(_ file: HDF5File) throws -> Bool {
        try file.attribute("model")?.stringValue == "sdlgm" && file.attribute("mode")?.stringValue == "unsupervised"
    }

    /// Reads a model written by `write`, checking that the layers fit together.
    public static func read(from file: HDF5File) throws -> UnsupervisedSDLGM {
        try file.requireKind(.model)
        guard try isUnsupervised(file), case .int(let maxActive)? = try file.attribute("max_active"),
              let name = try file.attribute("likelihood")?.stringValue, let likelihood = Likelihood(rawValue: name)
        else { throw SparseKitError.badInput(file.path, "is not an unsupervised SDLGM model (attributes model, mode, max_active, likelihood)") }
        func network(_ name: String) throws -> MLP {
            var layers: [Linear] = []
            while file.kind(of: "/model/\(name)/layer\(layers.count)") == .group {
                let group = "/model/\(name)/layer\(layers.count)"
                let weight = try file.readMatrix(group + "/weight")
                let (bias, _) = try file.read(group + "/bias", as: Float.self)
                guard bias.count == weight.rows, weight.isFinite, bias.allSatisfy(\.isFinite) else {
                    throw SparseKitError.badInput(file.path, "\(group): bias and weight differ in size or are not finite")
                }
                if let previous = layers.last, previous.outputs != weight.cols {
                    throw SparseKitError.badInput(file.path, "\(group) takes \(weight.cols) inputs, the layer before gives \(previous.outputs)")
                }
                layers.append(Linear(weight: weight, bias: bias))
            }
            guard !layers.isEmpty else { throw SparseKitError.badInput(file.path, "has no /model/\(name)/layer0") }
            return MLP(layers: layers)
        }
        let (encoder, decoder) = (try network("encoder"), try network("decoder"))
        let (logSigma2, logSigma2Shape) = try file.read("/model/log_sigma2", as: Float.self)
        func bad(_ problem: String) -> SparseKitError { .badInput(file.path, problem) }
        let (dimension, latents) = (encoder.inputs, decoder.inputs)
        guard decoder.outputs == dimension else {
            throw bad("/model/decoder gives \(decoder.outputs) values but /model/encoder takes \(dimension)")
        }
        guard maxActive >= 1, maxActive <= latents else {
            throw bad("attribute max_active = \(maxActive) is outside 1...\(latents), the latents /model/decoder takes")
        }
        if let stored = try file.attribute("latents"), stored.intValue != latents {
            throw bad("attribute latents = \(stored) but /model/decoder takes \(latents) latents")
        }
        guard encoder.outputs == maxActive + 3 * latents else {
            throw bad("/model/encoder gives \(encoder.outputs) values, expected max_active + 3 × latents = \(maxActive + 3 * latents)")
        }
        guard logSigma2Shape.isEmpty || logSigma2Shape == [1], let logSigma2 = logSigma2.first,
              UnsupervisedSDLGM.logNoiseVarianceRange.contains(logSigma2)
        else {
            throw bad("/model/log_sigma2 must be one value in \(UnsupervisedSDLGM.logNoiseVarianceRange) (found \(logSigma2) "
                + "of shape \(logSigma2Shape))")
        }
        return UnsupervisedSDLGM(encoder: encoder, decoder: decoder, logNoiseVariance: logSigma2, maxActive: maxActive,
                                 likelihood: likelihood)
    }
}

extension UnsupervisedTrainer.EpochRecord: HistoryColumns {
    /// The `/history/<name>` datasets and the fields they hold.
    public static var columns: [(String, WritableKeyPath<Self, Double>)] { [
        ("objective", \.elbo), ("log_likelihood", \.logLikelihood), ("level_kl", \.levelKL), ("support_kl", \.supportKL),
        ("value_kl", \.valueKL), ("mean_squared_error", \.meanSquaredError), ("active", \.active),
        ("temperature", \.temperature), ("sigma2", \.sigma2), ("seconds", \.seconds),
    ] }

    public init(blankEpoch epoch: Int) {
        self.init(epoch: epoch, elbo: 0, logLikelihood: 0, levelKL: 0, supportKL: 0, valueKL: 0, meanSquaredError: 0, active: 0,
                  temperature: 0, sigma2: 0, seconds: 0)
    }
}
