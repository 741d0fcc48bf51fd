import CHDF5
import CHDF5Shim
import Foundation

/// Reads arbitrary rows of a file's `/data` (a `patches` or `whitened` file), one HDF5 read per run of consecutive
/// rows, every value checked finite. The dataset is opened with a chunk cache of `cacheBytes`, so the chunks
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
        var inFileOrder = [Float](repeating: 0, count: sorted.count * cols)
        // One read per run of consecutive rows: a union of hundreds of one-row hyperslabs costs HDF5 far more to
        // build and walk (45 ms for 256 rows of D = 256) than that many small reads from chunks already cached.
        var first = 0
        while first < sorted.count {
            var end = first + 1
            while end < sorted.count, sorted[end] == sorted[end - 1] + 1 { end += 1 }
            guard sorted[first] >= 0, sorted[end - 1] < rows else {
                throw SparseKitError.badInput(file.path, "\(path): rows \(sorted[first])...\(sorted[end - 1]) are out of range")
            }
            var offset: [hsize_t] = [hsize_t(sorted[first]), 0]
            var count: [hsize_t] = [hsize_t(end - first), hsize_t(cols)]
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &count, nil)
            let memorySpace = H5Screate_simple(2, &count, nil)
            defer { H5Sclose(memorySpace) }
            let status = inFileOrder.withUnsafeMutableBufferPointer {
                H5Dread(dataset, sk_h5t_native_float(), memorySpace, fileSpace, sk_h5p_default(), $0.baseAddress! + first * cols)
            }
            guard status >= 0 else {
                throw SparseKitError.badInput(file.path, "\(path): rows \(sorted[first])...\(sorted[end - 1]) cannot be read (damaged or truncated file)")
            }
            first = end
        }
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
