/// An image decoded once into floats in [0, 1], channel-last, rows of `width` pixels.
public struct ImagePlane: Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [Float]

    /// Decodes the PNG at `path` in the colour model `color` (gray via Y = 0.299 R + 0.587 G + 0.114 B; RGB from a
    /// gray image repeats the gray level; alpha is dropped).
    public init(png path: String, color: PNGImage.ColorModel) throws {
        let image = try PNGCodec.decode(file: path)
        width = image.width
        height = image.height
        channels = color.channels
        pixels = image.pixels(color)
    }

    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(pixels.count == width * height * channels, "pixel count does not match the size")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

/// How patch positions are chosen.
public enum PatchSampling: Sendable, Equatable {
    /// `count` patches at positions uniform over all valid offsets of all images (the last row and column included);
    /// an image is thus picked in proportion to its number of valid positions.
    case random(count: Int, seed: UInt64)
    /// Every patch whose top-left corner lies on the grid `(stride·i, stride·j)`, image after image.
    case grid(stride: Int)
}

/// Where one patch came from: the image's index and the row and column of its top-left pixel.
public struct PatchOrigin: Sendable, Equatable {
    public var image: Int32
    public var row: Int32
    public var column: Int32
}

/// Cuts patches out of decoded images, in batches, so any number of patches can be streamed to a file.
public struct PatchExtractor: Sendable {
    public let images: [ImagePlane]
    public let names: [String]
    public let geometry: PatchGeometry
    /// Valid top-left positions per image: (H − h + 1) · (W − w + 1).
    public let validPositions: [Int]

    /// Checks every image is at least as large as the patch and matches the channel count.
    public init(images: [ImagePlane], names: [String], patchHeight: Int, patchWidth: Int) throws {
        precondition(images.count == names.count, "one name per image")
        guard patchHeight > 0, patchWidth > 0 else { throw SparseKitError.usage("the patch size must be at least 1") }
        guard let channels = images.first?.channels else { throw SparseKitError.usage("no images given") }
        for (image, name) in zip(images, names) where image.height < patchHeight || image.width < patchWidth {
            throw SparseKitError.badInput(name, "image of \(image.width)×\(image.height) pixels is smaller than the "
                + "\(patchWidth)×\(patchHeight) patch")
        }
        self.images = images
        self.names = names
        geometry = PatchGeometry(height: patchHeight, width: patchWidth, channels: channels)
        validPositions = images.map { ($0.height - patchHeight + 1) * ($0.width - patchWidth + 1) }
    }

    /// Copies the patch of image `image` at (`row`, `column`) into `out` (D values).
    @inline(__always)
    public func copyPatch(image: Int, row: Int, column: Int, into out: UnsafeMutablePointer<Float>) {
        let plane = images[image]
        let rowLength = geometry.width * geometry.channels
        plane.pixels.withUnsafeBufferPointer { pixels in
            for r in 0..<geometry.height {
                let source = pixels.baseAddress! + ((row + r) * plane.width + column) * plane.channels
                (out + r * rowLength).update(from: source, count: rowLength)
            }
        }
    }

    /// Population standard deviation of the D values at `values`.
    static func standardDeviation(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var sum = 0.0, sumSquares = 0.0
        for i in 0..<count {
            let v = Double(values[i])
            sum += v
            sumSquares += v * v
        }
        let mean = sum / Double(count)
        return Float(max(0, sumSquares / Double(count) - mean * mean).squareRoot())
    }

    /// Extracts patches and hands them to `consume` in batches of at most `batchSize` rows (a D-column matrix and
    /// the origin of each row). Patches whose standard deviation is below `minStd` are rejected (random sampling
    /// draws again, up to 50 draws per patch requested). Returns the number of patches produced.
    @discardableResult
    public func extract(
        _ sampling: PatchSampling, minStd: Float? = nil, batchSize: Int = 8192,
        progress: (Int) -> Void = { _ in },
        consume: (Matrix, [PatchOrigin]) throws -> Void
    ) throws -> Int {
        let d = geometry.dimension
        var batch = Matrix(rows: batchSize, cols: d)
        var origins: [PatchOrigin] = []
        origins.reserveCapacity(batchSize)
        var produced = 0

        func flush() throws {
            guard !origins.isEmpty else { return }
            let full = origins.count == batchSize ? batch : batch.rowSlice(0..<origins.count)
            try consume(full, origins)
            produced += origins.count
            progress(produced)
            origins.removeAll(keepingCapacity: true)
        }
        /// Copies one candidate into the batch; keeps it unless it is too flat.
        func offer(_ image: Int, _ row: Int, _ column: Int) throws -> Bool {
            let kept = batch.storage.withUnsafeMutableBufferPointer { storage -> Bool in
                let slot = storage.baseAddress! + origins.count * d
                copyPatch(image: image, row: row, column: column, into: slot)
                guard let minStd else { return true }
                return PatchExtractor.standardDeviation(slot, count: d) >= minStd
            }
            guard kept else { return false }
            origins.append(PatchOrigin(image: Int32(image), row: Int32(row), column: Int32(column)))
            if origins.count == batchSize { try flush() }
            return true
        }

        switch sampling {
        case .random(let count, let seed):
            var generator = SeededGenerator(seed: seed)
            let cumulative = validPositions.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1) }
            let total = cumulative.last ?? 0
            let maximumDraws = 50 * count + 1000
            var draws = 0, accepted = 0
            while accepted < count {
                guard draws < maximumDraws else {
                    throw SparseKitError.badInput(nil, "only \(accepted) of \(count) patches reached --min-std "
                        + "\(minStd ?? 0) in \(draws) draws; lower --min-std")
                }
                draws += 1
                let position = generator.below(total)
                let image = PatchExtractor.firstIndex(above: position, in: cumulative)
                let offset = position - (image == 0 ? 0 : cumulative[image - 1])
                let columns = images[image].width - geometry.width + 1
                if try offer(image, offset / columns, offset % columns) { accepted += 1 }
            }
        case .grid(let stride):
            guard stride > 0 else { throw SparseKitError.usage("--stride must be at least 1") }
            for (index, plane) in images.enumerated() {
                for row in Swift.stride(from: 0, through: plane.height - geometry.height, by: stride) {
                    for column in Swift.stride(from: 0, through: plane.width - geometry.width, by: stride) {
                        _ = try offer(index, row, column)
                    }
                }
            }
        }
        try flush()
        return produced
    }

    /// The first index whose cumulative count exceeds `position` (binary search).
    static func firstIndex(above position: Int, in cumulative: [Int]) -> Int {
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > position { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
