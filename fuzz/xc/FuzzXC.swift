import DataKit
import FuzzSupport

/// The XC text parser (sk-convert's reader) on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXC(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let path = FuzzInput.file(UnsafeRawBufferPointer(start: data, count: count), suffix: ".xc")
    var job = ConvertJob(inputs: [path], output: path + ".h5", format: .xc)
    job.oneBased = count % 2 == 1  // both index bases
    FuzzInput.expectCleanFailure { _ = try job.read() }
    return 0
}

@_cdecl("fuzz_xc_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzInput.main(argc, argv, fuzzXC)
}
