import DataKit
@testable import Models
import CKernels
import XCTest

/// Finite-difference checks of every hand-written backward pass: with the loss Σ y ∘ c for a fixed random c,
/// dY = c, and each analytical gradient must match central differences of the loss (`FiniteDifference`).
final class NetworkTests: XCTestCase {
    func loss(_ y: Matrix, _ c: Matrix) -> Double { zip(y.storage, c.storage).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    /// The allowed error at most `relative` of the derivative, measured against 0.1 when it is smaller.
    func tolerance(_ relative: Double) -> FiniteDifference.Tolerance { .relative(relative, floor: 0.1) }

    func testLinearGradients() {
        var g = SeededGenerator(seed: 1)
        var layer = Linear(inputs: 4, outputs: 3, generator: &g)
        layer.bias = [0.1, -0.2, 0.3]
        let x = randomMatrix(5, 4, using: &g)
        let c = randomMatrix(5, 3, using: &g)
        let dx = layer.backward(x, c)
        let (dW, db) = (layer.weightGradient.storage, layer.biasGradient)
        FiniteDifference.check(layer, \.weight.storage, analyticGradient: dW, step: 1e-2, tolerance: tolerance(1e-3)) { loss($0.forward(x), c) }
        FiniteDifference.check(layer, \.bias, analyticGradient: db, step: 1e-2, tolerance: tolerance(1e-3)) { loss($0.forward(x), c) }
        FiniteDifference.check(x, \.storage, analyticGradient: dx.storage, step: 1e-2, tolerance: tolerance(1e-3)) { loss(layer.forward($0), c) }
    }

    func testActivationDerivatives() {
        var g = SeededGenerator(seed: 2)
        for activation in Activation.allCases {
            var x = randomMatrix(4, 6, scale: 2, using: &g)
            for i in x.storage.indices where abs(x.storage[i]) < 0.05 { x.storage[i] += 0.2 }  // ReLU's kink
            let c = randomMatrix(4, 6, using: &g)
            let dx = activation.backward(x, c)
            FiniteDifference.check(x, \.storage, analyticGradient: dx.storage, step: 1e-3, tolerance: tolerance(2e-3), "\(activation)") {
                loss(activation.forward($0), c)
            }
        }
        XCTAssertEqual(Activation.softplus.value(100), 100, accuracy: 1e-9, "no overflow")
        XCTAssertEqual(Activation.gelu.value(1), 0.8413447460685429, accuracy: 1e-12, "GELU(1) = Φ(1)")
    }

    func testResidualBlockGradients() {
        var g = SeededGenerator(seed: 3)
        var block = ResidualBlock(width: 4, hidden: 6, activation: .gelu, generator: &g)
        block.first.bias = (0..<6).map { Float($0) * 0.1 - 0.3 }
        let x = randomMatrix(3, 4, using: &g)
        let c = randomMatrix(3, 4, using: &g)
        let (_, cache) = block.forward(x)
        let dx = block.backward(cache, c)
        let (dW1, dW2) = (block.first.weightGradient.storage, block.second.weightGradient.storage)
        let (db1, db2) = (block.first.biasGradient, block.second.biasGradient)
        FiniteDifference.check(x, \.storage, analyticGradient: dx.storage, step: 1e-3, tolerance: tolerance(2e-3)) { loss(block.forward($0).0, c) }
        for (analytic, parameters) in [(dW1, \ResidualBlock.first.weight.storage), (dW2, \.second.weight.storage),
                                       (db1, \.first.bias), (db2, \.second.bias)] {
            FiniteDifference.check(block, parameters, analyticGradient: analytic, step: 1e-3, tolerance: tolerance(2e-3), "\(parameters)") {
                loss($0.forward(x).0, c)
            }
        }
    }

    func testAdamFirstStepAndConvergence() {
        // First step: m̂ = g, v̂ = g², so θ moves by lr · g/(|g| + ε) = lr · sign(g).
        var adam = Adam(learningRate: 0.1)
        var theta: [Float] = [1, -2, 0.5]
        adam.update(&theta, [4, -0.001, 0])
        XCTAssertEqual(theta[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(theta[1], -1.9, accuracy: 1e-4)
        XCTAssertEqual(theta[2], 0.5, accuracy: 1e-7, "zero gradient, no move")
        // A badly scaled quadratic ½ Σ c_i (θ_i − i)² reaches its minimum.
        var optimizer = Adam(learningRate: 0.05)
        var p = [Float](repeating: 0, count: 5)
        let curvature: [Float] = [0.01, 0.1, 1, 10, 100]
        for _ in 0..<3000 {
            let gradient = (0..<5).map { curvature[$0] * (p[$0] - Float($0)) }
            optimizer.update(&p, gradient)
        }
        for i in 0..<5 { XCTAssertEqual(p[i], Float(i), accuracy: 0.05) }
    }

    /// The eight-lane update over a vector held in two pieces (lengths not multiples of 8) follows the textbook
    /// update, computed here in double precision with the bias corrections, for several steps.
    func testAdamPiecesMatchTextbookUpdate() {
        var g = SeededGenerator(seed: 5)
        let n = [13, 29]
        var pieces = n.map { count in (0..<count).map { _ in Float.random(in: -1...1, using: &g) } }
        var theta = pieces.flatMap { $0 }.map(Double.init), m = [Double](repeating: 0, count: 42), v = m
        var adam = Adam(learningRate: 0.01)
        for t in 1...6 {
            let gradients = n.map { count in (0..<count).map { _ in Float.random(in: -2...2, using: &g) } }
            adam.beginStep(parameterCount: 42)
            adam.update(&pieces[0], gradients[0], offset: 0)
            adam.update(&pieces[1], gradients[1], offset: 13)
            for (i, gi) in gradients.flatMap({ $0 }).map(Double.init).enumerated() {
                m[i] = 0.9 * m[i] + 0.1 * gi
                v[i] = 0.999 * v[i] + 0.001 * gi * gi
                let (mHat, vHat) = (m[i] / (1 - pow(0.9, Double(t))), v[i] / (1 - pow(0.999, Double(t))))
                theta[i] -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        for (i, value) in pieces.flatMap({ $0 }).enumerated() { XCTAssertEqual(Double(value), theta[i], accuracy: 1e-5) }
    }

    /// The dispatched Adam kernel (AVX where the CPU has it) and the one-lane one agree bit for bit, tail included,
    /// with and without a gradient.
    func testAdamKernelPathsAgreeBitForBit() {
        var g = SeededGenerator(seed: 12)
        let n = 37
        func random(_ scale: Float) -> [Float] { (0..<n).map { _ in Float(g.normal()) * scale } }
        let gradient = random(3)
        var (theta, m, v) = (random(1), random(0.1), random(0.01).map { $0 * $0 })
        var (theta2, m2, v2) = (theta, m, v)
        for withGradient in [true, false] {
            gradient.withUnsafeBufferPointer { grad in
                let pointer = withGradient ? grad.baseAddress : nil
                sk_adam_update(&theta, pointer, &m, &v, n, 0.9, 0.999, 0.01, 1e-8)
                sk_adam_update_portable(&theta2, pointer, &m2, &v2, n, 0.9, 0.999, 0.01, 1e-8)
            }
            XCTAssertEqual(theta.map(\.bitPattern), theta2.map(\.bitPattern))
            XCTAssertEqual(m.map(\.bitPattern) + v.map(\.bitPattern), m2.map(\.bitPattern) + v2.map(\.bitPattern))
        }
    }

    /// The amortized encoder (diagonal, and with a low-rank head): loss Σ a∘μ + Σ b∘s (+ Σ c∘U), every weight and
    /// bias checked against central differences.
    func testGaussianEncoderGradients() {
        for rank in [0, 2] {
            var g = SeededGenerator(seed: 11)
            var encoder = GaussianEncoder(dimension: 3, latents: 2, rank: rank, generator: &g)
            let x = randomMatrix(4, 3, using: &g)
            let (a, b, c) = (randomMatrix(4, 2, using: &g), randomMatrix(4, 2, using: &g), randomMatrix(4, 2 * rank, using: &g))
            func total(_ output: GaussianEncoder.Output) -> Double {
                loss(output.mu, a) + loss(output.scale, b) + (output.factors.map { loss($0, c) } ?? 0)
            }
            let (_, cache) = encoder.forward(x)
            encoder.zeroGradients()
            encoder.backward(cache, gradMu: a, gradScale: b, gradFactors: rank > 0 ? c : nil)
            let analytic = encoder.gradients
            FiniteDifference.check(encoder, \.parameters, analyticGradient: analytic, step: 1e-3, tolerance: tolerance(1e-2), "rank \(rank)") {
                total($0.forward(x).output)
            }
            XCTAssertEqual(analytic.count, encoder.parameters.count)
            XCTAssertEqual(encoder.rank, rank)
            let s = encoder.forward(randomMatrix(50, 3, scale: 5, using: &g)).output.scale
            XCTAssertTrue(s.storage.allSatisfy { $0 >= GaussianEncoder.minimumScale }, "s = softplus(·) + 10⁻³ > 0")
        }
    }
}
