#!/usr/bin/env python3
"""sk-convert against the Python a user would otherwise write, side by side in one run.

Workload: a synthetic Extreme Classification Repository (XC) file, fixed seed: N = 300,000 points, F = 100,000
features, 80-120 features per point (uniform indices, values uniform in (0, 1) printed with 6 decimals), 1-9 labels
per point from C = 10,000 (1% of points without labels). It is generated once into bench/out/ and reused.

  SparseKit:  sk-convert synth.txt --format xc -o out.h5 --quiet
  reference:  scikit-learn's load_svmlight_file(multilabel=True, zero_based=True) on the file after its header
              line, the label tuples turned into a CSR matrix, and h5py writing /features and /labels in the same
              anndata CSR layout as sk-convert (same dtypes, chunks, shuffle + gzip 4).

Whole-process wall time (Python start-up and imports included), median of --repeats runs; peak RSS from GNU time
(apt-get install -y time). The outputs are compared array by array.
Run from the repository root after `swift build -c release`:  python3 bench/convert_stage.py
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
N, F, C = 300_000, 100_000, 10_000


def generate(path):
    import numpy as np
    rng = np.random.default_rng(0)
    with open(path + ".part", "w") as out:
        out.write(f"{N} {F} {C}\n")
        for _ in range(0, N, 10_000):
            lines = []
            for _ in range(10_000):
                features = np.unique(rng.integers(0, F, rng.integers(80, 121)))
                values = rng.random(len(features)).astype(np.float32)
                labels = [] if rng.random() < 0.01 else np.unique(rng.integers(0, C, rng.integers(1, 10))).tolist()
                body = " ".join(f"{f}:{v:.6f}" for f, v in zip(features.tolist(), values.tolist()))
                lines.append(",".join(map(str, labels)) + " " + body if labels else body)
            out.write("\n".join(lines) + "\n")
    os.replace(path + ".part", path)


REFERENCE = r'''
import sys, h5py, numpy as np, scipy.sparse as sp
from sklearn.datasets import load_svmlight_file
source, target, layout = sys.argv[1], sys.argv[2], sys.argv[3]
with open(source, "rb") as f:
    n, nf, nc = map(int, f.readline().split())
    X, y = load_svmlight_file(f, multilabel=True, zero_based=True, n_features=nf, dtype=np.float32)
indptr = np.zeros(n + 1, np.int64)
indptr[1:] = np.cumsum([len(labels) for labels in y])
indices = np.fromiter((int(l) for labels in y for l in labels), np.int64, count=int(indptr[-1]))
Y = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(n, nc))
Y.sort_indices()
chunks = dict(line.split("=") for line in layout.split(","))
with h5py.File(target, "w") as out:
    for name, m in (("features", X), ("labels", Y)):
        g = out.create_group(name)
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.array(m.shape, np.int64)
        for key, array in (("data", m.data.astype(np.float32)), ("indices", m.indices.astype(np.int64)),
                           ("indptr", m.indptr.astype(np.int64))):
            c = min(int(chunks[key]), len(array))
            g.create_dataset(key, data=array, chunks=(c,), shuffle=True, compression="gzip", compression_opts=4)
'''


def measure(command):
    """Runs command under GNU time: (wall seconds, user, sys, peak MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", timing.name] + command, check=True,
                       stdout=subprocess.DEVNULL)
        wall, user, system, kib = timing.read().split()[-4:]
    return float(wall), float(user), float(system), int(kib) / 1024


def compare(a, b):
    import h5py
    import numpy as np
    with h5py.File(a, "r") as x, h5py.File(b, "r") as y:
        for group in ("features", "labels"):
            for key in ("data", "indices", "indptr"):
                if not np.array_equal(x[group][key][()], y[group][key][()]):
                    return f"/{group}/{key} differs"
            if list(x[group].attrs["shape"]) != list(y[group].attrs["shape"]):
                return f"/{group} shape differs"
    return "identical"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = os.path.join(HERE, "out")
    os.makedirs(work, exist_ok=True)
    source = os.path.join(work, "synth-xc.txt")
    if not os.path.exists(source):
        print("generating", source, file=sys.stderr)
        generate(source)
    binary = os.path.join(ROOT, ".build", "release", "sk-convert")
    ours, theirs = os.path.join(work, "sk.h5"), os.path.join(work, "ref.h5")

    runs = {"sk-convert": [], "reference": []}
    for _ in range(args.repeats):
        runs["sk-convert"].append(measure([binary, source, "--format", "xc", "-o", ours, "--quiet"]))
        import h5py
        with h5py.File(ours, "r") as f:
            layout = ",".join(f"{k}={f['features'][k].chunks[0]}" for k in ("data", "indices", "indptr"))
        runs["reference"].append(measure([sys.executable, "-c", REFERENCE, source, theirs, layout]))

    import h5py
    with h5py.File(ours, "r") as f:
        nnz, labels = f["features/data"].shape[0], f["labels/data"].shape[0]
    csr_mib = (nnz * 12 + (N + 1) * 8 + labels * 12 + (N + 1) * 8) / 2**20
    median = {k: [statistics.median(r[i] for r in v) for i in range(4)] for k, v in runs.items()}
    sk, ref = median["sk-convert"], median["reference"]
    print(f"sk-convert benchmark: {os.path.getsize(source) / 2**20:.0f} MiB XC file, N = {N}, F = {F}, C = {C}, "
          f"{nnz} feature and {labels} label non-zeros; nproc = {os.cpu_count()}; commit "
          + subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip())
    print(f"median of {args.repeats} whole-process runs; peak RSS from GNU time; CSR output in memory {csr_mib:.0f} MiB\n")
    print(f"{'':12} {'wall s':>8} {'user s':>8} {'sys s':>7} {'peak MiB':>9}")
    for name, (wall, user, system, peak) in median.items():
        print(f"{name:12} {wall:8.2f} {user:8.2f} {system:7.2f} {peak:9.0f}")
    print(f"\nspeed-up (reference / sk-convert): {ref[0] / sk[0]:.2f}x   [target >= 2x: {'MET' if ref[0] >= 2 * sk[0] else 'NOT MET'}]")
    print(f"peak memory: sk-convert {sk[3]:.0f} MiB vs reference {ref[3]:.0f} MiB   "
          f"[target <= reference: {'MET' if sk[3] <= ref[3] else 'NOT MET'}]")
    print(f"peak memory / CSR output: {sk[3] / csr_mib:.2f}   [target <= about 2: {'MET' if sk[3] <= 2 * csr_mib else 'NOT MET'}]")
    print("outputs:", compare(ours, theirs))


if __name__ == "__main__":
    main()
