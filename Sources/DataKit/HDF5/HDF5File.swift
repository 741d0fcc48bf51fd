import CHDF5
import CHDF5Shim
import Foundation

/// An open HDF5 file. Reads and writes dense datasets, string arrays, CSR groups and attributes by absolute path
/// (`/data`, `/source/files`), creating intermediate groups as needed.
///
/// Every HDF5 failure surfaces as a `SparseKitError` naming this file and the object; HDF5's own error stack
/// printing is turned off. The file is closed by `close()` (which reports flush errors) or, failing that, on deinit.
public final class HDF5File {
    /// The file's path, used in every error message.
    public let path: String
    let id: hid_t
    private var isOpen = true

    private init(id: hid_t, path: String) {
        self.id = id
        self.path = path
    }

    deinit { if isOpen { H5Fclose(id) } }

    /// Creates (or truncates) the file at `path` for writing.
    public static func create(_ path: String) throws -> HDF5File {
        sk_h5_silence_errors()
        let fapl = try accessProperties()
        defer { H5Pclose(fapl) }
        let id = H5Fcreate(path, sk_h5f_acc_trunc(), sk_h5p_default(), fapl)
        guard id >= 0 else { throw SparseKitError.cannotCreate(path, "cannot create an HDF5 file here") }
        return HDF5File(id: id, path: path)
    }

    /// Opens an existing file, read-only unless `writable`.
    /// A missing or unreadable path is `missingInput`; anything but a regular file (a FIFO would block HDF5's open
    /// forever) and a file that is not HDF5 (or is damaged) are `badInput` (`InputFile`).
    public static func open(_ path: String, writable: Bool = false) throws -> HDF5File {
        sk_h5_silence_errors()
        try InputFile.check(path, what: "an HDF5 file")
        guard H5Fis_hdf5(path) > 0 else {
            throw SparseKitError.badInput(path, "is not an HDF5 file (or its header is damaged)")
        }
        let fapl = try accessProperties()
        defer { H5Pclose(fapl) }
        let id = H5Fopen(path, writable ? sk_h5f_acc_rdwr() : sk_h5f_acc_rdonly(), fapl)
        guard id >= 0 else { throw SparseKitError.badInput(path, "cannot be opened as HDF5 (truncated or damaged)") }
        return HDF5File(id: id, path: path)
    }

    /// Close "strongly": closing the file closes every object still open in it, so no handle keeps it alive.
    private static func accessProperties() throws -> hid_t {
        let fapl = H5Pcreate(sk_h5p_file_access())
        guard fapl >= 0 else { throw SparseKitError.internal("HDF5: cannot create a file access property list") }
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)
        return fapl
    }

    /// Flushes and closes the file; errors (a full disk, say) are reported here rather than lost in deinit.
    public func close() throws {
        guard isOpen else { return }
        isOpen = false
        guard H5Fclose(id) >= 0 else { throw SparseKitError.cannotCreate(path, "HDF5 could not flush and close the file") }
    }

    // MARK: Paths and groups

    /// Whether an object (group or dataset) exists at the absolute `objectPath`.
    public func exists(_ objectPath: String) -> Bool {
        var prefix = ""
        for component in objectPath.split(separator: "/") {
            prefix += "/" + component
            guard H5Lexists(id, prefix, sk_h5p_default()) > 0 else { return false }
        }
        return true
    }

    /// What kind of object stands at `objectPath`, or nil if none does.
    public enum ObjectKind: Sendable { case group, dataset, other }

    public func kind(of objectPath: String) -> ObjectKind? {
        guard objectPath == "/" || exists(objectPath) else { return nil }
        let object = H5Oopen(id, objectPath, sk_h5p_default())
        guard object >= 0 else { return nil }
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// Creates the group at `groupPath` (and any missing parents); an existing group is left as it is.
    public func createGroup(_ groupPath: String) throws {
        guard groupPath != "/", !groupPath.isEmpty, !exists(groupPath) else { return }
        try createParentGroups(of: groupPath)
        let lcpl = try linkProperties()
        defer { H5Pclose(lcpl) }
        let gcpl = try HDF5File.reproducibleCreationProperties(sk_h5p_group_create())
        defer { H5Pclose(gcpl) }
        let group = H5Gcreate2(id, groupPath, lcpl, gcpl, sk_h5p_default())
        guard group >= 0 else { throw SparseKitError.cannotCreate(path, "cannot create group \(groupPath)") }
        H5Gclose(group)
    }

    /// Creates the groups above `objectPath` that do not exist yet.
    func createParentGroups(of objectPath: String) throws {
        guard let slash = objectPath.lastIndex(of: "/"), slash != objectPath.startIndex else { return }
        try createGroup(String(objectPath[..<slash]))
    }

    /// The names of the direct children of the group at `groupPath`, in creation-name order.
    public func children(of groupPath: String = "/") throws -> [String] {
        let group = H5Gopen2(id, groupPath, sk_h5p_default())
        guard group >= 0 else { throw SparseKitError.badInput(path, "has no group \(groupPath)") }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw SparseKitError.badInput(path, "cannot list \(groupPath)") }
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, sk_h5p_default())
            guard length >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, Int(length) + 1, sk_h5p_default())
            names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Removes the link at `objectPath` if it exists (its storage is freed when the file is rewritten).
    public func remove(_ objectPath: String) throws {
        guard exists(objectPath) else { return }
        guard H5Ldelete(id, objectPath, sk_h5p_default()) >= 0 else {
            throw SparseKitError.cannotCreate(path, "cannot remove \(objectPath)")
        }
    }

    /// Link-creation properties that create missing intermediate groups.
    func linkProperties() throws -> hid_t {
        let lcpl = H5Pcreate(sk_h5p_link_create())
        guard lcpl >= 0 else { throw SparseKitError.internal("HDF5: cannot create a link property list") }
        H5Pset_create_intermediate_group(lcpl, 1)
        H5Pset_char_encoding(lcpl, H5T_CSET_UTF8)
        return lcpl
    }

    /// Object-creation properties of `propertyClass` without modification times, so identical runs write identical
    /// bytes.
    static func reproducibleCreationProperties(_ propertyClass: hid_t) throws -> hid_t {
        let plist = H5Pcreate(propertyClass)
        guard plist >= 0 else { throw SparseKitError.internal("HDF5: cannot create a property list") }
        H5Pset_obj_track_times(plist, false)
        return plist
    }

    /// Opens the object at `objectPath` (group or dataset) for attribute access.
    func openObject(_ objectPath: String) throws -> hid_t {
        let object = H5Oopen(id, objectPath, sk_h5p_default())
        guard object >= 0 else { throw SparseKitError.badInput(path, "has no object \(objectPath)") }
        return object
    }
}

extension HDF5File {
    /// Copies the object at `objectPath` in `source` (a group with everything below it, or a dataset, attributes
    /// included) to the same path in this file.
    public func copy(_ objectPath: String, from source: HDF5File) throws {
        try createParentGroups(of: objectPath)
        guard H5Ocopy(source.id, objectPath, id, objectPath, sk_h5p_default(), sk_h5p_default()) >= 0 else {
            throw SparseKitError.cannotCreate(path, "cannot copy \(objectPath) from \(source.path)")
        }
    }
}
