import DataKit
@testable import Models
import XCTest

/// Finite-difference checks in double precision. The objectives run in float32 with BLAS; here each one is written
/// again from the formulas of `es-sc.md` in plain double-precision loops (independent of the production code), its
/// value checked against the production value, and central differences of it (step 1e-6) compared with the
/// production's analytical gradients, to a tolerance set by float32 arithmetic (relative 2e-3) rather than by the
/// finite differences.
final class DoublePrecisionGradientTests: XCTestCase {
    /// L_β per point for data x (N × D), W (D × H), means μ (N × H) and covariances Σ_n (H × H each), with σ² and λ
    /// at their closed forms: the definition, straight from the doc.
    static func entropyObjective(x: [[Double]], w: [[Double]], mu: [[Double]], sigma: [[[Double]]],
                                 weights: EntropyWeights = .one) -> Double {
        let (n, d, h) = (x.count, w.count, w[0].count)
        var squares = 0.0, logDet = 0.0
        var lambda = [Double](repeating: 0, count: h)
        for p in 0..<n {
            for j in 0..<d {
                var r = x[p][j]
                for c in 0..<h { r -= w[j][c] * mu[p][c] }
                squares += r * r
            }
            for a in 0..<h { for b in 0..<h { for j in 0..<d { squares += w[j][a] * sigma[p][a][b] * w[j][b] } } }  // tr(WᵀW Σ)
            logDet += choleskyLogDet(sigma[p])
            for c in 0..<h {
                let (m, s) = (mu[p][c], sigma[p][c][c].squareRoot())
                lambda[c] += (s * (2 / Double.pi).squareRoot() * exp(-m * m / (2 * s * s)) + m * erf(m / (2.0.squareRoot() * s))) / Double(n)
            }
        }
        let sigma2 = squares / Double(n * d)
        let posterior = 0.5 * logDet / Double(n) + Double(h) / 2 * log(2 * Double.pi * M_E)
        let prior = lambda.reduce(0) { $0 + log(2 * M_E * $1) }
        let noise = Double(d) / 2 * log(2 * Double.pi * M_E * sigma2)
        return weights.posterior * posterior - weights.prior * prior - weights.likelihood * noise
    }

    static func choleskyLogDet(_ a: [[Double]]) -> Double {
        let n = a.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        var logDet = 0.0
        for i in 0..<n { for j in 0...i {
            var sum = a[i][j]
            for k in 0..<j { sum -= l[i][k] * l[j][k] }
            if i == j { l[i][i] = sum.squareRoot(); logDet += 2 * log(l[i][i]) } else { l[i][j] = sum / l[j][j] }
        } }
        return logDet
    }

    static func rows(_ m: Matrix) -> [[Double]] { (0..<m.rows).map { r in (0..<m.cols).map { Double(m[r, $0]) } } }

    /// Checks `analytic` against central differences (step 1e-6) of `f` in double precision at `p`: relative error
    /// 2e-3, measured against 0.02 for smaller derivatives.
    func check(_ analytic: [Float], _ p: [Double], _ f: ([Double]) -> Double, _ message: String = "",
               file: StaticString = #filePath, line: UInt = #line) {
        FiniteDifference.check(parameters: p, analyticGradient: analytic, step: 1e-6, tolerance: .relative(2e-3, floor: 0.02),
                               message, file: file, line: line, function: f)
    }

    struct Problem {
        var x: Matrix, w: Matrix, mu: Matrix
        var generator: SeededGenerator
    }

    func problem(n: Int = 6, d: Int = 5, h: Int = 3, seed: UInt64 = 21) -> Problem {
        var g = SeededGenerator(seed: seed)
        return Problem(x: randomMatrix(n, d, using: &g), w: randomMatrix(d, h, scale: 0.7, using: &g),
                       mu: randomMatrix(n, h, scale: 0.8, using: &g), generator: g)
    }

    /// Splits p = [W (D·H) | μ (N·H) | rest] and rebuilds the doc's inputs, Σ_n from `rest` by `covariance`.
    func objective(_ p: Problem, weights: EntropyWeights, covariance: @escaping ([Double], Int) -> [[Double]])
        -> ([Double]) -> Double
    {
        let (n, d, h) = (p.x.rows, p.x.cols, p.w.cols)
        let x = Self.rows(p.x)
        return { q in
            let w = (0..<d).map { j in Array(q[(j * h)..<(j * h + h)]) }
            let mu = (0..<n).map { r in Array(q[(d * h + r * h)..<(d * h + r * h + h)]) }
            let rest = Array(q[(d * h + n * h)...])
            return Self.entropyObjective(x: x, w: w, mu: mu, sigma: (0..<n).map { covariance(rest, $0) }, weights: weights)
        }
    }

    let weightings = [EntropyWeights.one, EntropyWeights(likelihood: 0.8, prior: 2.5, posterior: 1.3)]

    func testDiagonalObjective() {
        for weights in weightings {
            var p = problem()
            let (n, d, h) = (6, 5, 3)
            let rho = Matrix(rows: n, cols: h, storage: (0..<(n * h)).map { _ in Float(0.3 * p.generator.normal() - 0.5) })
            var gMu = [Float](repeating: 0, count: n * h), gRho = gMu, gW = [Float](repeating: 0, count: d * h)
            var production = DiagonalEntropyObjective(x: p.x, weights: weights)
            let value = production.evaluate(w: p.w, mu: p.mu, rho: rho, gradMu: &gMu, gradRho: &gRho, gradW: &gW).value
            let f = objective(p, weights: weights) { rest, point in
                (0..<h).map { a in (0..<h).map { b in a == b ? exp(2 * rest[point * h + a]) : 0 } }
            }
            let parameters = (p.w.storage + p.mu.storage + rho.storage).map(Double.init)
            XCTAssertEqual(value, f(parameters), accuracy: 1e-5 * abs(value))
            check(gW + gMu + gRho, parameters, f, "\(weights)")
        }
    }

