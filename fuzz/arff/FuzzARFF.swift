import DataKit
import FuzzSupport

/// The ARFF reader (sk-convert's, with the emotions fixture's Mulan XML naming the labels) on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzARFF(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let path = FuzzInput.file(UnsafeRawBufferPointer(start: data, count: count), suffix: ".arff")
    var job = ConvertJob(inputs: [path], output: path + ".h5", format: .arff)
    job.xml = FuzzInput.fixture("multilabel/emotions.xml")
    FuzzInput.expectCleanFailure { _ = try job.read() }
    return 0
}

@_cdecl("fuzz_arff_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzInput.main(argc, argv, fuzzARFF)
}
