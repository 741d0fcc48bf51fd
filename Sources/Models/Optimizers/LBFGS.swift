import CBLAS
import DataKit

/// Limited-memory BFGS minimisation with a line search satisfying the strong Wolfe conditions
/// (Nocedal & Wright, Numerical Optimization, 2nd ed.: Algorithm 7.4 for the two-loop recursion, Algorithms 3.5
/// and 3.6 for the line search with cubic interpolation in `zoom`).
///
/// Parameters are one contiguous `[Float]`; inner products are OpenBLAS's single-precision sdot, carried on in double
/// precision; the L1 norm of the first step is summed in index order, so the iterates do not depend on where the
/// arrays lie in memory.
public struct LBFGS: Sendable {
    /// Pairs (s, y) kept.
    public var history = 10
    public var maxIterations = 100
    /// Stop when max |gradient| falls below this.
    public var gradientTolerance = 1e-5
    /// Stop when the objective changes by less than this (relative) between iterations.
    public var valueTolerance = 1e-9
    /// Sufficient decrease (Armijo) and curvature constants, 0 < c1 < c2 < 1.
    public var c1 = 1e-4
    public var c2 = 0.9
    public var maxLineSearchEvaluations = 25

    public init(history: Int = 10, maxIterations: Int = 100) {
        self.history = history
        self.maxIterations = maxIterations
    }

    /// Why the run ended.
    public enum Stop: String, Sendable { case gradient, value, iterations, lineSearch }

    public struct Result: Sendable {
        public var value: Double
        public var iterations: Int
        public var evaluations: Int
        public var stop: Stop
    }

    /// Minimises `f` from `x` (updated in place). `f(x, &gradient)` returns the value and fills the gradient.
    @discardableResult
    public func minimize(_ x: inout [Float], _ f: ([Float], inout [Float]) -> Double) -> Result {
        let n = x.count
        var g = [Float](repeating: 0, count: n)
        var value = f(x, &g)
        var evaluations = 1
        var s: [[Float]] = [], y: [[Float]] = [], rho: [Double] = []
        var direction = [Float](repeating: 0, count: n)
        var alpha = [Double](repeating: 0, count: history)
        var iteration = 0
        while iteration < maxIterations {
            if maxAbs(g) < gradientTolerance { return Result(value: value, iterations: iteration, evaluations: evaluations, stop: .gradient) }
            iteration += 1
            // Two-loop recursion: direction = −H g.
            copyNegated(g, into: &direction)
            for k in stride(from: s.count - 1, through: 0, by: -1) {
                alpha[k] = rho[k] * dot(s[k], direction)
                axpy(-alpha[k], y[k], &direction)
            }
            if let lastS = s.last, let lastY = y.last {
                let gamma = dot(lastS, lastY) / dot(lastY, lastY)
                scale(&direction, gamma)
            } else {
                scale(&direction, min(1, 1 / max(l1(g), 1e-12)))  // first step: a unit-ish step along −g
            }
            for k in 0..<s.count {
                let beta = rho[k] * dot(y[k], direction)
                axpy(alpha[k] - beta, s[k], &direction)
            }
            var slope = dot(g, direction)
            if slope >= 0 {  // not a descent direction (curvature lost): restart from steepest descent
                s.removeAll(); y.removeAll(); rho.removeAll()
                copyNegated(g, into: &direction)
                scale(&direction, min(1, 1 / max(l1(g), 1e-12)))
                slope = dot(g, direction)
            }
            let search = lineSearch(x, value, g, direction, slope, f)
            evaluations += search.evaluations
            guard let step = search.step else {
                return Result(value: value, iterations: iteration, evaluations: evaluations, stop: .lineSearch)
            }
            var sNew = direction
            scale(&sNew, step)
            var yNew = search.gradient
            axpy(-1, g, &yNew)
            let previous = value
            axpy(1, sNew, &x)
            value = search.value
            g = search.gradient
            let sy = dot(sNew, yNew)
            if sy > 1e-10 * dot(yNew, yNew) {  // keep the pair only if it adds positive curvature
                if s.count == history { s.removeFirst(); y.removeFirst(); rho.removeFirst() }
                s.append(sNew); y.append(yNew); rho.append(1 / sy)
            }
            if abs(previous - value) <= valueTolerance * max(1, abs(value)) {
                return Result(value: value, iterations: iteration, evaluations: evaluations, stop: .value)
            }
        }
        return Result(value: value, iterations: iteration, evaluations: evaluations, stop: .iterations)
    }

