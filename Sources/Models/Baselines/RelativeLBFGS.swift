import Foundation

/// Minimizes `ICAObjective` over R by Picard (Ablin, Cardoso & Gramfort, "Faster independent component analysis by
/// preconditioning with Hessian approximations", IEEE TSP 2018): L-BFGS in the relative coordinates
/// R ← (I + α D) R, its two-loop recursion started from the block-diagonal Hessian approximation
/// [[h_ij, 1], [1, h_ji]] instead of a multiple of the identity (each block's smallest eigenvalue raised to at
/// least `minimumEigenvalue`), and a backtracking line search (α = 1, halved until F decreases). When the line search
/// fails the memory is dropped and the preconditioned gradient direction tried; a second failure ends the run. Near
/// the optimum of a small δ, float32 products and the kinks of |s| make the gradient noisy, so a run also ends when
/// F stops falling (by less than `windowDecrease` nats over `window` iterations).
struct RelativeLBFGS {
    var maxIterations = 300
    /// Stop when max |G_ij| falls below this.
    var tolerance = 1e-6
    var memory = 10
    var minimumEigenvalue = 1e-2
    var lineSearchTries = 10
    /// Stop when F fell by less than `windowDecrease` over the last `window` iterations.
    var window = 10
    var windowDecrease = 1e-4

    struct Result {
        var iterations: Int
        var loss: Double
        /// `gradient`, `value`, `iterations` or `lineSearch`.
        var stop: String
    }

    func minimize(_ objective: inout ICAObjective, from r: inout [Double]) -> Result {
        let d = objective.dimension
        var loss = objective.loss(r)
        var (gradient, curvature) = objective.relativeGradient()
        var steps: [[Double]] = [], changes: [[Double]] = [], inverseProducts: [Double] = []
        var failedBefore = false
        var recent: [Double] = [loss]  // F over the last `window` iterations
        for iteration in 1...max(1, maxIterations) {
            if gradient.lazy.map(abs).max()! < tolerance { return Result(iterations: iteration - 1, loss: loss, stop: "gradient") }
            let h = regularized(curvature, d)
            var direction = twoLoop(gradient, h, d, steps, changes, inverseProducts)
            if zip(direction, gradient).reduce(0.0, { $0 + $1.0 * $1.1 }) >= 0 {  // not a descent direction: forget
                (steps, changes, inverseProducts) = ([], [], [])
                direction = twoLoop(gradient, h, d, [], [], [])
            }
            guard let (step, candidate, newLoss) = lineSearch(&objective, r, direction, loss, d) else {
                if failedBefore || steps.isEmpty { return Result(iterations: iteration, loss: loss, stop: "lineSearch") }
                (steps, changes, inverseProducts, failedBefore) = ([], [], [], true)
                continue
            }
            failedBefore = false
            let (newGradient, newCurvature) = objective.relativeGradient()
            let change = zip(newGradient, gradient).map { $0 - $1 }
            let sy = zip(step, change).reduce(0.0) { $0 + $1.0 * $1.1 }
            if sy > 1e-12 {
                if steps.count == memory { steps.removeFirst(); changes.removeFirst(); inverseProducts.removeFirst() }
                steps.append(step); changes.append(change); inverseProducts.append(1 / sy)
            }
            (r, loss, gradient, curvature) = (candidate, newLoss, newGradient, newCurvature)
            recent.append(loss)
            if recent.count > window {
                if recent.removeFirst() - loss < windowDecrease { return Result(iterations: iteration, loss: loss, stop: "value") }
            }
        }
        return Result(iterations: maxIterations, loss: loss, stop: "iterations")
    }

    /// h with each 2 × 2 block [[h_ij, 1], [1, h_ji]] (i ≠ j) shifted so its smaller eigenvalue is at least
    /// `minimumEigenvalue`; the diagonal's blocks are h_ii + 1.
    func regularized(_ curvature: [Double], _ d: Int) -> [Double] {
        var h = curvature
        for i in 0..<d {
            for j in 0..<d where i != j {
                let (a, b) = (curvature[i * d + j], curvature[j * d + i])
                let smallest = 0.5 * (a + b - ((a - b) * (a - b) + 4).squareRoot())
                if smallest < minimumEigenvalue { h[i * d + j] += minimumEigenvalue - smallest }
            }
        }
        return h
    }

    /// −H⁻¹ g by the L-BFGS two-loop recursion with the block Hessian approximation as the initial H.
    func twoLoop(_ gradient: [Double], _ h: [Double], _ d: Int, _ steps: [[Double]], _ changes: [[Double]],
                 _ inverseProducts: [Double]) -> [Double]
    {
        var q = gradient
        var alphas = [Double](repeating: 0, count: steps.count)
        for k in steps.indices.reversed() {
            alphas[k] = inverseProducts[k] * zip(steps[k], q).reduce(0.0) { $0 + $1.0 * $1.1 }
            for i in q.indices { q[i] -= alphas[k] * changes[k][i] }
        }
        var r = q
        for i in 0..<d {
            for j in 0..<d where j != i {  // solve [[h_ij, 1], [1, h_ji]] [r_ij, r_ji] = [q_ij, q_ji]
                r[i * d + j] = (q[i * d + j] * h[j * d + i] - q[j * d + i]) / (h[i * d + j] * h[j * d + i] - 1)
            }
            r[i * d + i] = q[i * d + i] / (h[i * d + i] + 1)
        }
        for k in steps.indices {
            let beta = inverseProducts[k] * zip(changes[k], r).reduce(0.0) { $0 + $1.0 * $1.1 }
            for i in r.indices { r[i] += (alphas[k] - beta) * steps[k][i] }
        }
        return r.map { -$0 }
    }

    /// The first α in 1, ½, ¼, … with F((I + α D) R) < F(R): the relative step α D, the new R and F there.
    func lineSearch(_ objective: inout ICAObjective, _ r: [Double], _ direction: [Double], _ loss: Double, _ d: Int)
        -> (step: [Double], r: [Double], loss: Double)?
    {
        var alpha = 1.0
        for _ in 0..<lineSearchTries {
            let step = direction.map { alpha * $0 }
            var update = step
            for i in 0..<d { update[i * d + i] += 1 }
            let candidate = DoubleLinearAlgebra.product(update, r, n: d)
            let value = objective.loss(candidate)
            if value < loss { return (step, candidate, value) }
            alpha /= 2
        }
        return nil
    }
}
