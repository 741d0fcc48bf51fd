import CHDF5
import CHDF5Shim
import Foundation

/// Reads arbitrary rows of a file's `/data` (a `patches` or `whitened` file) in one HDF5 read: a union of one-row
/// hyperslabs, every value checked finite. The dataset is opened with a chunk cache of `cacheBytes`, so the chunks
/// of the blocks a shuffling buffer spans (`ShuffledBlockReading`) are decompressed once, not once per row: the ranks
/// of an MPI job read their shares of every minibatch this way.
public final class ScatteredRowReader {
    public let file: HDF5File
    public let rows: Int
    public let cols: Int
    private let dataset: hid_t
    private let path: String

    /// Opens `file`'s `/data` with a chunk cache of `cacheBytes` (at least HDF5's default of 1 MiB).
    public init(file: HDF5File, cacheBytes: Int) throws {
        let data = try file.patchRows(.patches, .whitened).data
        (self.file, rows, cols, path) = (file, data.shape[0], data.shape[1], data.path)
        let access = H5Pcreate(sk_h5p_dataset_access())
        defer { H5Pclose(access) }
        // Slots: a prime well above the number of chunks the cache holds (HDF5's advice: about 100 times).
        H5Pset_chunk_cache(access, 100_003, max(1 << 20, cacheBytes), 1)
        dataset = H5Dopen2(file.id, data.path, access)
        guard dataset >= 0 else { throw SparseKitError.badInput(file.path, "cannot open dataset \(data.path)") }
    }

    deinit { H5Dclose(dataset) }

    /// Rows `indices` (each 0 ..< rows, no repeats) in the order given, as a matrix of `indices.count` rows.
    public func read(_ indices: [Int]) throws -> Matrix {
        var result = Matrix(rows: indices.count, cols: cols)
        guard !indices.isEmpty else { return result }
        let order = indices.indices.sorted { indices[$0] < indices[$1] }  // order[k]: where the k-th row in the file goes
        let sorted = order.map { indices[$0] }
        let fileSpace = H5Dget_space(dataset)
        guard fileSpace >= 0 else { throw SparseKitError.badInput(file.path, "\(path): cannot read its dataspace") }
        defer { H5Sclose(fileSpace) }
        var count: [hsize_t] = [1, hsize_t(cols)]
        var first = true
        for row in sorted {
            guard row >= 0, row < rows else { throw SparseKitError.badInput(file.path, "\(path): row \(row) is out of range") }
            var offset: [hsize_t] = [hsize_t(row), 0]
            H5Sselect_hyperslab(fileSpace, first ? H5S_SELECT_SET : H5S_SELECT_OR, &offset, nil, &count, nil)
            first = false
        }
        var extent: [hsize_t] = [hsize_t(sorted.count), hsize_t(cols)]
        let memorySpace = H5Screate_simple(2, &extent, nil)
        defer { H5Sclose(memorySpace) }
        var inFileOrder = [Float](repeating: 0, count: sorted.count * cols)
        let status = inFileOrder.withUnsafeMutableBytes {
            H5Dread(dataset, sk_h5t_native_float(), memorySpace, fileSpace, sk_h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw SparseKitError.badInput(file.path, "\(path): rows cannot be read (damaged or truncated file)") }
        try inFileOrder.withUnsafeBufferPointer { source in
            try result.storage.withUnsafeMutableBufferPointer { target in
                for (k, i) in order.enumerated() {
                    let from = UnsafeBufferPointer(rebasing: source[(k * cols)..<((k + 1) * cols)])
                    try requireFinite(from, rowLength: cols, firstRow: sorted[k], file: file.path, dataset: path)
                    _ = UnsafeMutableBufferPointer(rebasing: target[(i * cols)..<((i + 1) * cols)]).initialize(from: from)
                }
            }
        }
        return result
    }
}
