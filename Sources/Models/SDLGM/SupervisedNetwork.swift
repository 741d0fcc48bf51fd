import DataKit
import Foundation

/// The network of supervised SDLGM (`sdlgm.md`, "Supervised multi-label model"): a shared MLP of the sparse
/// features x, SparseLinear(F → H₁) then Linear + ReLU layers, and two heads, the level logits h_L(x) (L0 values,
/// p(L | x) = softmax) and the label scores h_S(x) (C values, the Plackett–Luce scores of p(S | x, L)). With no
/// hidden sizes and no level head it is the one-vs-all baseline: label scores x W + b.
public struct SupervisedNetwork: Sendable {
    public var input: SparseLinear
    public var hidden: [Linear]
    public var levelHead: Linear?
    public var labelHead: Linear?

    /// `hidden` sizes H₁, H₂, … (empty: the input layer maps straight to the C label scores, one-vs-all).
    public init(features: Int, labels: Int, hidden sizes: [Int], maxActive: Int?, typicalNonZeros: Int,
                generator: inout SeededGenerator) {
        input = SparseLinear(inputs: features, outputs: sizes.first ?? labels, typicalNonZeros: typicalNonZeros,
                             generator: &generator)
        hidden = zip(sizes, sizes.dropFirst()).map { Linear(inputs: $0, outputs: $1, generator: &generator) }
        if let last = sizes.last {
            labelHead = Linear(inputs: last, outputs: labels, generator: &generator, gain: 0.5)
            if let maxActive { levelHead = Linear(inputs: last, outputs: maxActive, generator: &generator, gain: 0.5) }
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
            for i in 0..<activation.rows {
                for j in 0..<activation.cols { mask[i, j] = s[i].uniform() >= rate ? keep : 0 }
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
        return (levelHead?.forward(post.last!), labelHead.forward(post.last!),
                Cache(x: x, preActivations: pre, activations: post, masks: masks))
    }

    /// Accumulates every layer's gradient from ∂/∂(level logits) and ∂/∂(label scores).
    public mutating func backward(_ cache: Cache, gradLevel: Matrix?, gradLabels: Matrix) {
        guard labelHead != nil else { input.backward(cache.x, gradLabels); return }
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

    /// All weights and biases as one buffer, and back.
    public var parameters: [Float] {
        get { input.weight.storage + input.bias + denseLayers.flatMap { $0.weight.storage + $0.bias } }
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
        }
    }

    /// The accumulated gradients in the order of `parameters`, and back (the sum over the ranks of an MPI job).
    public var gradients: [Float] {
        get {
            var all = [Float]()
            all.reserveCapacity(input.weight.storage.count + input.bias.count + denseLayers.parameterCount + 8)  // + 8: sums may ride along
            all.append(contentsOf: input.weightGradient.storage)
            all.append(contentsOf: input.biasGradient)
            for layer in denseLayers {
                all.append(contentsOf: layer.weightGradient.storage)
                all.append(contentsOf: layer.biasGradient)
            }
            return all
        }
        set {
            let (w, b) = (input.weightGradient.storage.count, input.biasGradient.count)
            input.weightGradient.storage = Array(newValue[0..<w])
            input.biasGradient = Array(newValue[w..<(w + b)])
            var dense = denseLayers
            dense.gradients = Array(newValue[(w + b)...])
            denseLayers = dense
        }
    }

    /// One Adam step over every weight and bias in place, the pieces at their offsets in `parameters`.
    public mutating func step(_ adam: inout Adam) {
        adam.beginStep(parameterCount: input.weight.storage.count + input.bias.count + denseLayers.parameterCount)
        adam.update(&input.weight.storage, input.weightGradient.storage, offset: 0)
        adam.update(&input.bias, input.biasGradient, offset: input.weight.storage.count)
        var offset = input.weight.storage.count + input.bias.count
        var dense = denseLayers
        dense.step(&adam, offset: &offset)
        denseLayers = dense
    }

    /// Decoupled weight decay (Loshchilov & Hutter 2019, AdamW): every weight, not the biases, shrinks by the factor
    /// 1 − `rate` before Adam's step (rate = learning rate × decay).
    public mutating func decayWeights(_ rate: Float) {
        guard rate > 0 else { return }
        let factor = 1 - rate
        for k in input.weight.storage.indices { input.weight.storage[k] *= factor }
        denseLayers = denseLayers.map { layer in
            var layer = layer
            for k in layer.weight.storage.indices { layer.weight.storage[k] *= factor }
            return layer
        }
    }

    public mutating func zeroGradients() {
        input.zeroGradients()
        denseLayers = denseLayers.map { var layer = $0; layer.zeroGradients(); return layer }
    }
}
