#!/usr/bin/env python3
"""Supervised SDLGM per-epoch benchmark: `sk-train sdlgm` against a PyTorch CPU reference on bibtex, in one run.

Run after `swift build -c release`:

    python3 bench/multilabel_epoch.py | tee bench/results-multilabel-epoch.txt   # 5 epochs each side, about 2 minutes
    python3 bench/multilabel_epoch.py --epochs 1                                  # a smoke run

The workload: bibtex (../shared/data/multilabel/bibtex; F = 1836 binary word features, C = 159 labels, the published
split: 4,880 training and 2,515 test rows), converted by `sk-convert`. Both sides train the same model on the train
split with the same settings and are evaluated on the test split by the same rule:

- the network: a first layer multiplying the CSR feature rows by a dense F x 512 weight (plus bias), ReLU, and two
  linear heads on it, L0 = 10 level logits and C label scores; initial weights uniform with SparseKit's bounds
  (first layer sqrt(3 / typical non-zeros per row), heads 0.5 sqrt(3 / 512)), zero biases;
- the loss per point: -log softmax(level logits)[L - 1] minus the Plackett-Luce lower bound
  B(pi) = sum_l [log sum_{j in S minus pi<l} e^{s_j} - log sum_{j not in pi<l} e^{s_j}] for an ordering pi of the label
  set S drawn from Plackett-Luce restricted to S (Gumbel-top-k on the current scores, held fixed in the gradient);
  sets larger than L0 truncated to a random L0 of their labels each time; mean over the batch;
- Adam (lr 1e-3, betas 0.9 / 0.999, eps 1e-8), batch 128, rows shuffled every epoch;
- P@k: the test rows' labels ranked by score.

(a) SparseKit: `sk-train sdlgm DATA -o model.h5 --max-active 10 --hidden 512 --epochs E --batch-size 128
    --learning-rate 0.001 --seed 1`; seconds per epoch from /history/seconds (the batch loop); `sk-eval --split test`.
(b) The reference, this file's `ref` sub-command: the same model in PyTorch (float32, autograd, torch.optim.Adam),
    the first layer as torch.sparse.mm of a COO batch with the dense weight (the N x F features are never
    densified, nor any N x C label matrix), torch.set_num_threads(2) with OMP_WAIT_POLICY=PASSIVE (as in
    essc_epoch.py: libgomp's default active waiting stalls torch on this 2-vCPU machine), and once more with 1 thread.
    Its epoch time covers the same batch loop.

Reported: seconds per epoch on both sides and their ratio, training loss per epoch, test P@1/3/5 after the last
epoch, whole-process wall time and peak RSS (GNU time).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from sparsekit import commit as sparsekit_commit, BIN, PACKAGE_DIR, tool

DATA_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "multilabel", "bibtex"))
HIDDEN, MAX_ACTIVE, BATCH, LEARNING_RATE = 512, 10, 128, 1e-3


def timed(command, env=None):
    """Runs a command under GNU time; returns (stdout, wall seconds, peak RSS in MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-v", "-o", report.name] + [str(c) for c in command], stdout=subprocess.PIPE, text=True,
                                env=env)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"{command[0]} failed with exit code {result.returncode}")
        peak = next(int(line.split(":")[1]) for line in report.read().splitlines() if "Maximum resident" in line)
    return result.stdout, wall, peak / 1024


