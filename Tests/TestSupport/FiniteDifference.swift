import DataKit
import XCTest

/// The one finite-difference gradient checker of the test suites.
///
/// Coordinate i of `parameters` is moved to p_i ± h, the function evaluated at both points (all other coordinates at
/// their given values), and the central difference (f₊ − f₋) / ((p_i + h) − (p_i − h)) compared with the analytical
/// gradient: it passes when |numeric − analytic| ≤ max(absolute, relative · |numeric|). The divisor is the step as
/// actually represented in the parameters' precision. A failure names the worst coordinate (the largest ratio of
/// difference to allowance) and how many coordinates failed.
public enum FiniteDifference {
    /// How far an analytical derivative may be from the central difference.
    public struct Tolerance: Sendable, CustomStringConvertible {
        public var absolute: Double
        public var relative: Double

        public init(absolute: Double, relative: Double) {
            self.absolute = absolute
            self.relative = relative
        }

        /// |numeric − analytic| / max(floor, |numeric|) ≤ `relative`: relative error, measured against `floor` when
        /// the derivative is smaller than that.
        public static func relative(_ relative: Double, floor: Double) -> Tolerance {
            Tolerance(absolute: relative * floor, relative: relative)
        }

        /// |numeric − analytic| ≤ `absolute`.
        public static func absolute(_ absolute: Double) -> Tolerance { Tolerance(absolute: absolute, relative: 0) }

        /// The allowed difference at a derivative of `numeric`.
        public func allowance(_ numeric: Double) -> Double { max(absolute, relative * abs(numeric)) }

        public var description: String { "max(\(absolute), \(relative)·|numeric|)" }
    }

    /// Which coordinates to check.
    public enum Coordinates: Sendable {
        /// Every coordinate.
        case all
        /// The listed coordinates.
        case only([Int])
        /// `count` distinct coordinates drawn with a generator seeded with `seed` (all of them if there are fewer).
        case sampled(Int, seed: UInt64)

        /// The indices into a parameter vector of `count` entries, ascending.
        public func indices(_ count: Int) -> [Int] {
            switch self {
            case .all: return Array(0..<count)
            case .only(let list): return list
            case .sampled(let wanted, let seed):
                var generator = SeededGenerator(seed: seed)
                var pool = Array(0..<count)
                for k in 0..<min(wanted, count) { pool.swapAt(k, k + generator.below(count - k)) }
                return pool.prefix(wanted).sorted()
            }
        }
    }

    /// One checked coordinate.
    public struct Coordinate: Sendable {
        public var index: Int
        public var analytic: Double
        public var numeric: Double
        /// |numeric − analytic| over the allowance: at most 1 passes.
        public var ratio: Double
    }

    /// Compares `analyticGradient` with central differences of `function` at `parameters`, coordinate by coordinate,
    /// and records one failure (the worst coordinate) when any coordinate is outside `tolerance`. `function` gets the
    /// whole parameter vector with one coordinate moved. Returns every checked coordinate.
    @discardableResult
    public static func check<Parameter: BinaryFloatingPoint, Gradient: BinaryFloatingPoint>(
        parameters: [Parameter], analyticGradient: [Gradient], step: Parameter, tolerance: Tolerance,
        coordinates: Coordinates = .all, _ message: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line, function: ([Parameter]) -> Double
    ) -> [Coordinate] {
        XCTAssertEqual(analyticGradient.count, parameters.count, "one derivative per parameter. \(message())",
                       file: file, line: line)
        guard analyticGradient.count == parameters.count else { return [] }
        var moved = parameters
        let checked = coordinates.indices(parameters.count).map { i in
            let (plus, minus) = (parameters[i] + step, parameters[i] - step)
            moved[i] = plus
            let high = function(moved)
            moved[i] = minus
            let low = function(moved)
            moved[i] = parameters[i]
            let numeric = (high - low) / Double(plus - minus)
            let analytic = Double(analyticGradient[i])
            let difference = abs(numeric - analytic)
            return Coordinate(index: i, analytic: analytic, numeric: numeric,
                              ratio: difference == 0 ? 0 : difference / tolerance.allowance(numeric))
        }
        let failed = checked.filter { !($0.ratio <= 1) }
        if let worst = failed.max(by: { $0.ratio < $1.ratio || $1.ratio.isNaN }) {
            XCTFail("\(failed.count) of \(checked.count) derivatives outside \(tolerance) (step \(step)); worst: "
                + "coordinate \(worst.index) of \(parameters.count), analytic \(worst.analytic), numeric \(worst.numeric). "
                + message(), file: file, line: line)
        }
        return checked
    }

    /// The same check for parameters held inside a value: the vector at `parameters` of `start` is moved, and
    /// `function` gets a copy of `start` holding the moved vector.
    @discardableResult
    public static func check<Value, Parameter: BinaryFloatingPoint, Gradient: BinaryFloatingPoint>(
        _ start: Value, _ parameters: WritableKeyPath<Value, [Parameter]>, analyticGradient: [Gradient], step: Parameter,
        tolerance: Tolerance, coordinates: Coordinates = .all, _ message: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line, function: (Value) -> Double
    ) -> [Coordinate] {
        check(parameters: start[keyPath: parameters], analyticGradient: analyticGradient, step: step, tolerance: tolerance,
              coordinates: coordinates, message(), file: file, line: line) { moved in
            var value = start
            value[keyPath: parameters] = moved
            return function(value)
        }
    }
}
