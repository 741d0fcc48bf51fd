/// The geometry of image patches: `height × width` pixels of `channels` values, channel-last, pixels row-major.
public struct PatchGeometry: Sendable, Equatable {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// Values per patch: D = h · w · c.
    public var dimension: Int { height * width * channels }

    /// The root attributes that record the geometry (`formats.md`: patch_height, patch_width, channels, color).
    public func write(to file: HDF5File) throws {
        try file.setAttribute("patch_height", .int(height))
        try file.setAttribute("patch_width", .int(width))
        try file.setAttribute("channels", .int(channels))
        try file.setAttribute("color", .string(channels == 3 ? "rgb" : "gray"))
    }

    /// The largest patch side a file may record (far beyond any image patch; keeps h · w · c from overflowing).
    public static let maxSide = 1 << 16

    /// The geometry recorded in `file`'s root attributes, or nil when it records none.
    public static func read(from file: HDF5File) throws -> PatchGeometry? {
        guard let h = try file.attribute("patch_height")?.intValue, let w = try file.attribute("patch_width")?.intValue
        else { return nil }
        let c = try file.attribute("channels")?.intValue ?? 1
        guard (1...maxSide).contains(h), (1...maxSide).contains(w), c == 1 || c == 3 else {
            throw SparseKitError.badInput(file.path, "has an invalid patch geometry \(h)×\(w)×\(c)")
        }
        return PatchGeometry(height: h, width: w, channels: c)
    }
}

/// Paths inside a `patches` file (`formats.md`).
public enum PatchesSchema {
    public static let data = "/data"
    public static let sourceFiles = "/source/files"
    public static let sourceImage = "/source/image"
    public static let sourcePosition = "/source/position"
}

extension HDF5File {
    /// Opens `/data` as a finite-valued 2-D float matrix dataset, checking it exists and has rank 2.
    public func dataMatrixDataset(_ datasetPath: String = PatchesSchema.data) throws -> HDF5Dataset {
        let ds = try dataset(datasetPath)
        guard ds.shape.count == 2, ds.elementClass == .float || ds.elementClass == .integer else {
            throw SparseKitError.badInput(path, "\(datasetPath) must be a 2-D numeric matrix, found shape \(ds.shape)")
        }
        guard ds.shape[0] > 0, ds.shape[1] > 0 else {
            throw SparseKitError.badInput(path, "\(datasetPath) is empty (shape \(ds.shape))")
        }
        return ds
    }
}

/// The largest magnitude a value read from a file may have. Squares and sums of squares of values up to 10¹⁵
/// (10³⁰ each) stay far inside float32's range (3.4·10³⁸) even summed over 10⁸ terms, so whitening and training
/// never overflow to Inf on data that passed the readers; no image, feature count or TF-IDF weight comes near it.
public let valueMagnitudeBound: Float = 1e15

/// Fails with a clear line if any value in `values` (rows of `rowLength` starting at row `firstRow`) is NaN or Inf,
/// or beyond ±`valueMagnitudeBound`.
public func requireFinite(_ values: UnsafeBufferPointer<Float>, rowLength: Int, firstRow: Int, file: String,
                          dataset: String) throws
{
    for (i, x) in values.enumerated() where !(abs(x) <= valueMagnitudeBound) {
        let what = x.isNaN ? "NaN" : x.isInfinite ? "Inf" : "\(x), beyond ±\(valueMagnitudeBound),"
        throw SparseKitError.badInput(file, "\(dataset) holds \(what) at row \(firstRow + i / rowLength)")
    }
}

extension HDF5File {
    /// The `/data` rows of a `patches` or `whitened` file (of `allowed` kinds) and the patch geometry the file
    /// records, checked against each other: patches have h · w · c values; whitened rows too, or, PCA-whitened, as
    /// many as the components of the stored `/whitening/matrix` [K, h · w · c]. Every tool that reads such rows
    /// opens them here; the values are checked as they are read (`readFiniteRows`).
    public func patchRows(_ allowed: FileKind...) throws -> (data: HDF5Dataset, geometry: PatchGeometry?) {
        let kind = try requireKind(oneOf: allowed)
        let data = try dataMatrixDataset()
        guard let geometry = try PatchGeometry.read(from: self) else { return (data, nil) }
        let columns = data.shape[1]
        let components = kind == .whitened && exists("/whitening/matrix") ? try dataset("/whitening/matrix").shape : []
        guard columns == geometry.dimension || components == [columns, geometry.dimension] else {
            throw SparseKitError.badInput(path, "records patches of \(geometry.height)×\(geometry.width)×\(geometry.channels) "
                + "= \(geometry.dimension) values, but its /data rows hold \(columns) (patch_height × patch_width × channels must be D)")
        }
        return (data, geometry)
    }
}

extension HDF5File {
    /// The `/data` matrix of a `patches` or `whitened` file (`patchRows`), every value checked (`requireFinite`).
    public func readDataMatrix() throws -> Matrix {
        let ds = try patchRows(.patches, .whitened).data
        return try ds.readFiniteRows(0..<ds.shape[0])
    }
}

extension HDF5Dataset {
    /// Rows `range` of a 2-D numeric dataset as a float matrix, every value checked (`requireFinite`).
    public func readFiniteRows(_ range: Range<Int>) throws -> Matrix {
        let m = Matrix(rows: range.count, cols: shape[1], storage: try readRows(range.lowerBound, count: range.count,
                                                                                 as: Float.self))
        try m.storage.withUnsafeBufferPointer {
            try requireFinite($0, rowLength: m.cols, firstRow: range.lowerBound, file: filePath, dataset: path)
        }
        return m
    }
}
