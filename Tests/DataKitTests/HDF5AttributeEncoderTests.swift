import DataKit
import XCTest

/// Hyper-parameter structs as `/config` attributes (`HDF5AttributeEncoder`).
final class HDF5AttributeEncoderTests: XCTestCase {
    enum Scheme: String, Codable { case em, fullBatch = "full-batch" }

    /// A pair that writes itself as one string, as `START:EPOCHS` options do.
    struct Pair: Codable {
        var start: Double, epochs: Int
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode("\(start):\(epochs)")
        }
    }

    struct Settings: Codable {
        var latents = 10
        var batchSize = 512
        var learningRate = 0.5
        var warmStart = true
        var scheme = Scheme.fullBatch
        var seed: UInt64 = .max
        var hidden = [512, 256]
        var annealPrior: Pair? = Pair(start: 10, epochs: 5)
        var split: String?
    }

    func testFlatStructsBecomeSnakeCaseAttributes() throws {
        let attributes = try HDF5AttributeEncoder.attributes(of: Settings())
        XCTAssertEqual(attributes, [
            "latents": .int(10), "batch_size": .int(512), "learning_rate": .double(0.5), "warm_start": .int(1),
            "scheme": .string("full-batch"), "seed": .int(-1), "hidden": .ints([512, 256]), "anneal_prior": .string("10.0:5"),
        ], "nil optionals are left out; UInt64 by bit pattern")
        let path = try temporaryFolder(self) + "/config.h5"
        let file = try HDF5File.create(path)
        try file.createGroup("/config")
        for (name, value) in attributes { try file.setAttribute(name, value, on: "/config") }
        try file.close()
        XCTAssertEqual(try HDF5File.open(path).attribute("batch_size", of: "/config"), .int(512))
    }

    func testNestedStructuresAreRefused() {
        struct Inner: Codable { var a = 1, b = 2 }
        struct Outer: Codable { var inner = Inner() }
        struct Listed: Codable { var items = [Inner()] }
        XCTAssertThrowsError(try HDF5AttributeEncoder.attributes(of: Outer()))
        XCTAssertThrowsError(try HDF5AttributeEncoder.attributes(of: Listed()))
        XCTAssertEqual(HDF5AttributeEncoder.snakeCase("lbfgsHistory"), "lbfgs_history")
    }
}
