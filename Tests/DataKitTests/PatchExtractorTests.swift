import DataKit
import XCTest

final class PatchExtractorTests: XCTestCase {
    /// An image whose pixel (r, c, ch) holds a value that identifies it.
    func labelledImage(width: Int, height: Int, channels: Int = 1, tag: Float = 0) -> ImagePlane {
        var pixels: [Float] = []
        for r in 0..<height { for c in 0..<width { for ch in 0..<channels { pixels.append(tag + Float(r * 1000 + c * 10 + ch)) } } }
        return ImagePlane(width: width, height: height, channels: channels, pixels: pixels)
    }

    func collect(_ extractor: PatchExtractor, _ sampling: PatchSampling, minStd: Float? = nil, batchSize: Int = 8192)
        throws -> (Matrix, [PatchOrigin])
    {
        var rows: [Float] = [], origins: [PatchOrigin] = []
        try extractor.extract(sampling, minStd: minStd, batchSize: batchSize) { batch, o in
            rows += batch.storage
            origins += o
        }
        return (Matrix(rows: origins.count, cols: extractor.geometry.dimension, storage: rows), origins)
    }

    func testPatchPixelsMatchTheirRecordedPositions() throws {
        let images = [labelledImage(width: 20, height: 12, channels: 3), labelledImage(width: 9, height: 30, channels: 3, tag: 1e6)]
        let extractor = try PatchExtractor(images: images, names: ["a", "b"], patchHeight: 5, patchWidth: 4)
        let (patches, origins) = try collect(extractor, .random(count: 500, seed: 1), batchSize: 64)
        XCTAssertEqual(patches.rows, 500)
        for (i, o) in origins.enumerated() {
            let image = images[Int(o.image)]
            for r in 0..<5 { for c in 0..<4 { for ch in 0..<3 {
                let expected = image.pixels[((Int(o.row) + r) * image.width + Int(o.column) + c) * 3 + ch]
                XCTAssertEqual(patches[i, (r * 4 + c) * 3 + ch], expected)
            } } }
        }
    }

    func testPositionsAreUniformOverAllOffsetsIncludingTheLastRowAndColumn() throws {
        // 18×17 image, 16×16 patch: 2 rows × 3 columns = 6 valid offsets; a second image with 1 valid offset.
        let images = [labelledImage(width: 18, height: 17), labelledImage(width: 16, height: 16)]
        let extractor = try PatchExtractor(images: images, names: ["a", "b"], patchHeight: 16, patchWidth: 16)
        XCTAssertEqual(extractor.validPositions, [6, 1])
        let draws = 70_000
        let (_, origins) = try collect(extractor, .random(count: draws, seed: 2))
        var counts: [String: Int] = [:]
        for o in origins { counts["\(o.image):\(o.row),\(o.column)", default: 0] += 1 }
        XCTAssertEqual(Set(counts.keys), ["0:0,0", "0:0,1", "0:0,2", "0:1,0", "0:1,1", "0:1,2", "1:0,0"])
        let expected = Double(draws) / 7  // every offset of every image equally likely
        let chi2 = counts.values.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        XCTAssertLessThan(chi2, 22.5, "χ² with 6 degrees of freedom, p = 0.001")
    }

    func testGridVisitsEveryStridePosition() throws {
        let extractor = try PatchExtractor(images: [labelledImage(width: 10, height: 7)], names: ["a"], patchHeight: 3,
                                           patchWidth: 4)
        let (_, origins) = try collect(extractor, .grid(stride: 3))
        XCTAssertEqual(origins.map { [$0.row, $0.column] }, [[0, 0], [0, 3], [0, 6], [3, 0], [3, 3], [3, 6]])
    }

    func testSameSeedSamePatches() throws {
        let extractor = try PatchExtractor(images: [labelledImage(width: 40, height: 40)], names: ["a"], patchHeight: 8,
                                           patchWidth: 8)
        let (a, _) = try collect(extractor, .random(count: 100, seed: 9))
        let (b, _) = try collect(extractor, .random(count: 100, seed: 9), batchSize: 7)
        let (c, _) = try collect(extractor, .random(count: 100, seed: 10))
        XCTAssertEqual(a, b, "batch size does not change the draws")
        XCTAssertNotEqual(a, c)
    }

    func testMinStdRejectsFlatPatches() throws {
        // Left half flat, right half textured.
        var pixels = [Float](repeating: 0.5, count: 40 * 20)
        for r in 0..<20 { for c in 20..<40 { pixels[r * 40 + c] = Float((r * 7 + c * 3) % 11) / 10 } }
        let extractor = try PatchExtractor(images: [ImagePlane(width: 40, height: 20, channels: 1, pixels: pixels)],
                                           names: ["a"], patchHeight: 4, patchWidth: 4)
        let (patches, origins) = try collect(extractor, .random(count: 300, seed: 3), minStd: 0.05)
        XCTAssertEqual(origins.count, 300)
        XCTAssertTrue(origins.allSatisfy { $0.column >= 17 }, "every kept patch reaches the textured half")
        for i in 0..<patches.rows {
            let row = patches.row(i).map(Double.init)
            let mean = row.reduce(0, +) / 16
            XCTAssertGreaterThanOrEqual((row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 16).squareRoot(), 0.05 - 1e-6)
        }
        assertThrows(.badInput, containing: "lower --min-std") {
            _ = try collect(extractor, .random(count: 10, seed: 3), minStd: 10)
        }
    }

    func testImagesSmallerThanThePatchAreRejected() throws {
        assertThrows(.badInput, containing: "tiny: image of 8×8 pixels is smaller than the 16×16 patch") {
            _ = try PatchExtractor(images: [labelledImage(width: 8, height: 8)], names: ["tiny"], patchHeight: 16,
                                   patchWidth: 16)
        }
        assertThrows(.usage, containing: "at least 1") {
            _ = try PatchExtractor(images: [labelledImage(width: 8, height: 8)], names: ["a"], patchHeight: 0, patchWidth: 4)
        }
    }
}

import Foundation
