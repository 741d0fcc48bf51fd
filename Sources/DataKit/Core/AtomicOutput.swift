import Distributed
import Foundation

/// Writes an output file so that a reader never sees it half-written: the content goes to a temporary file in the
/// target's folder, which is renamed over the target only after it is complete. On any failure the temporary file is
/// removed and whatever stood at the final path before is left untouched. What the path may name (a regular file or
/// nothing; a link to a regular file, which is kept; never a device, FIFO, socket or folder) is `OutputPath`'s rule.
public struct AtomicOutput: Sendable {
    /// The path the caller asked for.
    public let finalPath: String
    /// The temporary path the content is written to.
    public let temporaryPath: String
    /// Where the finished file goes: the final path, or the regular file it links to.
    private let output: OutputPath

    /// Resolves the output path (`OutputPath`) and picks a temporary name beside its target.
    public init(path: String) throws {
        output = try OutputPath(path)
        finalPath = path
        let url = URL(fileURLWithPath: output.target)
        let unique = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0 ... .max))"
        temporaryPath = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-" + unique
    }

    /// Checks now, before any long work, that the output can be created: makes the temporary file and removes it
    /// again. An unwritable folder (or a full disk's inode table) fails here with exit 73 instead of after the work.
    public func checkCreatable() throws {
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw SparseKitError.cannotCreate(finalPath, "cannot create a file in its folder: \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        unlink(temporaryPath)
    }

    /// Runs `write` against the temporary path, then renames it over the target (checked again just before).
    /// Any error from `write` (or from the rename) removes the temporary file and is rethrown.
    /// A signal that ends the process meanwhile removes the temporary file too (`Interruption`).
    /// In an MPI job only rank 0 writes: on the other ranks a write that returns nothing is skipped, and one that
    /// returns a value runs against the temporary file, which is then removed (the target is never touched).
    public func commit<T>(_ write: (String) throws -> T) throws -> T {
        if let group = ProcessGroup.joined, !group.isRoot {
            if let nothing = () as? T { return nothing }
            PendingTemporaryFiles.add(temporaryPath)
            defer { unlink(temporaryPath); PendingTemporaryFiles.remove(temporaryPath) }
            return try write(temporaryPath)
        }
        PendingTemporaryFiles.add(temporaryPath)
        defer { PendingTemporaryFiles.remove(temporaryPath) }
        do {
            let result = try write(temporaryPath)
            try output.recheck()
            guard rename(temporaryPath, output.target) == 0 else {
                let reason = String(cString: strerror(errno))
                throw SparseKitError.cannotCreate(finalPath, "cannot rename the finished file into place: \(reason)")
            }
            return result
        } catch let error as SparseKitError where error.file == temporaryPath {
            unlink(temporaryPath)
            throw SparseKitError(error.kind, file: finalPath, error.problem)  // the user knows the path they gave
        } catch {
            unlink(temporaryPath)
            throw error
        }
    }

    /// Writes `data` atomically to `path`.
    public static func write(_ data: [UInt8], to path: String) throws {
        let output = try AtomicOutput(path: path)
        try output.commit { temporary in
            guard let handle = fopen(temporary, "wb") else {
                throw SparseKitError.cannotCreate(path, String(cString: strerror(errno)))
            }
            let written = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
            let flushed = fflush(handle) == 0
            fclose(handle)
            guard written == data.count, flushed else {
                throw SparseKitError.cannotCreate(path, "write failed: \(String(cString: strerror(errno)))")
            }
        }
    }
}
