import CHDF5
import CHDF5Shim

/// A numeric element type with an HDF5 counterpart: the native type used in memory and the little-endian type stored
/// in files (what h5py reports as `<f4`, `<f8`, `<i4`, `<i8`, `|u1`).
public protocol HDF5Scalar: Numeric, Sendable {
    static var hdf5MemoryType: hid_t { get }
    static var hdf5FileType: hid_t { get }
}

extension Float: HDF5Scalar {
    public static var hdf5MemoryType: hid_t { sk_h5t_native_float() }
    public static var hdf5FileType: hid_t { sk_h5t_ieee_f32le() }
}

extension Double: HDF5Scalar {
    public static var hdf5MemoryType: hid_t { sk_h5t_native_double() }
    public static var hdf5FileType: hid_t { sk_h5t_ieee_f64le() }
}

extension Int32: HDF5Scalar {
    public static var hdf5MemoryType: hid_t { sk_h5t_native_int32() }
    public static var hdf5FileType: hid_t { sk_h5t_std_i32le() }
}

extension Int64: HDF5Scalar {
    public static var hdf5MemoryType: hid_t { sk_h5t_native_int64() }
    public static var hdf5FileType: hid_t { sk_h5t_std_i64le() }
}

extension UInt8: HDF5Scalar {
    public static var hdf5MemoryType: hid_t { sk_h5t_native_uint8() }
    public static var hdf5FileType: hid_t { sk_h5t_native_uint8() }
}

/// How a dataset is stored: contiguous, or chunked by rows with the shuffle filter and gzip.
public struct DatasetLayout: Sendable, Equatable {
    /// Rows per chunk; nil stores the dataset contiguously (no compression possible then).
    public var chunkRows: Int?
    /// gzip level 1–9, or nil for no compression (only with chunking).
    public var gzipLevel: Int?
    /// Whether the byte-shuffle filter runs before gzip.
    public var shuffle: Bool
    /// Whether the first dimension can grow (so rows can be appended while streaming).
    public var extendable: Bool

    public init(chunkRows: Int?, gzipLevel: Int? = 4, shuffle: Bool = true, extendable: Bool = false) {
        self.chunkRows = chunkRows
        self.gzipLevel = gzipLevel
        self.shuffle = shuffle
        self.extendable = extendable
    }

    /// Contiguous storage, for small datasets.
    public static let contiguous = DatasetLayout(chunkRows: nil, gzipLevel: nil, shuffle: false)

    /// The contract's default (`formats.md`): datasets of 64 KiB or more are chunked (at most 512 KiB per chunk, a
    /// power of two of rows, so chunks divide the power-of-two blocks the tools write and can be compressed in
    /// parallel) and gzip-compressed at `level` with the shuffle filter; smaller ones are stored contiguously.
    public static func automatic(shape: [Int], elementSize: Int, level: Int = 4) -> DatasetLayout {
        let total = (shape.first ?? 1) * rowBytes(shape, elementSize)
        guard total >= 64 << 10, let rows = shape.first, rows > 0 else { return .contiguous }
        return DatasetLayout(chunkRows: min(rows, chunkRows(shape, elementSize)), gzipLevel: level)
    }

    /// Rows per chunk of at most 512 KiB, a power of two.
    public static func chunkRows(_ shape: [Int], _ elementSize: Int) -> Int {
        var rows = 1
        while 2 * rows * rowBytes(shape, elementSize) <= 512 << 10 { rows *= 2 }
        return rows
    }

    private static func rowBytes(_ shape: [Int], _ elementSize: Int) -> Int {
        max(1, shape.dropFirst().reduce(elementSize, *))
    }
}
