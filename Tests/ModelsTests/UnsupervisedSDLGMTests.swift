import DataKit
import Foundation
@testable import Models
import XCTest

/// Unsupervised SDLGM: gradients of the relaxed ELBO by finite differences (noise fixed), the hard ELBO against
/// log p(x, z) − log q(z) and against log p(x) by enumeration, codes within L0, and learning a planted sparse code.
final class UnsupervisedSDLGMTests: XCTestCase {
    /// −Σ ELBO_β / B as a function of every parameter (layers and log σ²), against the accumulated gradients.
    func checkGradients(decoder: UnsupervisedSDLGM.DecoderKind, likelihood: UnsupervisedSDLGM.Likelihood, klWeight: Double = 1,
                        file: StaticString = #filePath, line: UInt = #line) {
        var g = SeededGenerator(seed: 11)
        var model = UnsupervisedSDLGM(dimension: 5, latents: 6, maxActive: 3, hidden: [4], decoder: decoder,
                                      likelihood: likelihood, generator: &g)
        model.logNoiseVariance = -0.3
        var x = randomMatrix(3, 5, using: &g)
        if likelihood == .bernoulli { x.storage = x.storage.map { $0 > 0 ? 1 : 0 } }
        let noise = UnsupervisedObjective.Noise(points: 3, maxActive: 3, latents: 6, generator: &g)
        func loss(_ m: UnsupervisedSDLGM) -> Double {
            var m = m
            let terms = UnsupervisedObjective.evaluate(&m, x, noise: noise, mode: .relaxed, levelTemperature: 0.8,
                                                       supportTemperature: 0.9).terms
            return -(terms.logLikelihood - klWeight * (terms.levelKL + terms.supportKL + terms.valueKL)) / 3
        }
        model.encoder.zeroGradients()
        model.decoder.zeroGradients()
        let gradSigma = UnsupervisedObjective.evaluate(&model, x, noise: noise, mode: .relaxed, levelTemperature: 0.8,
                                                       supportTemperature: 0.9, klWeight: klWeight,
                                                       accumulateGradients: true).gradLogNoiseVariance
        let analytic = model.encoder.layers.gradients + model.decoder.layers.gradients
            + [Float(gradSigma)]
        let split = model.encoder.layers.parameters.count
        let parameters = model.encoder.layers.parameters + model.decoder.layers.parameters + [model.logNoiseVariance]
        FiniteDifference.check(parameters: parameters, analyticGradient: analytic, step: 2e-3, tolerance: .relative(2e-2, floor: 0.05),
                               "\(decoder) \(likelihood)", file: file, line: line) { p in
            var probe = model
            probe.encoder.layers.parameters = Array(p[0..<split])
            probe.decoder.layers.parameters = Array(p[split..<(p.count - 1)])
            probe.logNoiseVariance = p[p.count - 1]
            return loss(probe)
        }
    }

    func testRelaxedELBOGradientsMatchFiniteDifferences() {
        checkGradients(decoder: .linear, likelihood: .gaussian)
        checkGradients(decoder: .mlp, likelihood: .gaussian)
        checkGradients(decoder: .linear, likelihood: .bernoulli)
        checkGradients(decoder: .linear, likelihood: .gaussian, klWeight: 0.3)
    }

    /// KL_l of a support step is log |R_l| − H(softmax over R_l): zero for equal scores, and its gradient by finite
    /// differences.
    func testSupportStepKL() {
        let equal = UnsupervisedObjective.supportSteps([0, 0, 0, 0], picks: [2, 0], weights: [1, 1])
        XCTAssertEqual(equal.value, 0, accuracy: 1e-12)
        let scores: [Float] = [0.3, -1, 2, 0.5, 0.1]
        let (value, steps, gradient) = UnsupervisedObjective.supportSteps(scores[...], picks: [2, 3, 0], weights: [0.9, 0.5, 0.2])
        let q = scores.map { exp(Double($0)) }, total = q.reduce(0, +)
        XCTAssertEqual(steps[0], q.reduce(0) { $0 + $1 / total * log($1 / total) } + log(5), accuracy: 1e-12)
        XCTAssertEqual(value, zip(steps, [0.9, 0.5, 0.2]).reduce(0) { $0 + $1.0 * $1.1 }, accuracy: 1e-12)
        FiniteDifference.check(parameters: scores, analyticGradient: gradient, step: 1e-3, tolerance: .absolute(1e-4)) {
            UnsupervisedObjective.supportSteps($0[...], picks: [2, 3, 0], weights: [0.9, 0.5, 0.2]).value
        }
    }

