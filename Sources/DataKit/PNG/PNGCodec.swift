import CPNG
import Foundation

/// PNG decoding and encoding through libpng's simplified API (`png_image_*`), which reports every error in the
/// image structure instead of aborting the process, so a corrupt file becomes a one-line message.
///
/// Decoding reads every PNG flavour: gray, gray + alpha, RGB, RGBA, palette (with or without transparency),
/// 1/2/4/8/16-bit, interlaced. Two properties of the simplified API are worth knowing:
/// - 8-bit files carrying a gAMA chunk that differs from sRGB are mapped onto sRGB (files without one, nearly all,
///   are read exactly); 16-bit files are read as linear values unless they declare sRGB encoding.
/// - 16-bit files with alpha come back premultiplied; colour is recovered by dividing by alpha, exact where the
///   pixel is opaque (colour under fully transparent pixels reads as 0).
public enum PNGCodec {
    /// The largest image decoded, in samples (guards against hostile headers that claim enormous sizes).
    public static let maximumSamples = 1 << 30
    /// Deflate expands at most 1032-fold (a 258-byte match in two bits): a PNG's compressed image data cannot hold
    /// more than this many times its own length (with room for the zlib header and a stored block).
    static let maximumExpansion = 1032

    /// Decodes the PNG file at `path`, which must be a regular file (`InputFile`).
    public static func decode(file path: String) throws -> PNGImage {
        try InputFile.check(path, what: "a PNG file")
        guard let data = FileManager.default.contents(atPath: path) else { throw SparseKitError.badInput(path, "cannot be read") }
        return try decode([UInt8](data), name: path)
    }