    func testFullCovarianceObjective() {
        for weights in weightings {
            var p = problem()
            let (n, d, h) = (6, 5, 3)
            var factors = [Float](repeating: 0, count: n * h * h)  // used entries only; the rest stay 0
            for q in 0..<n { for i in 0..<h { for j in 0...i {
                factors[FullCovarianceEntropyObjective.index(q, i, j, h)] = Float(0.3 * p.generator.normal() - (i == j ? 0.4 : 0))
            } } }
            var gMu = [Float](repeating: 0, count: n * h), gF = factors, gW = [Float](repeating: 0, count: d * h)
            let value = FullCovarianceEntropyObjective(x: p.x, weights: weights)
                .evaluate(w: p.w, mu: p.mu, factors: factors, gradMu: &gMu, gradFactors: &gF, gradW: &gW).value
            let f = objective(p, weights: weights) { rest, point in
                func l(_ i: Int, _ j: Int) -> Double {
                    let raw = rest[FullCovarianceEntropyObjective.index(point, i, j, h)]
                    return i == j ? exp(raw) : (j < i ? raw : 0)
                }
                return (0..<h).map { a in (0..<h).map { b in (0..<h).reduce(0.0) { $0 + l(a, $1) * l(b, $1) } } }
            }
            let parameters = (p.w.storage + p.mu.storage + factors).map(Double.init)
            XCTAssertEqual(value, f(parameters), accuracy: 1e-5 * abs(value))
            check(gW + gMu + gF, parameters, f, "\(weights)")
        }
    }

    func testLowRankObjective() {
        for weights in weightings {
            var p = problem()
            let (n, h, r) = (6, 3, 2)  // D = 5 in problem()
            let scale = Matrix(rows: n, cols: h, storage: (0..<(n * h)).map { _ in Float(0.3 + 0.5 * p.generator.uniform()) })
            let factors = Matrix(rows: n, cols: r * h, storage: (0..<(n * r * h)).map { _ in Float(0.4 * p.generator.normal()) })
            var gradients: LowRankEntropyObjective.Gradients? = .init(mu: p.mu, scale: scale, factors: nil, w: p.w)
            let value = LowRankEntropyObjective(x: p.x, rank: r, weights: weights)
                .evaluate(w: p.w, mu: p.mu, scale: scale, factors: factors, gradients: &gradients).value
            let f = objective(p, weights: weights) { rest, point in
                let t = Array(rest[(point * h)..<(point * h + h)])
                let u = Array(rest[(n * h + point * r * h)..<(n * h + point * r * h + r * h)])  // rows of Uᵀ
                return (0..<h).map { a in (0..<h).map { b in
                    (a == b ? t[a] * t[a] : 0) + (0..<r).reduce(0.0) { $0 + u[$1 * h + a] * u[$1 * h + b] }
                } }
            }
            let parameters = (p.w.storage + p.mu.storage + scale.storage + factors.storage).map(Double.init)
            XCTAssertEqual(value, f(parameters), accuracy: 1e-5 * abs(value))
            let g = gradients!
            check(g.w.storage + g.mu.storage + g.scale.storage + g.factors!.storage, parameters, f, "\(weights)")
        }
    }

    /// The elbo-mc estimate for fixed noise, written again in double precision.
    func testMonteCarloELBO() {
        var p = problem()
        let (n, d, h, samples) = (6, 5, 3, 2)
        let rho = Matrix(rows: n, cols: h, storage: (0..<(n * h)).map { _ in Float(0.3 * p.generator.normal() - 0.5) })
        let (sigma2, lambda) = (0.6, [0.8, 1.2, 0.7])
        let estimator = MonteCarloELBO(x: p.x, samples: samples)
        let noise = estimator.noise(latents: h, using: &p.generator)
        var gradients: MonteCarloELBO.Gradients? = .init(mu: [], rho: [], w: [], optimalSigma2: 0, optimalLambda: [])
        let value = estimator.evaluate(w: p.w, sigma2: sigma2, lambda: lambda, mu: p.mu, rho: rho, epsilon: noise, gradients: &gradients)
        let x = Self.rows(p.x)
        let f: ([Double]) -> Double = { q in
            var total = 0.0
            for s in 0..<samples { for r in 0..<n {
                let z = (0..<h).map { c in q[d * h + r * h + c] + exp(q[d * h + n * h + r * h + c]) * Double(noise[(s * n + r) * h + c]) }
                var squares = 0.0
                for j in 0..<d {
                    let e = x[r][j] - (0..<h).reduce(0.0) { $0 + q[j * h + $1] * z[$1] }
                    squares += e * e
                }
                total += (-Double(d) / 2 * log(2 * Double.pi * sigma2) - squares / (2 * sigma2)
                    + (0..<h).reduce(0.0) { $0 - log(2 * lambda[$1]) - abs(z[$1]) / lambda[$1] }) / Double(samples)
            } }
            let entropy = (0..<(n * h)).reduce(0.0) { $0 + q[d * h + n * h + $1] } + Double(n * h) / 2 * log(2 * Double.pi * M_E)
            return (total + entropy) / Double(n)
        }
        let parameters = (p.w.storage + p.mu.storage + rho.storage).map(Double.init)
        XCTAssertEqual(value, f(parameters), accuracy: 1e-5 * abs(value))
        check(gradients!.w + gradients!.mu + gradients!.rho, parameters, f)
    }
}