def run(options):
    work = options.workdir or os.path.join(PACKAGE_DIR, "bench", "out", "multilabel-epoch")
    os.makedirs(work, exist_ok=True)
    data, model = os.path.join(work, "bibtex.h5"), os.path.join(work, "sdlgm.h5")
    tool("sk-convert", os.path.join(DATA_DIR, "bibtex-train.arff"), os.path.join(DATA_DIR, "bibtex-test.arff"),
         "--format", "arff", "--xml", os.path.join(DATA_DIR, "bibtex.xml"), "-o", data, "--quiet", echo=False)
    import h5py

    _, sk_wall, sk_peak = timed([os.path.join(BIN, "sk-train"), "sdlgm", data, "-o", model, "--max-active", MAX_ACTIVE,
                                 "--hidden", HIDDEN, "--epochs", options.epochs, "--batch-size", BATCH,
                                 "--learning-rate", LEARNING_RATE, "--seed", 1, "--quiet"])
    with h5py.File(model, "r") as f:
        sk_seconds = [float(v) for v in f["history/seconds"][...]]
        sk_loss = [-float(v) for v in f["history/objective"][...]]
    report = json.loads(tool("sk-eval", model, data, "--split", "test", "--json", echo=False))
    sk_precision = [r["precision"] for r in report["ranking"]]

    runs = {}
    for threads in (2, 1):
        result = os.path.join(work, f"reference-{threads}.json")
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(threads))
        _, wall, peak = timed([sys.executable, os.path.abspath(__file__), "ref", data, result, "--epochs",
                               str(options.epochs), "--threads", str(threads)], env=env)
        with open(result) as f:
            runs[threads] = dict(json.load(f), wall=wall, peak=peak)

    ref = runs[2]
    n_train = ref["train_rows"]
    print("Supervised SDLGM epoch benchmark: sk-train sdlgm against a PyTorch CPU reference, bibtex")
    print("=" * 100)
    commit = sparsekit_commit()
    print(f"SparseKit commit {commit}; reference: torch {ref['torch']} (float32, OMP_WAIT_POLICY=PASSIVE); "
          f"nproc {os.cpu_count()}")
    print(f"workload: {n_train} training rows, F = {ref['features']}, C = {ref['labels']}, hidden {HIDDEN}, "
          f"L0 = {MAX_ACTIVE}, batch {BATCH}, Adam {LEARNING_RATE:g}, {options.epochs} epochs; P@k on "
          f"{ref['test_rows']} test rows")
    print()
    print(f"{'epoch':>5}  {'SK s':>8}  {'ref s (2 thr.)':>14}  {'ref s (1 thr.)':>14}  {'SK loss':>9}  {'ref loss':>9}")
    for e in range(options.epochs):
        print(f"{e + 1:>5}  {sk_seconds[e]:8.3f}  {ref['seconds'][e]:14.3f}  {runs[1]['seconds'][e]:14.3f}  "
              f"{sk_loss[e]:9.4f}  {ref['loss'][e]:9.4f}")
    mean = lambda v: sum(v) / len(v)
    print()
    print(f"{'':38}{'SK':>10}{'ref 2 thr.':>12}{'ref 1 thr.':>12}")
    print(f"{'seconds per epoch (mean)':38}{mean(sk_seconds):10.3f}{mean(ref['seconds']):12.3f}{mean(runs[1]['seconds']):12.3f}")
    print(f"{'  ratio ref / SK':38}{'':10}{mean(ref['seconds']) / mean(sk_seconds):11.2f}x"
          f"{mean(runs[1]['seconds']) / mean(sk_seconds):11.2f}x")
    for k, name in enumerate(("P@1", "P@3", "P@5")):
        print(f"{name + ' (test, after the last epoch)':38}{sk_precision[k]:10.4f}{ref['precision'][k]:12.4f}"
              f"{runs[1]['precision'][k]:12.4f}")
    print(f"{'whole process, wall s':38}{sk_wall:10.2f}{ref['wall']:12.2f}{runs[1]['wall']:12.2f}")
    print(f"{'peak RSS, MiB':38}{sk_peak:10.1f}{ref['peak']:12.1f}{runs[1]['peak']:12.1f}")
    dense = n_train * ref["labels"] * 4 / 2**20
    print()
    print(f"An N x C float32 matrix of the training labels would take {dense:.1f} MiB, the N x F features "
          f"{n_train * ref['features'] * 4 / 2**20:.1f} MiB; neither side forms them (batches of {BATCH} rows only).")


