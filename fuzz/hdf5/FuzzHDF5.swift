import DataKit
import FuzzSupport

/// The HDF5 schema readers on arbitrary bytes: every root attribute (strings of every flavour among them), the file
/// kind and format version, a patches or whitened `/data` matrix with its patch geometry and whitening transform, and
/// a multilabel dataset.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHDF5(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let path = FuzzInput.file(UnsafeRawBufferPointer(start: data, count: count), suffix: ".h5")
    FuzzInput.expectCleanFailure {
        let file = try HDF5File.open(path)
        for name in try file.attributeNames() { _ = try file.attribute(name) }
        switch try file.fileKind() {
        case .patches, .whitened:
            _ = try file.readDataMatrix()
            _ = try PatchGeometry.read(from: file)
            if file.kind(of: WhiteningTransform.group) == .group { _ = try WhiteningTransform.read(from: file) }
        case .multilabel:
            _ = try MultiLabelDataset.read(from: file)
        default:
            break
        }
    }
    return 0
}

@_cdecl("fuzz_hdf5_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzInput.main(argc, argv, fuzzHDF5)
}
