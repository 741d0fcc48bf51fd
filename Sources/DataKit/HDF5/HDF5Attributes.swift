import CHDF5
import CHDF5Shim

/// The value of an HDF5 attribute as SparseKit stores and reads it.
/// In JSON (`sk-inspect --json`) it is the value itself: a string, a number, or an array of them.
public enum HDF5AttributeValue: Equatable, Sendable, CustomStringConvertible, Codable {
    case string(String)
    case strings([String])
    case int(Int)
    case ints([Int])
    case double(Double)
    case doubles([Double])

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var stringsValue: [String]? {
        switch self {
        case .strings(let s): return s
        case .string(let s): return [s]
        default: return nil
        }
    }
    /// The value as an integer: an int, or a double that holds a whole number.
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }
    public var intsValue: [Int]? {
        switch self {
        case .ints(let v): return v
        case .int(let i): return [i]
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let s): try container.encode(s)
        case .strings(let s): try container.encode(s)
        case .int(let i): try container.encode(i)
        case .ints(let v): try container.encode(v)
        case .double(let d): try container.encode(d)
        case .doubles(let v): try container.encode(v)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let i = try? container.decode(Int.self) { self = .int(i) }
        else if let d = try? container.decode(Double.self) { self = .double(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let v = try? container.decode([Int].self) { self = .ints(v) }
        else if let v = try? container.decode([Double].self) { self = .doubles(v) }
        else { self = .strings(try container.decode([String].self)) }
    }

    public var description: String {
        switch self {
        case .string(let s): return s
        case .strings(let s): return "[" + s.joined(separator: ", ") + "]"
        case .int(let i): return String(i)
        case .ints(let v): return "[" + v.map(String.init).joined(separator: ", ") + "]"
        case .double(let d): return String(d)
        case .doubles(let v): return "[" + v.map { String($0) }.joined(separator: ", ") + "]"
        }
    }
}

extension HDF5File {
    /// Sets (or replaces) attribute `name` on the object at `objectPath`.
    /// Strings are variable-length UTF-8, integers int64, reals float64; single values are scalars.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue, on objectPath: String = "/") throws {
        let object = try openObject(objectPath)
        defer { H5Oclose(object) }
        if H5Aexists(object, name) > 0 { H5Adelete(object, name) }
        func create(_ type: hid_t, count: Int?, _ write: (hid_t, hid_t) -> herr_t) throws {
            var dims = [hsize_t(count ?? 1)]
            let space = count == nil ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let attribute = H5Acreate2(object, name, type, space, sk_h5p_default(), sk_h5p_default())
            guard attribute >= 0 else {
                throw SparseKitError.cannotCreate(path, "cannot create attribute \(name) on \(objectPath)")
            }
            defer { H5Aclose(attribute) }
            guard write(attribute, type) >= 0 else {
                throw SparseKitError.cannotCreate(path, "cannot write attribute \(name) on \(objectPath)")
            }
        }
        switch value {
        case .string(let s):
            let type = HDF5Strings.variableType()
            defer { H5Tclose(type) }
            try create(type, count: nil) { attribute, type in HDF5Strings.withCStrings([s]) { H5Awrite(attribute, type, $0) } }
        case .strings(let strings):
            let type = HDF5Strings.variableType()
            defer { H5Tclose(type) }
            try create(type, count: strings.count) { attribute, type in
                HDF5Strings.withCStrings(strings) { H5Awrite(attribute, type, $0) }
            }
        case .int(let i):
            var v = Int64(i)
            try create(Int64.hdf5FileType, count: nil) { a, _ in H5Awrite(a, Int64.hdf5MemoryType, &v) }
        case .ints(let values):
            let v = values.map(Int64.init)
            try create(Int64.hdf5FileType, count: v.count) { a, _ in v.withUnsafeBytes { H5Awrite(a, Int64.hdf5MemoryType, $0.baseAddress) } }
        case .double(let d):
            var v = d
            try create(Double.hdf5FileType, count: nil) { a, _ in H5Awrite(a, Double.hdf5MemoryType, &v) }
        case .doubles(let v):
            try create(Double.hdf5FileType, count: v.count) { a, _ in v.withUnsafeBytes { H5Awrite(a, Double.hdf5MemoryType, $0.baseAddress) } }
        }
    }

    /// Reads attribute `name` of the object at `objectPath`, or nil if it has none.
    public func attribute(_ name: String, of objectPath: String = "/") throws -> HDF5AttributeValue? {
        let object = try openObject(objectPath)
        defer { H5Oclose(object) }
        guard H5Aexists(object, name) > 0 else { return nil }
        let attribute = H5Aopen(object, name, sk_h5p_default())
        guard attribute >= 0 else { throw SparseKitError.badInput(path, "cannot open attribute \(name) of \(objectPath)") }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        let isScalar = H5Sget_simple_extent_ndims(space) == 0
        let damaged = SparseKitError.badInput(path, "attribute \(name) of \(objectPath) cannot be read")
        switch H5Tget_class(type) {
        case H5T_STRING:
            guard let strings = HDF5Strings.read(count: count, storedType: type, space: space, read: { memoryType, buffer in
                H5Aread(attribute, memoryType, buffer)
            }) else { throw damaged }
            return isScalar ? .string(strings.first ?? "") : .strings(strings)
        case H5T_INTEGER:
            var values = [Int64](repeating: 0, count: count)
            guard values.withUnsafeMutableBytes({ H5Aread(attribute, Int64.hdf5MemoryType, $0.baseAddress) }) >= 0 else {
                throw damaged
            }
            return isScalar ? .int(Int(values[0])) : .ints(values.map { Int($0) })
        case H5T_FLOAT:
            var values = [Double](repeating: 0, count: count)
            guard values.withUnsafeMutableBytes({ H5Aread(attribute, Double.hdf5MemoryType, $0.baseAddress) }) >= 0 else {
                throw damaged
            }
            return isScalar ? .double(values[0]) : .doubles(values)
        default:
            throw SparseKitError.badInput(path, "attribute \(name) of \(objectPath) has a type SparseKit does not read")
        }
    }

    /// The names of all attributes of the object at `objectPath`.
    public func attributeNames(of objectPath: String = "/") throws -> [String] {
        let object = try openObject(objectPath)
        defer { H5Oclose(object) }
        var info = H5O_info_t()
        guard H5Oget_info2(object, &info, UInt32(H5O_INFO_NUM_ATTRS)) >= 0 else { return [] }
        return (0..<info.num_attrs).compactMap { index in
            let length = H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, sk_h5p_default())
            guard length >= 0 else { return nil }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, Int(length) + 1, sk_h5p_default())
            return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
