import ArgumentParser
import DataKit
import Foundation

/// A SparseKit tool. Its `main()` replaces ArgumentParser's so that every failure is ONE line on stderr,
/// `TOOL: message`, with the contract's exit code: usage errors 64 (without ArgumentParser's usage block; `--help`
/// shows that), `SparseKitError`s their own code, anything unexpected 70.
public protocol SparseKitCommand: ParsableCommand {}

extension SparseKitCommand {
    public static func main() {
        let name = configuration.commandName ?? "sparsekit"
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as SparseKitError {
            ToolRunner.printError("\(name): \(error)")
            Foundation.exit(error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success {  // --help, --version
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? ""
            if !message.isEmpty {
                let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
                ToolRunner.printError("\(name): \(code == .validationFailure ? "" : "internal error: ")\(text)")
            }
            Foundation.exit(code == .failure ? 70 : code.rawValue)
        }
    }
}
