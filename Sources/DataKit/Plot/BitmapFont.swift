/// A small bitmap font for the text of plots (titles, tick labels, legends), so that pictures need no font library:
/// 5 × 9 glyphs (`BitmapFont+Glyphs.swift`) for printable ASCII and a few symbols (σ λ ² β × μ · −), drawn at an
/// integer scale (2 in plots: 10 × 18 pixels a glyph, 12 pixels a character).
public struct BitmapFont: Sendable {
    /// Glyph columns.
    public static let glyphWidth = 5
    /// Glyph rows: `ascent` above the baseline, the rest descenders.
    public static let glyphHeight = 9
    /// Rows from the top of a glyph to its baseline (capitals are this tall).
    public static let ascent = 7
    /// Columns from one character to the next: the glyph and one column of space.
    public static let advance = glyphWidth + 1

    /// The font of every plot.
    public static let standard = BitmapFont(sheet: BitmapFont.sheet)

    /// Each character's rows, top to bottom, as bit masks (bit 4 the leftmost column).
    private let glyphs: [Character: [UInt8]]

    /// The characters the font draws; any other is drawn as '?'.
    public var characters: [Character] { Array(glyphs.keys) }

    init(sheet: [Band]) {
        var glyphs: [Character: [UInt8]] = [:]
        for band in sheet {
            let lines = band.rows.split(separator: "\n").map { Array($0.split(separator: " ")) }
            precondition(lines.count == Self.glyphHeight, "a band of the font sheet has \(Self.glyphHeight) rows")
            for (k, character) in band.characters.enumerated() {
                glyphs[character] = lines.map { line in
                    precondition(line.count == band.characters.count && line[k].count == Self.glyphWidth, "glyph '\(character)'")
                    return line[k].reduce(UInt8(0)) { $0 << 1 | ($1 == "#" ? 1 : 0) }
                }
            }
        }
        self.glyphs = glyphs
    }

    /// The rows of `character`'s glyph (bit 4 the leftmost column); '?' for a character the font lacks.
    public func glyph(_ character: Character) -> [UInt8] {
        glyphs[character] ?? glyphs["?"]!
    }

    /// Whether the font has a glyph of its own for `character`.
    public func draws(_ character: Character) -> Bool { glyphs[character] != nil }

    /// The width in pixels of `text` drawn at `scale` (no trailing space).
    public static func width(of text: String, scale: Int) -> Int {
        text.isEmpty ? 0 : (text.count * advance - 1) * scale
    }

    /// The height in pixels of a line of text drawn at `scale`, descenders included.
    public static func height(scale: Int) -> Int { glyphHeight * scale }
}
