import CHDF5
import CHDF5Shim
import Foundation

/// HDF5 strings for datasets and attributes: written as variable-length UTF-8 (what h5py writes for `str` and reads
/// back as `str`), read in every flavour (`read`).
enum HDF5Strings {
    /// A variable-length UTF-8 string type; the caller closes it.
    static func variableType() -> hid_t {
        let type = H5Tcopy(sk_h5t_c_s1())
        H5Tset_size(type, sk_h5t_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        return type
    }

    /// Calls `body` with a buffer of C string pointers for `strings`, valid for the call only.
    static func withCStrings<R>(_ strings: [String], _ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return try pointers.withUnsafeBytes { try body($0.baseAddress!) }
    }

    /// Reads `count` strings through `read`, which fills a buffer in the memory type it is given.
    ///
    /// Every flavour h5py and numpy write reads back as written: variable-length strings (`str`, or `bytes` with
    /// `h5py.string_dtype('ascii')`) and fixed-length ones (`np.bytes_`, `h5py.string_dtype(length=n)`), in ASCII or
    /// UTF-8, null-terminated, null-padded or space-padded. The memory type keeps the stored character set and padding
    /// (HDF5 converts neither between ASCII and UTF-8, and converting a null-padded field of n bytes to a
    /// null-terminated one of n bytes drops its last character); the padding is then removed as the stored type says.
    static func read(count: Int, storedType: hid_t, space: hid_t, read: (hid_t, UnsafeMutableRawPointer) -> herr_t)
        -> [String]?
    {
        let characterSet = H5Tget_cset(storedType)
        guard characterSet == H5T_CSET_ASCII || characterSet == H5T_CSET_UTF8 else { return nil }
        if H5Tis_variable_str(storedType) > 0 {
            let memoryType = variableType()
            defer { H5Tclose(memoryType) }
            H5Tset_cset(memoryType, characterSet)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            let status = pointers.withUnsafeMutableBytes { read(memoryType, $0.baseAddress!) }
            guard status >= 0 else { return nil }
            let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            pointers.withUnsafeMutableBytes { _ = H5Dvlen_reclaim(memoryType, space, sk_h5p_default(), $0.baseAddress) }
            return strings
        }
        let size = H5Tget_size(storedType)
        let padding = H5Tget_strpad(storedType)
        guard size > 0, padding != H5T_STR_ERROR else { return nil }
        let memoryType = H5Tcopy(sk_h5t_c_s1())
        defer { H5Tclose(memoryType) }
        guard H5Tset_size(memoryType, size) >= 0, H5Tset_cset(memoryType, characterSet) >= 0,
              H5Tset_strpad(memoryType, padding) >= 0
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: count * size)
        let status = bytes.withUnsafeMutableBytes { read(memoryType, $0.baseAddress!) }
        guard status >= 0 else { return nil }
        return (0..<count).map { i in fixedField(bytes[(i * size)..<((i + 1) * size)], padding: padding) }
    }

    /// The text of one fixed-length field: up to its first NUL (null-terminated or null-padded), or without its
    /// trailing spaces (space-padded).
    static func fixedField(_ field: ArraySlice<UInt8>, padding: H5T_str_t) -> String {
        var text = field.prefix { $0 != 0 }
        if padding == H5T_STR_SPACEPAD {
            while text.last == 32 { text = text.dropLast() }
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension HDF5File {
    /// Writes `strings` as a 1-D dataset of variable-length UTF-8 strings.
    public func writeStrings(_ strings: [String], to datasetPath: String) throws {
        try remove(datasetPath)
        try createParentGroups(of: datasetPath)
        var dims = [hsize_t(strings.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let type = HDF5Strings.variableType()
        defer { H5Tclose(type) }
        let lcpl = try linkProperties()
        defer { H5Pclose(lcpl) }
        let dcpl = try HDF5File.reproducibleCreationProperties(sk_h5p_dataset_create())
        defer { H5Pclose(dcpl) }
        let ds = H5Dcreate2(id, datasetPath, type, space, lcpl, dcpl, sk_h5p_default())
        guard ds >= 0 else { throw SparseKitError.cannotCreate(path, "cannot create dataset \(datasetPath)") }
        defer { H5Dclose(ds) }
        guard !strings.isEmpty else { return }
        let status = HDF5Strings.withCStrings(strings) {
            H5Dwrite(ds, type, sk_h5s_all(), sk_h5s_all(), sk_h5p_default(), $0)
        }
        guard status >= 0 else { throw SparseKitError.cannotCreate(path, "\(datasetPath): write failed") }
    }

    /// Reads a 1-D dataset of strings (variable- or fixed-length).
    public func readStrings(_ datasetPath: String) throws -> [String] {
        let ds = try dataset(datasetPath)
        guard ds.elementClass == .string, ds.shape.count == 1 else {
            throw SparseKitError.badInput(path, "\(datasetPath) is not a 1-D array of strings")
        }
        let type = H5Dget_type(ds.id)
        defer { H5Tclose(type) }
        let space = H5Dget_space(ds.id)
        defer { H5Sclose(space) }
        guard ds.shape[0] > 0 else { return [] }
        let strings = HDF5Strings.read(count: ds.shape[0], storedType: type, space: space) { memoryType, buffer in
            H5Dread(ds.id, memoryType, sk_h5s_all(), sk_h5s_all(), sk_h5p_default(), buffer)
        }
        guard let strings else { throw SparseKitError.badInput(path, "\(datasetPath): strings cannot be read") }
        return strings
    }
}