    /// A tiny linear-Gaussian model (D = 3, K = 3, L0 = 2). The hard ELBO (analytic KLs) agrees in expectation with a
    /// direct Monte-Carlo estimate of E_q[log p(x, L, a_1..a_L, v) − log q(L, a_1..a_L, v | x)], and both lie below
    /// log p(x), computed exactly by summing over L and the supports.
    func testHardELBOAgainstTheJointAndTheExactLikelihood() {
        var g = SeededGenerator(seed: 3)
        var model = UnsupervisedSDLGM(dimension: 3, latents: 3, maxActive: 2, hidden: [4], decoder: .linear,
                                      likelihood: .gaussian, generator: &g)
        model.logNoiseVariance = Float(log(0.3))
        model.decoder.layers[0].weight = randomMatrix(3, 3, using: &g)
        let x = Matrix(rows: 1, cols: 3, storage: [0.8, -0.4, 1.1])
        let (k, l0) = (3, 2)
        let heads = model.encoder.forward(x).output.row(0).map(Double.init)
        let (levelLogits, scores) = (Array(heads[0..<l0]), Array(heads[l0..<(l0 + k)]))
        let mu = Array(heads[(l0 + k)..<(l0 + 2 * k)])
        let s = heads[(l0 + 2 * k)...].map { UnsupervisedObjective.scale(Float($0)) }
        let w = model.decoder.layers[0].weight, bias = model.decoder.layers[0].bias
        let sigma2 = 0.3

        func logNormal(_ v: Double, _ m: Double, _ sd: Double) -> Double { -0.5 * log(2 * .pi * sd * sd) - (v - m) * (v - m) / (2 * sd * sd) }
        func logSumExp(_ a: [Double]) -> Double { let top = a.max()!; return top + log(a.reduce(0) { $0 + exp($1 - top) }) }
        // Direct estimate: draw (L, picks, v) from q, average log p(x, ·) − log q(·).
        let samples = 40_000
        var direct = [Double]()
        for _ in 0..<samples {
            let gl = SparsitySampler.gumbel(l0, using: &g), gs = SparsitySampler.gumbel(k, using: &g)
            let level = (0..<l0).max { levelLogits[$0] + Double(gl[$0]) < levelLogits[$1] + Double(gl[$1]) }! + 1
            let picks = Array(SparsitySampler.topIndices((0..<k).map { scores[$0] + Double(gs[$0]) }, level))
            var logRatio = -log(Double(l0)) - (levelLogits[level - 1] - logSumExp(levelLogits))
            var remaining = Array(0..<k)
            var z = [Double](repeating: 0, count: k)
            for (l, a) in picks.enumerated() {
                logRatio += -log(Double(k - l)) - (scores[a] - logSumExp(remaining.map { scores[$0] }))
                remaining.removeAll { $0 == a }
                z[a] = mu[a] + s[a] * g.normal()
                logRatio += logNormal(z[a], 0, 1) - logNormal(z[a], mu[a], s[a])
            }
            for d in 0..<3 {
                let mean = Double(bias[d]) + (0..<k).reduce(0.0) { $0 + Double(w[d, $1]) * z[$1] }
                logRatio += logNormal(Double(x[0, d]), mean, sigma2.squareRoot())
            }
            direct.append(logRatio)
        }
        var analytic = [Double]()
        for _ in 0..<(samples / 100) {
            let noise = UnsupervisedObjective.Noise(points: 100, maxActive: l0, latents: k, generator: &g)
            var batch = Matrix(rows: 100, cols: 3)
            for i in 0..<100 { for d in 0..<3 { batch[i, d] = x[0, d] } }
            analytic += UnsupervisedObjective.evaluate(&model, batch, noise: noise, mode: .hard).pointELBOs
        }
        let (a, b) = (meanAndStandardError(analytic), meanAndStandardError(direct))
        XCTAssertEqual(a.mean, b.mean, accuracy: 4 * (a.standardError * a.standardError + b.standardError * b.standardError).squareRoot())

        // log p(x) = log Σ_L Σ_{|S| = L} p(L) p(S) N(x; b, W_S W_Sᵀ + σ² I), p(S) = 1/C(K, L).
        var terms = [Double]()
        for level in 1...l0 {
            let sets = level == 1 ? [[0], [1], [2]] : [[0, 1], [0, 2], [1, 2]]
            for set in sets {
                var covariance = [[Double]](repeating: [Double](repeating: 0, count: 3), count: 3)
                for r in 0..<3 {
                    for c in 0..<3 {
                        covariance[r][c] = set.reduce(r == c ? sigma2 : 0) { $0 + Double(w[r, $1]) * Double(w[c, $1]) }
                    }
                }
                terms.append(-log(Double(l0)) - log(Double(sets.count)) + logGaussian3(x.row(0).enumerated().map { Double($0.element) - Double(bias[$0.offset]) }, covariance))
            }
        }
        let logp = logSumExp(terms)
        XCTAssertLessThan(a.mean, logp)
        XCTAssertLessThan(b.mean, logp)
        XCTAssertGreaterThan(a.mean, logp - 5, "the ELBO of a reasonable q is not far below log p(x)")
    }

