import Foundation
import XCTest

/// Special files and other names for the same file (issue 14): an output path is never renamed over a device, FIFO,
/// socket or folder; a link to a regular file is kept and its target replaced; an output that is an input by another
/// name is refused with the input intact; a FIFO input is refused at once, never waited on; and a folder that
/// cannot be searched is reported as such.
final class OutputPathToolTests: XCTestCase {
    /// `sk-synth bars` writing `path`, the quickest way to produce an output.
    func synth(_ path: String) throws -> ToolHarness.Result {
        try ToolHarness.run("sk-synth", ["bars", "-o", path, "--count", "20", "--seed", "1"])
    }

    /// What stands at `path` itself (a link is not followed).
    func kind(_ path: String) -> FileAttributeType? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Makes a Unix socket at `path` (bound, then closed: the socket file stays).
    func makeSocket(_ path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0, "bind \(path)")
    }

    /// A FIFO, a socket, a folder, a character device, and links to a FIFO and to a folder: each refused with exit 73
    /// naming what it is, and each still there, unchanged in kind, afterwards. The device is a node made in the test
    /// folder as root (a copy of /dev/null's numbers, so replacing it would harm nothing); otherwise /dev/null itself,
    /// only when this user cannot write /dev (so even today's rename could not replace it).
    func testNonRegularOutputsAreRefused() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(mkfifo(folder + "/fifo.h5", 0o600), 0)
        try makeSocket(folder + "/socket.h5")
        try FileManager.default.createDirectory(atPath: folder + "/folder.h5", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: folder + "/stdout.h5", withDestinationPath: "fifo.h5")
        try FileManager.default.createSymbolicLink(atPath: folder + "/into-folder.h5", withDestinationPath: "folder.h5")
        var cases: [(String, String)] = [("fifo.h5", "is a FIFO"), ("socket.h5", "is a socket"), ("folder.h5", "is a folder"),
                                         ("stdout.h5", "is a FIFO"), ("into-folder.h5", "is a folder")]
        if geteuid() == 0 {
            var null = stat()
            XCTAssertEqual(stat("/dev/null", &null), 0)
            XCTAssertEqual(mknod(folder + "/null.h5", S_IFCHR | 0o666, null.st_rdev), 0)
            cases.append(("null.h5", "is a character device"))
        }
        let kept = Set(cases.map(\.0))
        for (name, fragment) in cases {
            let before = kind(folder + "/" + name)
            assertFails(try synth(folder + "/" + name), code: 73, containing: fragment, folder: folder, keeping: kept)
            XCTAssertEqual(kind(folder + "/" + name), before, "\(name) is still what it was")
        }
        XCTAssertEqual(kind(folder + "/stdout.h5"), .typeSymbolicLink)
        if geteuid() != 0, access("/dev", W_OK) != 0 {
            let result = try synth("/dev/null")
            XCTAssertEqual(result.status, 73, result.stderr)
            XCTAssertTrue(result.stderr.contains("/dev/null: is a character device"), result.stderr)
        }
    }

    /// An output path that is a symbolic link to a regular file (here in another folder): the link stays a link and
    /// its target gets the new content, with the temporary file made beside the target and gone afterwards.
    func testOutputThroughALinkReplacesTheTargetAndKeepsTheLink() throws {
        let folder = try temporaryFolder(self)
        try FileManager.default.createDirectory(atPath: folder + "/real", withIntermediateDirectories: false)
        XCTAssertEqual(try synth(folder + "/real/bars.h5").status, 0)
        let before = try bytes(folder + "/real/bars.h5")
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.h5", withDestinationPath: "real/bars.h5")
        let result = try ToolHarness.run("sk-synth", ["bars", "-o", folder + "/link.h5", "--count", "30", "--seed", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(kind(folder + "/link.h5"), .typeSymbolicLink, "the link is kept")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/link.h5"), "real/bars.h5")
        XCTAssertNotEqual(try bytes(folder + "/real/bars.h5"), before, "the target holds the new output")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["link.h5", "real"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder + "/real"), ["bars.h5"])
    }

    /// An output that names an open descriptor, here `/proc/self/fd/1` with standard output redirected to a file (as
    /// `/dev/stdout` is with `> out`): refused (73), and the file the descriptor writes to keeps its bytes and inode
    /// (renaming over its name would cut it from the descriptor). `/dev/stdout` itself is not tried: on code without
    /// this check, as root, the run would replace the system's /dev/stdout link.
    func testOutputThroughADescriptorIsRefused() throws {
        let folder = try temporaryFolder(self)
        let redirected = folder + "/out.txt"
        try Data("before\n".utf8).write(to: URL(fileURLWithPath: redirected))
        let inode = try FileManager.default.attributesOfItem(atPath: redirected)[.systemFileNumber] as? Int
        let process = Process()
        process.executableURL = ToolHarness.products.appendingPathComponent("sk-synth")
        process.arguments = ["bars", "-o", "/proc/self/fd/1", "--count", "20"]
        let output = try XCTUnwrap(FileHandle(forWritingAtPath: redirected))
        try output.seekToEnd()
        let err = Pipe()
        process.standardOutput = output
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try output.close()
        assertFails(ToolHarness.Result(status: process.terminationStatus, stdout: "", stderr: stderr), code: 73,
                    containing: "names an open file descriptor", folder: folder, keeping: ["out.txt"])
        XCTAssertEqual(try String(contentsOfFile: redirected, encoding: .utf8), "before\n")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: redirected)[.systemFileNumber] as? Int, inode)
    }

    /// A dangling symbolic link as the output: refused (73) naming where it points; nothing is created there.
    func testDanglingLinkOutputIsRefused() throws {
        let folder = try temporaryFolder(self)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.h5", withDestinationPath: "missing.h5")
        assertFails(try synth(folder + "/link.h5"), code: 73, containing: "is a symbolic link to missing.h5, which does not exist",
                    folder: folder, keeping: ["link.h5"])
        XCTAssertEqual(kind(folder + "/link.h5"), .typeSymbolicLink)
    }

    /// The output is an input under another name, a symbolic or a hard link, in either direction: refused with exit
    /// 64 before anything is written, the input byte for byte intact; for sk-whiten, sk-convert and sk-train.
    func testOutputThatIsAnInputByAnotherNameIsRefused() throws {
        let folder = try temporaryFolder(self)
        let patches = folder + "/p.h5"
        XCTAssertEqual(try synth(patches).status, 0)
        let before = try bytes(patches)
        try FileManager.default.createSymbolicLink(atPath: folder + "/l.h5", withDestinationPath: "p.h5")
        try FileManager.default.linkItem(atPath: patches, toPath: folder + "/h.h5")
        let text = folder + "/x.xc"
        try Data("1 2 2\n0 0:1 1:2\n".utf8).write(to: URL(fileURLWithPath: text))
        try FileManager.default.linkItem(atPath: text, toPath: folder + "/hard.xc")
        let kept: Set = ["p.h5", "l.h5", "h.h5", "x.xc", "hard.xc"]
        let runs: [(String, [String])] = [
            ("sk-whiten", [folder + "/l.h5", "-o", patches]),
            ("sk-whiten", [patches, "-o", folder + "/l.h5"]),
            ("sk-whiten", [folder + "/h.h5", "-o", patches]),
            ("sk-train", ["sc", folder + "/l.h5", "-o", patches, "--latents", "2", "--epochs", "1"]),
            ("sk-convert", [folder + "/hard.xc", "--format", "xc", "-o", text]),
        ]
        for (tool, arguments) in runs {
            assertFails(try ToolHarness.run(tool, arguments), code: 64, containing: "under another name", folder: folder,
                        keeping: kept)
            XCTAssertEqual(try bytes(patches), before, "\(tool) \(arguments): the input is intact")
        }
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), "1 2 2\n0 0:1 1:2\n")
        XCTAssertEqual(kind(folder + "/l.h5"), .typeSymbolicLink)
    }

    /// The resume file may be the output (the output is atomic), also under another name.
    func testResumeFileMayBeTheOutput() throws {
        let folder = try temporaryFolder(self)
        let bars = folder + "/bars.h5", model = folder + "/m.h5"
        XCTAssertEqual(try synth(bars).status, 0)
        let train = ["sc", bars, "-o", model, "--latents", "4", "--epochs", "1", "--seed", "1", "--quiet"]
        XCTAssertEqual(try ToolHarness.run("sk-train", train).status, 0)
        try FileManager.default.createSymbolicLink(atPath: folder + "/resume.h5", withDestinationPath: "m.h5")
        let resumed = try ToolHarness.run("sk-train", train + ["--resume", folder + "/resume.h5"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    /// Runs `tool` with no standard input, killing it after `seconds`; returns nil if it had to be killed.
    func runWithin(_ seconds: Double, _ tool: String, _ arguments: [String]) throws -> ToolHarness.Result? {
        let process = Process()
        process.executableURL = ToolHarness.products.appendingPathComponent(tool)
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        try process.run()
        guard ended.wait(timeout: .now() + seconds) == .success else {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return ToolHarness.Result(status: process.terminationStatus, stdout: "",
                                  stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// A FIFO given where an HDF5 file, a PNG image or a Mulan XML file is read: refused at once (65, "is a FIFO, not a
    /// regular file") by every tool, never waited on. As text, with no writer, sk-convert says so at once too.
    func testFIFOInputIsRefusedAtOnce() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(mkfifo(folder + "/f.h5", 0o600), 0)
        let out = folder + "/out.h5"
        let text = folder + "/x.arff"
        try Data("@relation r\n@attribute a {0,1}\n@attribute b numeric\n@data\n1,2\n".utf8).write(to: URL(fileURLWithPath: text))
        let runs: [(String, [String], String)] = [
            ("sk-inspect", [folder + "/f.h5"], "is a FIFO, not a regular file"),
            ("sk-whiten", [folder + "/f.h5", "-o", out], "is a FIFO, not a regular file"),
            ("sk-train", ["sc", folder + "/f.h5", "-o", out, "--latents", "2"], "is a FIFO, not a regular file"),
            ("sk-convert", [folder + "/f.h5", "--export", "xc", "-o", folder + "/out.xc"], "is a FIFO, not a regular file"),
            ("sk-patches", [folder + "/f.h5", "-o", out, "--count", "10"], "is a FIFO, not a regular file"),
            ("sk-convert", [text, "--format", "arff", "--xml", folder + "/f.h5", "-o", out], "is a FIFO, not a regular file"),
            ("sk-convert", [folder + "/f.h5", "--format", "xc", "-o", out], "is a FIFO that gave nothing to read"),
        ]
        for (tool, arguments, fragment) in runs {
            guard let result = try runWithin(20, tool, arguments) else {
                XCTFail("\(tool) \(arguments) still waits on the FIFO after 20 s")
                continue
            }
            assertFails(result, code: 65, containing: fragment, folder: folder, keeping: ["f.h5", "x.arff"])
        }
    }

    /// Text from a FIFO whose writer is waiting converts like the same text from a file.
    func testTextFromAFIFOWithAWriterIsRead() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(mkfifo(folder + "/f.xc", 0o600), 0)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "printf '2 2 2\\n0 0:1 1:2\\n1 1:3\\n' > \"$0\"", folder + "/f.xc"]
        try writer.run()
        Thread.sleep(forTimeInterval: 0.5)  // the writer now waits in open() for a reader
        guard let result = try runWithin(20, "sk-convert", [folder + "/f.xc", "--format", "xc", "-o", folder + "/out.h5"]) else {
            writer.terminate()
            return XCTFail("sk-convert still reads the FIFO after 20 s")
        }
        writer.waitUntilExit()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/out.h5"))
    }

    /// Standard input named twice is refused before anything is read (it was "-: is empty").
    func testStandardInputTwiceIsRefused() throws {
        let folder = try temporaryFolder(self)
        let result = try ToolHarness.run("sk-convert", ["-", "-", "--format", "xc", "-o", folder + "/out.h5"],
                                         input: Data("1 2 2\n0 0:1 1:2\n".utf8))
        assertFails(result, code: 64, containing: "standard input", folder: folder)
    }

    /// A file under a folder without search permission, and a file without read permission: 66 naming the permission,
    /// not "no such file". Root bypasses permissions, so as root the tool runs as `nobody` (through setpriv).
    func testPermissionDeniedIsReported() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try synth(folder + "/readable.h5").status, 0)
        try FileManager.default.createDirectory(atPath: folder + "/locked", withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: folder + "/readable.h5", toPath: folder + "/locked/bars.h5")
        try FileManager.default.copyItem(atPath: folder + "/readable.h5", toPath: folder + "/secret.h5")
        chmod(folder, 0o755)
        chmod(folder + "/locked", 0o600)
        chmod(folder + "/secret.h5", 0)
        defer { chmod(folder + "/locked", 0o755) }
        let cases: [(String, String)] = [
            (folder + "/locked/bars.h5", "permission denied (a folder on the path cannot be searched)"),
            (folder + "/secret.h5", "cannot be read: permission denied"),
        ]
        for (path, fragment) in cases {
            let result: ToolHarness.Result
            if geteuid() == 0 {
                guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("root without setpriv") }
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
                process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups",
                                     ToolHarness.products.appendingPathComponent("sk-inspect").path, path]
                let err = Pipe()
                process.standardError = err
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                result = ToolHarness.Result(status: process.terminationStatus, stdout: "", stderr: stderr)
            } else {
                result = try ToolHarness.run("sk-inspect", [path])
            }
            XCTAssertEqual(result.status, 66, result.stderr)
            XCTAssertTrue(result.stderr.contains(fragment), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }
}
