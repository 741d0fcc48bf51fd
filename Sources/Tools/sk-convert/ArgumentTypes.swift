import ArgumentParser
import DataKit

extension ConvertJob.Format: ExpressibleByArgument {}
extension TextExport.Format: ExpressibleByArgument {}
extension MissingValues: ExpressibleByArgument {}

/// `--split-names NAME1,NAME2,…`: one non-empty name per input file.
struct SplitNames: ExpressibleByArgument {
    var names: [String]

    init?(argument: String) {
        names = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard names.allSatisfy({ !$0.isEmpty }) else { return nil }
    }
}
