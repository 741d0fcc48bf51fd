/// Turns a flat `Encodable` struct (a model's hyper-parameters) into HDF5 attributes, one per stored property:
/// names in snake_case (`batchSize` → `batch_size`), strings and string-backed enums as strings, integers and `Bool`
/// as int64 (true = 1), `UInt64` by its bit pattern, reals as float64, arrays of those as arrays. A property whose
/// type encodes itself as one value (`singleValueContainer`) is stored as that value; an optional that is nil is
/// left out. Nested keyed or unkeyed structures are refused: attributes are flat.
public enum HDF5AttributeEncoder {
    /// The attributes of `value`'s properties.
    public static func attributes<T: Encodable>(of value: T) throws -> [String: HDF5AttributeValue] {
        let encoder = FlatEncoder(path: [])
        try value.encode(to: encoder)
        return encoder.storage.values
    }

    /// `camelCase` as `camel_case`.
    public static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase, !result.isEmpty { result.append("_") }
            result.append(contentsOf: character.lowercased())
        }
        return result
    }

    /// The attributes being collected, shared by an encoder and its containers.
    final class Storage {
        var values: [String: HDF5AttributeValue] = [:]
    }

    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    /// The top-level encoder (path empty) or the encoder of one property (path = its key).
    final class FlatEncoder: Encoder {
        let codingPath: [any CodingKey]
        let userInfo: [CodingUserInfoKey: Any] = [:]
        let storage: Storage

        init(path: [any CodingKey], storage: Storage = Storage()) {
            codingPath = path
            self.storage = storage
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            KeyedEncodingContainer(Keyed<Key>(encoder: self))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer { Arrays(encoder: self) }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(encoder: self) }

        /// Stores `value` under this encoder's property name; a top-level or nested structure cannot hold one.
        func store(_ value: HDF5AttributeValue) throws {
            guard codingPath.count == 1 else {
                throw Unsupported(description: "HDF5AttributeEncoder: a value at depth \(codingPath.count); attributes are flat")
            }
            storage.values[HDF5AttributeEncoder.snakeCase(codingPath[0].stringValue)] = value
        }

        /// The attribute form of a leaf value, or nil for a type that must encode itself.
        static func leaf(_ value: any Encodable) -> HDF5AttributeValue? {
            switch value {
            case let v as String: return .string(v)
            case let v as Bool: return .int(v ? 1 : 0)
            case let v as Int: return .int(v)
            case let v as UInt64: return .int(Int(bitPattern: UInt(v)))
            case let v as Double: return .double(v)
            case let v as Float: return .double(Double(v))
            case let v as [String]: return .strings(v)
            case let v as [Int]: return .ints(v)
            case let v as [Double]: return .doubles(v)
            default: return nil
            }
        }

        /// Encodes one property's value: a leaf directly, anything else through its own `encode(to:)`.
        func encodeProperty(_ value: some Encodable, key: any CodingKey) throws {
            let child = FlatEncoder(path: codingPath + [key], storage: storage)
            if let leaf = Self.leaf(value) { try child.store(leaf) } else { try value.encode(to: child) }
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: FlatEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            guard encoder.codingPath.isEmpty else {
                throw Unsupported(description: "HDF5AttributeEncoder: nested structure at \(key.stringValue); attributes are flat")
            }
            try encoder.encodeProperty(value, key: key)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey> { KeyedEncodingContainer(Keyed<NestedKey>(encoder: FlatEncoder(path: codingPath + [key]))) }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            Arrays(encoder: FlatEncoder(path: codingPath + [key], storage: encoder.storage))
        }
        mutating func superEncoder() -> any Encoder { encoder }
        mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
    }

    /// A property that encodes itself as one value (a string-backed enum, a `START:END` pair as a string).
    struct Single: SingleValueEncodingContainer {
        let encoder: FlatEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil() throws {}
        mutating func encode<T: Encodable>(_ value: T) throws {
            guard let leaf = FlatEncoder.leaf(value) else {
                throw Unsupported(description: "HDF5AttributeEncoder: \(T.self) is not an attribute value")
            }
            try encoder.store(leaf)
        }
    }

    /// Arrays are stored whole as leaves (`leaf`); an unkeyed container reaching here is a structure attributes cannot hold.
    struct Arrays: UnkeyedEncodingContainer {
        let encoder: FlatEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }
        var count: Int { 0 }

        mutating func encodeNil() throws { throw unsupported }
        mutating func encode<T: Encodable>(_ value: T) throws { throw unsupported }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Keyed<NestedKey>(encoder: FlatEncoder(path: codingPath + codingPath)))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
        mutating func superEncoder() -> any Encoder { encoder }
        private var unsupported: Unsupported {
            Unsupported(description: "HDF5AttributeEncoder: an array of structures at \(codingPath.map(\.stringValue)); attributes are flat")
        }
    }
}
