import Foundation
import XCTest

/// The `--json` contract (`docs/json.md`): every tool's output on small inputs, and one failure of each, validated
/// against the schema declared once below: the keys of every object (none missing, none undeclared), their types,
/// snake_case keys, numbers as numbers (no numeric strings), shapes as arrays of integers, the output path, and
/// `{"error": {"code", "message"}}` on stdout when a `--json` run fails.
final class JSONContractToolTests: XCTestCase {
    // MARK: The schema

    /// A JSON type. `object` lists its keys; keys in `optional` may be absent, every other one must be present, and
    /// a key not listed fails. `map` is an object whose keys are data (attribute names, split names, paths).
    indirect enum JSONType: Sendable {
        case string, integer, number, boolean
        case array(JSONType)
        case object([String: JSONType], optional: Set<String> = [])
        case map(JSONType)
        case nullable(JSONType)
        case anyOf([JSONType])
    }

    static let estimate = JSONType.object(["mean": .number, "standard_error": .number])
    /// sk-eval --per-point's arrays (ES-SC and unsupervised SDLGM alike).
    static let perPoint = JSONType.object(["held_out_elbo": .array(.number), "log_likelihood": .array(.number),
                                           "log_weight_variance": .array(.number), "effective_sample_size": .array(.number)])
    static let attributeValue = JSONType.anyOf([.string, .number, .array(.string), .array(.number)])
    static let schemaKey: [String: JSONType] = ["schema": .integer]

    /// The keys every `sk-train` summary has, then each kind's own.
    static func training(_ record: [String: JSONType], recordOptional: Set<String> = [], _ details: [String: JSONType],
                         optional: Set<String> = []) -> JSONType {
        .object(schemaKey.merging(details) { $1 }.merging([
            "output": .string, "model_kind": .string, "epochs": .integer, "objective_name": .string,
            "objective_direction": .string, "final_objective": .nullable(.number), "seconds": .number,
            "history": .array(.object(record, optional: recordOptional)),
        ]) { $1 }, optional: optional)
    }

    static func object(_ keys: [String: JSONType], optional: Set<String> = []) -> JSONType {
        .object(schemaKey.merging(keys) { $1 }, optional: optional)
    }

