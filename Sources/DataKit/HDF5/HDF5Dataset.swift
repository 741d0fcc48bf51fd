import Foundation
import CHDF5
import CHDF5Shim

/// An open dataset: its shape and element class, and reads and writes of whole datasets or row ranges
/// (hyperslabs along the first dimension), so large data can be streamed chunk by chunk.
public final class HDF5Dataset {
    /// The file's path and the dataset's path inside it, for error messages.
    public let filePath: String
    public let path: String
    let id: hid_t
    /// The current extent, first dimension first.
    public private(set) var shape: [Int]

    /// Rows per chunk and gzip level when the dataset is chunked by rows only, with exactly shuffle then gzip:
    /// the layout whose chunks `writeRows` can compress itself, in parallel.
    private var parallelLayout: (chunkRows: Int, level: Int)?

    /// How the elements are stored (contiguous, chunked or compact), read once: a dataset's layout never changes.
    private let layout: H5D_layout_t

    /// Keeps the file open while the dataset is in use (files close with H5F_CLOSE_STRONG, which closes their objects).
    private let file: HDF5File

    init(id: hid_t, file: HDF5File, path: String) throws {
        self.id = id
        self.file = file
        self.filePath = file.path
        self.path = path
        let plist = H5Dget_create_plist(id)
        defer { H5Pclose(plist) }
        layout = H5Pget_layout(plist)
        shape = []
        shape = try readExtent()
        parallelLayout = readParallelLayout(plist)
    }

    /// `parallelLayout` from the dataset's creation property list `plist`.
    private func readParallelLayout(_ plist: hid_t) -> (chunkRows: Int, level: Int)? {
        guard !shape.isEmpty, layout == H5D_CHUNKED, H5Pget_nfilters(plist) == 2 else { return nil }
        var chunk = [hsize_t](repeating: 0, count: shape.count)
        H5Pget_chunk(plist, Int32(shape.count), &chunk)
        guard chunk.dropFirst().map({ Int($0) }) == Array(shape.dropFirst()) else { return nil }
        var flags: UInt32 = 0, count = 1
        var values: [UInt32] = [0]
        guard H5Pget_filter2(plist, 0, &flags, &count, &values, 0, nil, nil) == H5Z_FILTER_SHUFFLE else { return nil }
        count = 1
        guard H5Pget_filter2(plist, 1, &flags, &count, &values, 0, nil, nil) == H5Z_FILTER_DEFLATE else { return nil }
        return (Int(chunk[0]), Int(values[0]))
    }

    deinit { H5Dclose(id) }

    /// The HDF5 class of the stored elements.
    public enum ElementClass: Sendable { case integer, float, string, other }

    public var elementClass: ElementClass {
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        switch H5Tget_class(type) {
        case H5T_INTEGER: return .integer
        case H5T_FLOAT: return .float
        case H5T_STRING: return .string
        default: return .other
        }
    }

    /// Number of elements in one row (the product of all dimensions after the first; 1 for a vector; Int.max if the
    /// product overflows, as a damaged header can make it).
    public var rowLength: Int {
        shape.dropFirst().reduce(1) { product, d in
            let (next, overflow) = product.multipliedReportingOverflow(by: max(d, 0))
            return overflow ? Int.max : next
        }
    }

    private func readExtent() throws -> [Int] {
        let space = H5Dget_space(id)
        guard space >= 0 else { throw failure("cannot read its dataspace") }
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw failure("cannot read its rank") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.prefix(rank).map { Int($0) }
    }

    func failure(_ problem: String) -> SparseKitError { .badInput(filePath, "\(path): \(problem)") }

    /// The element count of `dims`, through the checked path (`MemoryBudget`): an extent whose product overflows is a
    /// damaged or hostile header (65), as is a contiguous dataset declaring more bytes than the whole file holds;
    /// one this process cannot allocate (the machine's memory, an address-space or memory limit) is exit 70, rather
    /// than a crash in the allocation. (A chunked dataset may declare any extent: unwritten chunks read as zeros.)
    func allocatableCount(of dims: [Int], elementSize: Int) throws -> Int {
        let extent = dims.map(String.init).joined(separator: " × ")
        guard let count = MemoryBudget.product(dims), let bytes = MemoryBudget.product([count, elementSize]) else {
            throw failure("declares \(extent) elements, more than any machine holds")
        }
        if isContiguous, let stored = fileSize, count > stored {
            throw failure("declares \(extent) elements, more than the file's \(stored) bytes could hold")
        }
        try MemoryBudget.require(bytes: bytes, for: "\(path): reading it", file: filePath,
                                 hint: "trainers can read it from disk instead with --stream")
        return count
    }

