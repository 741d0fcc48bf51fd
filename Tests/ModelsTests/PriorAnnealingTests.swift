import Foundation
@testable import Models
import XCTest

final class PriorAnnealingTests: XCTestCase {
    typealias Annealing = SparseCodingTrainer.Annealing

    /// `START:EPOCHS` falls linearly to 1; a list gives each epoch's β in turn, then 1 (the authors' EM-like
    /// schedule max(1, 2 (5 − epoch)) is 10,8,6,4,2).
    func testBothFormsGiveTheirBetaPerEpoch() throws {
        let linear = try XCTUnwrap(Annealing(text: "10:5"))
        XCTAssertEqual((0..<7).map { linear.betaPrior(epoch: $0) }, [10, 8.2, 6.4, 4.6, 2.8, 1, 1], accuracy: 1e-12)
        let authors = try XCTUnwrap(Annealing(text: "10,8,6,4,2"))
        XCTAssertEqual((0..<7).map { authors.betaPrior(epoch: $0) }, (0..<7).map { max(1, 2 * (5 - Double($0))) })
        XCTAssertEqual(authors.epochs, 5)
        XCTAssertEqual(linear.epochs, 5)
        XCTAssertTrue(linear.isValid && authors.isValid)
    }

    /// The provenance string (`description`, also the Codable form) reads back to the same schedule.
    func testTheWrittenFormReadsBack() throws {
        for text in ["10:5", "2.5:10", "10,8,6,4,2", "3", "1.5,1.25"] {
            let annealing = try XCTUnwrap(Annealing(text: text), text)
            XCTAssertEqual(Annealing(text: annealing.description), annealing, text)
            let coded = try JSONDecoder().decode(Annealing.self, from: JSONEncoder().encode(annealing))
            XCTAssertEqual(coded, annealing, text)
        }
    }

    /// Text that is neither form does not parse; a β below 1 (or not finite) parses but is not valid, and the
    /// trainer refuses it.
    func testMalformedAndOutOfRangeSchedulesAreRefused() throws {
        for text in ["", "10:", ":5", "10:5:1", "10,,2", "ten", "10;8", "10:2.5"] {
            XCTAssertNil(Annealing(text: text), text)
        }
        for text in ["0.5:3", "10:0", "10,0.5", "inf,2", "nan"] {
            XCTAssertFalse(try XCTUnwrap(Annealing(text: text), text).isValid, text)
            var trainer = SparseCodingTrainer(latents: 2, scheme: .em, epochs: 1)
            trainer.annealPrior = Annealing(text: text)
            XCTAssertThrowsError(try trainer.validate(), text)
        }
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
