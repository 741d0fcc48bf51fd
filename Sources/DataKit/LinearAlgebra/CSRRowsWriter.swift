/// Writes a CSR group (`formats.md`: the layout of `HDF5File.write(_:to:)`) block of rows after block of rows, so a
/// sparse output far larger than memory never has to be held: `data`, `indices` and `indptr` grow as rows come, and
/// the group's attributes are written by `finish()`.
public final class CSRRowsWriter {
    public let groupPath: String
    public let cols: Int
    /// Rows and stored entries written so far.
    public private(set) var rows = 0
    public private(set) var nonZeros = 0
    private let file: HDF5File
    private let data: HDF5Dataset, indices: HDF5Dataset, indptr: HDF5Dataset

    /// Creates the group `groupPath` (replacing any object there) for rows of `cols` columns.
    public init(file: HDF5File, groupPath: String, cols: Int) throws {
        self.file = file
        self.groupPath = groupPath
        self.cols = cols
        try file.remove(groupPath)
        try file.createGroup(groupPath)
        let layout = DatasetLayout(chunkRows: 1 << 16, gzipLevel: 4, extendable: true)
        data = try file.createDataset(groupPath + "/data", of: Float.self, shape: [0], layout: layout)
        indices = try file.createDataset(groupPath + "/indices", of: Int64.self, shape: [0], layout: layout)
        indptr = try file.createDataset(groupPath + "/indptr", of: Int64.self, shape: [1], layout: layout)
        try [Int64(0)].withUnsafeBufferPointer { try indptr.writeRows($0, at: 0) }
    }

    /// Appends the rows of `block` (which has `cols` columns).
    public func append(_ block: CSRMatrix) throws {
        precondition(block.cols == cols, "CSRRowsWriter: \(block.cols) columns, expected \(cols)")
        let offsets = block.indptr.dropFirst().map { $0 + Int64(nonZeros) }
        try block.values.withUnsafeBufferPointer { try data.writeRows($0, at: nonZeros) }
        try block.indices.withUnsafeBufferPointer { try indices.writeRows($0, at: nonZeros) }
        try offsets.withUnsafeBufferPointer { try indptr.writeRows($0, at: rows + 1) }
        rows += block.rows
        nonZeros += block.nonZeros
    }

    /// Writes the group's attributes (its shape, `rows` × `cols`): the group is complete.
    public func finish() throws {
        try file.setCSRAttributes(groupPath, rows: rows, cols: cols)
    }
}
