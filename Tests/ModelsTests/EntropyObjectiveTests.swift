import DataKit
@testable import Models
import XCTest

/// Finite-difference checks of the ES-SC gradients and the closed forms against Monte Carlo.
final class EntropyObjectiveTests: XCTestCase {
    struct Problem {
        var x: Matrix
        var w: Matrix
        var mu: Matrix
        var rho: Matrix
    }

    func problem(b: Int = 6, d: Int = 5, h: Int = 3, seed: UInt64 = 1) -> Problem {
        var g = SeededGenerator(seed: seed)
        return Problem(x: randomMatrix(b, d, using: &g), w: randomMatrix(d, h, scale: 0.7, using: &g),
                       mu: randomMatrix(b, h, scale: 0.8, using: &g), rho: randomMatrix(b, h, scale: 0.3, shift: -0.5, using: &g))
    }

    /// Central differences of L_β against the analytical gradient, for every parameter of `which`.
    func checkGradient(_ which: String, weights: EntropyWeights, file: StaticString = #filePath, line: UInt = #line) {
        let p = problem()
        var objective = DiagonalEntropyObjective(x: p.x, weights: weights)
        var gMu = [Float](repeating: 0, count: p.mu.storage.count), gRho = gMu
        var gW = [Float](repeating: 0, count: p.w.storage.count)
        _ = objective.evaluate(w: p.w, mu: p.mu, rho: p.rho, gradMu: &gMu, gradRho: &gRho, gradW: &gW)
        let (analytic, parameters): ([Float], WritableKeyPath<Problem, [Float]>)
        switch which {
        case "mu": (analytic, parameters) = (gMu, \.mu.storage)
        case "rho": (analytic, parameters) = (gRho, \.rho.storage)
        default: (analytic, parameters) = (gW, \.w.storage)
        }
        FiniteDifference.check(p, parameters, analyticGradient: analytic, step: 2e-3, tolerance: .relative(2e-2, floor: 0.05),
                               "\(which) with \(weights)", file: file, line: line) { objective.evaluate(w: $0.w, mu: $0.mu, rho: $0.rho).value }
    }

    func testGradientsAgreeWithFiniteDifferences() {
        for weights in [EntropyWeights.one, EntropyWeights(likelihood: 0.7, prior: 3, posterior: 1.5)] {
            checkGradient("mu", weights: weights)
            checkGradient("rho", weights: weights)
            checkGradient("w", weights: weights)
        }
    }

    /// The E-step path (fixed W: ‖R‖² and R W from X W and WᵀW, no residual) agrees with the general one.
    func testFixedDictionaryEvaluationMatchesTheGeneralOne() {
        let p = problem(b: 37, d: 20, h: 11, seed: 7)
        let weights = EntropyWeights(likelihood: 0.8, prior: 2, posterior: 1.2)
        var general = DiagonalEntropyObjective(x: p.x, weights: weights), fixed = general
        fixed.fixDictionary(p.w)
        let count = p.mu.storage.count
        var (gMu, gRho, fMu, fRho) = ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count),
                                      [Float](repeating: 9, count: count), [Float](repeating: 9, count: count))
        let expected = general.evaluate(w: p.w, mu: p.mu, rho: p.rho, gradMu: &gMu, gradRho: &gRho)
        let actual = p.mu.storage.withUnsafeBufferPointer { mu in
            p.rho.storage.withUnsafeBufferPointer { rho in
                fixed.evaluate(mu: mu.baseAddress!, rho: rho.baseAddress!, gradMu: &fMu, gradRho: &fRho)
            }
        }
        XCTAssertEqual(actual.value, expected.value, accuracy: 1e-5 * abs(expected.value))
        XCTAssertEqual(actual.sigma2, expected.sigma2, accuracy: 1e-5 * expected.sigma2)
        let scale = Double(gMu.map(abs).max()!)
        for i in 0..<count {
            XCTAssertEqual(Double(fMu[i]), Double(gMu[i]), accuracy: 1e-4 * scale)
            XCTAssertEqual(fRho[i], gRho[i], accuracy: 1e-6)
        }
    }

    /// E|z| of the folded normal, and E‖x − W z‖² = ‖x − W μ‖² + Σ_h s_h² ‖w_h‖², against Monte Carlo.
    func testClosedFormsAgainstMonteCarlo() {
        var g = SeededGenerator(seed: 3)
        for (mu, s) in [(0.0, 1.0), (0.7, 0.3), (-2.0, 1.5), (0.05, 2.0)] {
            let samples = 400_000
            var total = 0.0
            for _ in 0..<samples { total += abs(mu + s * g.normal()) }
            XCTAssertEqual(FoldedNormal.meanAbs(mu, s).value, total / Double(samples), accuracy: 4 * s / Double(samples).squareRoot())
        }
        let p = problem(b: 1, d: 4, h: 3, seed: 4)
        let s = p.rho.storage.map { exp(Double($0)) }
        var closed = 0.0
        var norms = [Double](repeating: 0, count: 3)
        for r in 0..<4 {
            var wm = 0.0
            for c in 0..<3 { wm += Double(p.w[r, c] * p.mu[0, c]); norms[c] += Double(p.w[r, c] * p.w[r, c]) }
            closed += (Double(p.x[0, r]) - wm) * (Double(p.x[0, r]) - wm)
        }
        for c in 0..<3 { closed += s[c] * s[c] * norms[c] }
        var monteCarlo = 0.0
        let samples = 200_000
        for _ in 0..<samples {
            let z = (0..<3).map { Double(p.mu[0, $0]) + s[$0] * g.normal() }
            for r in 0..<4 {
                let e = Double(p.x[0, r]) - (0..<3).reduce(0.0) { $0 + Double(p.w[r, $1]) * z[$1] }
                monteCarlo += e * e / Double(samples)
            }
        }
        XCTAssertEqual(monteCarlo, closed, accuracy: 0.01 * closed)
    }

    /// L equals the ordinary ELBO E_q[log p(x|z)] + E_q[log p(z)] + H[q] at the closed-form σ² and λ.
    func testEntropyObjectiveEqualsTheELBOAtTheClosedForms() {
        let p = problem(b: 5, d: 4, h: 3, seed: 5)
        var objective = DiagonalEntropyObjective(x: p.x)
        let terms = objective.evaluate(w: p.w, mu: p.mu, rho: p.rho)
        let (b, d, h) = (5, 4, 3)
        var elbo = 0.0
        for n in 0..<b {
            var squared = 0.0
            for r in 0..<d {
                let e = Double(p.x[n, r]) - (0..<h).reduce(0.0) { $0 + Double(p.w[r, $1] * p.mu[n, $1]) }
                squared += e * e
            }
            for c in 0..<h {
                let s = exp(Double(p.rho[n, c]))
                let norm = (0..<d).reduce(0.0) { $0 + Double(p.w[$1, c] * p.w[$1, c]) }
                squared += s * s * norm
                elbo += -log(2 * terms.lambda[c]) - FoldedNormal.meanAbs(Double(p.mu[n, c]), s).value / terms.lambda[c]
                elbo += log(s) + 0.5 * log(2 * Double.pi * M_E)
            }
            elbo += -Double(d) / 2 * log(2 * Double.pi * terms.sigma2) - squared / (2 * terms.sigma2)
        }
        XCTAssertEqual(terms.value, elbo / Double(b), accuracy: 1e-4)
        XCTAssertEqual(terms.elbo, terms.value, accuracy: 1e-12)
    }
}

import Foundation
