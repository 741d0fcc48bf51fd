import DataKit
import Foundation
import XCTest

/// Every input the fuzzers (fuzz/run.sh) ever found crashing is kept in fuzz/crashes/NAME/; each must now be read
/// cleanly: a value, or a one-line SparseKitError.
final class FuzzRegressionTests: XCTestCase {
    static let crashes = Fixtures.root.appendingPathComponent("fuzz/crashes")

    func inputs(_ name: String) throws -> [URL] {
        let folder = Self.crashes.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
    }

    func expectCleanRead(_ input: URL, _ read: () throws -> Void) {
        do {
            try read()
        } catch let error as SparseKitError {
            XCTAssertFalse(error.description.contains("\n"), "\(input.lastPathComponent): a multi-line error")
        } catch {
            XCTFail("\(input.lastPathComponent): \(error) is not a SparseKitError")
        }
    }

    func testPNGInputs() throws {
        for input in try inputs("png") {
            let bytes = [UInt8](try Data(contentsOf: input))
            expectCleanRead(input) { _ = try PNGCodec.decode(bytes, name: input.lastPathComponent) }
        }
    }

    func testTextInputs() throws {
        for (name, format) in [("xc", ConvertJob.Format.xc), ("libsvm", .libsvm), ("arff", .arff)] {
            for input in try inputs(name) {
                for oneBased in [false, true] {
                    var job = ConvertJob(inputs: [input.path], output: "/nonexistent/out.h5", format: format)
                    job.oneBased = oneBased
                    if format == .arff {
                        job.xml = Fixtures.path("multilabel/emotions.xml")
                    }
                    expectCleanRead(input) { _ = try job.read() }
                }
            }
        }
    }

    func testHDF5Inputs() throws {
        for input in try inputs("hdf5") {
            expectCleanRead(input) {
                let file = try HDF5File.open(input.path)
                switch try file.fileKind() {
                case .patches, .whitened:
                    _ = try file.readDataMatrix()
                    _ = try PatchGeometry.read(from: file)
                case .multilabel:
                    _ = try MultiLabelDataset.read(from: file)
                default:
                    break
                }
            }
        }
    }
}

/// Error messages stay on one line whatever bytes they quote.
final class OneLineErrorTests: XCTestCase {
    func testControlCharactersAreEscaped() {
        let error = SparseKitError.badInput("odd\nname.png", "chunk 'G\n\t' is bad")
        XCTAssertEqual(error.description, "odd\\u{a}name.png: chunk 'G\\u{a}\\u{9}' is bad")
        XCTAssertEqual(SparseKitError.usage("plain").description, "plain")
    }
}