    /// Walks the chunk structure (4-byte length, 4-byte type, data, CRC) and refuses a chunk whose declared length
    /// runs past the end of the bytes: libpng allocates a chunk's declared length before reading it, so a 1 KiB file
    /// declaring a 1.8 GiB text chunk made it allocate 1.8 GiB (found by fuzzing, fuzz/crashes/png/).
    /// Returns the bytes of compressed image data (the IDAT chunks' lengths).
    @discardableResult
    static func checkChunkLengths(_ bytes: [UInt8], name: String) throws -> Int {
        var offset = 8, imageData = 0
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let typeBytes = bytes[(offset + 4)..<(offset + 8)]
            let type = typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) })
                ? String(decoding: typeBytes, as: UTF8.self) : typeBytes.map { String(format: "%02x", $0) }.joined()
            guard length <= bytes.count - offset - 12 else {
                throw SparseKitError.badInput(name, "corrupt or truncated PNG: chunk '\(type)' at byte \(offset) declares \(length) "
                    + "bytes, more than the file holds")
            }
            if type == "IEND" { break }
            if type == "IDAT" { imageData += length }
            offset += 12 + length
        }
        return imageData
    }

    /// Refuses a header whose pixels could not come from the file's compressed data (65: at least one bit per pixel
    /// and one filter byte per row, at most `maximumExpansion` per compressed byte), then the decoding buffers this
    /// process cannot allocate (70, `MemoryBudget`), before libpng allocates its rows.
    static func checkDeclaredSize(width: Int, height: Int, channels: Int, imageData: Int, name: String) throws {
        let leastRaw = height * (1 + (width + 7) / 8)  // both below 2³¹: the product fits
        guard leastRaw <= imageData * maximumExpansion + 1024 else {
            throw SparseKitError.badInput(name, "declares \(width)×\(height) pixels, more than its \(imageData) bytes of "
                + "compressed image data could hold (truncated or corrupt)")
        }
        let samples = MemoryBudget.product([width, height, channels])
        try MemoryBudget.require([.init("samples", [samples ?? -1], elementSize: 3)],  // 16-bit samples and 8-bit rows
                                 for: "decoding \(width)×\(height) pixels", file: name)
    }

    /// Decodes PNG bytes; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String) throws -> PNGImage {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, Array(bytes.prefix(8)) == signature else {
            throw SparseKitError.badInput(name, bytes.isEmpty ? "is empty, not a PNG image" : "is not a PNG image (bad signature)")
        }
        let imageData = try checkChunkLengths(bytes, name: name)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let began = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard began != 0 else { throw failure(&image, name) }

        let sixteenBit = image.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
        let hasColor = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let hasAlpha = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        let channels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        // Ask for the file's own channel layout, expanded (no colormap), 8-bit or 16-bit as stored.
        image.format = (hasColor ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
            | (sixteenBit ? UInt32(PNG_FORMAT_FLAG_LINEAR) : 0)
        let width = Int(image.width), height = Int(image.height)
        try checkDeclaredSize(width: width, height: height, channels: channels, imageData: imageData, name: name)
        let count = width * height * channels
        guard width > 0, height > 0, count <= maximumSamples else {
            throw SparseKitError.badInput(name, "image of \(width)×\(height) pixels is too large to decode")
        }

        var samples = [UInt16](repeating: 0, count: count)
        if sixteenBit {
            let finished = samples.withUnsafeMutableBytes {
                png_image_finish_read(&image, nil, $0.baseAddress, 0, nil)
            }
            guard finished != 0 else { throw failure(&image, name) }
            if hasAlpha { unpremultiply(&samples, channels: channels) }
        } else {
            var bytes8 = [UInt8](repeating: 0, count: count)
            let finished = bytes8.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
            guard finished != 0 else { throw failure(&image, name) }
            for i in 0..<count { samples[i] = UInt16(bytes8[i]) }
        }
        return PNGImage(width: width, height: height, channels: channels, maxValue: sixteenBit ? 65535 : 255,
                        samples: samples)
    }

    /// libpng's 16-bit (linear) output with alpha is premultiplied; divide colour by alpha, rounding to nearest.
    private static func unpremultiply(_ samples: inout [UInt16], channels: Int) {
        let colorChannels = channels - 1
        samples.withUnsafeMutableBufferPointer { s in
            for base in stride(from: 0, to: s.count, by: channels) {
                let alpha = UInt32(s[base + colorChannels])
                guard alpha != 65535 else { continue }
                for c in 0..<colorChannels {
                    s[base + c] = alpha == 0 ? 0 : UInt16(min(65535, (UInt32(s[base + c]) * 65535 + alpha / 2) / alpha))
                }
            }
        }
    }

    /// The error libpng recorded in `image.message`, as a bad-input error for `name`.
    private static func failure(_ image: inout png_image, _ name: String) -> SparseKitError {
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return SparseKitError.badInput(name, "corrupt or truncated PNG (\(message.isEmpty ? "libpng error" : message))")
    }

    /// Encodes an image as PNG bytes: 8-bit for any channel count, 16-bit for gray or RGB (`maxValue` 65535).
    public static func encode(_ picture: PNGImage) throws -> [UInt8] {
        let sixteenBit = picture.maxValue > 255
        guard !sixteenBit || picture.channels == 1 || picture.channels == 3 else {
            throw SparseKitError.usage("16-bit PNG encoding supports gray and RGB images only")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(picture.width)
        image.height = UInt32(picture.height)
        image.format = (picture.hasColor ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0)
            | (picture.channels % 2 == 0 ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
            | (sixteenBit ? UInt32(PNG_FORMAT_FLAG_LINEAR) : 0)
        defer { png_image_free(&image) }

        func write(_ pixels: UnsafeRawPointer) throws -> [UInt8] {
            var size = 0
            guard png_image_write_to_memory(&image, nil, &size, 0, pixels, 0, nil) != 0 else {
                throw SparseKitError.internal("PNG encoding failed")
            }
            var out = [UInt8](repeating: 0, count: size)
            let ok = out.withUnsafeMutableBytes { png_image_write_to_memory(&image, $0.baseAddress, &size, 0, pixels, 0, nil) }
            guard ok != 0 else { throw SparseKitError.internal("PNG encoding failed") }
            return Array(out.prefix(size))
        }
        if sixteenBit { return try picture.samples.withUnsafeBytes { try write($0.baseAddress!) } }
        let bytes = picture.samples.map { UInt8(min($0, 255)) }
        return try bytes.withUnsafeBytes { try write($0.baseAddress!) }
    }

    /// Encodes `picture` and writes it atomically to `path`.
    public static func write(_ picture: PNGImage, to path: String) throws {
        try AtomicOutput.write(try encode(picture), to: path)
    }
}
