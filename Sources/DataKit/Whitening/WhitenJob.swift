/// `sk-whiten` as a library call: fits a whitening transform on a `patches` file (or takes a stored one) and writes
/// a `whitened` file (`formats.md`) through an atomic output.
public struct WhitenJob: Sendable {
    /// Where the transform comes from.
    public enum Source: Sendable {
        case fit(method: WhiteningMethod, epsilon: Double, components: ComponentSelection, filter: PatchFilter)
        /// Apply the transform stored in this `whitened` file.
        case stored(path: String)
    }

    public var input: String
    public var output: String
    public var source: Source
    public var history: [String]
    /// Inputs up to this size are read once and kept in memory; larger ones are streamed chunk by chunk (about 9%
    /// slower at 2 M patches, with a peak of 68 MiB instead of 2 GiB: bench/results-large-data.txt).
    public var memoryBudget = 256 << 20

    public init(input: String, output: String, source: Source, history: [String]) {
        self.input = input
        self.output = output
        self.source = source
        self.history = history
    }

    public struct Summary: Sendable {
        public var rows: Int
        public var inputDimension: Int
        public var outputDimension: Int
        public var transform: WhiteningTransform
    }

    /// Runs the job; `progress` receives (stage, rows done, rows in all).
    ///
    /// BLAS runs on one thread: its calls here (a syrk or gemm per 4096-row block) alternate with reading,
    /// decompression and compression, during which idle OpenBLAS threads would spin; measured, one thread is faster
    /// overall (bench/image_stage.py: 3.5 s against 4.0 s for 200,000 patches).
    public func run(progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> Summary {
        try BLASThreads.with(1) { try runSingleThreadedBLAS(progress: progress) }
    }

    private func runSingleThreadedBLAS(progress: (String, Int, Int) -> Void) throws -> Summary {
        let output = try AtomicOutput(path: output)
        let file = try HDF5File.open(input)
        let (data, geometry) = try file.patchRows(.patches)
        let (n, d) = (data.shape[0], data.shape[1])

        var stored: WhiteningTransform?
        let filter: PatchFilter
        switch source {
        case .fit(_, _, _, let f):
            try f.validate(for: geometry)
            filter = f
        case .stored(let path):
            let fitted = try HDF5File.open(path)
            // A whitened file, or a model trained on one (sk-train copies the transform into the model).
            if try fitted.requireKind(.whitened, .model) == .model, fitted.kind(of: WhiteningTransform.group) != .group {
                throw SparseKitError.badInput(path, "is a model trained on data that were not whitened: it holds no transform")
            }
            let transform = try WhiteningTransform.read(from: fitted)
            guard transform.inputDimension == d else {
                throw SparseKitError.badInput(input, "rows have \(d) values but the transform in \(path) expects "
                    + "\(transform.inputDimension); rerun sk-patches with the patch size and colour used for \(path)")
            }
            if let geometry, let fittedGeometry = try PatchGeometry.read(from: fitted), fittedGeometry != geometry {
                throw SparseKitError.badInput(input, "patches are \(geometry.height)×\(geometry.width)×\(geometry.channels) "
                    + "but \(path) was fitted on \(fittedGeometry.height)×\(fittedGeometry.width)×\(fittedGeometry.channels)")
            }
            filter = transform.filter
            stored = transform
        }

        // Filtered rows, chunk by chunk: from memory when the input fits the budget, else from disk each pass.
        let chunkRows = WhiteningTransform.chunkRows
        let cached: Matrix? = n * d * 4 <= memoryBudget ? try readFiltered(data, 0..<n, filter, geometry) : nil
        func chunk(_ range: Range<Int>) throws -> Matrix {
            if let cached { return cached.rowSlice(range) }
            return try readFiltered(data, range, filter, geometry)
        }

        let transform: WhiteningTransform
        if let stored {
            transform = stored
        } else if case .fit(let method, let epsilon, let components, _) = source {
            var accumulator = CovarianceAccumulator(dimension: d)
            for start in stride(from: 0, to: n, by: chunkRows) {
                accumulator.add(try chunk(start..<min(n, start + chunkRows)))
                progress("covariance", min(n, start + chunkRows), n)
            }
            guard n >= 2 else { throw SparseKitError.badInput(input, "has \(n) row; whitening needs at least 2") }
            let (mean, covariance) = accumulator.result()
            transform = try WhiteningTransform.fit(mean: mean, covariance: covariance, method: method, epsilon: epsilon,
                                                   components: components, filter: filter)
        } else {
            preconditionFailure("a job either fits a transform or applies a stored one")
        }

        let k = transform.outputDimension
        try output.commit { path in
            let out = try HDF5File.create(path)
            // Chunks of the output divide the transform's blocks, so every block is compressed on all cores.
            var layout = DatasetLayout.automatic(shape: [n, k], elementSize: 4)
            layout.chunkRows = layout.chunkRows.map { min($0, chunkRows) }
            let whitened = try out.createDataset("/data", of: Float.self, shape: [n, k], layout: layout)
            for start in stride(from: 0, to: n, by: chunkRows) {
                let rows = transform.apply(toFiltered: try chunk(start..<min(n, start + chunkRows)))
                try rows.storage.withUnsafeBufferPointer { try whitened.writeRows($0, at: start) }
                progress("transform", min(n, start + chunkRows), n)
            }
            try transform.write(to: out)
            if file.kind(of: "/source") == .group { try out.copy("/source", from: file) }
            try geometry?.write(to: out)
            try out.writeHeader(kind: .whitened, history: try file.history() + history)
            try out.close()
        }
        return Summary(rows: n, inputDimension: d, outputDimension: k, transform: transform)
    }

    /// Reads rows `range` of `data`, rejects NaN/Inf (naming the row), and applies the per-patch filter.
    private func readFiltered(_ data: HDF5Dataset, _ range: Range<Int>, _ filter: PatchFilter, _ geometry: PatchGeometry?)
        throws -> Matrix
    {
        var m = Matrix(rows: range.count, cols: data.shape[1])
        try m.storage.withUnsafeMutableBufferPointer { buffer in
            try data.readRows(range.lowerBound, count: range.count, into: buffer)
            try requireFinite(UnsafeBufferPointer(buffer), rowLength: data.shape[1], firstRow: range.lowerBound,
                              file: input, dataset: data.path)
        }
        try filter.apply(to: &m, geometry: geometry)
        return m
    }
}
