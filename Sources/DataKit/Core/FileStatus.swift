import Foundation

/// What a path names, as stat(2) reports it: the one place inputs and outputs learn whether a path is a regular
/// file, a folder, a device, a FIFO or a socket, and which file it is (device and inode, whatever name it goes by).
public struct FileStatus: Sendable, Equatable {
    /// The kinds of file Unix knows, each with the words a message uses for it.
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        case regular, folder, characterDevice, blockDevice, fifo, socket, symbolicLink, other

        public var description: String {
            switch self {
            case .regular: return "a regular file"
            case .folder: return "a folder"
            case .characterDevice: return "a character device"
            case .blockDevice: return "a block device"
            case .fifo: return "a FIFO"
            case .socket: return "a socket"
            case .symbolicLink: return "a symbolic link"
            case .other: return "a file of unknown kind"
            }
        }

        init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regular
            case S_IFDIR: self = .folder
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            case S_IFIFO: self = .fifo
            case S_IFSOCK: self = .socket
            case S_IFLNK: self = .symbolicLink
            default: self = .other
            }
        }
    }

    public let kind: Kind
    /// The file's identity: two paths name the same file exactly when both are equal (hard and symbolic links too).
    public let device: UInt64
    public let inode: UInt64
    /// The size in bytes (of the file a link leads to, unless asked with `followingLinks: false`).
    public let size: Int64

    init(_ info: stat) {
        kind = Kind(mode: info.st_mode)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
    }

    /// Whether `self` and `other` are the same file.
    public func isSameFile(as other: FileStatus) -> Bool { device == other.device && inode == other.inode }

    /// The status of `path`, following symbolic links (stat) or not (lstat); on failure, the `errno` value.
    public static func of(_ path: String, followingLinks: Bool = true) -> Result<FileStatus, FileError> {
        var info = stat()
        let status = followingLinks ? stat(path, &info) : lstat(path, &info)
        return status == 0 ? .success(FileStatus(info)) : .failure(FileError(errno))
    }

    /// Of an open descriptor (fstat).
    public static func of(descriptor: Int32) -> Result<FileStatus, FileError> {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? .success(FileStatus(info)) : .failure(FileError(errno))
    }
}

/// An `errno` value from a file system call, worded for a one-line message.
public struct FileError: Error, Sendable, Equatable {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// Whether the path (or a folder on it) does not exist.
    public var isMissing: Bool { code == ENOENT || code == ENOTDIR }

    /// The problem as a message says it. EACCES names which permission is lacking: `path` decides whether a folder
    /// on the way cannot be searched (stat fails too) or the file itself cannot be opened.
    public func problem(at path: String) -> String {
        switch code {
        case ENOENT: return "no such file"
        case ENOTDIR: return "no such file (a part of the path is not a folder)"
        case ELOOP: return "too many levels of symbolic links"
        case EACCES, EPERM:
            if case .failure(let error) = FileStatus.of(path), error.code == EACCES {
                return "permission denied (a folder on the path cannot be searched)"
            }
            return "permission denied"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
