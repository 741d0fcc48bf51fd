import DataKit
/// The shared test helpers (temporary folders, fixtures, assertThrows, random data, csr, FiniteDifference), visible in
/// every file of this target.
@_exported import TestSupport

/// `n` points of the planted multi-label rule: each point's labels (of 5; every 50th point has none, some have more
/// than L0 = 3) are among its features (of 20), with 3 more features drawn from the 15 that are never labels.
func plantedMultiLabel(_ n: Int, using g: inout SeededGenerator) throws -> (features: CSRMatrix, labels: CSRMatrix) {
    var features: [[Int]] = [], labels: [[Int]] = []
    for i in 0..<n {
        let count = i % 50 == 0 ? 0 : 1 + g.below(4)
        var set = Set<Int>()
        while set.count < count { set.insert(g.below(5)) }
        labels.append(set.sorted())
        var f = Set(set)
        while f.count < count + 3 { f.insert(5 + g.below(15)) }
        features.append(f.sorted())
    }
    return (try csr(features, cols: 20), try csr(labels, cols: 5))
}