    /// Whether the elements are stored in one contiguous block (so the file must hold at least one byte per element).
    private var isContiguous: Bool { layout == H5D_CONTIGUOUS }

    /// The size of the file on disk, when it can be read (of the file a symbolic link leads to, not of the link).
    private var fileSize: Int? { (try? FileStatus.of(filePath).get()).map { Int($0.size) } }

    /// Fails unless the elements are numbers (HDF5 converts between numeric types on read, never from strings), and
    /// unless a compact dataset's header holds the bytes its shape declares (`requireWholeCompactStorage`).
    func requireNumeric() throws {
        guard elementClass == .integer || elementClass == .float else { throw failure("holds non-numeric elements") }
        try requireWholeCompactStorage()
    }

    /// A compact dataset keeps its elements in its header; libhdf5 1.10 reads one whose stored buffer is shorter
    /// than its shape declares through a null pointer (`fuzz/libhdf5-findings/crash-d81ab…`; newer releases refuse
    /// such a file at open), so its size is checked before any read.
    private func requireWholeCompactStorage() throws {
        guard layout == H5D_COMPACT else { return }
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        let stored = Int(clamping: H5Dget_storage_size(id))
        guard let count = MemoryBudget.product(shape), let declared = MemoryBudget.product([count, H5Tget_size(type)]),
              stored == declared
        else { throw failure("its header stores \(stored) bytes of compact data, not what its shape and type declare (damaged file)") }
    }

    // MARK: Reading

