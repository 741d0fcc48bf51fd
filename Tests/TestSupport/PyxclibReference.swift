import Foundation

/// An independent implementation of pyxclib's ranking metrics (`xclib/evaluation/xc_metrics.py`: `precision`,
/// `ndcg`, `psprecision`, `psndcg`, `compute_inv_propesity`) in numpy and scipy, written from its formulas to check
/// `RankingMetrics` against. Ties rank the lower label first (a stable sort; pyxclib's `argpartition` leaves their
/// order unspecified), ranks beyond C are padded with a label that is never relevant, and pyxclib's float32 storage of
/// nDCG is not copied (double precision throughout).
public enum PyxclibReference {
    /// Python modules the script needs.
    public static let modules = ["numpy", "scipy"]

    /// The metrics at `ks` of the dense `scores` (N × `labels`) against the label sets `truth`, with propensities
    /// from the label sets `training` and parameters `a`, `b`; nil when python3 with numpy and scipy is missing.
    public static func metrics(scores: [[Double]], truth: [[Int]], training: [[Int]], labels: Int, ks: [Int], a: Double = 0.55,
                               b: Double = 1.5) throws -> (metrics: [[String: Double]], propensities: [Double])? {
        guard let python = Python.interpreter(with: modules) else { return nil }
        let spec: [String: Any] = ["labels": labels, "a": a, "b": b, "ks": ks, "scores": scores, "truth": truth, "train": training]
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("pyxclib-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: spec).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let (status, output) = try Python.run(python, script, [input.path])
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let metrics = object["metrics"] as? [[String: Double]], let propensities = object["propensities"] as? [Double]
        else { throw PythonFailure(output: output) }
        return (metrics, propensities)
    }

    /// A script that failed, with what it printed.
    public struct PythonFailure: Error, CustomStringConvertible {
        public let output: String
        public var description: String { "the pyxclib reference script failed: \(output)" }
    }

    /// The script: argv[1] is a JSON file holding an object (labels, a, b, ks, scores, truth, train); prints
    /// {metrics, propensities}.
    public static let script = #"""
import json, sys
import numpy as np
import scipy.sparse as sp

def csr(rows, cols):
    indptr, indices = [0], []
    for r in rows:
        indices += r
        indptr.append(len(indices))
    return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), cols))

def inverse_propensity(train, a, b):  # pyxclib's compute_inv_propesity (Jain et al. 2016)
    n = train.shape[0]
    freqs = np.ravel(np.asarray(train.sum(axis=0)))
    c = (np.log(n) - 1) * np.power(b + 1, a)
    return 1.0 + c * np.power(freqs + b, -a)

def top(scores, k, pad):  # best first, ties to the lower label; columns beyond C padded with `pad`
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    if order.shape[1] < k:
        order = np.hstack([order, np.full((order.shape[0], k - order.shape[1]), pad)])
    return order

def metrics(scores, truth, inv_psp, ks):
    n, c = truth.shape
    kmax = max(ks)
    y = np.hstack([truth.toarray(), np.zeros((n, 1))])  # column C: the padding, never relevant
    w = np.append(inv_psp, 0.0)
    ranked = top(scores, kmax, c)
    ideal = top(truth.toarray() * inv_psp, kmax, c)  # each point's labels by inverse propensity
    flags = np.take_along_axis(y, ranked, axis=1)
    ps_flags = flags * w[ranked]
    ideal_flags = np.take_along_axis(y, ideal, axis=1) * w[ideal]
    discount = 1 / np.log2(np.arange(kmax) + 2)
    count = truth.getnnz(axis=1)
    out = []
    for k in ks:
        z = np.array([discount[:min(k, m)].sum() if m > 0 else 1.0 for m in count])  # Z_i: ideal DCG at min(k, |y_i|)
        p = np.mean(flags[:, :k].sum(axis=1) / k)
        ndcg = np.mean((flags[:, :k] * discount[:k]).sum(axis=1) / z)
        psp = ps_flags[:, :k].sum() / ideal_flags[:, :k].sum()
        psndcg = ((ps_flags[:, :k] * discount[:k]).sum(axis=1) / z).sum() / ((ideal_flags[:, :k] * discount[:k]).sum(axis=1) / z).sum()
        out.append({"k": k, "precision": p, "ndcg": ndcg, "propensityPrecision": psp, "propensityNDCG": psndcg})
    return out

with open(sys.argv[1]) as f:
    spec = json.load(f)
c = spec["labels"]
scores = np.array(spec["scores"], dtype=np.float64)
inv = inverse_propensity(csr(spec["train"], c), spec["a"], spec["b"])
print(json.dumps({"metrics": metrics(scores, csr(spec["truth"], c), inv, spec["ks"]), "propensities": list(1 / inv)}))
"""#
}
