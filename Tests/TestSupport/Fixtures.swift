import Foundation
import XCTest

/// Paths into the repository's `fixtures` folder.
public enum Fixtures {
    /// The repository root, found from this file's path (Tests/TestSupport/Fixtures.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The absolute path of `fixtures/<relative>`.
    public static func path(_ relative: String) -> String { root.appendingPathComponent("fixtures/" + relative).path }
}

/// A fresh temporary folder, removed when the test ends.
public func temporaryFolder(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparsekit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}
