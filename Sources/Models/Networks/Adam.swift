import Foundation

/// Adam (Kingma & Ba 2015) over one parameter buffer: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − lr · m̂ / (√v̂ + ε) with the bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). Minimises.
public struct Adam: Sendable {
    public var learningRate: Double
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    private var m: [Double] = []
    private var v: [Double] = []
    public private(set) var step = 0

    public init(learningRate: Double = 1e-3) { self.learningRate = learningRate }

    /// One update of `parameters` along the gradient `gradient` (same length, the same buffer every call).
    public mutating func update(_ parameters: inout [Float], _ gradient: [Float]) {
        precondition(parameters.count == gradient.count, "Adam: gradient and parameters differ in length")
        if m.count != parameters.count {
            m = [Double](repeating: 0, count: parameters.count)
            v = m
            step = 0
        }
        step += 1
        let correction1 = 1 - pow(beta1, Double(step)), correction2 = 1 - pow(beta2, Double(step))
        for i in parameters.indices {
            let g = Double(gradient[i])
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            parameters[i] -= Float(learningRate * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + epsilon))
        }
    }
}
