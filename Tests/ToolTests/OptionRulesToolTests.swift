import DataKit
import XCTest

/// Every tool refuses, in one line naming it (exit 64), an option that does not apply to the mode chosen, and a
/// malformed or out-of-range value, before any work.
final class OptionRulesToolTests: XCTestCase {
    let patches = ToolHarness.fixture("broken/good-4x4.h5")

    /// Asserts `tool arguments` fails with a usage error whose one line contains `fragment`, leaving `keeping` alone.
    func assertRefused(_ tool: String, _ arguments: [String], _ fragment: String, folder: String, keeping: Set<String> = [],
                       file: StaticString = #filePath, line: UInt = #line) throws
    {
        assertFails(try ToolHarness.run(tool, arguments), code: 64, containing: fragment, folder: folder, keeping: keeping,
                    file: file, line: line)
    }

    func testEvalAndEncodeRefuseOptionsOfOtherModelKinds() throws {
        let folder = try temporaryFolder(self)
        let baseline = folder + "/gaussian.h5"
        let fit = try ToolHarness.run("sk-train", ["baseline", patches, "-o", baseline, "--model", "gaussian", "--quiet"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let kept: Set = ["gaussian.h5"]
        for (extra, fragment) in [(["--bdmc", "5"], "--bdmc applies only to ES-SC models"), (["--loglik"], "--loglik applies only"),
                                  (["--chains", "4"], "--chains applies only"), (["--temperatures", "10"], "--temperatures applies only"),
                                  (["--transition", "collapsed"], "--transition applies only"),
                                  (["--schedule", "geometric"], "--schedule applies only"),
                                  (["--elbo-samples", "3"], "--elbo-samples applies only to unsupervised SDLGM"),
                                  (["--propensity-a", "0.6"], "--propensity-a applies only to supervised SDLGM"),
                                  (["--split", "test"], "--split applies only to SDLGM")] {
            try assertRefused("sk-eval", [baseline, patches] + extra, fragment, folder: folder, keeping: kept)
        }
        // Without the option the same evaluation runs.
        XCTAssertEqual(try ToolHarness.run("sk-eval", [baseline, patches, "--quiet"]).status, 0)
        try assertRefused("sk-encode", [baseline, patches, "-o", folder + "/codes.h5", "--split", "test"],
                          "--split applies only to SDLGM models", folder: folder, keeping: kept)
        // Malformed and out-of-range values.
        try assertRefused("sk-eval", [baseline, patches, "--loglik-method", "mcmc"], "--loglik-method", folder: folder, keeping: kept)
        try assertRefused("sk-eval", [baseline, patches, "--chains", "9223372036854775807"], "--chains must be between",
                          folder: folder, keeping: kept)
    }

    func testInspectRefusesTileOptionsWithoutTiles() throws {
        let folder = try temporaryFolder(self)
        for option in [["--count", "5"], ["--zoom", "2"], ["--scaling", "range"], ["-o", folder + "/t.png"]] {
            try assertRefused("sk-inspect", [patches] + option, "\(option[0]) applies only with --tiles", folder: folder)
        }
        try assertRefused("sk-inspect", [patches, "--tiles", "-o", folder + "/t.png", "--scaling", "log"], "--scaling", folder: folder)
        try assertRefused("sk-inspect", [patches, "--tiles", "-o", folder + "/t.png", "--zoom", "3037000500"],
                          "--zoom must be between", folder: folder)
    }

    func testPatchesRefusesRandomOptionsOnAGrid() throws {
        let folder = try temporaryFolder(self)
        let image = ToolHarness.fixture("images/camera.png"), out = folder + "/p.h5"
        try assertRefused("sk-patches", [image, "-o", out, "--grid", "--seed", "3"], "--seed applies only without --grid", folder: folder)
        try assertRefused("sk-patches", [image, "-o", out, "--grid", "--count", "3"], "--count applies only without --grid", folder: folder)
        try assertRefused("sk-patches", [image, "-o", out, "--count", "3", "--stride", "2"], "--stride applies only with --grid", folder: folder)
        try assertRefused("sk-patches", [image, "-o", out, "--count", "9223372036854775807"], "--count must be between", folder: folder)
        try assertRefused("sk-patches", [image, "-o", out, "--count", "3", "--color", "cmyk"], "--color", folder: folder)
    }

    func testWhitenRefusesFittingOptionsWithAStoredTransform() throws {
        let folder = try temporaryFolder(self)
        let out = folder + "/w.h5"
        for option in [["--epsilon", "1e-3"], ["--method", "zca"], ["--dog", "0.5,2"], ["--remove-patch-mean"]] {
            try assertRefused("sk-whiten", [patches, "-o", out, "--transform-from", patches] + option,
                              "\(option[0]) applies only when fitting", folder: folder)
        }
        try assertRefused("sk-whiten", [patches, "-o", out, "--keep-variance", "0.9"], "--keep-variance applies only when fitting with --method pca",
                          folder: folder)
        for dog in ["1e300,1e300", "1", "0.5,-1", "nan,1", "1,2,3"] {
            try assertRefused("sk-whiten", [patches, "-o", out, "--dog", dog], "--dog", folder: folder)
        }
        try assertRefused("sk-whiten", [patches, "-o", out, "--method", "ica"], "--method", folder: folder)
    }

    func testConvertRefusesOptionsOfOtherFormats() throws {
        let folder = try temporaryFolder(self)
        let arff = ToolHarness.fixture("multilabel/tiny.arff"), out = folder + "/out.h5"
        try assertRefused("sk-convert", [arff, "--format", "xc", "--missing", "zero", "-o", out], "--missing applies only with --format arff",
                          folder: folder)
        try assertRefused("sk-convert", [arff, "--format", "arff", "--split-column", "2", "-o", out],
                          "--split-column applies only with --format xc", folder: folder)
        try assertRefused("sk-convert", [patches, "--export", "xc", "--one-based", "-o", out], "--one-based applies only to libsvm",
                          folder: folder)
        try assertRefused("sk-convert", [patches, "--export", "xc", "--dense", "-o", out], "--dense applies only when converting",
                          folder: folder)
        try assertRefused("sk-convert", [arff, "--format", "csv", "-o", out], "--format", folder: folder)
        try assertRefused("sk-convert", [arff, "--format", "libsvm", "--zero-based", "--features", "9223372036854775807", "-o", out],
                          "--features must be between", folder: folder)
        try assertRefused("sk-convert", [arff, "--format", "arff", "--split-names", "a,,b", "-o", out], "--split-names", folder: folder)
    }

    func testSynthRefusesAHugeCount() throws {
        let folder = try temporaryFolder(self)
        try assertRefused("sk-synth", ["bars", "-o", folder + "/b.h5", "--count", "9223372036854775807"], "--count must be between",
                          folder: folder)
    }

    /// Shell completion offers the values of typed options and HDF5 files for file arguments, in every tool.
    func testCompletionOffersValuesAndFiles() throws {
        let train = try ToolHarness.run("sk-train", ["--generate-completion-script", "bash"])
        XCTAssertEqual(train.status, 0, train.stderr)
        for values in ["'diagonal'$'\\n''full'", "'auto'$'\\n''none'$'\\n''standardize'", "'sdlgm'$'\\n''one-vs-all'"] {
            XCTAssertTrue(train.stdout.contains(values), "sk-train completes \(values)")
        }
        for tool in ["sk-train", "sk-eval", "sk-encode", "sk-whiten", "sk-patches", "sk-synth", "sk-convert"] {
            let script = try ToolHarness.run(tool, ["--generate-completion-script", "zsh"])
            XCTAssertTrue(script.stdout.contains("_files"), "\(tool) completes file names")
        }
    }

    /// `--version` names the version, the file format and the C libraries linked at run time, in every tool.
    func testVersionNamesTheLibraries() throws {
        for tool in ["sk-train", "sk-eval", "sk-encode", "sk-whiten", "sk-patches", "sk-synth", "sk-convert", "sk-inspect"] {
            let result = try ToolHarness.run(tool, ["--version"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.hasPrefix(SparseKit.version + " (file format 1)"), "\(tool): \(result.stdout)")
            for library in ["HDF5 1.", "OpenBLAS", "libpng 1."] { XCTAssertTrue(result.stdout.contains(library), "\(tool): \(result.stdout)") }
        }
    }

    /// OpenBLAS's kernels (CBLASShim): a core the user sets with OPENBLAS_CORETYPE stands, even the Prescott fallback
    /// SparseKit would otherwise replace; a replaced core is one the CPU's flags support, and says what it replaced.
    func testTheUsersBLASCoreStandsAndAReplacedOneIsNamed() throws {
        let forced = try ToolHarness.run("sk-train", ["--version"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertTrue(forced.stdout.contains("core Prescott;"), forced.stdout)
        let own = try ToolHarness.run("sk-train", ["--version"])
        if own.stdout.contains("OpenBLAS's own choice was Prescott") {
            XCTAssertTrue(own.stdout.contains("core SkylakeX (") || own.stdout.contains("core Haswell ("), own.stdout)
        } else {
            XCTAssertFalse(own.stdout.contains("from the CPU's flags"), own.stdout)
        }
    }
}
