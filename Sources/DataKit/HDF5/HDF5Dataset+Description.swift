import CHDF5

/// How `FileSummary` (sk-inspect) describes a dataset: its element type and its storage, read from HDF5.
extension HDF5Dataset {
    /// The element type as numpy names it: float32, float64, int32, int64, uint8, string, …
    public var typeDescription: String {
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        let bits = 8 * H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT: return "float\(bits)"
        case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(bits)"
        case H5T_STRING: return "string"
        default: return "other"
        }
    }

    /// How the dataset is stored: its chunk shape (nil: contiguous) and its filters in order ("gzip 4", "shuffle", …).
    public var storageLayout: (chunks: [Int]?, filters: [String]) {
        let plist = H5Dget_create_plist(id)
        defer { H5Pclose(plist) }
        guard H5Pget_layout(plist) == H5D_CHUNKED else { return (nil, []) }
        var chunk = [hsize_t](repeating: 0, count: max(shape.count, 1))
        H5Pget_chunk(plist, Int32(chunk.count), &chunk)
        var filters: [String] = []
        for index in 0..<H5Pget_nfilters(plist) {
            var flags: UInt32 = 0, count = 1
            var values = [UInt32](repeating: 0, count: 1)
            var name = [CChar](repeating: 0, count: 64)
            let filter = H5Pget_filter2(plist, UInt32(index), &flags, &count, &values, 64, &name, nil)
            switch filter {
            case H5Z_FILTER_DEFLATE: filters.append("gzip \(values[0])")
            case H5Z_FILTER_SHUFFLE: filters.append("shuffle")
            default: filters.append(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return (chunk.map { Int($0) }, filters)
    }

    /// How the dataset is stored, as text: contiguous, or chunked with its filters.
    public var storageDescription: String {
        let (chunks, filters) = storageLayout
        guard let chunks else { return "contiguous" }
        let chunkText = "chunks [" + chunks.map { String($0) }.joined(separator: ", ") + "]"
        return filters.isEmpty ? chunkText : chunkText + ", " + filters.joined(separator: "+")
    }
}