    /// Reads every element, row-major, converted to `T`.
    public func read<T: HDF5Scalar>(as type: T.Type = T.self) throws -> [T] {
        try requireNumeric()
        let count = try allocatableCount(of: shape, elementSize: MemoryLayout<T>.size)
        var values = [T](repeating: 0, count: count)
        guard count > 0 else { return values }
        let status = values.withUnsafeMutableBytes {
            H5Dread(id, T.hdf5MemoryType, sk_h5s_all(), sk_h5s_all(), sk_h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw failure("cannot be read (damaged or truncated file)") }
        return values
    }

    /// Reads rows `start ..< start + count` into `buffer` (which holds `count * rowLength` elements).
    public func readRows<T: HDF5Scalar>(_ start: Int, count: Int, into buffer: UnsafeMutableBufferPointer<T>) throws {
        try requireNumeric()
        precondition(buffer.count >= count * rowLength, "readRows: buffer too small")
        guard let rows = shape.first, start >= 0, start + count <= rows else {
            throw failure("rows \(start)..<\(start + count) are out of range")
        }
        guard count > 0 else { return }
        try withRowSelection(start, count) { memorySpace, fileSpace in
            guard H5Dread(id, T.hdf5MemoryType, memorySpace, fileSpace, sk_h5p_default(), buffer.baseAddress) >= 0 else {
                throw failure("rows \(start)..<\(start + count) cannot be read (damaged or truncated file)")
            }
        }
    }

    /// Reads rows `start ..< start + count` as a new array.
    public func readRows<T: HDF5Scalar>(_ start: Int, count: Int, as type: T.Type = T.self) throws -> [T] {
        var values = [T](repeating: 0, count: try allocatableCount(of: [count, rowLength], elementSize: MemoryLayout<T>.size))
        try values.withUnsafeMutableBufferPointer { try readRows(start, count: count, into: $0) }
        return values
    }

    // MARK: Writing

    /// Writes `values` (row-major) to rows `start ..< start + values.count / rowLength`, growing an extendable
    /// dataset first if the rows lie beyond its current extent.
    public func writeRows<T: HDF5Scalar>(_ values: UnsafeBufferPointer<T>, at start: Int) throws {
        let length = rowLength
        precondition(length == 0 || values.count % length == 0, "writeRows: not a whole number of rows")
        let count = length == 0 ? 0 : values.count / length
        guard count > 0 else { return }
        if start + count > (shape.first ?? 0) { try extend(rows: start + count) }
        if let (chunkRows, level) = parallelLayout, start % chunkRows == 0,
           count % chunkRows == 0 || start + count == shape[0], storesBytes(of: T.self)
        {
            return try writeWholeChunks(UnsafeRawBufferPointer(values), at: start, chunkRows: chunkRows, level: level,
                                        elementSize: MemoryLayout<T>.stride)
        }
        try withRowSelection(start, count) { memorySpace, fileSpace in
            guard H5Dwrite(id, T.hdf5MemoryType, memorySpace, fileSpace, sk_h5p_default(), values.baseAddress) >= 0 else {
                throw SparseKitError.cannotCreate(filePath, "\(path): write failed (disk full or file too large?)")
            }
        }
    }

    /// Whether elements are stored exactly as `T` lies in memory (so chunks can be written without conversion).
    private func storesBytes<T: HDF5Scalar>(of type: T.Type) -> Bool {
        let stored = H5Dget_type(id)
        defer { H5Tclose(stored) }
        return H5Tequal(stored, T.hdf5MemoryType) > 0
    }

    /// Compresses the chunks covering `bytes` in parallel and writes them directly (`H5Dwrite_chunk`).
    private func writeWholeChunks(_ bytes: UnsafeRawBufferPointer, at start: Int, chunkRows: Int, level: Int,
                                  elementSize: Int) throws
    {
        let chunkBytes = chunkRows * rowLength * elementSize
        // At most 32 chunks compressed at a time, so memory stays bounded however large the write.
        let blockBytes = 32 * chunkBytes
        for blockStart in stride(from: 0, to: bytes.count, by: blockBytes) {
            let block = UnsafeRawBufferPointer(rebasing: bytes[blockStart..<min(bytes.count, blockStart + blockBytes)])
            let chunks = ParallelChunkCompressor.compress(block, chunkBytes: chunkBytes, elementSize: elementSize, level: level)
            for (c, compressed) in chunks.enumerated() {
                var offset = [hsize_t](repeating: 0, count: shape.count)
                offset[0] = hsize_t(start + (blockStart / chunkBytes + c) * chunkRows)
                let status = compressed.withUnsafeBytes {
                    H5Dwrite_chunk(id, sk_h5p_default(), 0, &offset, $0.count, $0.baseAddress)
                }
                guard status >= 0 else {
                    throw SparseKitError.cannotCreate(filePath, "\(path): write failed (disk full or file too large?)")
                }
            }
        }
    }

    /// Writes the whole dataset from `values` (row-major, exactly the dataset's element count).
    public func write<T: HDF5Scalar>(_ values: [T]) throws {
        precondition(values.count == shape.reduce(1, *), "write: \(values.count) elements for shape \(shape)")
        guard !values.isEmpty else { return }
        if !shape.isEmpty { return try values.withUnsafeBufferPointer { try writeRows($0, at: 0) } }
        let status = values.withUnsafeBytes {
            H5Dwrite(id, T.hdf5MemoryType, sk_h5s_all(), sk_h5s_all(), sk_h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw SparseKitError.cannotCreate(filePath, "\(path): write failed (disk full?)") }
    }

    /// Grows the first dimension of an extendable dataset to `rows`.
    public func extend(rows: Int) throws {
        var dims = shape.map { hsize_t($0) }
        dims[0] = hsize_t(rows)
        guard H5Dset_extent(id, &dims) >= 0 else {
            throw SparseKitError.cannotCreate(filePath, "\(path): cannot grow to \(rows) rows (not extendable)")
        }
        shape[0] = rows
    }

    /// Runs `body` with a memory dataspace for `count` rows and the file dataspace selecting those rows.
    private func withRowSelection(_ start: Int, _ count: Int, _ body: (hid_t, hid_t) throws -> Void) throws {
        let fileSpace = H5Dget_space(id)
        guard fileSpace >= 0 else { throw failure("cannot read its dataspace") }
        defer { H5Sclose(fileSpace) }
        var offset = [hsize_t](repeating: 0, count: shape.count)
        var extent = shape.map { hsize_t($0) }
        offset[0] = hsize_t(start)
        extent[0] = hsize_t(count)
        guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &extent, nil) >= 0 else {
            throw failure("cannot select rows \(start)..<\(start + count)")
        }
        let memorySpace = H5Screate_simple(Int32(extent.count), &extent, nil)
        defer { H5Sclose(memorySpace) }
        try body(memorySpace, fileSpace)
    }
}

extension HDF5File {
    /// Opens the dataset at `datasetPath`; a missing one is a schema error naming the path.
    public func dataset(_ datasetPath: String) throws -> HDF5Dataset {
        guard kind(of: datasetPath) == .dataset else {
            throw SparseKitError.badInput(path, "has no dataset \(datasetPath)")
        }
        let ds = H5Dopen2(id, datasetPath, sk_h5p_default())
        guard ds >= 0 else { throw SparseKitError.badInput(path, "cannot open dataset \(datasetPath)") }
        return try HDF5Dataset(id: ds, file: self, path: datasetPath)
    }

