import DataKit
import XCTest

/// Asserts that `body` throws a `SparseKitError` of `kind` whose message contains `fragment`.
public func assertThrows(_ kind: SparseKitError.Kind, containing fragment: String = "", file: StaticString = #filePath,
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
