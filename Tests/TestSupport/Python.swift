import Foundation

/// Python scripts run from tests (cross-checks against numpy, scipy, h5py), skipped where the modules are missing.
public enum Python {
    /// Runs a Python script with arguments; returns its exit status and combined output.
    public static func run(_ python: String, _ script: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// A python3 that can import every module in `modules`, or nil.
    public static func interpreter(with modules: [String]) -> String? {
        let status = try? run("python3", "import " + modules.joined(separator: ", "), []).0
        return status == 0 ? "python3" : nil
    }
}