def reference(options):
    """The PyTorch reference: trains, evaluates, writes a JSON result."""
    import h5py
    import numpy as np
    import torch

    torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    with h5py.File(options.data, "r") as f:
        def csr(name):
            g = f[name]
            return (g["indptr"][...].astype(np.int64), g["indices"][...].astype(np.int64),
                    g["data"][...].astype(np.float32), tuple(int(v) for v in g.attrs["shape"]))
        features, labels = csr("features"), csr("labels")
        train_rows, test_rows = f["splits/train"][...].astype(np.int64), f["splits/test"][...].astype(np.int64)
    f_indptr, f_indices, f_data, (n, n_features) = features
    l_indptr, l_indices, _, (_, n_labels) = labels
    label_sets = [l_indices[l_indptr[i]:l_indptr[i + 1]] for i in range(n)]
    train_rows = np.array([i for i in train_rows if len(label_sets[i]) > 0])   # a level L >= 1 needs a label

    def batch(rows):
        """The rows as a torch COO sparse matrix (B x F)."""
        starts, ends = f_indptr[rows], f_indptr[rows + 1]
        counts = ends - starts
        cols = np.concatenate([f_indices[s:e] for s, e in zip(starts, ends)])
        vals = np.concatenate([f_data[s:e] for s, e in zip(starts, ends)])
        index = np.stack([np.repeat(np.arange(len(rows)), counts), cols])
        return torch.sparse_coo_tensor(torch.from_numpy(index), torch.from_numpy(vals), (len(rows), n_features),
                                       check_invariants=False)

    typical = max(1, int(f_indptr[train_rows + 1].sum() - f_indptr[train_rows].sum()) // len(train_rows))
    def uniform(shape, bound):
        return torch.nn.Parameter((torch.rand(shape) * 2 - 1) * bound)
    w1, b1 = uniform((n_features, HIDDEN), (3 / typical) ** 0.5), torch.nn.Parameter(torch.zeros(HIDDEN))
    head_bound = 0.5 * (3 / HIDDEN) ** 0.5
    w_labels, b_labels = uniform((HIDDEN, n_labels), head_bound), torch.nn.Parameter(torch.zeros(n_labels))
    w_level, b_level = uniform((HIDDEN, MAX_ACTIVE), head_bound), torch.nn.Parameter(torch.zeros(MAX_ACTIVE))
    parameters = [w1, b1, w_labels, b_labels, w_level, b_level]
    optimizer = torch.optim.Adam(parameters, lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8)

    def forward(x):
        hidden = torch.relu(torch.sparse.mm(x, w1) + b1)
        return hidden @ w_level + b_level, hidden @ w_labels + b_labels

    seconds, losses = [], []
    for _ in range(options.epochs):
        order = rng.permutation(train_rows)
        started = time.perf_counter()
        total = 0.0
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            b = len(rows)
            sets = []
            for i in rows:
                s = label_sets[i]
                sets.append(rng.choice(s, MAX_ACTIVE, replace=False) if len(s) > MAX_ACTIVE else s)
            sizes = torch.tensor([len(s) for s in sets])
            member = torch.zeros(b, n_labels, dtype=torch.bool)
            member[torch.from_numpy(np.repeat(np.arange(b), sizes.numpy())), torch.from_numpy(np.concatenate(sets))] = True
            level_logits, scores = forward(batch(rows))
            with torch.no_grad():   # an ordering of each set: Gumbel-top-k on the scores restricted to the set
                gumbel = -torch.log(-torch.log(torch.rand(b, n_labels).clamp_min(1e-20)))
                keys = torch.where(member, scores + gumbel, torch.full_like(scores, -float("inf")))
                ordering = keys.argsort(dim=1, descending=True)[:, :MAX_ACTIVE]
            remaining, drawn = member.clone(), torch.zeros_like(member)
            bound = torch.zeros(b)
            for step in range(MAX_ACTIVE):
                active = step < sizes
                if not active.any():
                    break
                inside = torch.logsumexp(scores.masked_fill(~remaining, -float("inf")), dim=1)
                outside = torch.logsumexp(scores.masked_fill(drawn, -float("inf")), dim=1)
                bound = bound + torch.where(active, inside - outside, torch.zeros_like(inside))
                picked = ordering[:, step]
                rows_active = torch.nonzero(active).squeeze(1)
                now = torch.zeros_like(member)   # new masks, not in place: autograd keeps the old ones
                now[rows_active, picked[rows_active]] = True
                remaining, drawn = remaining & ~now, drawn | now
            level_loss = torch.nn.functional.cross_entropy(level_logits, sizes - 1)
            loss = level_loss - bound.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * b
        seconds.append(time.perf_counter() - started)
        losses.append(total / len(order))

    hits = np.zeros(3)
    with torch.no_grad():
        for start in range(0, len(test_rows), 512):
            rows = test_rows[start:start + 512]
            top = forward(batch(rows))[1].topk(5, dim=1).indices.numpy()
            for i, row in enumerate(rows):
                truth = set(label_sets[row].tolist())
                for k_index, k in enumerate((1, 3, 5)):
                    hits[k_index] += sum(1 for label in top[i, :k] if label in truth) / k
    result = {"seconds": seconds, "loss": losses, "precision": (hits / len(test_rows)).tolist(),
              "train_rows": int(len(train_rows)), "test_rows": int(len(test_rows)), "features": n_features,
              "labels": n_labels, "torch": torch.__version__, "threads": options.threads}
    with open(options.result, "w") as f:
        json.dump(result, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workdir", help="where the converted data and models go (default bench/out/multilabel-epoch)")
    ref = sub.add_parser("ref", help="the PyTorch reference (run as a subprocess by the benchmark)")
    ref.add_argument("data")
    ref.add_argument("result")
    ref.add_argument("--epochs", type=int, default=5)
    ref.add_argument("--threads", type=int, default=2)
    ref.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    if options.command == "ref":
        reference(options)
    else:
        run(options)


if __name__ == "__main__":
    main()
