import CBLAS
import CBLASShim
import CHDF5
import CPNG

extension SparseKit {
    /// What `--version` prints: the SparseKit version, the file format version it writes, and the versions of the C
    /// libraries linked at run time (HDF5, OpenBLAS with its configuration and the core it chose, libpng), which is
    /// what a bug report needs beyond the number.
    public static var versionReport: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        _ = H5get_libversion(&major, &minor, &release)
        let blas = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        var core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        if let replaced = sk_blas_replaced_core() {  // CBLASShim: OpenBLAS did not know this CPU
            core += " (from the CPU's flags; OpenBLAS's own choice was \(String(cString: replaced)))"
        }
        let png = png_get_libpng_ver(nil).map { String(cString: $0) } ?? "unknown"
        let readable = RootAttribute.readableVersions
        let formats = readable.count == 1 ? "file format \(readable.lowerBound)" : "file formats \(readable.lowerBound)–\(readable.upperBound)"
        return """
            \(version) (\(formats))
            HDF5 \(major).\(minor).\(release); \(blas), core \(core); libpng \(png)
            """
    }
}
