import CKernels
import Foundation

/// Adam (Kingma & Ba 2015) over one parameter vector: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − lr · m̂ / (√v̂ + ε) with the bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). Minimises.
///
/// The moments are single precision (as PyTorch keeps them), and the step is taken in its equivalent form
/// θ ← θ − α_t m / (√v + ε̂_t), α_t = lr √(1−β₂ᵗ)/(1−β₁ᵗ), ε̂_t = ε √(1−β₂ᵗ), in one vectorizable pass. The vector
/// may be held in pieces (the weight and bias buffers of a network's layers): `beginStep` once per step, then
/// `update(_:_:offset:)` for each piece at its offset in the whole.
public struct Adam: Sendable {
    public var learningRate: Double
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    private var m: [Float] = []
    private var v: [Float] = []
    public private(set) var step = 0
    private var stepSize: Float = 0
    private var scaledEpsilon: Float = 0

    public init(learningRate: Double = 1e-3) { self.learningRate = learningRate }

    /// What a later run needs to continue exactly where this one stopped: both moments and the step count t.
    public struct Moments: Sendable, Equatable {
        public var m: [Float]
        public var v: [Float]
        public var step: Int

        public init(m: [Float], v: [Float], step: Int) {
            (self.m, self.v, self.step) = (m, v, step)
        }
    }

    /// The moments and step count so far (empty before the first step).
    public var moments: Moments {
        get { Moments(m: m, v: v, step: step) }
        set {
            precondition(newValue.m.count == newValue.v.count && newValue.step >= 0, "Adam: inconsistent moments")
            (m, v, step) = (newValue.m, newValue.v, newValue.step)
        }
    }

    /// One update of `parameters` along the gradient `gradient` (same length, the same buffer every call).
    public mutating func update(_ parameters: inout [Float], _ gradient: [Float]) {
        precondition(parameters.count == gradient.count, "Adam: gradient and parameters differ in length")
        beginStep(parameterCount: parameters.count)
        update(&parameters, gradient, offset: 0)
    }

    /// Starts step t + 1 of a vector of `parameterCount` values (zeroing the moments if the count changed).
    public mutating func beginStep(parameterCount: Int) {
        if m.count != parameterCount {
            m = [Float](repeating: 0, count: parameterCount)
            v = m
            step = 0
        }
        step += 1
        let correction1 = 1 - pow(beta1, Double(step)), correction2 = 1 - pow(beta2, Double(step))
        stepSize = Float(learningRate * correction2.squareRoot() / correction1)
        scaledEpsilon = Float(epsilon * correction2.squareRoot())
    }

    /// Updates the piece `parameters` of the vector, which starts at `offset` in it, along its `gradient`, by
    /// `CKernels`' sk_adam_update: eight lanes at a time with AVX (the Swift loop had not vectorized, for sqrt's
    /// domain check, and a SIMD8 version compiled to 128-bit SSE). Splitting the pass over two cores measured no
    /// faster, and neither did making a sparse layer's gradient row by row inside the update instead of storing it.
    /// `rateScale` multiplies the learning rate for this piece (a layer that learns at its own rate).
    public mutating func update(_ parameters: inout [Float], _ gradient: [Float], offset: Int, rateScale: Float = 1) {
        precondition(parameters.count == gradient.count && offset + parameters.count <= m.count, "Adam: piece out of range")
        guard !parameters.isEmpty else { return }
        let (b1, b2, alpha, eps) = (Float(beta1), Float(beta2), stepSize * rateScale, scaledEpsilon)
        parameters.withUnsafeMutableBufferPointer { theta in
            gradient.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        sk_adam_update(theta.baseAddress!, g.baseAddress!, m.baseAddress! + offset, v.baseAddress! + offset,
                                       theta.count, b1, b2, alpha, eps)
                    }
                }
            }
        }
    }
}