    struct SearchResult {
        var step: Double?
        var value: Double
        var gradient: [Float]
        var evaluations: Int
    }

    /// Evaluates f along x + t d, keeping the last gradient and counting evaluations.
    final class Probe {
        let x: [Float], d: [Float]
        let f: ([Float], inout [Float]) -> Double
        var trial: [Float]
        var gradient: [Float]
        var evaluations = 0

        init(_ x: [Float], _ d: [Float], _ g: [Float], _ f: @escaping ([Float], inout [Float]) -> Double) {
            self.x = x
            self.d = d
            self.f = f
            trial = x
            gradient = g
        }

        /// f(x + t d) and its slope ∇f·d there.
        func callAsFunction(_ t: Double) -> (Double, Double) {
            trial.withUnsafeMutableBufferPointer { pt in  // trial = x + t d
                x.withUnsafeBufferPointer { cblas_scopy(Int32(pt.count), $0.baseAddress, 1, pt.baseAddress, 1) }
                d.withUnsafeBufferPointer { cblas_saxpy(Int32(pt.count), Float(t), $0.baseAddress, 1, pt.baseAddress, 1) }
            }
            let v = f(trial, &gradient)
            evaluations += 1
            return (v, dot(gradient, d))
        }
    }

    /// Finds a step t along `d` with f(x + t d) ≤ f(x) + c1 t ∇f·d and |∇f(x + t d)·d| ≤ c2 |∇f·d| (Algorithm 3.5).
    func lineSearch(_ x: [Float], _ f0: Double, _ g0: [Float], _ d: [Float], _ slope0: Double,
                    _ f: ([Float], inout [Float]) -> Double) -> SearchResult
    {
        withoutActuallyEscaping(f) { f in
            let probe = Probe(x, d, g0, f)
            var tPrevious = 0.0, fPrevious = f0, slopePrevious = slope0
            var t = 1.0
            while probe.evaluations < maxLineSearchEvaluations {
                let (ft, slope) = probe(t)
                if !ft.isFinite {  // overshot into a non-finite region: shrink and retry
                    t = tPrevious + (t - tPrevious) / 10
                    continue
                }
                if ft > f0 + c1 * t * slope0 || (probe.evaluations > 1 && ft >= fPrevious) {
                    return zoom((tPrevious, fPrevious, slopePrevious), (t, ft, slope), f0, slope0, probe)
                }
                if abs(slope) <= -c2 * slope0 {
                    return SearchResult(step: t, value: ft, gradient: probe.gradient, evaluations: probe.evaluations)
                }
                if slope >= 0 { return zoom((t, ft, slope), (tPrevious, fPrevious, slopePrevious), f0, slope0, probe) }
                (tPrevious, fPrevious, slopePrevious) = (t, ft, slope)
                t *= 2
            }
            return SearchResult(step: nil, value: f0, gradient: g0, evaluations: probe.evaluations)
        }
    }

