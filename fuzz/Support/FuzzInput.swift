import DataKit
import Foundation

/// What the fuzz targets share: the input bytes as a file (the readers under test read files), and the rule every
/// target checks: a reader either returns a value or throws a `SparseKitError` with a one-line message; anything
/// else (a crash, a trap, a sanitizer report, another error type) is a finding.
public enum FuzzInput {
    /// A per-process scratch file holding `bytes`, rewritten for every input.
    public static func file(_ bytes: UnsafeRawBufferPointer, suffix: String) -> String {
        let path = NSTemporaryDirectory() + "sparsekit-fuzz-\(getpid())" + suffix
        let handle = fopen(path, "wb")!
        if bytes.count > 0 { fwrite(bytes.baseAddress!, 1, bytes.count, handle) }
        fclose(handle)
        return path
    }

    /// Runs `body`, accepting success or a one-line `SparseKitError`; traps on anything else.
    public static func expectCleanFailure(_ body: () throws -> Void) {
        do {
            try body()
        } catch let error as SparseKitError {
            precondition(!error.description.contains("\n"), "a multi-line error: \(error)")
        } catch {
            preconditionFailure("an error that is not a SparseKitError: \(error)")
        }
    }

    /// A fixture of the repository (for the ARFF target's XML).
    public static func fixture(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/" + relative).path
    }
}

/// libFuzzer's driver, for a main of our own (SwiftPM links executables through a renamed `<target>_main`).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

extension FuzzInput {
    /// Runs libFuzzer with the command line and `test` as LLVMFuzzerTestOneInput.
    public static func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments, test)
    }
}
