import DataKit
@testable import Models
import XCTest

/// The held-out estimators against exact answers on tiny models (D = 3): log p(x) by numerical quadrature over z.
final class HeldOutEstimatorTests: XCTestCase {
    static func tinyModel(latents: Int) -> SparseCodingModel {
        let w = latents == 1
            ? Matrix(rows: 3, cols: 1, storage: [0.6, -0.8, 0.3])
            : Matrix(rows: 3, cols: 2, storage: [0.6, 0.2, -0.8, 0.5, 0.3, -0.7])
        return SparseCodingModel(w: w, lambda: latents == 1 ? [1.3] : [1.3, 0.6], sigma2: 0.25)
    }

    /// log p(x) = log ∫ N(x; W z, σ² I) Π_h Laplace(z_h; λ_h) dz by the trapezoid rule on a fine grid with a node at
    /// the kink z_h = 0, over ±40 λ_h (the tails beyond are below e^-40).
    static func quadrature(_ model: SparseCodingModel, _ x: [Double]) -> Double {
        let h = model.latents
        let nodes = h == 1 ? 20_001 : 801
        let grids = (0..<h).map { c -> [Double] in
            let bound = 40 * Double(model.lambda[c])
            return (0..<nodes).map { -bound + 2 * bound * Double($0) / Double(nodes - 1) }
        }
        func logJoint(_ z: [Double]) -> Double {
            var squared = 0.0
            for j in 0..<3 {
                let e = x[j] - (0..<h).reduce(0.0) { $0 + Double(model.w[j, $1]) * z[$1] }
                squared += e * e
            }
            var value = -1.5 * log(2 * Double.pi * Double(model.sigma2)) - squared / (2 * Double(model.sigma2))
            for c in 0..<h { value += -log(2 * Double(model.lambda[c])) - abs(z[c]) / Double(model.lambda[c]) }
            return value
        }
        var logTerms: [Double] = []
        func weight(_ i: Int) -> Double { i == 0 || i == nodes - 1 ? 0.5 : 1 }
        if h == 1 {
            for i in 0..<nodes { logTerms.append(logJoint([grids[0][i]]) + log(weight(i))) }
        } else {
            for i in 0..<nodes { for j in 0..<nodes {
                logTerms.append(logJoint([grids[0][i], grids[1][j]]) + log(weight(i) * weight(j)))
            } }
        }
        let top = logTerms.max()!
        let cell = (0..<h).reduce(1.0) { $0 * (grids[$1][1] - grids[$1][0]) }
        return top + log(logTerms.reduce(0) { $0 + exp($1 - top) } * cell)
    }

    func testImportanceSamplingAgreesWithQuadrature() {
        for latents in [1, 2] {
            let model = Self.tinyModel(latents: latents)
            let points: [[Float]] = [[0.5, -0.9, 0.2], [-1.5, 1.1, 0.9], [0.05, 0.1, -0.1]]
            let x = Matrix(rows: 3, cols: 3, storage: points.flatMap { $0 })
            let estimators = HeldOutEstimators(model: model)
            let (elbo, mu, rho) = estimators.fitPosteriors(x)
            let (logp, ess) = estimators.logLikelihood(x, mu: mu, rho: rho, samples: 50_000, widen: 1.5, seed: 7)
            for k in 0..<3 {
                let exact = Self.quadrature(model, points[k].map(Double.init))
                XCTAssertEqual(logp[k], exact, accuracy: 0.01, "H = \(latents), point \(k)")
                XCTAssertLessThanOrEqual(elbo[k], exact + 1e-6, "the ELBO is a lower bound")
                XCTAssertGreaterThan(elbo[k], exact - 1, "and a reasonable one")
                XCTAssertGreaterThan(ess[k], 2_500)
            }
        }
    }

    /// The fitted q maximises the ELBO: small perturbations of μ or ρ never increase it.
    func testFittedPosteriorsAreStationary() {
        let model = Self.tinyModel(latents: 2)
        let x = Matrix(rows: 1, cols: 3, storage: [0.5, -0.9, 0.2])
        let estimators = HeldOutEstimators(model: model)
        let (elbo, mu, rho) = estimators.fitPosteriors(x)
        var gradient = [Float](repeating: 0, count: 4)
        var values = [0.0]
        for i in 0..<4 {
            for delta: Float in [-0.01, 0.01] {
                var p = mu.storage + rho.storage
                p[i] += delta
                _ = estimators.pointELBOs(x, p, gradient: &gradient, values: &values)
                XCTAssertLessThanOrEqual(values[0], elbo[0] + 1e-7)
            }
        }
    }
}

import Foundation

/// On the training data, the ELBO at the model's σ², λ with q re-fitted is at least the training objective
/// (which is that ELBO at the training q); and with two unused latents added (tiny λ), at least the ELBO of a
/// hand-made q for them.
final class HeldOutConsistencyTests: XCTestCase {
    func testHeldOutELBOOnTrainingDataIsAtLeastTheTrainingObjective() throws {
        let (x, _, _) = BarsData.sample(count: 300, seed: 1)
        var trainer = SparseCodingTrainer(latents: 10, scheme: .fullBatch, epochs: 3)
        trainer.iterations = 60
        trainer.seed = 2
        let result = try trainer.train(x)
        let trainingL = result.history.last!.objective
        var gradient = [Float](repeating: 0, count: 2 * 300 * 12)
        var values = [Double](repeating: 0, count: 300)
        let estimators = HeldOutEstimators(model: result.model)
        _ = estimators.pointELBOs(x, result.mu.storage + result.rho.storage, gradient: &gradient, values: &values)
        XCTAssertEqual(values.reduce(0, +) / 300, trainingL, accuracy: 1e-3, "L is the ELBO at the closed forms")
        XCTAssertGreaterThanOrEqual(estimators.fitPosteriors(x).elbo.reduce(0, +) / 300, trainingL - 1e-3)

        // Two unused latents (λ = 0.005, arbitrary unit columns), and a q that gives them s = 0.004.
        var w = Matrix(rows: 25, cols: 12)
        var mu = Matrix(rows: 300, cols: 12), rho = Matrix(rows: 300, cols: 12)
        for r in 0..<25 { for c in 0..<10 { w[r, c] = result.model.w[r, c] } ; w[r, 10] = 0.2; w[r, 11] = r % 2 == 0 ? 0.2 : -0.2 }
        for n in 0..<300 {
            for c in 0..<10 { mu[n, c] = result.mu[n, c]; rho[n, c] = result.rho[n, c] }
            rho[n, 10] = Float(log(0.004)); rho[n, 11] = Float(log(0.004))
        }
        let wider = HeldOutEstimators(model: SparseCodingModel(w: w, lambda: result.model.lambda + [0.005, 0.005],
                                                              sigma2: result.model.sigma2))
        _ = wider.pointELBOs(x, mu.storage + rho.storage, gradient: &gradient, values: &values)
        let reference = values.reduce(0, +) / 300
        XCTAssertGreaterThanOrEqual(wider.fitPosteriors(x).elbo.reduce(0, +) / 300, reference - 1e-3)
    }
}

import Foundation
