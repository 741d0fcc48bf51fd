@testable import DataKit
import Foundation
import TestSupport
import XCTest

/// The checked allocation path: overflow-checked products and sums, the limit (physical memory or the process's
/// address-space limit), and refusals with exit 70 naming what and how much.
final class MemoryBudgetTests: XCTestCase {
    func testProductsAndSumsReportOverflowAndNegativeFactors() {
        XCTAssertEqual(MemoryBudget.product([]), 1)
        XCTAssertEqual(MemoryBudget.product([3, 4, 5]), 60)
        XCTAssertEqual(MemoryBudget.product([0, .max]), 0)
        XCTAssertNil(MemoryBudget.product([1 << 32, 1 << 32]))
        XCTAssertNil(MemoryBudget.product([.max, 2]))
        XCTAssertNil(MemoryBudget.product([4, -1]))
        XCTAssertEqual(MemoryBudget.sum([1, 2, 3]), 6)
        XCTAssertNil(MemoryBudget.sum([.max, 1]))
        XCTAssertNil(MemoryBudget.sum([1, nil]))
        XCTAssertEqual(MemoryBudget.Need.floats("x", 1 << 20, 4).bytes, 16 << 20)
        XCTAssertNil(MemoryBudget.Need.floats("x", 1 << 31, 1 << 31).bytes)
    }

    func testCheckedProductThrowsInternalOnOverflow() throws {
        XCTAssertEqual(try MemoryBudget.checkedProduct([1000, 1000], for: "tiles"), 1_000_000)
        assertThrows(.internal, containing: "tiles needs more than 8 EiB of memory") {
            _ = try MemoryBudget.checkedProduct([.max / 2, 3], for: "tiles")
        }
        assertThrows(.internal) { _ = try MemoryBudget.checkedProduct([Int.max / 2 + 1], for: "tiles") }  // + 1 stays safe
    }

    func testTheLimitIsAtMostPhysicalMemory() {
        let (bytes, reason) = MemoryBudget.limit
        XCTAssertGreaterThan(bytes, 0)
        XCTAssertLessThanOrEqual(bytes, Int(clamping: ProcessInfo.processInfo.physicalMemory))
        XCTAssertFalse(reason.isEmpty)
    }

    func testSizesThatFitPassAndOthersFailWithOneLineNamingWhatAndHowMuch() throws {
        try MemoryBudget.require([.floats("small", 1000, 1000)], for: "a test")
        try MemoryBudget.require(bytes: 128 << 20, for: "a reservable size")  // reserved and released at once
        let beyond = MemoryBudget.limit.bytes / 4 + 1
        do {
            try MemoryBudget.require([.floats("the big part", beyond, 2), .floats("the small part", 10)], for: "training",
                                     file: "data.h5", hint: "try --stream")
            XCTFail("no error")
        } catch let error as SparseKitError {
            XCTAssertEqual(error.kind, .internal)
            XCTAssertEqual(error.exitCode, 70)
            XCTAssertEqual(error.file, "data.h5")
            XCTAssertTrue(error.problem.hasPrefix("training (the largest: the big part, "), error.problem)
            XCTAssertTrue(error.problem.contains("of memory, more than ") && error.problem.hasSuffix("; try --stream"), error.problem)
            XCTAssertFalse(error.description.contains("\n"))
        }
        assertThrows(.internal, containing: "overflowing needs more than 8 EiB of memory") {
            try MemoryBudget.require([.floats("a", .max, 2)], for: "overflowing")
        }
        assertThrows(.internal, containing: "negative needs more than 8 EiB") { try MemoryBudget.require(bytes: nil, for: "negative") }
    }

    func testSizesAreDescribedInReadableUnits() {
        XCTAssertEqual(MemoryBudget.describe(512), "512 bytes")
        XCTAssertEqual(MemoryBudget.describe(3 << 20), "3.0 MiB")
        XCTAssertEqual(MemoryBudget.describe(2_050_000_000), "1.91 GiB")
        XCTAssertEqual(MemoryBudget.describe(nil), "more than 8 EiB")
    }

    /// The text readers refuse a line longer than their bound with its number, however it arrives (in the buffer
    /// already, or longer than the buffer).
    func testLinesBeyondTheBoundAreRefusedWithTheirNumber() throws {
        let path = try temporaryFolder(self) + "/lines.txt"
        try Data(("short\n" + String(repeating: "x", count: 100) + "\n").utf8).write(to: URL(fileURLWithPath: path))
        for bufferSize in [16, 1 << 20] {
            let reader = try LineReader(path: path, bufferSize: bufferSize, maximumLineLength: 50)
            XCTAssertEqual(try reader.nextLine().map { Array($0) }, Array("short".utf8))
            assertThrows(.badInput, containing: "lines.txt: line 2: longer than 50 bytes") { _ = try reader.nextLine() }
        }
        let lenient = try LineReader(path: path, bufferSize: 16, maximumLineLength: 100)
        _ = try lenient.nextLine()
        XCTAssertEqual(try lenient.nextLine()?.count, 100)
    }

    /// An HDF5 extent whose bytes overflow `Int` (2⁶³ here) is bad input; one beyond memory is refused with 70.
    func testDeclaredExtentsOverflowingOrBeyondMemory() throws {
        let path = try temporaryFolder(self) + "/huge.h5"
        let f = try HDF5File.create(path)
        _ = try f.createDataset("/overflow", of: Float.self, shape: [1 << 40, 1 << 21], layout: DatasetLayout(chunkRows: 1))
        _ = try f.createDataset("/beyond", of: Float.self, shape: [1 << 40, 256], layout: DatasetLayout(chunkRows: 1024))
        try f.close()
        let file = try HDF5File.open(path)
        assertThrows(.badInput, containing: "/overflow: declares 1099511627776 × 2097152 elements, more than any machine holds") {
            _ = try file.read("/overflow", as: Float.self)
        }
        assertThrows(.internal, containing: "/beyond: reading it needs 1048576.00 GiB of memory") {
            _ = try file.read("/beyond", as: Float.self)
        }
    }
}
