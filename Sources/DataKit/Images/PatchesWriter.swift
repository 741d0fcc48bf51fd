/// Extracts patches from PNG files straight into a `patches` HDF5 file (`formats.md`), batch by batch, through an
/// atomic output: on any error nothing is left at the output path.
public struct PatchesJob: Sendable {
    public var imageFiles: [String]
    public var output: String
    public var patchHeight: Int
    public var patchWidth: Int
    public var color: PNGImage.ColorModel
    public var sampling: PatchSampling
    public var minStd: Float?
    public var history: [String]

    public init(imageFiles: [String], output: String, patchHeight: Int, patchWidth: Int, color: PNGImage.ColorModel,
                sampling: PatchSampling, minStd: Float?, history: [String])
    {
        self.imageFiles = imageFiles
        self.output = output
        self.patchHeight = patchHeight
        self.patchWidth = patchWidth
        self.color = color
        self.sampling = sampling
        self.minStd = minStd
        self.history = history
    }

    /// What a finished run produced.
    public struct Summary: Sendable {
        public var count: Int
        public var dimension: Int
        public var images: Int
    }

    /// Decodes every image once, extracts the patches and writes the file; `progress` gets the running count.
    public func run(progress: (Int) -> Void = { _ in }) throws -> Summary {
        guard patchHeight > 0, patchWidth > 0 else { throw SparseKitError.usage("the patch size must be at least 1") }
        let output = try AtomicOutput(path: output)
        let planes = try imageFiles.map { try ImagePlane(png: $0, color: color) }
        let extractor = try PatchExtractor(images: planes, names: imageFiles, patchHeight: patchHeight,
                                           patchWidth: patchWidth)
        let d = extractor.geometry.dimension
        let expected: Int
        if case .random(let count, _) = sampling { expected = count } else { expected = 0 }
        // Power-of-two chunks that divide the extraction batches, so each batch is compressed on all cores.
        let batchSize = 8192
        // A batch of patches and its compressed copy (a patch may be as large as the largest image).
        try MemoryBudget.require([.floats("a batch of patches", 2, min(batchSize, expected > 0 ? expected : batchSize), d)],
                                 for: "extracting patches of \(d) values")
        return try output.commit { path in
            let file = try HDF5File.create(path)
            let chunkRows = min(DatasetLayout.chunkRows([expected, d], 4), batchSize, expected > 0 ? expected : batchSize)
            let layout = DatasetLayout(chunkRows: chunkRows, extendable: true)
            let data = try file.createDataset(PatchesSchema.data, of: Float.self, shape: [0, d], layout: layout)
            // Where each patch came from, written batch by batch too, so memory does not grow with --count.
            let sourceLayout = DatasetLayout(chunkRows: batchSize, extendable: true)
            let sourceImage = try file.createDataset(PatchesSchema.sourceImage, of: Int32.self, shape: [0], layout: sourceLayout)
            let sourcePosition = try file.createDataset(PatchesSchema.sourcePosition, of: Int32.self, shape: [0, 2], layout: sourceLayout)
            var written = 0
            let count = try extractor.extract(sampling, minStd: minStd, batchSize: batchSize, progress: progress) { batch, origins in
                try batch.storage.withUnsafeBufferPointer { try data.writeRows($0, at: written) }
                try origins.map(\.image).withUnsafeBufferPointer { try sourceImage.writeRows($0, at: written) }
                try origins.flatMap { [$0.row, $0.column] }.withUnsafeBufferPointer { try sourcePosition.writeRows($0, at: written) }
                written += batch.rows
            }
            guard count > 0 else { throw SparseKitError.badInput(nil, "no patch passed the selection; nothing to write") }
            try file.writeStrings(imageFiles, to: PatchesSchema.sourceFiles)
            try file.writeHeader(kind: .patches, history: history)
            try extractor.geometry.write(to: file)
            if case .random(_, let seed) = sampling { try file.setAttribute("seed", .int(Int(bitPattern: UInt(seed)))) }
            if let minStd { try file.setAttribute("min_std", .double(Double(minStd))) }
            try file.close()
            return Summary(count: count, dimension: d, images: planes.count)
        }
    }
}
