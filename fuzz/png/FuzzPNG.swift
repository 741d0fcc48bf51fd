import DataKit
import FuzzSupport

/// The PNG reader on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: count))
    FuzzInput.expectCleanFailure { _ = try PNGCodec.decode(bytes, name: "input.png") }
    return 0
}

@_cdecl("fuzz_png_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzInput.main(argc, argv, fuzzPNG)
}
