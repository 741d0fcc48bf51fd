import DataKit
import Foundation
@_exported import TestSupport  // temporaryFolder, Fixtures and the rest, in every file of this target
import XCTest

/// Runs the built tool executables as a user would, capturing exit status, stdout and stderr.
enum ToolHarness {
    /// The absolute path of `fixtures/<relative>`.
    static func fixture(_ relative: String) -> String { Fixtures.path(relative) }

    /// The emotions fixture as separate train and test files in `folder` (`train.h5`; `test.h5` converted `--like`
    /// it), as a user converts them.
    static func emotionsFiles(in folder: String) throws -> (train: String, test: String) {
        func fixture(_ name: String) -> String { ToolHarness.fixture("multilabel/" + name) }
        let (train, test) = (folder + "/train.h5", folder + "/test.h5")
        XCTAssertEqual(try run("sk-convert", [fixture("emotions-train.arff"), "--format", "arff", "--xml", fixture("emotions.xml"),
                                              "-o", train]).status, 0)
        XCTAssertEqual(try run("sk-convert", [fixture("emotions-test.arff"), "--format", "arff", "--like", train, "-o", test]).status, 0)
        return (train, test)
    }

    /// The folder holding the built products (the test bundle sits beside the executables).
    static let products: URL = {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `tool`; with `addressSpace`, under that address-space limit in bytes (`prlimit --as`, as `ulimit -v`).
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
                    addressSpace: Int? = nil) throws -> Result
    {
        let process = Process()
        let executable = products.appendingPathComponent(tool)
        process.executableURL = addressSpace == nil ? executable : URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = addressSpace.map { ["--as=\($0)", executable.path] + arguments } ?? arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `tool` on a pseudo-terminal `columns` wide (util-linux `script`; nil when it is not installed): its
    /// status and everything it wrote there, stdout and stderr interleaved as a terminal shows them (newlines not
    /// turned into CR LF, so every carriage return is the tool's own).
    static func runOnTerminal(_ tool: String, _ arguments: [String], columns: Int = 100) throws -> (status: Int32, screen: String)? {
        let script = URL(fileURLWithPath: "/usr/bin/script")
        guard FileManager.default.isExecutableFile(atPath: script.path) else { return nil }
        let quoted = ([products.appendingPathComponent(tool).path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let process = Process()
        process.executableURL = script
        process.arguments = ["--quiet", "--return", "--command", "stty cols \(columns) -onlcr; exec " + quoted.joined(separator: " "), "/dev/null"]
        process.environment = ProcessInfo.processInfo.environment.merging(["SHELL": "/bin/sh", "COLUMNS": "300"]) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let screen = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: screen, as: UTF8.self))
    }

    /// Runs a Python script with arguments; returns its exit status and combined output (`Python.run`).
    static func runPython(_ python: String, _ script: String, _ arguments: [String]) throws -> (Int32, String) {
        try Python.run(python, script, arguments)
    }

    /// A python3 that can import every module in `modules`, or nil (`Python.interpreter`).
    static func python(with modules: [String]) -> String? { Python.interpreter(with: modules) }

    /// Decodes a tool's `--json` output into the Swift type that printed it (`docs/json.md`: snake_case keys),
    /// restoring the acronyms the types spell in capitals (held_out_elbo → heldOutELBO, level_kl → levelKL,
    /// propensity_ndcg → propensityNDCG).
    static func decode<T: Decodable>(_ type: T.Type, _ stdout: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in JSONKey(camelCase(path.last!.stringValue)) }
        return try decoder.decode(type, from: Data(stdout.utf8))
    }

    /// `held_out_elbo` → `heldOutELBO`; a key without underscores is returned as it is.
    static func camelCase(_ key: String) -> String {
        let words = key.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard words.count > 1, !words.contains(where: \.isEmpty) else { return key }
        let acronyms: Set<String> = ["elbo", "kl", "ndcg"]
        return words[0] + words.dropFirst().map { acronyms.contains($0) ? $0.uppercased() : $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined()
    }

    struct JSONKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// Asserts a failed run: the exit code, one line on stderr containing `fragment`, and nothing left in `folder`
/// except the files listed in `keeping`.
func assertFails(_ result: ToolHarness.Result, code: Int32, containing fragment: String, folder: String,
                 keeping: Set<String> = [], file: StaticString = #filePath, line: UInt = #line)
{
    XCTAssertEqual(result.status, code, result.stderr, file: file, line: line)
    XCTAssertTrue(result.stderr.contains(fragment), "stderr '\(result.stderr)' lacks '\(fragment)'", file: file, line: line)
    let lines = result.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, "one line of error, got: \(result.stderr)", file: file, line: line)
    let left = Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
    XCTAssertEqual(left, keeping, "files left behind", file: file, line: line)
}
