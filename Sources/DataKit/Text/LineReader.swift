import Foundation

/// Reads a text file (or standard input) line by line through one reusable buffer: no whole-file `String`, no
/// allocation per line. Each line comes without its `\n` (and without a `\r` before it, so CRLF files read like LF
/// ones); the byte just past the line is always a NUL, so C parsers such as `strtof` stop at the line's end.
/// A last line without a final newline is returned like any other.
public final class LineReader {
    /// The name used in error messages (`-` reads standard input).
    public let name: String
    /// The 1-based number of the line most recently returned.
    public private(set) var lineNumber = 0
    /// The longest line read (bytes, without its newline); a longer one is an error naming its line, so a file
    /// without newlines (`/dev/zero`) cannot grow the buffer without end.
    public let maximumLineLength: Int
    /// The default bound on a line, 64 MiB: far beyond any real line (a 100,000-feature XC row takes about 1.5 MB).
    public static let defaultMaximumLineLength = 64 << 20

    private let handle: UnsafeMutablePointer<FILE>
    private let ownsHandle: Bool
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0, end = 0
    private var atEOF = false
    /// A FIFO or pipe, opened without waiting for a writer: one that gives nothing may have had none (see `refill`).
    private var isFIFO = false

    /// Opens `path` (`-` for standard input) through `InputFile`, which accepts FIFOs, pipes and character devices
    /// too and never blocks in the open. A missing or unreadable file is `missingInput`; a folder is `badInput`.
    public init(path: String, bufferSize: Int = 1 << 20, maximumLineLength: Int = LineReader.defaultMaximumLineLength) throws {
        name = path
        self.maximumLineLength = max(maximumLineLength, 1)
        if path == "-" {
            guard let input = fdopen(STDIN_FILENO, "rb") else { throw SparseKitError.missingInput("-", "no standard input") }
            handle = input
            ownsHandle = false
        } else {
            let descriptor = try InputFile.open(path, what: "a text file", streams: .allowed)
            guard let file = fdopen(descriptor, "rb") else {
                close(descriptor)
                throw SparseKitError.internal("cannot buffer \(path): \(String(cString: strerror(errno)))")
            }
            isFIFO = (try? FileStatus.of(descriptor: descriptor).get())?.kind == .fifo
            handle = file
            ownsHandle = true
        }
        capacity = max(bufferSize, 16)
        buffer = .allocate(capacity: capacity + 1)
    }

    deinit {
        if ownsHandle { fclose(handle) }
        buffer.deallocate()
    }

    /// The next line, valid until the following call; nil at the end of the input.
    public func nextLine() throws -> UnsafeBufferPointer<UInt8>? {
        while true {
            if start < end, let newline = memchr(buffer + start, Int32(UInt8(ascii: "\n")), end - start) {
                let position = buffer.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                try requireWithinBound(position - start)
                return emit(lineEnd: position, next: position + 1)
            }
            try requireWithinBound(end - start)
            if atEOF {
                guard start < end else { return nil }
                return emit(lineEnd: end, next: end)  // the last line has no final newline
            }
            try refill()
        }
    }

    /// Refuses the next line once `length` of its bytes exceed `maximumLineLength` (a `\r` before the newline counts).
    private func requireWithinBound(_ length: Int) throws {
        guard length <= maximumLineLength else {
            throw SparseKitError.badInput(name, "line \(lineNumber + 1): longer than \(maximumLineLength) bytes")
        }
    }

    /// Returns bytes `start ..< lineEnd` (minus a trailing `\r`) and moves past `next`.
    private func emit(lineEnd: Int, next: Int) -> UnsafeBufferPointer<UInt8> {
        var length = lineEnd - start
        if length > 0, buffer[start + length - 1] == UInt8(ascii: "\r") { length -= 1 }
        buffer[start + length] = 0  // the NUL sentinel (there is always room: capacity + 1 bytes are allocated)
        let line = UnsafeBufferPointer(start: buffer + start, count: length)
        start = next
        lineNumber += 1
        return line
    }

    /// Moves the unread bytes to the front (growing the buffer for a line longer than it) and reads more.
    private func refill() throws {
        if start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        if end == capacity {
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * capacity + 1)
            grown.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = grown
            capacity *= 2
        }
        let read = fread(buffer + end, 1, capacity - end, handle)
        end += read
        if read == 0 {
            guard ferror(handle) == 0 else {
                throw SparseKitError.badInput(name, "read error: \(String(cString: strerror(errno)))")
            }
            guard !(isFIFO && lineNumber == 0 && end == 0) else {
                throw SparseKitError.badInput(name, "is a FIFO that gave nothing to read (empty, or no writer had "
                    + "it open: start the writer first, or pipe into -)")
            }
            atEOF = true
        }
    }

    /// An error about the line just returned: `name: line N: problem`.
    public func error(_ problem: String) -> SparseKitError {
        .badInput(name, "line \(lineNumber): \(problem)")
    }
}
