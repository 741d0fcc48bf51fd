import DataKit
@testable import Models
import XCTest

/// `MarginalGradient` (`--objective likelihood --m-step adam`): the hand-written gradient of
/// log N(x; 0, W T Wᵀ + σ² I) + Σ_h log Exponential(τ_h; 2λ_h²) against central differences at a fixed τ, and its
/// average over Gibbs draws of τ against the gradient of the quadrature log p(x) (Fisher's identity).
final class MarginalGradientTests: XCTestCase {
    /// f(W, log σ², log λ) at τ, in double precision, as the formula reads (no shared code with the estimate).
    static func scaleMixtureLogDensity(w: [Double], d: Int, h: Int, sigma2: Double, lambda: [Double], tau: [Double],
                                       x: [Double]) -> Double {
        var c = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for i in 0..<d { for j in 0..<d {
            c[i][j] = (0..<h).reduce(i == j ? sigma2 : 0) { $0 + w[i * h + $1] * tau[$1] * w[j * h + $1] }
        } }
        // Cholesky C = L Lᵀ, then log N = −(d/2) log 2π − Σ log L_ii − ½ ‖L⁻¹x‖²
        var l = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for i in 0..<d { for j in 0...i {
            let s = c[i][j] - (0..<j).reduce(0.0) { $0 + l[i][$1] * l[j][$1] }
            l[i][j] = i == j ? s.squareRoot() : s / l[j][j]
        } }
        var y = [Double](repeating: 0, count: d)
        for i in 0..<d { y[i] = (x[i] - (0..<i).reduce(0.0) { $0 + l[i][$1] * y[$1] }) / l[i][i] }
        let gaussian = -Double(d) / 2 * log(2 * .pi) - (0..<d).reduce(0.0) { $0 + log(l[$1][$1]) } - y.reduce(0) { $0 + $1 * $1 } / 2
        let mixing = (0..<h).reduce(0.0) { $0 - log(2 * lambda[$1] * lambda[$1]) - tau[$1] / (2 * lambda[$1] * lambda[$1]) }
        return gaussian + mixing
    }

    /// At the τ a sweep leaves (D = 5, H = 7, σ² = 0.03), every entry of ∂/∂W, ∂/∂log σ² and every ∂/∂log λ_h against
    /// central differences (step 1e-5) of `scaleMixtureLogDensity`, to 1e-6 relative: a missing factor 2, a wrong
    /// sign of C⁻¹ in M or a T applied on the wrong side fails it.
    func testGradientAtFixedScalesMatchesFiniteDifferences() {
        let (d, h) = (5, 7)
        var model = SparseCodingModel(w: randomMatrix(d, h, seed: 21), lambda: (0..<h).map { 0.4 + 0.15 * Float($0) }, sigma2: 0.03)
        model.normalizeColumns()
        let sampler = ScaleMixtureGibbs(model: model)
        let x: [Double] = [0.7, -1.1, 0.2, 0.9, -0.3]
        var z = [Double](repeating: 0.1, count: h)
        var workspace = ScaleMixtureGibbs.Workspace(dimension: d, latents: h)
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<3 { XCTAssertTrue(sampler.sweep(x: x, z: &z, workspace: &workspace, generator: &generator)) }
        let tau = workspace.tau
        var gradient = MarginalGradient(dimension: d, latents: h)
        sampler.addMarginalGradient(x: x, workspace: &workspace, weight: 1, into: &gradient)
        let w = model.w.storage.map(Double.init), lambda = model.lambda.map(Double.init), sigma2 = Double(model.sigma2)
        func f(w: [Double] = w, sigma2: Double = sigma2, lambda: [Double] = lambda) -> Double {
            Self.scaleMixtureLogDensity(w: w, d: d, h: h, sigma2: sigma2, lambda: lambda, tau: tau, x: x)
        }
        let step = 1e-5
        func check(_ estimate: Double, _ plus: Double, _ minus: Double, _ what: String) {
            let exact = (plus - minus) / (2 * step)
            XCTAssertEqual(estimate, exact, accuracy: 1e-6 * max(1, abs(exact)), what)
        }
        for e in w.indices {
            var (up, down) = (w, w)
            up[e] += step
            down[e] -= step
            check(gradient.w[e], f(w: up), f(w: down), "∂/∂W entry \(e)")
        }
        check(gradient.logSigma2, f(sigma2: sigma2 * exp(step)), f(sigma2: sigma2 * exp(-step)), "∂/∂log σ²")
        for j in 0..<h {
            var (up, down) = (lambda, lambda)
            up[j] *= exp(step)
            down[j] *= exp(-step)
            check(gradient.logLambda[j], f(lambda: up), f(lambda: down), "∂/∂log λ_\(j)")
        }
    }

    /// Fisher's identity at the scale-mixture level: on the tiny H = 2 model, the estimate averaged over 16 chains ×
    /// 20,000 sweeps at one point against central differences of the quadrature log p(x) in every entry of W, in
    /// log σ² and in each log λ_h (Monte Carlo error about 0.005 on entries of order 0.1 to 1).
    func testAveragedGradientIsTheGradientOfTheLogLikelihood() {
        let (model, point, x) = LikelihoodTrainingTests.onePointInCopies()
        var chains = Matrix(rows: x.rows, cols: 2)
        let estimate = PosteriorSampleStatistics.sample(x, chains: &chains, model: model, sweeps: LikelihoodTrainingTests.fisherSweeps,
                                                        seed: 7, marginalGradient: true).marginalGradient!
        let step = 1e-3
        func derivative(_ shift: (inout SparseCodingModel, Double) -> Void) -> Double {
            var (up, down) = (model, model)
            shift(&up, step)
            shift(&down, -step)
            let (a, b) = (HeldOutEstimatorTests.quadrature(up, point.map(Double.init)),
                          HeldOutEstimatorTests.quadrature(down, point.map(Double.init)))
            return (a - b) / (2 * step)
        }
        for entry in 0..<6 {
            let exact = derivative { $0.w.storage[entry] += Float($1) }
            XCTAssertEqual(estimate.w[entry], exact, accuracy: 0.02 + 0.02 * abs(exact), "∂ log p(x)/∂W entry \(entry)")
        }
        let noise = derivative { $0.sigma2 *= Float(exp($1)) }
        XCTAssertEqual(estimate.logSigma2, noise, accuracy: 0.02 + 0.02 * abs(noise), "∂ log p(x)/∂log σ²")
        for j in 0..<2 {
            let exact = derivative { $0.lambda[j] *= Float(exp($1)) }
            XCTAssertEqual(estimate.logLambda[j], exact, accuracy: 0.03 + 0.02 * abs(exact), "∂ log p(x)/∂log λ_\(j)")
        }
    }
}
