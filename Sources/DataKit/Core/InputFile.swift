import Foundation

/// The one way every reader opens an input file (HDF5, PNG, text, XML), so that every reader reports a missing file,
/// a folder without search permission, an unreadable file, a folder or a device the same way, and none of them
/// blocks: opening a FIFO for reading waits for a writer, possibly forever (`mkfifo f.h5; sk-inspect f.h5` did).
///
/// - Files read as a whole or at random places (HDF5, PNG, Mulan XML) must be regular files: anything else is
///   refused at once, before it is opened, with exit 65 naming what it is ("is a FIFO, not a regular file").
/// - Text read line by line (`Streams.allowed`) may also come from a FIFO, a pipe (`<(zcat x.gz)`) or a character
///   device, as `cat` would read it. It is opened without blocking: a FIFO that no writer holds open then reads as
///   empty at once, and `LineReader` says so, instead of waiting for a writer that may never come.
///
/// A missing path, or one under a folder that cannot be searched, is exit 66 with the reason ("no such file",
/// "permission denied (a folder on the path cannot be searched)"); a file that cannot be opened for reading is 66 too.
public enum InputFile {
    /// Whether FIFOs, pipes and character devices are accepted besides regular files.
    public enum Streams: Sendable { case refused, allowed }

    /// Checks that `path` can be read, and returns its status (never blocks, opens nothing but `path`).
    /// `what` names what the reader expects, for the folder message ("is a folder, not an HDF5 file").
    @discardableResult
    public static func check(_ path: String, what: String, streams: Streams = .refused) throws -> FileStatus {
        let descriptor = try open(path, what: what, streams: streams)
        defer { close(descriptor) }
        return try status(of: descriptor, path)
    }

    /// Opens `path` for reading (close-on-exec, blocking reads) after the checks of `check`; the caller closes it.
    public static func open(_ path: String, what: String, streams: Streams = .refused) throws -> Int32 {
        let status: FileStatus
        switch FileStatus.of(path) {
        case .success(let found): status = found
        case .failure(let error): throw SparseKitError.missingInput(path, error.problem(at: path))
        }
        try accept(status.kind, path, what: what, streams: streams)
        // O_NONBLOCK: the kind may have changed since the stat; a FIFO opened now must not wait for a writer either.
        let descriptor = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let error = FileError(errno)
            throw error.isMissing ? SparseKitError.missingInput(path, error.problem(at: path))
                : SparseKitError.missingInput(path, "cannot be read: \(error.problem(at: path))")
        }
        do {
            try accept(try InputFile.status(of: descriptor, path).kind, path, what: what, streams: streams)
        } catch {
            close(descriptor)
            throw error
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return descriptor
    }

    /// Refuses a folder always, and anything but a regular file unless streams are allowed (then FIFOs and
    /// character devices pass; block devices and sockets never hold text).
    private static func accept(_ kind: FileStatus.Kind, _ path: String, what: String, streams: Streams) throws {
        switch (kind, streams) {
        case (.regular, _), (.fifo, .allowed), (.characterDevice, .allowed): return
        case (.folder, _): throw SparseKitError.badInput(path, "is a folder, not \(what)")
        default: throw SparseKitError.badInput(path, "is \(kind), not a regular file")
        }
    }

    private static func status(of descriptor: Int32, _ path: String) throws -> FileStatus {
        switch FileStatus.of(descriptor: descriptor) {
        case .success(let status): return status
        case .failure(let error): throw SparseKitError.badInput(path, "cannot be read: \(error.problem(at: path))")
        }
    }
}
