import DataKit
import FuzzSupport

/// The LIBSVM text parser (sk-convert's reader) on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLIBSVM(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let path = FuzzInput.file(UnsafeRawBufferPointer(start: data, count: count), suffix: ".libsvm")
    var job = ConvertJob(inputs: [path], output: path + ".h5", format: .libsvm)
    job.oneBased = count % 2 == 1  // both index bases
    FuzzInput.expectCleanFailure { _ = try job.read() }
    return 0
}

@_cdecl("fuzz_libsvm_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzInput.main(argc, argv, fuzzLIBSVM)
}
