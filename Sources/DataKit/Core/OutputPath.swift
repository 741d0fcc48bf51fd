import Foundation

/// Where an output really goes, decided before anything is written. Every output is written to a temporary file
/// and renamed into place (`AtomicOutput`), so a reader sees the whole file or the previous one. What `-o` may name
/// follows from that:
///
/// - **Nothing yet, or a regular file**: the file is created or replaced.
/// - **A device, a FIFO, a socket or a folder** (also through a link): refused with exit 73 naming what it is. Renaming
///   over one replaces it: as root, `-o /dev/null` turned the device into a regular file. Writing through instead
///   was rejected: HDF5 needs a file it can seek in and read back, and a FIFO's reader would see half an output
///   whenever a run fails, which the atomic contract rules out. Text for a pipe goes to `-o -` (sk-convert --export).
/// - **A symbolic link to a regular file**: the link is kept and its target replaced (the temporary file sits
///   beside the target, so the rename stays on the target's file system), as editors and `sed -i --follow-symlinks`
///   do: a link is how the user chose to name that file. Not so a link through an open descriptor (`/dev/stdout`
///   redirected to a file): refused (73), since the file would be cut from the descriptor.
/// - **A dangling symbolic link**: refused (73). Creating the target would write wherever the link points, maybe a
///   place the user never meant; GNU `cp` refuses the same ("not writing through dangling symlink").
/// - **The same file as an input**, by any name (symbolic or hard link): refused with exit 64, compared by device
///   and inode (`requireDistinct`).
///
/// A hard-linked output is replaced under the given name only: its other names keep the previous content.
public struct OutputPath: Sendable {
    /// The path the user gave, used in every message.
    public let given: String
    /// The regular file (existing or not) whose name the finished output is renamed to.
    public let target: String

    /// Resolves `path` as above, or throws exit 73 naming the problem.
    public init(_ path: String) throws {
        guard !path.isEmpty else { throw SparseKitError.usage("the output path is empty") }
        given = path
        switch FileStatus.of(path, followingLinks: false) {
        case .success(let status) where status.kind == .symbolicLink:
            target = try OutputPath.linkTarget(path)
        case .success(let status):
            try OutputPath.requireReplaceable(status.kind, path)
            target = path
        case .failure(let error) where error.isMissing:
            target = path  // a missing folder on the way is named below
        case .failure(let error):
            throw SparseKitError.cannotCreate(path, error.problem(at: path))
        }
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
        switch FileStatus.of(folder) {
        case .success(let status) where status.kind == .folder: return
        case .success(let status): throw SparseKitError.cannotCreate(path, "\(folder) is \(status.kind), not a folder")
        case .failure(let error) where error.isMissing:
            throw SparseKitError.cannotCreate(path, "the folder \(folder) does not exist")
        case .failure(let error): throw SparseKitError.cannotCreate(path, "\(folder): \(error.problem(at: folder))")
        }
    }

    /// The regular file a symbolic link leads to; a link to anything else, a dangling link or a loop is refused, and
    /// so is a link through an open descriptor (`/dev/stdout`, `/dev/fd/N`): when it names a regular file (`> out`),
    /// replacing that file would cut it from the descriptor and lose what the shell wrote there before.
    private static func linkTarget(_ path: String) throws -> String {
        if let descriptorLink = linkThroughDescriptor(path) {
            throw SparseKitError.cannotCreate(path, "names an open file descriptor (\(descriptorLink)), not a file "
                + "(give the file's own name; -o - writes text to standard output)")
        }
        switch FileStatus.of(path) {  // stat follows /proc's links to pipes too, which realpath cannot resolve
        case .success(let status):
            try requireReplaceable(status.kind, path)
            guard let resolved = realpath(path, nil) else {
                throw SparseKitError.cannotCreate(path, "cannot resolve the symbolic link: \(FileError(errno).problem(at: path))")
            }
            defer { free(resolved) }
            return String(cString: resolved)
        case .failure(let error) where error.code == ENOENT:
            let pointee = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            throw SparseKitError.cannotCreate(path, "is a symbolic link to \(pointee), which does not exist (give that path to create it)")
        case .failure(let error):
            throw SparseKitError.cannotCreate(path, error.problem(at: path))
        }
    }

    /// The first link on the way from `path` that lies in a `/proc/PID/fd` folder, if any.
    private static func linkThroughDescriptor(_ path: String) -> String? {
        var current = path
        for _ in 0..<40 {  // the kernel's own bound on links followed
            guard case .success(let status) = FileStatus.of(current, followingLinks: false), status.kind == .symbolicLink,
                  let pointee = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return nil }
            let folder = URL(fileURLWithPath: current).deletingLastPathComponent().path
            if let resolved = realpath(folder, nil) {
                let real = String(cString: resolved)
                free(resolved)
                if real.hasPrefix("/proc/"), real.hasSuffix("/fd") { return current }
            }
            current = pointee.hasPrefix("/") ? pointee : folder + "/" + pointee
        }
        return nil
    }

    /// Refuses whatever renaming over would destroy: anything but a regular file.
    private static func requireReplaceable(_ kind: FileStatus.Kind, _ path: String) throws {
        switch kind {
        case .regular: return
        case .folder: throw SparseKitError.cannotCreate(path, "is a folder")
        default:
            throw SparseKitError.cannotCreate(path, "is \(kind), not a regular file (outputs are written to a new file that "
                + "replaces the path; -o - writes text to standard output)")
        }
    }

    /// Checks again, just before the rename, that the target is still absent or a regular file (not a link, a device
    /// or a folder put there meanwhile).
    func recheck() throws {
        switch FileStatus.of(target, followingLinks: false) {
        case .success(let status): try OutputPath.requireReplaceable(status.kind, given)
        case .failure: return
        }
    }

    /// Refuses an output that is one of `inputs` by any name (the same text, a symbolic link or a hard link), with
    /// exit 64. `-` (standard input) is no file and is skipped; so is an output that does not exist yet.
    public static func requireDistinct(output: String, inputs: [String]) throws {
        guard case .success(let written) = FileStatus.of(output) else { return }
        for input in inputs where input != "-" {
            guard case .success(let read) = FileStatus.of(input), read.isSameFile(as: written) else { continue }
            let how = input == output ? "is also an input" : "is the input \(input) under another name"
            throw SparseKitError.usage("the output \(output) \(how); choose another -o")
        }
    }
}