    /// log N(r; 0, C) for 3 × 3 C by Cholesky.
    func logGaussian3(_ r: [Double], _ c: [[Double]]) -> Double {
        var l = [[Double]](repeating: [0, 0, 0], count: 3)
        for i in 0..<3 {
            for j in 0...i {
                let sum = (0..<j).reduce(c[i][j]) { $0 - l[i][$1] * l[j][$1] }
                l[i][j] = i == j ? sum.squareRoot() : sum / l[j][j]
            }
        }
        var y = [0.0, 0, 0]
        for i in 0..<3 { y[i] = ((0..<i).reduce(r[i]) { $0 - l[i][$1] * y[$1] }) / l[i][i] }
        return -1.5 * log(2 * .pi) - (0..<3).reduce(0) { $0 + log(l[$1][$1]) } - 0.5 * y.reduce(0) { $0 + $1 * $1 }
    }

    /// Data with exactly two of six features active per point through a random dictionary: the trained model's
    /// codes never exceed L0 and use at least the two features needed, reconstruct far better than the data's
    /// variance, and the held-out ELBO rises well above the untrained model's.
    func testPlantedSparseCodeIsLearned() throws {
        var g = SeededGenerator(seed: 21)
        let (n, d, k) = (1200, 10, 6)
        let dictionary = randomMatrix(d, k, using: &g)
        var x = Matrix(rows: n, cols: d)
        for i in 0..<n {
            var active = Array(0..<k)
            active.shuffle(using: &g)
            for j in active.prefix(2) {
                let value = Float(g.normal() > 0 ? 1.5 : -1.5) + Float(0.3 * g.normal())
                for r in 0..<d { x[i, r] += dictionary[r, j] * value }
            }
            for r in 0..<d { x[i, r] += Float(0.05 * g.normal()) }
        }
        var trainer = UnsupervisedTrainer()
        (trainer.latents, trainer.maxActive, trainer.hidden, trainer.epochs, trainer.batchSize) = (k, 3, [32], 40, 64)
        trainer.learningRate = 3e-3
        trainer.seed = 2
        let training = x.rowSlice(0..<1000), heldOut = x.rowSlice(1000..<n)
        var initial = SeededGenerator(seed: 0)
        let untrained = UnsupervisedSDLGM(dimension: x.cols, latents: k, maxActive: 3, hidden: [32], decoder: .linear,
                                          likelihood: .gaussian, generator: &initial)
        let before = try UnsupervisedEvaluation.run(untrained, on: heldOut)
        let trained = try trainer.train(training)
        let (model, history) = (trained.model, trained.history)
        let after = try UnsupervisedEvaluation.run(model, on: heldOut)
        XCTAssertEqual(history.count, 40)
        XCTAssertGreaterThan(history.last!.elbo, history.first!.elbo)
        XCTAssertGreaterThan(after.heldOutELBO.mean, before.heldOutELBO.mean + 5)
        XCTAssertLessThan(after.reconstructionError, 0.2 * after.dataVariance)
        XCTAssertEqual(after.activeCounts.count, 4)
        XCTAssertEqual(after.activeCounts.reduce(0, +), 200)
        // Two features per point are needed; a third costs nothing under the uniform p(L), so codes may use it.
        XCTAssertGreaterThanOrEqual(after.meanActive, 1.9)
        let codes = try model.codes(heldOut)
        for i in 0..<codes.rows {
            let row = codes.row(i).indices
            XCTAssertLessThanOrEqual(row.count, 3)
            XCTAssertEqual(Set(row).count, row.count)
        }
    }
}