    /// Algorithm 3.6: narrows [lo, hi] (lo satisfies sufficient decrease) by cubic interpolation until strong Wolfe.
    func zoom(_ lo0: (Double, Double, Double), _ hi0: (Double, Double, Double), _ f0: Double, _ slope0: Double,
              _ probe: Probe) -> SearchResult
    {
        var (tLo, fLo, slopeLo) = lo0
        var (tHi, fHi, slopeHi) = hi0
        var best: (Double, Double, [Float])? = nil
        while probe.evaluations < maxLineSearchEvaluations {
            var t = LBFGS.cubicMinimizer(tLo, fLo, slopeLo, tHi, fHi, slopeHi)
            let (low, high) = (min(tLo, tHi), max(tLo, tHi))
            let margin = 0.1 * (high - low)
            if !t.isFinite || t < low + margin || t > high - margin { t = (tLo + tHi) / 2 }  // safeguard
            let (ft, slope) = probe(t)
            if !ft.isFinite || ft > f0 + c1 * t * slope0 || ft >= fLo {
                (tHi, fHi, slopeHi) = (t, ft.isFinite ? ft : .greatestFiniteMagnitude, slope)
            } else {
                if abs(slope) <= -c2 * slope0 {
                    return SearchResult(step: t, value: ft, gradient: probe.gradient, evaluations: probe.evaluations)
                }
                if slope * (tHi - tLo) >= 0 { (tHi, fHi, slopeHi) = (tLo, fLo, slopeLo) }
                (tLo, fLo, slopeLo) = (t, ft, slope)
                best = (t, ft, probe.gradient)
            }
            if abs(tHi - tLo) < 1e-12 * max(1, abs(tLo)) { break }
        }
        // Out of evaluations: accept the best point with sufficient decrease, if any.
        if let (t, v, g) = best { return SearchResult(step: t, value: v, gradient: g, evaluations: probe.evaluations) }
        return SearchResult(step: nil, value: f0, gradient: probe.gradient, evaluations: probe.evaluations)
    }

    /// The minimiser of the cubic through (a, fa, ga) and (b, fb, gb) (Nocedal & Wright eq. 3.59).
    static func cubicMinimizer(_ a: Double, _ fa: Double, _ ga: Double, _ b: Double, _ fb: Double, _ gb: Double) -> Double {
        let d1 = ga + gb - 3 * (fa - fb) / (a - b)
        let radicand = d1 * d1 - ga * gb
        guard radicand >= 0 else { return .nan }
        let d2 = (b > a ? 1.0 : -1.0) * radicand.squareRoot()
        return b - (b - a) * (gb + d2 - d1) / (gb - ga + 2 * d2)
    }
}

@inline(__always) func dot(_ a: [Float], _ b: [Float]) -> Double {
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
        Double(cblas_sdot(Int32(pa.count), pa.baseAddress, 1, pb.baseAddress, 1))
    } }
}

@inline(__always) func axpy(_ alpha: Double, _ x: [Float], _ y: inout [Float]) {
    x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
        cblas_saxpy(Int32(px.count), Float(alpha), px.baseAddress, 1, py.baseAddress, 1)
    } }
}

/// y ← −x.
@inline(__always) func copyNegated(_ x: [Float], into y: inout [Float]) {
    y = x
    scale(&y, -1)
}

@inline(__always) func scale(_ x: inout [Float], _ alpha: Double) {
    x.withUnsafeMutableBufferPointer { cblas_sscal(Int32($0.count), Float(alpha), $0.baseAddress, 1) }
}

@inline(__always) func maxAbs(_ x: [Float]) -> Double {
    x.withUnsafeBufferPointer { p in p.isEmpty ? 0 : Double(abs(p[Int(cblas_isamax(Int32(p.count), p.baseAddress, 1))])) }
}

/// Σ|x_i| in double precision, in index order. Not OpenBLAS's sasum: its Haswell and SkylakeX kernels round the
/// sum differently with the array's address (alignment) and the thread count, and the first step scales by this
/// norm, so every later iterate would depend on where the gradient happened to be allocated. Called once per run
/// and at restarts, so its cost does not matter.
@inline(__always) func l1(_ x: [Float]) -> Double {
    x.withUnsafeBufferPointer { p in p.reduce(0.0) { $0 + Double(abs($1)) } }
}
