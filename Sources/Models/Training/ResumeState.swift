import DataKit

/// What a model file keeps besides the model so that `sk-train --resume` continues exactly where training stopped
/// (`formats.md`, "Resume state"), in the group `/training`: the random generator's state (`generator`, four int64
/// bit patterns), Adam's moments (`adam/m`, `adam/v`, attribute `adam_step`) when the trainer uses Adam, and the
/// trainer's own arrays (ES-SC: `v`, the unnormalised dictionary; per-point posteriors when they carry over between
/// epochs) and counters (attributes of `/training`).
public struct ResumeState: Sendable {
    public static let group = "/training"

    public var generator: SeededGenerator
    public var adam: Adam.Moments?
    /// Float arrays by name (a vector is a one-row matrix).
    public var matrices: [String: Matrix] = [:]
    /// Float64 vectors by name.
    public var vectors: [String: [Double]] = [:]
    /// Integers by name.
    public var counters: [String: Int] = [:]
    /// The model file the state was read from (for error messages).
    public var path = "the model to resume"

    public init(generator: SeededGenerator, adam: Adam.Moments? = nil) {
        self.generator = generator
        self.adam = adam
    }

    public func write(to file: HDF5File) throws {
        let g = Self.group
        try file.createGroup(g)
        try file.write(generator.state.map { Int64(bitPattern: $0) }, shape: [4], to: g + "/generator")
        if let adam {
            try file.write(adam.m, shape: [adam.m.count], to: g + "/adam/m")
            try file.write(adam.v, shape: [adam.v.count], to: g + "/adam/v")
            try file.setAttribute("adam_step", .int(adam.step), on: g)
        }
        for (name, matrix) in matrices.sorted(by: { $0.key < $1.key }) { try file.write(matrix, to: g + "/" + name) }
        for (name, vector) in vectors.sorted(by: { $0.key < $1.key }) {
            try file.write(vector, shape: [vector.count], to: g + "/" + name)
        }
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) { try file.setAttribute(name, .int(value), on: g) }
    }

    /// Reads the state `write` stored; `matrices`, `vectors` and `counters` name what the trainer needs (each
    /// must be present). A model file without `/training` (written by SparseKit before resume state was stored, or
    /// by another program) cannot be continued exactly, and is refused.
    public static func read(from file: HDF5File, matrices matrixNames: [String] = [], vectors vectorNames: [String] = [],
                            counters counterNames: [String] = [], adam: Bool = false) throws -> ResumeState {
        let g = group
        guard file.kind(of: g) == .group else {
            throw SparseKitError.badInput(file.path, "holds no resume state (\(g)): it was written before SparseKit stored "
                + "what training needs to continue exactly; train again from the start")
        }
        let (words, shape) = try file.read(g + "/generator", as: Int64.self)
        guard shape == [4], let generator = SeededGenerator(state: words.map { UInt64(bitPattern: $0) }) else {
            throw SparseKitError.badInput(file.path, "\(g)/generator is not a generator state (four words, not all zero)")
        }
        var state = ResumeState(generator: generator)
        state.path = file.path
        if adam {
            let (m, _) = try file.read(g + "/adam/m", as: Float.self)
            let (v, _) = try file.read(g + "/adam/v", as: Float.self)
            guard m.count == v.count, let step = try file.attribute("adam_step", of: g)?.intValue, step >= 0,
                  m.allSatisfy(\.isFinite), v.allSatisfy({ $0 >= 0 && $0.isFinite })
            else { throw SparseKitError.badInput(file.path, "\(g)/adam holds inconsistent moments") }
            state.adam = Adam.Moments(m: m, v: v, step: step)
        }
        for name in matrixNames {
            let matrix = try file.readMatrix(g + "/" + name)
            guard matrix.isFinite else { throw SparseKitError.badInput(file.path, "\(g)/\(name) holds non-finite values") }
            state.matrices[name] = matrix
        }
        for name in vectorNames { state.vectors[name] = try file.read(g + "/" + name, as: Double.self).values }
        for name in counterNames {
            guard let value = try file.attribute(name, of: g)?.intValue, value >= 0 else {
                throw SparseKitError.badInput(file.path, "\(g) lacks the counter '\(name)'")
            }
            state.counters[name] = value
        }
        return state
    }

    /// The stored matrix `name`, checked to be rows × cols.
    public func matrix(_ name: String, rows: Int, cols: Int) throws -> Matrix {
        guard let matrix = matrices[name], matrix.rows == rows, matrix.cols == cols else {
            throw SparseKitError.badInput(path, "\(Self.group)/\(name) does not have shape [\(rows), \(cols)]: it was trained on "
                + "other data or with other settings")
        }
        return matrix
    }
}
