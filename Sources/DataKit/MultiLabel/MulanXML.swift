import Foundation

/// The label names of a Mulan XML label file, in document order. Nested `<label>` elements (label hierarchies) are
/// flattened: every element at any depth is a label. Only what Mulan writes is read: `<label name="…">`, with the
/// five predefined XML entities decoded.
public enum MulanXML {
    public static func labelNames(path: String) throws -> [String] {
        try InputFile.check(path, what: "a Mulan XML file")
        guard let data = FileManager.default.contents(atPath: path) else { throw SparseKitError.badInput(path, "cannot be read") }
        guard let text = String(data: data, encoding: .utf8) else { throw SparseKitError.badInput(path, "is not UTF-8 text") }
        var names: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<label") {
            rest = rest[open.upperBound...]
            guard let first = rest.first, first == " " || first == "\t" || first == "\n" || first == "\r" else { continue }  // e.g. <labels>
            guard let close = rest.firstIndex(of: ">") else { throw SparseKitError.badInput(path, "unterminated <label> element") }
            let tag = rest[..<close]
            guard let name = attribute("name", in: tag) else {
                throw SparseKitError.badInput(path, "a <label> element has no name attribute")
            }
            names.append(name)
            rest = rest[close...]
        }
        guard !names.isEmpty else { throw SparseKitError.badInput(path, "holds no <label name=\"…\"> elements") }
        if let duplicate = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw SparseKitError.badInput(path, "names label '\(duplicate)' twice")
        }
        return names
    }

    private static func attribute(_ key: String, in tag: Substring) -> String? {
        for quote in ["\"", "'"] {
            if let start = tag.range(of: key + "=" + quote) {
                let value = tag[start.upperBound...]
                guard let end = value.firstIndex(of: Character(quote)) else { return nil }
                return decodeEntities(String(value[..<end]))
            }
        }
        return nil
    }

    private static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
