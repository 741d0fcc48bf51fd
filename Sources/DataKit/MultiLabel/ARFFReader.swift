/// What to do with `?` (missing) values in ARFF data.
public enum MissingValues: String, Sendable, CaseIterable {
    case error, zero
}

/// Reads Mulan/MEKA multi-label ARFF files: the header's attributes (numeric, or nominal such as `{0,1}`; names may
/// be quoted), then dense rows `v1,v2,…` or sparse rows `{i v, i v}` (0-based attribute indices, omitted entries 0),
/// with `%` comments. Which attributes are labels comes from the Mulan XML (matched by NAME) or from a MEKA
/// `-C n` in the relation (the first n attributes; the last |n| when n is negative).
struct ARFFReader {
    /// One attribute of the header.
    struct Attribute: Equatable {
        var name: String
        /// nil for numeric; the declared values for nominal (a value's position is its number, unless the values
        /// are themselves numbers such as {0,1}).
        var nominal: [String]?
    }

    struct Header: Equatable {
        var relation: String
        var attributes: [Attribute]
        /// MEKA's `-C n`, when the relation carries one.
        var mekaLabelCount: Int?
    }

    /// Where each attribute goes: a feature column or a label column.
    enum Role { case feature(Int), label(Int) }

    let missing: MissingValues

    /// Reads the header, up to and including `@data`.
    func readHeader(_ reader: LineReader) throws -> Header {
        var relation: String?
        var attributes: [Attribute] = []
        while let line = try reader.nextLine() {
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("%") { continue }
            let lower = text.lowercased()
            if lower.hasPrefix("@relation") {
                relation = try unquoted(String(text.dropFirst(9)).trimmingCharacters(in: .whitespaces), reader)
            } else if lower.hasPrefix("@attribute") {
                attributes.append(try attribute(String(text.dropFirst(10)).trimmingCharacters(in: .whitespaces), reader))
            } else if lower.hasPrefix("@data") {
                guard let relation else { throw reader.error("@data before any @relation") }
                guard !attributes.isEmpty else { throw reader.error("@data before any @attribute") }
                return Header(relation: relation, attributes: attributes, mekaLabelCount: ARFFReader.mekaLabelCount(relation))
            } else {
                throw reader.error("unexpected header line (expected @relation, @attribute or @data)")
            }
        }
        throw SparseKitError.badInput(reader.name, reader.lineNumber == 0 ? "is empty" : "ends before @data (truncated?)")
    }

    /// `-C n` in a MEKA relation name.
    static func mekaLabelCount(_ relation: String) -> Int? {
        guard let range = relation.range(of: "-C ") ?? relation.range(of: "-C\t") else { return nil }
        let digits = relation[range.upperBound...].trimmingCharacters(in: .whitespaces).prefix { $0 == "-" || $0.isNumber }
        return Int(digits)
    }

    private func unquoted(_ text: String, _ reader: LineReader) throws -> String {
        guard let quote = text.first, quote == "'" || quote == "\"" else { return text }
        guard text.count >= 2, text.last == quote else { throw reader.error("unterminated quoted name") }
        return String(text.dropFirst().dropLast()).replacingOccurrences(of: "\\" + String(quote), with: String(quote))
    }

