// swift-tools-version:6.0
import PackageDescription

/// SparseKit: command-line tools for sparse coding and sparse latent models, chained through HDF5 files.
///
/// Layers, bottom to top:
/// - C module maps (`CPNG`, `CHDF5`, `CBLAS`, `CLAPACKE`, `CMPI`), the `CHDF5Shim` and `CMPIShim` that expose HDF5's
///   and MPI's macros as functions, `CBLASShim` (OpenBLAS's kernels on CPUs newer than it), and `CKernels`
///   (hand-vectorized loops, dispatched on the CPU at run time);
/// - `Distributed`: the processes of an `mpirun` job (Open MPI), the only module that calls MPI;
/// - `DataKit`: arrays, BLAS/LAPACK, PNG, HDF5, file formats, patches, whitening (never imports `Models`);
/// - `Models`: objectives, samplers, optimizers, networks, estimators, metrics;
/// - `ToolSupport` and one thin executable per tool.
/// A thin command-line tool: its folder under Sources/Tools, the libraries and argument parsing.
func tool(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["DataKit", "Models", "ToolSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Sources/Tools/" + name
    )
}

let package = Package(
    name: "SparseKit",
    products: [
        .library(name: "DataKit", targets: ["DataKit"]),
        .library(name: "Models", targets: ["Models"]),
        .executable(name: "sk-patches", targets: ["sk-patches"]),
        .executable(name: "sk-whiten", targets: ["sk-whiten"]),
        .executable(name: "sk-inspect", targets: ["sk-inspect"]),
        .executable(name: "sk-convert", targets: ["sk-convert"]),
        .executable(name: "sk-train", targets: ["sk-train"]),
        .executable(name: "sk-eval", targets: ["sk-eval"]),
        .executable(name: "sk-encode", targets: ["sk-encode"]),
        .executable(name: "sk-synth", targets: ["sk-synth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian: libpng-dev, libhdf5-dev, libopenblas-dev, liblapacke-dev, libdeflate-dev,
        // libopenmpi-dev (always linked; MPI starts only under mpirun, see Sources/Distributed).
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CHDF5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLAPACKE", providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(name: "CDeflate", providers: [.apt(["libdeflate-dev"])]),
        .target(name: "CHDF5Shim", dependencies: ["CHDF5"]),
        // Replaces OpenBLAS's Prescott fallback on CPUs newer than it by the core their flags support (see its header).
        .target(name: "CBLASShim", dependencies: ["CBLAS"]),
        // Hand-vectorized loops with run-time CPU dispatch; libmvec is glibc's vector exp, log, cos and erfc.
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("mvec", .when(platforms: [.linux]))]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "CMPIShim", dependencies: ["CMPI"]),
        .target(name: "Distributed", dependencies: ["CMPI", "CMPIShim"]),

        .target(
            name: "DataKit",
            dependencies: ["CPNG", "CHDF5", "CHDF5Shim", "CBLAS", "CBLASShim", "CLAPACKE", "CDeflate", "CKernels", "Distributed"]
        ),
        .target(name: "Models", dependencies: ["DataKit", "Distributed", "CBLAS", "CKernels"]),

        .target(
            name: "ToolSupport",
            dependencies: ["DataKit", "Distributed", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Tools/ToolSupport"
        ),
        tool("sk-patches"),
        tool("sk-whiten"),
        tool("sk-inspect"),

        tool("sk-convert"),
        tool("sk-train"),
        tool("sk-eval"),
        tool("sk-encode"),
        tool("sk-synth"),

        .target(name: "TestSupport", dependencies: ["DataKit"], path: "Tests/TestSupport"),  // helpers of the test targets
        .testTarget(name: "DataKitTests", dependencies: ["DataKit", "Distributed", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "DataKit", "CKernels", "TestSupport"]),
        .testTarget(
            name: "ToolTests",
            dependencies: ["DataKit", "TestSupport", "sk-patches", "sk-whiten", "sk-inspect", "sk-convert", "sk-train", "sk-eval", "sk-encode", "sk-synth"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets, only when SPARSEKIT_FUZZ is set (they have no main of their own: libFuzzer supplies it), built
// with `-sanitize=fuzzer,address -parse-as-library`; see fuzz/README.md.
if Context.environment["SPARSEKIT_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["DataKit"], path: "fuzz/Support"))
    for name in ["png", "xc", "libsvm", "arff", "hdf5"] {
        package.targets.append(.executableTarget(name: "fuzz-" + name, dependencies: ["DataKit", "FuzzSupport"], path: "fuzz/" + name))
        package.products.append(.executable(name: "fuzz-" + name, targets: ["fuzz-" + name]))
    }
}