    /// The documents, by name (`docs/json.md` has one section per name).
    static let schema: [String: JSONType] = [
        "sk-synth": object(["output": .string, "points": .integer, "dimension": .integer, "noise": .number, "seed": .integer]),
        "sk-patches": object(["output": .string, "patches": .integer, "dimension": .integer, "images": .integer]),
        "sk-whiten": object(["output": .string, "rows": .integer, "input_dimension": .integer, "output_dimension": .integer,
                             "method": .string, "epsilon": .number, "largest_eigenvalue": .number, "smallest_eigenvalue": .number]),
        "sk-inspect": object([
            "path": .string, "kind": .string, "format_version": .integer, "history": .array(.string),
            "attributes": .map(attributeValue), "groups": .map(.map(attributeValue)),
            "datasets": .array(.object([
                "path": .string, "type": .string, "shape": .array(.integer), "storage": .string, "chunks": .array(.integer),
                "filters": .array(.string), "attributes": .map(attributeValue),
                "statistics": .object(["count": .integer, "min": .number, "max": .number, "mean": .number, "std": .number,
                                       "zeros": .number, "non_finite": .integer]),
            ], optional: ["chunks", "statistics"])),
            "multilabel": .object([
                "points": .integer, "features": .integer, "labels": .integer, "feature_non_zeros": .integer,
                "label_non_zeros": .integer, "cardinality": .number, "density": .number, "points_without_labels": .integer,
                "top_labels": .array(.object(["index": .integer, "name": .string, "count": .integer], optional: ["name"])),
                "splits": .map(.integer),
            ]),
        ], optional: ["kind", "format_version", "multilabel"]),
        "sk-inspect --tiles": object(["output": .string, "tiles": .integer, "source": .string, "width": .integer, "height": .integer]),
        "sk-convert": object(["output": .string, "format": .string, "points": .integer, "features": .integer, "labels": .integer,
                              "feature_non_zeros": .integer, "label_non_zeros": .integer, "splits": .map(.integer)]),
        "sk-convert --export": object(["output": .string, "format": .string, "points": .integer, "split": .string], optional: ["split"]),
        "sk-train sc": training(["epoch": .integer, "objective": .number, "posterior_entropy": .number, "prior_entropy": .number,
                                 "noise_entropy": .number, "sigma2": .number, "mean_lambda": .number, "gini": .number,
                                 "beta_prior": .number, "seconds": .number],
                                ["latents": .integer, "scheme": .string, "posterior": .string, "sigma2": .number, "mean_lambda": .number]),
        "sk-train sdlgm (unsupervised)": training(
            ["epoch": .integer, "elbo": .number, "log_likelihood": .number, "level_kl": .number, "support_kl": .number,
             "value_kl": .number, "mean_squared_error": .number, "active": .number, "temperature": .number, "sigma2": .number,
             "seconds": .number],
            ["latents": .integer, "max_active": .integer, "mean_active": .number]),
        "sk-train sdlgm (supervised)": training(
            ["epoch": .integer, "loss": .number, "seconds": .number, "validation_precision": .number, "member": .integer],
            recordOptional: ["validation_precision", "member"],
            ["method": .string, "points": .integer, "labels": .integer, "max_active": .integer, "truncated_points": .integer,
             "points_without_labels": .integer, "feature_scaling": .string, "best_epoch": .integer, "ensemble_members": .integer],
            optional: ["best_epoch", "ensemble_members"]),
        "sk-train baseline": training(
            ["epoch": .integer, "log_likelihood": .number, "seconds": .number,
             "stage": .object(["smoothing": .number, "iterations": .integer, "stop": .string, "log_likelihood": .number, "seconds": .number])],
            recordOptional: ["stage"],
            ["points": .integer, "dimension": .integer, "training_log_likelihood": .number, "training_bits_per_dimension": .number]),
        "sk-eval (es-sc)": object([
            "model_kind": .string, "evaluation": .string, "points": .integer, "objective": .number, "held_out_elbo": estimate,
            "gini": .number, "sigma2": .number, "lambda_mean": .number, "lambda_min": .number, "lambda_max": .number,
            "log_likelihood": .object([
                "method": .string, "mean": .number, "standard_error": .number, "bits_per_dimension": .number, "samples": .integer,
                "temperatures": .integer, "transition": .string, "schedule": .string, "mean_log_weight_variance": .number, "max_log_weight_variance": .number,
                "mean_effective_sample_size": .number, "seconds_per_point": .number, "whitening_log_abs_determinant": .number,
                "pixel_space_mean": .number,
            ], optional: ["temperatures", "transition", "schedule", "whitening_log_abs_determinant", "pixel_space_mean"]),
            "per_point": perPoint,
        ], optional: ["log_likelihood", "per_point"]),
        "sk-eval --bdmc": object([
            "model_kind": .string, "evaluation": .string, "points": .integer, "temperatures": .integer, "chains": .integer,
            "transition": .string, "schedule": .string, "lower": estimate, "upper": estimate, "gap": estimate, "lower_log_weight_variance": .number,
            "upper_log_weight_variance": .number, "seconds": .number,
        ]),
        "sk-eval (sdlgm-unsupervised)": object([
            "model_kind": .string, "evaluation": .string, "points": .integer, "samples": .integer, "held_out_elbo": estimate,
            "log_likelihood": .number, "level_kl": .number, "support_kl": .number, "value_kl": .number,
            "reconstruction_error": .number, "data_variance": .number, "active_counts": .array(.integer), "mean_active": .number,
            "sigma2": .number, "marginal_log_likelihood": estimate, "marginal_bits_per_dimension": .number,
            "mean_effective_sample_size": .number, "low_effective_sample_size_fraction": .number, "likelihood_samples": .integer,
            "likelihood_exact_given_support": .boolean,
            "whitening_log_abs_determinant": .number, "marginal_pixel_space_log_likelihood": .number,
            "per_point": perPoint,
        ], optional: ["sigma2", "marginal_log_likelihood", "marginal_bits_per_dimension", "mean_effective_sample_size",
                      "low_effective_sample_size_fraction", "likelihood_samples", "likelihood_exact_given_support", "whitening_log_abs_determinant",
                      "marginal_pixel_space_log_likelihood", "per_point"]),
        "sk-eval (sdlgm-supervised)": object([
            "model_kind": .string, "evaluation": .string, "method": .string, "points": .integer, "labels": .integer,
            "ranking": .array(.object(["k": .integer, "precision": .number, "ndcg": .number, "propensity_precision": .number,
                                       "propensity_ndcg": .number], optional: ["propensity_precision", "propensity_ndcg"])),
            "sets": .object(["micro_f1": .number, "macro_f1": .number, "skipped_labels": .integer, "example_f1": .number,
                             "hamming_loss": .number, "subset_accuracy": .number, "mean_predicted_count": .number,
                             "mean_true_count": .number, "points_without_labels": .integer]),
            "propensity_form": .string, "propensity_a": .number, "propensity_b": .number, "propensity_source": .string,
        ]),
        "sk-eval (baseline)": object([
            "model_kind": .string, "evaluation": .string, "model": .string, "points": .integer, "dimension": .integer,
            "log_likelihood": estimate, "bits_per_dimension": .number, "whitening_log_abs_determinant": .number,
            "pixel_space_log_likelihood": estimate, "pixel_space_bits_per_dimension": .number,
        ], optional: ["whitening_log_abs_determinant", "pixel_space_log_likelihood", "pixel_space_bits_per_dimension"]),
        "sk-encode": object(["output": .string, "model_kind": .string, "points": .integer, "latents": .integer, "top_k": .integer],
                            optional: ["top_k"]),
        "sk-encode --export": object(["output": .string, "format": .string, "points": .integer, "top_k": .integer]),
        "error": object(["error": .object(["code": .integer, "message": .string])]),
    ]

