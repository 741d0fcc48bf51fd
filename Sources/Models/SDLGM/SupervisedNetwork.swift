import DataKit
import Foundation

/// The network of supervised SDLGM (`sdlgm.md`, "Supervised multi-label model"): a shared MLP of the sparse
/// features x, SparseLinear(F → H₁) then Linear + ReLU layers, and two heads, the level logits h_L(x) (L0 values,
/// p(L | x) = softmax) and the label scores h_S(x) (C values, the Plackett–Luce scores of p(S | x, L)). With no
/// hidden sizes and no level head it is the one-vs-all baseline: label scores x W + b.
///
/// The optional wide path (wide & deep, Cheng et al. 2016) adds a linear map of the same (scaled) features to the
/// label scores, h_S(x) = head(MLP(x)) + x V + c, so that the scores' model class contains every linear scorer (the
/// one-vs-rest logistic regression's among them). It belongs to the label scores only: they are the Plackett–Luce
/// scores from which the sparse support S is drawn and ranked, while p(L | x), how many labels, stays the MLP's.
public struct SupervisedNetwork: Sendable {
    public var input: SparseLinear
    public var hidden: [Linear]
    public var levelHead: Linear?
    public var labelHead: Linear?
    /// The wide path, F × C (nil: none). It starts at zero, so a fresh network scores as the MLP alone.
    public var wide: SparseLinear?

    /// `hidden` sizes H₁, H₂, … (empty: the input layer maps straight to the C label scores, one-vs-all); `wide`
    /// adds the wide path (with hidden layers only; it draws nothing from `generator`).
    public init(features: Int, labels: Int, hidden sizes: [Int], maxActive: Int?, typicalNonZeros: Int, wide: Bool = false,
                generator: inout SeededGenerator) {
        input = SparseLinear(inputs: features, outputs: sizes.first ?? labels, typicalNonZeros: typicalNonZeros,
                             generator: &generator)
        hidden = zip(sizes, sizes.dropFirst()).map { Linear(inputs: $0, outputs: $1, generator: &generator) }
        if let last = sizes.last {
            labelHead = Linear(inputs: last, outputs: labels, generator: &generator, gain: 0.5)
            if let maxActive { levelHead = Linear(inputs: last, outputs: maxActive, generator: &generator, gain: 0.5) }
            if wide { self.wide = SparseLinear(weight: Matrix(rows: features, cols: labels), bias: [Float](repeating: 0, count: labels)) }
        }
    }

    public var labels: Int { labelHead?.outputs ?? input.outputs }

    /// What the backward pass needs: the input batch, every layer's pre-activation and (dropped-out) activation, and
    /// the dropout masks (empty without dropout).
    public struct Cache: Sendable {
        var x: CSRMatrix
        var preActivations: [Matrix]
        var activations: [Matrix]
        var masks: [Matrix] = []
    }

    /// Level logits (B × L0, if there is a level head) and label scores (B × C).
    public func forward(_ x: CSRMatrix) -> (levelLogits: Matrix?, labelScores: Matrix, cache: Cache) {
        forward(x, mask: nil)
    }

    /// The training forward pass with dropout (Srivastava et al. 2014) on every hidden activation: each unit of each
    /// point is zeroed with probability `rate` and the others scaled by 1 / (1 − rate), point i's masks drawn from
    /// `streams[i]` (layer after layer) and kept for the backward pass. `rate` 0 is `forward(_:)` and draws nothing.
    public func forward(_ x: CSRMatrix, hiddenDropout rate: Double, streams: inout PointStreams)
        -> (levelLogits: Matrix?, labelScores: Matrix, cache: Cache)
    {
        precondition(streams.count == x.rows, "forward: one stream per row")
        guard rate > 0 else { return forward(x) }
        let keep = Float(1 / (1 - rate))
        var s = streams
        defer { streams = s }
        return forward(x) { activation in
            var mask = Matrix(rows: activation.rows, cols: activation.cols)
            let cols = activation.cols
            mask.storage.withUnsafeMutableBufferPointer { m in
                for i in 0..<activation.rows {
                    var generator = s[i]  // row i's stream, drawn from in place, then put back
                    for j in 0..<cols { m[i * cols + j] = generator.uniform() >= rate ? keep : 0 }
                    s[i] = generator
                }
            }
            return mask
        }
    }

    /// The forward pass; `mask`, when given, makes each hidden activation's dropout mask (multiplied in).
    private func forward(_ x: CSRMatrix, mask: ((Matrix) -> Matrix)?) -> (levelLogits: Matrix?, labelScores: Matrix, cache: Cache) {
        let first = input.forward(x)
        guard let labelHead else { return (nil, first, Cache(x: x, preActivations: [], activations: [])) }
        var pre = [first], post: [Matrix] = [], masks: [Matrix] = []
        func activate(_ z: Matrix) {
            var a = Activation.relu.forward(z)
            if let mask {
                let m = mask(a)
                for i in a.storage.indices { a.storage[i] *= m.storage[i] }
                masks.append(m)
            }
            post.append(a)
        }
        activate(first)
        for layer in hidden {
            pre.append(layer.forward(post.last!))
            activate(pre.last!)
        }
        var scores = labelHead.forward(post.last!)
        if let wide {
            let linear = wide.forward(x)
            for i in scores.storage.indices { scores.storage[i] += linear.storage[i] }
        }
        return (levelHead?.forward(post.last!), scores, Cache(x: x, preActivations: pre, activations: post, masks: masks))
    }