    /// `name type`, with the name possibly quoted.
    private func attribute(_ text: String, _ reader: LineReader) throws -> Attribute {
        var name: String
        var rest: Substring
        if let quote = text.first, quote == "'" || quote == "\"" {
            var end = text.index(after: text.startIndex)
            while end < text.endIndex, text[end] != quote || text[text.index(before: end)] == "\\" { end = text.index(after: end) }
            guard end < text.endIndex else { throw reader.error("unterminated quoted attribute name") }
            name = try unquoted(String(text[...end]), reader)
            rest = text[text.index(after: end)...]
        } else {
            let split = text.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? text.endIndex
            name = String(text[..<split])
            rest = text[split...]
        }
        let type = rest.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !type.isEmpty else { throw reader.error("@attribute needs a name and a type") }
        if type.hasPrefix("{") {
            guard type.hasSuffix("}") else { throw reader.error("nominal type of '\(name)' has no closing '}'") }
            let values = type.dropFirst().dropLast().split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            }
            return Attribute(name: name, nominal: values)
        }
        switch type.lowercased() {
        case "numeric", "real", "integer": return Attribute(name: name, nominal: nil)
        default: throw reader.error("attribute '\(name)' has type '\(type)'; only numeric and nominal are read")
        }
    }

    /// The numeric value of a data token for `attribute`.
    @inline(__always)
    func value(_ token: UnsafeBufferPointer<UInt8>, _ attribute: Attribute, _ reader: LineReader) throws -> Float {
        if token.count == 1, token[0] == UInt8(ascii: "?") {
            guard missing == .zero else {
                throw reader.error("missing value '?' for '\(attribute.name)' (use --missing zero to read it as 0)")
            }
            return 0
        }
        var scanner = ByteScanner(token)
        if let v = scanner.float(), scanner.atEnd {
            guard v.isFinite else { throw reader.error("'\(attribute.name)' has a non-finite value") }
            if let nominal = attribute.nominal, !nominal.contains(where: { Float($0) == v }) {
                throw reader.error("'\(attribute.name)' has value \(v), not one of {\(nominal.joined(separator: ","))}")
            }
            return v
        }
        let text = String(decoding: token, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        if let nominal = attribute.nominal, let position = nominal.firstIndex(of: text) { return Float(position) }
        throw reader.error("'\(attribute.name)' has non-numeric value '\(text)'")
    }

    /// Reads every data row into the builders, routing attributes by `roles`.
    func readRows(_ reader: LineReader, header: Header, roles: [Role], features: inout SparseRowsBuilder,
                  labels: inout SparseRowsBuilder) throws -> Int
    {
        var rows = 0
        var pendingLabels: [(Int, Float)] = []
        let comma = UInt8(ascii: ","), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        while let line = try reader.nextLine() {
            var scanner = ByteScanner(line)
            scanner.skipBlanks()
            if scanner.atEnd || scanner.current == UInt8(ascii: "%") { continue }
            pendingLabels.removeAll(keepingCapacity: true)
            func route(_ attributeIndex: Int, _ v: Float) throws {
                guard v != 0 else { return }
                switch roles[attributeIndex] {
                case .feature(let column): features.append(column, v)
                case .label(let column):
                    guard v == 1 else { throw reader.error("label '\(header.attributes[attributeIndex].name)' has value \(v), not 0 or 1") }
                    pendingLabels.append((column, 1))
                }
            }
            if scanner.take(UInt8(ascii: "{")) {
                var previous = -1
                while true {
                    scanner.skipBlanks()
                    if scanner.take(UInt8(ascii: "}")) { break }
                    guard !scanner.atEnd else { throw reader.error("sparse row has no closing '}' (truncated?)") }
                    guard let index = scanner.integer() else { throw reader.error("bad sparse entry (expected 'index value')") }
                    guard index < roles.count else {
                        throw reader.error("attribute index \(index) is out of range (\(roles.count) attributes)")
                    }
                    guard index > previous else { throw reader.error("sparse indices are not increasing (\(previous) then \(index))") }
                    previous = index
                    scanner.skipBlanks()
                    let token = scanner.token { $0 == comma || $0 == UInt8(ascii: "}") || $0 == space || $0 == tab }
                    guard !token.isEmpty else { throw reader.error("attribute \(index) has no value") }
                    try route(index, try value(token, header.attributes[index], reader))
                    scanner.skipBlanks()
                    _ = scanner.take(comma)
                }
                scanner.skipBlanks()
                guard scanner.atEnd else { throw reader.error("text after the sparse row's '}' (instance weights are not read)") }
            } else {
                var index = 0
                while true {
                    scanner.skipBlanks()
                    let token = scanner.token { $0 == comma }
                    let trimmed = UnsafeBufferPointer(rebasing: token[0..<(token.lastIndex { $0 != space && $0 != tab }.map { $0 + 1 } ?? 0)])
                    guard index < roles.count else {
                        throw reader.error("row has more than the \(roles.count) values the header declares")
                    }
                    guard !trimmed.isEmpty else { throw reader.error("value \(index + 1) is empty") }
                    try route(index, try value(trimmed, header.attributes[index], reader))
                    index += 1
                    if !scanner.take(comma) { break }
                }
                guard index == roles.count else {
                    throw reader.error("row has \(index) values, the header declares \(roles.count) (truncated?)")
                }
            }
            pendingLabels.sort { $0.0 < $1.0 }
            for (column, v) in pendingLabels { labels.append(column, v) }
            if let problem = features.endRow() { throw reader.error(problem) }
            if let problem = labels.endRow() { throw reader.error(problem) }
            rows += 1
        }
        return rows
    }
}

import Foundation