    // MARK: Validation

    /// Problems of `value` against `type` at `path`; none means it conforms.
    static func problems(_ value: Any, _ type: JSONType, at path: String) -> [String] {
        let number = value as? NSNumber
        let isBool = number.map { String(cString: $0.objCType) == "c" } ?? false
        switch type {
        case .string:
            guard let text = value as? String else { return ["\(path): expected a string, got \(value)"] }
            if Double(text) != nil { return ["\(path): a number written as the string \"\(text)\""] }
            if text.hasPrefix("["), text.hasSuffix("]") { return ["\(path): an array written as the string \"\(text)\""] }
            return []
        case .integer:
            guard let number, !isBool, number.doubleValue.rounded() == number.doubleValue else {
                return ["\(path): expected an integer, got \(value)"]
            }
            return []
        case .number:
            return number != nil && !isBool ? [] : ["\(path): expected a number, got \(value)"]
        case .boolean:
            return isBool ? [] : ["\(path): expected true or false, got \(value)"]
        case .nullable(let inner):
            return value is NSNull ? [] : problems(value, inner, at: path)
        case .anyOf(let types):
            return types.contains { problems(value, $0, at: path).isEmpty } ? [] : ["\(path): unexpected value \(value)"]
        case .array(let element):
            guard let array = value as? [Any] else { return ["\(path): expected an array, got \(value)"] }
            return array.enumerated().flatMap { problems($0.element, element, at: "\(path)[\($0.offset)]") }
        case .map(let element):
            guard let object = value as? [String: Any] else { return ["\(path): expected an object, got \(value)"] }
            return object.flatMap { problems($0.value, element, at: "\(path)[\"\($0.key)\"]") }
        case .object(let keys, let optional):
            guard let object = value as? [String: Any] else { return ["\(path): expected an object, got \(value)"] }
            var found: [String] = []
            for key in keys.keys.sorted() where object[key] == nil && !optional.contains(key) { found.append("\(path): no key \(key)") }
            for (key, item) in object.sorted(by: { $0.key < $1.key }) {
                if key.range(of: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", options: .regularExpression) == nil {
                    found.append("\(path): key \(key) is not snake_case")
                }
                guard let itemType = keys[key] else { found.append("\(path): undocumented key \(key)"); continue }
                found += problems(item, itemType, at: path + "." + key)
            }
            return found
        }
    }