    /// Accumulates every layer's gradient from ∂/∂(level logits) and ∂/∂(label scores).
    public mutating func backward(_ cache: Cache, gradLevel: Matrix?, gradLabels: Matrix) {
        guard labelHead != nil else { input.backward(cache.x, gradLabels); return }
        wide?.backward(cache.x, gradLabels)
        let features = cache.activations.last!
        var d = labelHead!.backward(features, gradLabels)
        if let gradLevel, levelHead != nil {
            let fromLevel = levelHead!.backward(features, gradLevel)
            for i in d.storage.indices { d.storage[i] += fromLevel.storage[i] }
        }
        /// ∂/∂(layer k's ReLU output) from ∂/∂(its dropped-out activation): the mask, when there is one.
        func undrop(_ d: Matrix, _ k: Int) -> Matrix {
            guard k < cache.masks.count else { return d }
            var d = d
            for i in d.storage.indices { d.storage[i] *= cache.masks[k].storage[i] }
            return d
        }
        for k in hidden.indices.reversed() {
            d = Activation.relu.backward(cache.preActivations[k + 1], undrop(d, k + 1))
            d = hidden[k].backward(cache.activations[k], d)
        }
        input.backward(cache.x, Activation.relu.backward(cache.preActivations[0], undrop(d, 0)))
    }

    /// The dense layers in order (hidden, label head, level head).
    var denseLayers: [Linear] {
        get { hidden + (labelHead.map { [$0] } ?? []) + (levelHead.map { [$0] } ?? []) }
        set {
            hidden = Array(newValue[0..<hidden.count])
            if labelHead != nil { labelHead = newValue[hidden.count] }
            if levelHead != nil { levelHead = newValue[hidden.count + 1] }
        }
    }

    /// The wide path's weights and biases (none without it), after every other parameter.
    private var wideCount: Int { wide.map { $0.weight.storage.count + $0.bias.count } ?? 0 }

    /// All weights and biases as one buffer, and back: the input layer, the dense layers, the wide path.
    public var parameters: [Float] {
        get {
            input.weight.storage + input.bias + denseLayers.flatMap { $0.weight.storage + $0.bias }
                + (wide.map { $0.weight.storage + $0.bias } ?? [])
        }
        set {
            var offset = 0
            func take(_ count: Int) -> [Float] { defer { offset += count }; return Array(newValue[offset..<(offset + count)]) }
            input.weight.storage = take(input.weight.storage.count)
            input.bias = take(input.bias.count)
            denseLayers = denseLayers.map { layer in
                var layer = layer
                layer.weight.storage = take(layer.weight.storage.count)
                layer.bias = take(layer.bias.count)
                return layer
            }
            if wide != nil {
                wide!.weight.storage = take(wide!.weight.storage.count)
                wide!.bias = take(wide!.bias.count)
            }
        }
    }

    /// The accumulated gradients in the order of `parameters`, and back (the sum over the ranks of an MPI job).
    public var gradients: [Float] {
        get {
            var all = [Float]()
            all.reserveCapacity(input.weight.storage.count + input.bias.count + denseLayers.parameterCount + wideCount + 8)  // + 8: sums may ride along
            all.append(contentsOf: input.weightGradient.storage)
            all.append(contentsOf: input.biasGradient)
            for layer in denseLayers {
                all.append(contentsOf: layer.weightGradient.storage)
                all.append(contentsOf: layer.biasGradient)
            }
            if let wide {
                all.append(contentsOf: wide.weightGradient.storage)
                all.append(contentsOf: wide.biasGradient)
            }
            return all
        }
        set {
            let (w, b) = (input.weightGradient.storage.count, input.biasGradient.count)
            input.weightGradient.storage = Array(newValue[0..<w])
            input.biasGradient = Array(newValue[w..<(w + b)])
            var dense = denseLayers
            let end = newValue.count - wideCount
            dense.gradients = Array(newValue[(w + b)..<end])
            denseLayers = dense
            if wide != nil {
                let v = wide!.weightGradient.storage.count
                wide!.weightGradient.storage = Array(newValue[end..<(end + v)])
                wide!.biasGradient = Array(newValue[(end + v)...])
            }
        }
    }

    /// One Adam step over every weight and bias in place, the pieces at their offsets in `parameters`; the wide
    /// path's learning rate is Adam's times `wideRateScale`.
    public mutating func step(_ adam: inout Adam, wideRateScale: Float = 1) {
        adam.beginStep(parameterCount: input.weight.storage.count + input.bias.count + denseLayers.parameterCount + wideCount)
        adam.update(&input.weight.storage, input.weightGradient.storage, offset: 0)
        adam.update(&input.bias, input.biasGradient, offset: input.weight.storage.count)
        var offset = input.weight.storage.count + input.bias.count
        var dense = denseLayers
        dense.step(&adam, offset: &offset)
        denseLayers = dense
        if wide != nil {
            adam.update(&wide!.weight.storage, wide!.weightGradient.storage, offset: offset, rateScale: wideRateScale)
            adam.update(&wide!.bias, wide!.biasGradient, offset: offset + wide!.weight.storage.count, rateScale: wideRateScale)
        }
    }

    /// Decoupled weight decay (Loshchilov & Hutter 2019, AdamW): every weight, not the biases, shrinks by the factor
    /// 1 − `rate` before Adam's step (rate = learning rate × decay).
    public mutating func decayWeights(_ rate: Float) {
        guard rate > 0 else { return }
        let factor = 1 - rate
        for k in input.weight.storage.indices { input.weight.storage[k] *= factor }
        if wide != nil { for k in wide!.weight.storage.indices { wide!.weight.storage[k] *= factor } }
        denseLayers = denseLayers.map { layer in
            var layer = layer
            for k in layer.weight.storage.indices { layer.weight.storage[k] *= factor }
            return layer
        }
    }

    public mutating func zeroGradients() {
        input.zeroGradients()
        wide?.zeroGradients()
        denseLayers = denseLayers.map { var layer = $0; layer.zeroGradients(); return layer }
    }
}