    /// Creates a numeric dataset of element type `T` and the given shape and layout (replacing any object there).
    /// With `layout.extendable` the first dimension may grow past `shape[0]` as rows are written.
    public func createDataset<T: HDF5Scalar>(
        _ datasetPath: String, of type: T.Type, shape: [Int], layout: DatasetLayout? = nil
    ) throws -> HDF5Dataset {
        let layout = layout ?? .automatic(shape: shape, elementSize: MemoryLayout<T>.stride)
        try remove(datasetPath)
        try createParentGroups(of: datasetPath)
        var dims = shape.map { hsize_t($0) }
        var maxDims = dims
        if layout.extendable, !maxDims.isEmpty { maxDims[0] = hsize_t.max }  // H5S_UNLIMITED
        let space = H5Screate_simple(Int32(dims.count), &dims, &maxDims)
        guard space >= 0 else { throw SparseKitError.internal("HDF5: cannot create a dataspace for \(shape)") }
        defer { H5Sclose(space) }
        let dcpl = try HDF5File.reproducibleCreationProperties(sk_h5p_dataset_create())
        defer { H5Pclose(dcpl) }
        if let chunkRows = layout.chunkRows ?? (layout.extendable ? 1024 : nil), !shape.isEmpty {
            var chunk = dims.map { max($0, 1) }
            chunk[0] = hsize_t(max(1, chunkRows))
            H5Pset_chunk(dcpl, Int32(chunk.count), &chunk)
            if layout.shuffle { H5Pset_shuffle(dcpl) }
            if let level = layout.gzipLevel { H5Pset_deflate(dcpl, UInt32(level)) }
        }
        let lcpl = try linkProperties()
        defer { H5Pclose(lcpl) }
        let ds = H5Dcreate2(id, datasetPath, T.hdf5FileType, space, lcpl, dcpl, sk_h5p_default())
        guard ds >= 0 else { throw SparseKitError.cannotCreate(path, "cannot create dataset \(datasetPath)") }
        return try HDF5Dataset(id: ds, file: self, path: datasetPath)
    }

    /// Writes `values` as a dataset of the given shape (row-major), chunked and compressed when large.
    public func write<T: HDF5Scalar>(_ values: [T], shape: [Int], to datasetPath: String, layout: DatasetLayout? = nil)
        throws
    {
        precondition(values.count == shape.reduce(1, *), "write: \(values.count) elements for shape \(shape)")
        try createDataset(datasetPath, of: T.self, shape: shape, layout: layout).write(values)
    }

    /// Writes a matrix as a 2-D float32 dataset.
    public func write(_ matrix: Matrix, to datasetPath: String, layout: DatasetLayout? = nil) throws {
        try write(matrix.storage, shape: [matrix.rows, matrix.cols], to: datasetPath, layout: layout)
    }

    /// Reads a numeric dataset with its shape.
    public func read<T: HDF5Scalar>(_ datasetPath: String, as type: T.Type = T.self) throws -> (values: [T], shape: [Int]) {
        let ds = try dataset(datasetPath)
        return (try ds.read(as: T.self), ds.shape)
    }

    /// Reads a 2-D dataset as a float32 matrix (numeric types are converted); any other rank is a schema error.
    public func readMatrix(_ datasetPath: String) throws -> Matrix {
        let ds = try dataset(datasetPath)
        guard ds.shape.count == 2 else {
            throw SparseKitError.badInput(path, "\(datasetPath) has shape \(ds.shape), expected a 2-D matrix")
        }
        return Matrix(rows: ds.shape[0], cols: ds.shape[1], storage: try ds.read(as: Float.self))
    }
}
