import DataKit
import Foundation
import XCTest

/// Paths and helpers shared by the DataKit tests.
enum Fixtures {
    /// The repository root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent("fixtures/" + relative).path }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparsekit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// Asserts that `body` throws a `SparseKitError` of `kind` whose message contains `fragment`.
func assertThrows(_ kind: SparseKitError.Kind, containing fragment: String = "", file: StaticString = #filePath,
                  line: UInt = #line, _ body: () throws -> Void)
{
    do {
        try body()
        XCTFail("expected a \(kind) error", file: file, line: line)
    } catch let error as SparseKitError {
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        XCTAssertTrue(fragment.isEmpty || error.description.contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// A matrix of seeded standard-normal values.
func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
    var g = SeededGenerator(seed: seed)
    return Matrix(rows: rows, cols: cols, storage: (0..<(rows * cols)).map { _ in Float(g.normal()) })
}