    /// Runs `tool` with `arguments` (and --json), and checks the run succeeded and its stdout is the document
    /// `name`, with `"schema": 1` and, when given, `output` as its output path; returns the parsed document.
    @discardableResult
    func check(_ name: String, _ tool: String, _ arguments: [String], output: String? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try ToolHarness.run(tool, arguments + ["--json"])
        XCTAssertEqual(result.status, 0, "\(tool) \(arguments): \(result.stderr)", file: file, line: line)
        guard let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            XCTFail("\(tool): stdout is not one JSON object: \(result.stdout)", file: file, line: line)
            return [:]
        }
        let found = Self.problems(document, Self.schema[name]!, at: name)
        XCTAssertTrue(found.isEmpty, found.joined(separator: "\n") + "\n" + result.stdout, file: file, line: line)
        XCTAssertEqual(document["schema"] as? Int, 1, file: file, line: line)
        if let output { XCTAssertEqual(document["output"] as? String, output, "the output path", file: file, line: line) }
        return document
    }

    /// Runs `tool` with `arguments` and --json, expecting exit `code`: the error document on stdout with that code
    /// and stderr's message, stderr keeping its one line.
    func checkFailure(_ tool: String, _ arguments: [String], code: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try ToolHarness.run(tool, arguments + ["--json"])
        XCTAssertEqual(result.status, code, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line on stderr: \(result.stderr)", file: file, line: line)
        guard let document = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            return XCTFail("\(tool) \(arguments): stdout is not one JSON object: '\(result.stdout)'", file: file, line: line)
        }
        let found = Self.problems(document, Self.schema["error"]!, at: "error")
        XCTAssertTrue(found.isEmpty, found.joined(separator: "\n"), file: file, line: line)
        let error = document["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? Int, Int(code), file: file, line: line)
        let message = error?["message"] as? String ?? ""
        XCTAssertFalse(message.isEmpty, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(message), "stderr '\(result.stderr)' carries the message '\(message)'", file: file, line: line)
    }

    // MARK: The tools

    func testEveryToolsJSONFollowsTheSchema() throws {
        let folder = try temporaryFolder(self)
        func path(_ name: String) -> String { folder + "/" + name }
        let images = ["camera.png", "horse.png"].map { ToolHarness.fixture("images/" + $0) }
        let multilabel = ["medical-train.arff", "medical-test.arff"].map { ToolHarness.fixture("multilabel/" + $0) }

        try check("sk-synth", "sk-synth", ["bars", "-o", path("bars.h5"), "--count", "200", "--seed", "1"], output: path("bars.h5"))
        try check("sk-patches", "sk-patches", images + ["-o", path("p.h5"), "--size", "4", "--count", "600", "--seed", "1"],
                  output: path("p.h5"))
        try check("sk-patches", "sk-patches", images + ["-o", path("h.h5"), "--size", "4", "--count", "200", "--seed", "2"])
        try check("sk-whiten", "sk-whiten", [path("p.h5"), "-o", path("w.h5"), "--method", "zca", "--epsilon", "1e-3"], output: path("w.h5"))
        try check("sk-whiten", "sk-whiten", [path("h.h5"), "-o", path("hw.h5"), "--transform-from", path("w.h5")], output: path("hw.h5"))
        try check("sk-convert", "sk-convert", multilabel + ["--format", "arff", "--xml", ToolHarness.fixture("multilabel/medical.xml"),
                                                            "-o", path("med.h5")], output: path("med.h5"))
        try check("sk-convert --export", "sk-convert", [path("med.h5"), "--export", "libsvm", "--split", "test", "-o", path("med.svm")],
                  output: path("med.svm"))

        let inspected = try check("sk-inspect", "sk-inspect", [path("w.h5")])
        let data = (inspected["datasets"] as? [[String: Any]])?.first { $0["path"] as? String == "/data" }
        XCTAssertEqual(data?["shape"] as? [Int], [600, 16], "shapes are arrays of integers")
        XCTAssertEqual((inspected["attributes"] as? [String: Any])?["patch_height"] as? Int, 4, "attributes keep their type")
        try check("sk-inspect", "sk-inspect", [path("med.h5")])
        try check("sk-inspect --tiles", "sk-inspect", [path("p.h5"), "--tiles", "-o", path("t.png"), "--count", "4"], output: path("t.png"))

        let sc = try check("sk-train sc", "sk-train", ["sc", path("bars.h5"), "-o", path("sc.h5"), "--latents", "6", "--epochs", "2", "--seed", "1"],
                           output: path("sc.h5"))
        XCTAssertEqual(sc["epochs"] as? Int, 2)
        XCTAssertEqual((sc["history"] as? [Any])?.count, 2, "the history of every epoch")
        try check("sk-train sdlgm (unsupervised)", "sk-train",
                  ["sdlgm", path("bars.h5"), "-o", path("un.h5"), "--mode", "unsupervised", "--latents", "6", "--max-active", "2",
                   "--hidden", "8", "--epochs", "2", "--batch-size", "50", "--seed", "1"], output: path("un.h5"))
        try check("sk-train sdlgm (supervised)", "sk-train",
                  ["sdlgm", path("med.h5"), "-o", path("sup.h5"), "--max-active", "3", "--hidden", "16", "--epochs", "2",
                   "--batch-size", "32", "--seed", "1"], output: path("sup.h5"))
        let validated = try check("sk-train sdlgm (supervised)", "sk-train",
                                  ["sdlgm", path("med.h5"), "-o", path("val.h5"), "--max-active", "3", "--hidden", "16", "--epochs", "3",
                                   "--batch-size", "32", "--seed", "1", "--validation", "0.3"], output: path("val.h5"))
        XCTAssertNotNil(validated["best_epoch"] as? Int, "--validation: the epoch the model holds")
        let ensemble = try check("sk-train sdlgm (supervised)", "sk-train",
                                 ["sdlgm", path("med.h5"), "-o", path("ens.h5"), "--max-active", "3", "--hidden", "16", "--epochs", "2",
                                  "--batch-size", "32", "--seed", "1", "--ensemble", "2"], output: path("ens.h5"))
        XCTAssertEqual(ensemble["ensemble_members"] as? Int, 2, "--ensemble: the member count")
        try check("sk-eval (sdlgm-supervised)", "sk-eval", [path("ens.h5"), path("med.h5")])
        let frequent = try check("sk-train sdlgm (supervised)", "sk-train", ["sdlgm", path("med.h5"), "-o", path("mf.h5"), "--method", "most-frequent"])
        XCTAssertTrue(frequent["final_objective"] is NSNull, "no epoch: null, not missing")
        try check("sk-train baseline", "sk-train", ["baseline", path("w.h5"), "-o", path("g.h5"), "--model", "gaussian"], output: path("g.h5"))
        try check("sk-train baseline", "sk-train", ["baseline", path("w.h5"), "-o", path("ica.h5"), "--model", "ica", "--iterations", "5"])

        try check("sk-eval (es-sc)", "sk-eval", [path("sc.h5"), path("bars.h5")])
        try check("sk-eval (es-sc)", "sk-eval", [path("sc.h5"), path("bars.h5"), "--loglik", "--chains", "2", "--temperatures", "20", "--per-point"])
        try check("sk-eval --bdmc", "sk-eval", [path("sc.h5"), "--bdmc", "5", "--chains", "2", "--temperatures", "20"])
        try check("sk-eval (sdlgm-unsupervised)", "sk-eval", [path("un.h5"), path("bars.h5"), "--loglik", "--samples", "5"])
        try check("sk-eval (sdlgm-unsupervised)", "sk-eval", [path("un.h5"), path("bars.h5"), "--loglik", "--samples", "5", "--per-point"])
        try check("sk-eval (sdlgm-supervised)", "sk-eval", [path("sup.h5"), path("med.h5")])
        try check("sk-eval (baseline)", "sk-eval", [path("g.h5"), path("hw.h5")])

        try check("sk-encode", "sk-encode", [path("sc.h5"), path("bars.h5"), "-o", path("c1.h5")], output: path("c1.h5"))
        try check("sk-encode", "sk-encode", [path("un.h5"), path("bars.h5"), "-o", path("c2.h5")], output: path("c2.h5"))
        try check("sk-encode", "sk-encode", [path("sup.h5"), path("med.h5"), "-o", path("c3.h5"), "--top-k", "3"], output: path("c3.h5"))
        try check("sk-encode --export", "sk-encode", [path("sup.h5"), path("med.h5"), "-o", path("top.txt"), "--top-k", "3", "--export", "xc"],
                  output: path("top.txt"))
    }

    /// One failing run of each tool: a missing input (66), a usage error (64), bad input (65).
    func testEveryToolsFailureIsTheErrorObject() throws {
        let folder = try temporaryFolder(self)
        let missing = folder + "/missing.h5"
        let notHDF5 = ToolHarness.fixture("broken/not-hdf5.h5")
        try checkFailure("sk-synth", ["bars", "-o", folder + "/b.h5", "--count", "0"], code: 64)
        try checkFailure("sk-patches", [folder + "/missing.png", "-o", folder + "/p.h5", "--size", "4", "--count", "10"], code: 66)
        try checkFailure("sk-whiten", [missing, "-o", folder + "/w.h5"], code: 66)
        try checkFailure("sk-inspect", [notHDF5], code: 65)
        try checkFailure("sk-convert", [folder + "/missing.arff", "--format", "arff", "-o", folder + "/m.h5"], code: 66)
        try checkFailure("sk-convert", [missing, "--export", "xc", "-o", "-"], code: 64)
        try checkFailure("sk-train", ["sc", missing, "-o", folder + "/m.h5", "--latents", "4"], code: 66)
        try checkFailure("sk-train", ["sdlgm", missing, "-o", folder + "/m.h5"], code: 66)
        try checkFailure("sk-train", ["baseline", missing, "-o", folder + "/m.h5", "--model", "gaussian"], code: 66)
        try checkFailure("sk-train", ["sc", "--no-such-option"], code: 64)
        try checkFailure("sk-eval", [missing, missing], code: 66)
        try checkFailure("sk-encode", [missing, missing, "-o", folder + "/c.h5"], code: 66)
        try checkFailure("sk-encode", [missing, missing, "-o", "-", "--top-k", "3", "--export", "xc"], code: 64)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "no output left by a failure")
    }

    /// The schema's own checks catch what issue 18 found: numbers as strings, shapes as strings, camelCase keys.
    func testTheValidatorRefusesTheOldOutput() {
        let synth: [String: Any] = ["schema": 1, "output": "b.h5", "points": "1000", "dimension": 25, "noise": 0.1, "seed": 0]
        XCTAssertFalse(Self.problems(synth, Self.schema["sk-synth"]!, at: "sk-synth").isEmpty)
        let shape: [String: Any] = ["shape": "[7395, 1836]"]
        XCTAssertFalse(Self.problems(shape, .object(["shape": .array(.integer)]), at: "dataset").isEmpty)
        XCTAssertFalse(Self.problems(["heldOutELBO": 1.0], .object(["heldOutELBO": .number]), at: "report").isEmpty)
        XCTAssertFalse(Self.problems(["a": 1.5], .object(["a": .integer]), at: "x").isEmpty)
        XCTAssertFalse(Self.problems(["a": true], .object(["a": .number]), at: "x").isEmpty)
        XCTAssertFalse(Self.problems([String: Any](), .object(["a": .number]), at: "x").isEmpty, "a missing key")
        XCTAssertTrue(Self.problems(["a": NSNull()], .object(["a": .nullable(.number)]), at: "x").isEmpty)
    }
}
