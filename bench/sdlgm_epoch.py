#!/usr/bin/env python3
"""Supervised SDLGM epoch benchmark: `sk-train sdlgm` against a PyTorch CPU reference of the same model on bibtex.

Run from anywhere, after building the release binaries:

    swift build -c release                                        # or --scratch-path DIR, then --bin DIR/release
    python3 bench/sdlgm_epoch.py | tee bench/results-sdlgm-epoch.txt   # 5 epochs each side, about half a minute
    python3 bench/sdlgm_epoch.py --quick                               # smoke test: 1 epoch

Options: --epochs E (default 5), --quick (E = 1), --bin DIR (the SparseKit binaries; default .build/release of this
package), --workdir DIR (default bench/out/sdlgm-epoch), --keep (keep the converted data, models and JSON results),
--hidden SIZES (default 512, as sk-train), --no-check (skip the replica check, step 5 below), --no-extras (skip the
extra reference run with fused Adam).

The workload: bibtex (../shared/data/multilabel/bibtex, Mulan ARFF + XML; F = 1836 binary word features, C = 159
labels, the published split: 4,880 training and 2,515 test rows), converted once by `sk-convert`. Both sides train
the same model (../shared/docs/sdlgm.md, "Supervised multi-label model"; Sources/Models/SDLGM) on the train split and
are evaluated on the test split by the same rule:

- network: x (CSR rows) times a dense F x 512 weight plus bias, ReLU, any further Linear + ReLU layers (--hidden),
  then two linear heads, the C label scores h_S and the L0 = 10 level logits h_L;
- initial weights: SparseKit's own. The reference re-implements SparseKit's seeded generator (xoshiro256** seeded
  by SplitMix64) and draws, in SparseKit's order, the first layer uniform in +-sqrt(3 / typical non-zeros per
  training row) (F x 512, input-major), each further layer +-sqrt(3 / fan-in), the label head then the level head
  +-0.5 sqrt(3 / fan-in); zero biases. The replica is checked bit for bit (step 5);
- loss per point, mean over the batch: -log softmax(h_L)[L - 1] minus the Plackett-Luce Monte-Carlo bound
  B(pi) = sum_l [log sum_{j in S minus pi<l} e^{s_j} - log sum_{j not in pi<l} e^{s_j}], pi an ordering of the
  label set S drawn by Gumbel-top-k on the current scores restricted to S and held fixed in the gradient (the
  score-function term is left out, as in SparseKit). A set above L0 is cut to L0 labels by a fresh shuffle at
  every visit; points without labels are left out of training. The bound is computed as SparseKit computes it,
  in float64 from the float32 scores: exponentials shifted by the row's maximum score, A_l and B_l as the set's
  and the row's totals minus the labels drawn before step l (O(C + L0) per point, no loop over the steps);
- the batch order, the truncations and the Gumbel noise: the same draws as sk-train with --seed 1 (rows shuffled
  every epoch by the run's generator, Swift's Fisher-Yates; each point's truncation and noise from its own stream,
  PointStreams), so both sides see the same batches and orderings (up to float rounding of the scores that the
  Gumbel keys are added to);
- Adam, lr 1e-3, betas 0.9 / 0.999, eps 1e-8 (torch.optim.Adam's defaults; SparseKit's Adam is the same update in
  the equivalent step-size form), batch 128;
- prediction for P@k: the labels ranked by h_S(x), ties to the lower label index (sk-eval's TopKRanking); test
  points without labels count in the denominator (none in bibtex's test split).

Steps (each timed process runs under GNU time, `/usr/bin/time -v`, for its peak RSS; without it, os.wait4):
1. `sk-convert` bibtex -> WORKDIR/bibtex.h5.
2. SparseKit: `sk-train sdlgm DATA -o sdlgm.h5 --max-active 10 --hidden 512 --epochs E --batch-size 128
   --learning-rate 0.001 --seed 1 --quiet`; seconds and loss per epoch from the model file's /history (the batch
   loop, batch gathering and ordering draws included); whole-process wall time and peak RSS.
3. `sk-eval sdlgm.h5 DATA --split test --json`: P@1/3/5.
4. The reference, this file's `ref` sub-command as a subprocess: float32 PyTorch with autograd,
   torch.set_num_threads(2), OMP_WAIT_POLICY=PASSIVE in its environment (as essc_epoch.py: libgomp's active waiting
   stalls torch on a 2-vCPU machine), the first layer as a torch.sparse_csr_tensor batch (gathered from the CSR
   arrays inside the timed loop) times the dense weight, torch.optim.Adam. Its epoch time is the same batch loop;
   the replica generator's draws for an epoch are made before that epoch's clock starts (pure Python would
   otherwise dominate; torch.rand for the same B x L0 noise takes microseconds). Loss per epoch; test P@1/3/5 after
   the last epoch; whole-process wall time and peak RSS. Extra information (skip with --no-extras): the same
   reference with torch.optim.Adam(fused=True), torch's opt-in fused CPU kernel; for CPU tensors the default is a
   per-tensor loop of elementwise ops, and Adam over the F x 512 first layer is a large part of each step.
5. Replica check (skip with --no-check): `sk-train ... --learning-rate 1e-30 --epochs 1` (weights stay at their
   initial values) against the reference with the same learning rate: the initial weights bit for bit, and the
   epoch's loss at those weights (the same batches, truncations and orderings give the same loss up to float
   rounding); and sk-train's trained model from step 2 scored by the reference's evaluation code (must give
   sk-eval's P@k).

Reported: seconds per epoch on both sides with the per-epoch and mean ratio (reference / SparseKit), loss per epoch,
test P@1/3/5 (and whether P@1 is equal within two binomial standard errors on the test rows), whole-process wall
time, peak RSS, the "other load" on the machine during each run (busy cores beyond the run's own; the machine may
be shared: rerun when it is not near 0), and the size an N x C float32 label matrix (and an N x F feature matrix)
of the training split would take. Neither side forms either: the largest dense arrays are a batch's B x C scores.
Targets (the issue): SparseKit at least 2x faster per epoch at equal P@1 after the same number of epochs.
"""

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from sparsekit import cpu_model
from swift_random import SeededGenerator

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(BENCH_DIR)
DEFAULT_BIN = os.path.join(PACKAGE_DIR, ".build", "release")
DATA_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "multilabel", "bibtex"))
DEFAULT_WORKDIR = os.path.join(BENCH_DIR, "out", "sdlgm-epoch")

HIDDEN = "512"         # sk-train's --hidden
MAX_ACTIVE = 10        # L0
BATCH = 128
LEARNING_RATE = 1e-3
BETAS, EPSILON = (0.9, 0.999), 1e-8   # Sources/Models/Networks/Adam.swift
SEED = 1
THREADS = 2            # torch.set_num_threads
EPOCHS = 5
EVAL_BATCH = 512       # rows per scoring batch at evaluation (as SupervisedPredictor)
CHECK_LEARNING_RATE = 1e-30
MIB = 1 << 20


# ----------------------------------------------------------------------------------------------------------------------
# The PyTorch reference (run as a subprocess: `ref`)
# ----------------------------------------------------------------------------------------------------------------------

def read_dataset(path):
    """The CSR arrays of /features and /labels and the split row lists of a `multilabel` file."""
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        def csr(name):
            g = f[name]
            return (g["indptr"][...].astype(np.int64), g["indices"][...].astype(np.int64),
                    g["data"][...].astype(np.float32), tuple(int(v) for v in g.attrs["shape"]))
        return csr("features"), csr("labels"), {name: f["splits"][name][...].astype(np.int64) for name in f["splits"]}


def initial_weights(n_features, n_labels, hidden, typical, seed):
    """SupervisedNetwork's initial weights from SeededGenerator(seed), in its draw order: SparseLinear (F x H1,
    input-major, bound sqrt(3 / typical)), each Linear (out x in, sqrt(3 / in)), the label head, the level head
    (0.5 sqrt(3 / in)). Float((2u - 1) * bound) as Swift computes it: in double, rounded once to float32."""
    import numpy as np

    g = SeededGenerator(seed)

    def draw(rows, cols, bound):
        u = np.fromiter((g.uniform() for _ in range(rows * cols)), dtype=np.float64, count=rows * cols)
        return ((2 * u - 1) * bound).astype(np.float32).reshape(rows, cols)

    layers = {"input": draw(n_features, hidden[0], 1.0 * math.sqrt(3.0 / max(1, typical)))}
    for k, (fan_in, fan_out) in enumerate(zip(hidden, hidden[1:])):
        layers[f"hidden{k}"] = draw(fan_out, fan_in, 1.0 * math.sqrt(3.0 / fan_in))
    layers["labels"] = draw(n_labels, hidden[-1], 0.5 * math.sqrt(3.0 / hidden[-1]))
    layers["level"] = draw(MAX_ACTIVE, hidden[-1], 0.5 * math.sqrt(3.0 / hidden[-1]))
    return g, layers


def epoch_draws(g, order, label_sets):
    """One epoch of SparseKit's draws after its network initialisation (SupervisedSession, PointStreams): order.shuffle
    from the run's generator, then per minibatch of BATCH one number of it, the seed of the minibatch's point streams;
    the point at position p of the minibatch draws from stream p of that seed the truncation of a set above L0
    (shuffle, keep the first L0) and one uniform (0, 1) per kept label for the Gumbel key s_j - log(-log u). Returns
    the padded kept labels (N x L0), log(-log u) (N x L0; +inf in padding, so the keys there are -inf) and the set
    sizes, rows in this epoch's order."""
    import numpy as np

    g.shuffle(order)
    n = len(order)
    labels = np.zeros((n, MAX_ACTIVE), dtype=np.int64)
    loglog = np.full((n, MAX_ACTIVE), np.inf)
    sizes = np.zeros(n, dtype=np.int64)
    for r, i in enumerate(order):
        if r % BATCH == 0:
            step_seed = g.next()
        stream = SeededGenerator.stream(step_seed, r % BATCH)
        kept = list(label_sets[i])
        if len(kept) > MAX_ACTIVE:
            stream.shuffle(kept)
            kept = kept[:MAX_ACTIVE]
        sizes[r] = len(kept)
        labels[r, :len(kept)] = kept
        loglog[r, :len(kept)] = [math.log(-math.log(stream.uniform_open())) for _ in kept]
    return labels, loglog, sizes


def reference(options):
    """Trains the reference, evaluates it on the test split and writes a JSON result."""
    process_started = time.perf_counter()
    import numpy as np
    import torch
    import torch.nn.functional as F

    import warnings

    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    torch.set_num_threads(options.threads)
    (f_indptr, f_indices, f_data, (_, n_features)), (l_indptr, l_indices, _, (_, n_labels)), splits = \
        read_dataset(options.data)
    train_rows, test_rows = splits["train"], splits["test"]
    hidden = [int(v) for v in options.hidden.split(",")]
    # The training split's rows in the split's order (as MultiLabelDataset.rows(ofSplit:)); index i = i-th train row.
    label_sets = [l_indices[l_indptr[r]:l_indptr[r + 1]].tolist() for r in train_rows]
    typical = max(1, int((f_indptr[train_rows + 1] - f_indptr[train_rows]).sum()) // len(train_rows))
    g, init = initial_weights(n_features, n_labels, hidden, typical, options.seed)
    if options.dump_initial:
        np.savez(options.dump_initial, **init)

    def parameter(array):
        return torch.nn.Parameter(torch.from_numpy(array))

    w_in, b_in = parameter(init["input"]), torch.nn.Parameter(torch.zeros(hidden[0]))
    layers = [(parameter(init[f"hidden{k}"]), torch.nn.Parameter(torch.zeros(size)))
              for k, size in enumerate(hidden[1:])]
    w_lab, b_lab = parameter(init["labels"]), torch.nn.Parameter(torch.zeros(n_labels))
    w_lev, b_lev = parameter(init["level"]), torch.nn.Parameter(torch.zeros(MAX_ACTIVE))
    parameters = [w_in, b_in] + [p for layer in layers for p in layer] + [w_lab, b_lab, w_lev, b_lev]
    variant = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[options.adam]
    optimizer = torch.optim.Adam(parameters, lr=options.learning_rate, betas=BETAS, eps=EPSILON, **variant)

    def sparse_batch(rows):
        """Rows (global ids) of the feature CSR as a B x F torch CSR tensor, gathered without densifying."""
        starts, ends = f_indptr[rows], f_indptr[rows + 1]
        counts = ends - starts
        crow = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=crow[1:])
        positions = np.repeat(starts - crow[:-1], counts) + np.arange(crow[-1])
        return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(f_indices[positions]),
                                       torch.from_numpy(f_data[positions]), (len(rows), n_features),
                                       check_invariants=False)

    def forward(x):
        h = torch.relu(x @ w_in + b_in)          # sparse CSR x dense: the N x F features are never densified
        for w, b in layers:
            h = torch.relu(F.linear(h, w, b))
        return F.linear(h, w_lev, b_lev), F.linear(h, w_lab, b_lab)

    tiny = torch.finfo(torch.float64).tiny
    order = [i for i, s in enumerate(label_sets) if len(s) > 0]   # a level L >= 1 needs a label
    seconds, losses = [], []
    setup_seconds = time.perf_counter() - process_started
    for _ in range(options.epochs):
        labels_all, loglog_all, sizes_all = epoch_draws(g, order, label_sets)   # outside the clock (see docstring)
        labels_all, loglog_all, sizes_all = (torch.from_numpy(labels_all), torch.from_numpy(loglog_all),
                                             torch.from_numpy(sizes_all))
        rows_all = train_rows[np.array(order)]
        started = time.perf_counter()
        total = 0.0
        for start in range(0, len(order), BATCH):
            end = min(len(order), start + BATCH)
            b = end - start
            labels, loglog, sizes = labels_all[start:end], loglog_all[start:end], sizes_all[start:end]
            level_logits, scores = forward(sparse_batch(rows_all[start:end]))
            scores64 = scores.double()
            with torch.no_grad():   # the ordering pi: Gumbel-top-k restricted to the set, held fixed
                keys = scores64.gather(1, labels) - loglog
                ranked = labels.gather(1, keys.argsort(dim=1, descending=True, stable=True))
                valid = torch.arange(MAX_ACTIVE).unsqueeze(0) < sizes.unsqueeze(1)
                top = scores64.max(dim=1, keepdim=True).values
            total_mass = torch.exp(scores64 - top).sum(dim=1, keepdim=True)       # sum over all C labels
            e = torch.exp(scores64.gather(1, ranked) - top) * valid               # e^{s_pi_l}, 0 in padding
            drawn = torch.cumsum(e, dim=1) - e                                    # sum over pi<l
            in_set = (e.sum(dim=1, keepdim=True) - drawn).clamp_min(tiny)         # A_l = sum over S minus pi<l
            outside = (total_mass - drawn).clamp_min(tiny)                        # B_l = sum over j not in pi<l
            bound = ((torch.log(in_set) - torch.log(outside)) * valid).sum(dim=1)
            loss = F.cross_entropy(level_logits, sizes - 1) - bound.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * b
        seconds.append(time.perf_counter() - started)
        losses.append(total / len(order))

    def precision_at(score_batches, rows):
        """P@1, P@3, P@5 of the rankings by score (ties to the lower label index), unlabeled rows in the mean."""
        hits = np.zeros(3)
        for start, scores in score_batches:
            top5 = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :5].numpy()
            for i, row in enumerate(rows[start:start + len(top5)]):
                truth = set(l_indices[l_indptr[row]:l_indptr[row + 1]].tolist())
                for index, k in enumerate((1, 3, 5)):
                    hits[index] += sum(1 for label in top5[i, :k] if label in truth) / k
        return (hits / len(rows)).tolist()

    result = {"seconds": seconds, "loss": losses, "setup_seconds": setup_seconds, "train_rows": len(train_rows),
              "trained_rows": len(order), "test_rows": len(test_rows), "features": n_features, "labels": n_labels,
              "typical_nonzeros": typical, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "truncated": sum(1 for s in label_sets if len(s) > MAX_ACTIVE)}
    with torch.no_grad():
        if not options.no_eval:
            result["precision"] = precision_at(
                ((s, forward(sparse_batch(test_rows[s:s + EVAL_BATCH]))[1]) for s in range(0, len(test_rows), EVAL_BATCH)),
                test_rows)
        if options.eval_model:   # SparseKit's trained weights through this evaluation code
            import h5py

            targets = [("input", w_in, b_in)] + [(f"hidden{k}", w, b) for k, (w, b) in enumerate(layers)] + \
                [("labels", w_lab, b_lab), ("level", w_lev, b_lev)]
            with h5py.File(options.eval_model, "r") as f:
                for name, weight, bias in targets:
                    weight.copy_(torch.from_numpy(f["model"][name]["weight"][...]))
                    bias.copy_(torch.from_numpy(f["model"][name]["bias"][...]))
            result["sparsekit_model_precision"] = precision_at(
                ((s, forward(sparse_batch(test_rows[s:s + EVAL_BATCH]))[1]) for s in range(0, len(test_rows), EVAL_BATCH)),
                test_rows)
    with open(options.result, "w") as f:
        json.dump(result, f)


# ----------------------------------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------------------------------

def cpu_ticks():
    """(all ticks, idle + iowait ticks) of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4]


def timed(command, env=None, label=""):
    """Runs `command` under GNU time (`/usr/bin/time -v`; without it, its own rusage from os.wait4): wall seconds,
    peak RSS in MiB, stdout, and the other load on the machine meanwhile (busy cores beyond the run's own)."""
    command = [str(c) for c in command]
    hz = os.sysconf("SC_CLK_TCK")
    gnu_time = os.access("/usr/bin/time", os.X_OK)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report, tempfile.TemporaryFile("w+") as out, \
            tempfile.TemporaryFile("w+") as err:
        ticks_before = cpu_ticks()
        start = time.perf_counter()
        process = subprocess.Popen((["/usr/bin/time", "-v", "-o", report.name] if gnu_time else []) + command,
                                   env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        ticks_after = cpu_ticks()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        if gnu_time:
            fields = {}
            for line in report.read().splitlines():
                key, _, value = line.strip().rpartition(": ")
                fields[key] = value
            peak = int(fields["Maximum resident set size (kbytes)"]) / 1024
            own = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
        else:
            peak, own = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    if process.returncode != 0:
        sys.exit(f"{label or command[0]} failed (exit {process.returncode}):\n{' '.join(command)}\n{stdout}\n{stderr}")
    busy = (ticks_after[0] - ticks_before[0]) - (ticks_after[1] - ticks_before[1])
    return {"wall": seconds, "peak_mib": peak, "stdout": stdout, "others": max(0.0, busy / hz - own) / seconds}


def run_tool(binary, *args):
    command = [binary] + [str(a) for a in args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{os.path.basename(binary)} failed (exit {done.returncode}):\n{' '.join(command)}\n{done.stderr}")
    return done.stdout


def read_history(model):
    import h5py

    with h5py.File(model, "r") as f:
        return [float(v) for v in f["history/seconds"][...]], [-float(v) for v in f["history/objective"][...]]


def sk_train_command(binaries, data, model, epochs, hidden, learning_rate):
    return [binaries["sk-train"], "sdlgm", data, "-o", model, "--max-active", MAX_ACTIVE, "--hidden", hidden,
            "--epochs", epochs, "--batch-size", BATCH, "--learning-rate", repr(learning_rate), "--seed", SEED,
            "--quiet"]


def ref_command(data, result, epochs, hidden, learning_rate, extra=()):
    return [sys.executable, os.path.abspath(__file__), "ref", data, result, "--epochs", epochs, "--hidden", hidden,
            "--learning-rate", repr(learning_rate), "--threads", THREADS, "--seed", SEED, *extra]


def header(binaries):
    import h5py
    import numpy as np
    import torch

    commit = subprocess.run(["git", "-C", PACKAGE_DIR, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", PACKAGE_DIR, "status", "--porcelain", "--", "Sources"], capture_output=True,
                           text=True).stdout.strip()
    cpu = cpu_model()
    print("Supervised SDLGM epoch benchmark: sk-train sdlgm against a PyTorch CPU reference of the same model, bibtex")
    print("=" * 116)
    print(f"machine: {cpu}, nproc {os.cpu_count()}, {platform.platform()}")
    print(f"SparseKit commit {commit}{' (Sources/ has uncommitted changes)' if dirty else ''}; binaries "
          f"{os.path.dirname(binaries['sk-train'])}")
    print(f"python {platform.python_version()}, torch {torch.__version__} (CPU, {THREADS} threads, "
          f"OMP_WAIT_POLICY=PASSIVE), numpy {np.__version__}, h5py {h5py.__version__}")
    newest = max((os.path.getmtime(os.path.join(root, name)) for root, _, names in os.walk(os.path.join(PACKAGE_DIR, "Sources"))
                  for name in names), default=0)
    if newest > os.path.getmtime(binaries["sk-train"]):
        print("WARNING: a file under Sources/ is newer than sk-train: rebuild (swift build -c release) to measure it")


def benchmark(options):
    epochs = 1 if options.quick else options.epochs
    binaries = {name: os.path.join(options.bin, name) for name in ("sk-convert", "sk-train", "sk-eval")}
    missing = [path for path in binaries.values() if not os.access(path, os.X_OK)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run `swift build -c release` in {PACKAGE_DIR} or pass --bin DIR")
    work = os.path.abspath(options.workdir)
    created = not os.path.isdir(work)
    os.makedirs(work, exist_ok=True)
    files = {name: os.path.join(work, name) for name in
             ("bibtex.h5", "sdlgm.h5", "check.h5", "reference.json", "reference-fused.json", "check.json",
              "initial.npz")}
    header(binaries)
    print(f"workdir {work}")
    print(flush=True)

    # 1. Data.
    run_tool(binaries["sk-convert"], os.path.join(DATA_DIR, "bibtex-train.arff"), os.path.join(DATA_DIR, "bibtex-test.arff"),
             "--format", "arff", "--xml", os.path.join(DATA_DIR, "bibtex.xml"), "-o", files["bibtex.h5"], "--quiet")
    data = files["bibtex.h5"]

    # 2-3. SparseKit.
    command = sk_train_command(binaries, data, files["sdlgm.h5"], epochs, options.hidden, LEARNING_RATE)
    print("+", " ".join(str(c) for c in command).replace(work + "/", ""), flush=True)
    sk = timed(command, label="sk-train")
    sk["seconds"], sk["loss"] = read_history(files["sdlgm.h5"])
    report = json.loads(run_tool(binaries["sk-eval"], files["sdlgm.h5"], data, "--split", "test", "--json"))
    sk["precision"] = [r["precision"] for r in report["ranking"]]

    # 4. The reference (and, as extra information, the same with torch's fused CPU Adam).
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    runs = {}
    for adam in ["default"] + ([] if options.no_extras else ["fused"]):
        result = files["reference.json" if adam == "default" else "reference-fused.json"]
        command = ref_command(data, result, epochs, options.hidden, LEARNING_RATE, ["--adam", adam])
        print("+", " ".join(str(c) for c in command).replace(work + "/", "").replace(PACKAGE_DIR + "/", ""), flush=True)
        runs[adam] = timed(command, env=env, label="reference")
        with open(result) as f:
            runs[adam].update(json.load(f))

    # 5. Replica check.
    check = None
    if not options.no_check:
        sk_check = sk_train_command(binaries, data, files["check.h5"], 1, options.hidden, CHECK_LEARNING_RATE)
        run_tool(*[str(c) for c in sk_check])
        ref_check = ref_command(data, files["check.json"], 1, options.hidden, CHECK_LEARNING_RATE,
                                ["--no-eval", "--dump-initial", files["initial.npz"], "--eval-model", files["sdlgm.h5"]])
        print("+ replica check: sk-train and the reference with --learning-rate 1e-30, 1 epoch", flush=True)
        timed(ref_check, env=env, label="reference (replica check)")
        check = replica_check(files, options.hidden)
    print()
    report_results(epochs, sk, runs, check, options)

    if not options.keep:
        for path in files.values():
            if os.path.exists(path):
                os.remove(path)
        if created:
            shutil.rmtree(work, ignore_errors=True)


def replica_check(files, hidden):
    import h5py
    import numpy as np

    initial = np.load(files["initial.npz"])
    with open(files["check.json"]) as f:
        ref = json.load(f)
    names = ["input"] + [f"hidden{k}" for k in range(len(hidden.split(",")) - 1)] + ["labels", "level"]
    same, count = 0, 0
    with h5py.File(files["check.h5"], "r") as f:
        for name in names:
            sk_weight = f["model"][name]["weight"][...]
            same += int(np.sum(sk_weight.view(np.uint32) == initial[name].view(np.uint32)))
            count += sk_weight.size
        sk_loss = -float(f["history/objective"][0])
    return {"same_weights": same, "weights": count, "sk_loss": sk_loss, "ref_loss": ref["loss"][0],
            "sk_model_precision_by_ref": ref["sparsekit_model_precision"]}


def report_results(epochs, sk, runs, check, options):
    mean = lambda values: sum(values) / len(values)
    median = lambda values: 0.5 * (sorted(values)[(len(values) - 1) // 2] + sorted(values)[len(values) // 2])
    ref, fused = runs["default"], runs.get("fused")
    plural = "s" if epochs > 1 else ""
    print(f"workload: bibtex, {ref['train_rows']} training rows ({ref['trained_rows']} with labels trained on, "
          f"{ref['truncated']} truncated to L0), F = {ref['features']} ({ref['typical_nonzeros']} non-zeros per row), "
          f"C = {ref['labels']}; hidden {options.hidden}, L0 = {MAX_ACTIVE}, batch {BATCH}, Adam {LEARNING_RATE:g}, "
          f"seed {SEED}, {epochs} epoch{plural}; P@k on {ref['test_rows']} test rows")
    print("reference (torch): torch.optim.Adam as a user writes it (for CPU tensors its default is a per-tensor loop)"
          + ("; extra (torch fused): the same with Adam(fused=True), torch's opt-in fused CPU kernel" if fused else ""))
    print()
    columns = [("SparseKit", sk), ("torch", ref)] + ([("torch fused", fused)] if fused else [])
    cells = [f"{name} s" for name, _ in columns] + [f"{name}/SK" for name, _ in columns[1:]] + \
        [f"{name} loss" for name, _ in columns]
    print(f"{'epoch':>5}" + "".join(f"  {cell:>16}" for cell in cells))
    for e in range(epochs):
        print(f"{e + 1:>5}" + "".join(f"  {run['seconds'][e]:16.3f}" for _, run in columns)
              + "".join(f"  {run['seconds'][e] / sk['seconds'][e]:15.2f}x" for _, run in columns[1:])
              + "".join(f"  {run['loss'][e]:16.4f}" for _, run in columns))
    print()
    print(f"{'':44}" + "".join(f"{name:>16}" for name, _ in columns))
    print(f"{'seconds per epoch, mean':44}" + "".join(f"{mean(run['seconds']):16.3f}" for _, run in columns))
    print(f"{'  ratio to SparseKit (mean / mean)':44}{'':16}"
          + "".join(f"{mean(run['seconds']) / mean(sk['seconds']):15.2f}x" for _, run in columns[1:]))
    print(f"{'seconds per epoch, median':44}" + "".join(f"{median(run['seconds']):16.3f}" for _, run in columns))
    print(f"{'  ratio to SparseKit (median / median)':44}{'':16}"
          + "".join(f"{median(run['seconds']) / median(sk['seconds']):15.2f}x" for _, run in columns[1:]))
    for k, name in enumerate(("P@1", "P@3", "P@5")):
        print(f"{name + ' on the test split, after the last epoch':44}"
              + "".join(f"{run['precision'][k]:16.4f}" for _, run in columns))
    print(f"{'whole process, wall s':44}" + "".join(f"{run['wall']:16.2f}" for _, run in columns))
    print(f"{'  start-up: imports, data, replica init, s':44}{'':16}"
          + "".join(f"{run['setup_seconds']:16.2f}" for _, run in columns[1:]))
    print(f"{'peak RSS, MiB':44}" + "".join(f"{run['peak_mib']:16.1f}" for _, run in columns))
    print(f"{'other load during the run, cores':44}" + "".join(f"{run['others']:16.2f}" for _, run in columns))

    n, c, f = ref["train_rows"], ref["labels"], ref["features"]
    dense_labels, dense_features = n * c * 4 / MIB, n * f * 4 / MIB
    print()
    print(f"N x C dense: the training split's labels as float32 would take {n} x {c} x 4 B = {dense_labels:.2f} MiB "
          f"({100 * dense_labels / sk['peak_mib']:.1f}% of SparseKit's peak RSS, {100 * dense_labels / ref['peak_mib']:.1f}% "
          f"of the reference's);")
    print(f"  the features as float32 N x F {dense_features:.1f} MiB. Neither side forms them (the largest dense arrays are a "
          f"batch's {BATCH} x {c} scores); on bibtex the N x C matrix is too small for peak RSS to show its absence.")

    if check:
        print()
        print("Replica check (both sides with --learning-rate 1e-30, 1 epoch: the weights stay at their initial values):")
        print(f"  initial weights identical bit for bit: {check['same_weights']:,} of {check['weights']:,}")
        print(f"  loss of the epoch at the initial weights: SparseKit {check['sk_loss']:.6f}, reference "
              f"{check['ref_loss']:.6f} (relative difference {abs(check['sk_loss'] - check['ref_loss']) / abs(check['sk_loss']):.1e})")
        p = check["sk_model_precision_by_ref"]
        print(f"  SparseKit's trained model scored by the reference's evaluation code: P@1/3/5 {p[0]:.4f} {p[1]:.4f} "
              f"{p[2]:.4f} (sk-eval: {sk['precision'][0]:.4f} {sk['precision'][1]:.4f} {sk['precision'][2]:.4f})")

    ratio = mean(ref["seconds"]) / mean(sk["seconds"])
    p1, q1 = sk["precision"][0], ref["precision"][0]
    se = math.sqrt(max(p1 * (1 - p1), 1e-12) / ref["test_rows"])
    equal = abs(p1 - q1) <= 2 * se
    print()
    print("Targets (the issue):")
    print(f"  SparseKit at least 2x faster per epoch than the reference: {ratio:.2f}x (mean over {epochs} epoch{plural}) "
          f"-> {'met' if ratio >= 2 else 'NOT met'}"
          + (f"; against fused Adam {mean(fused['seconds']) / mean(sk['seconds']):.2f}x" if fused else ""))
    print(f"  at equal P@1 after {epochs} epoch{'s' if epochs > 1 else ''}: {p1:.4f} against {q1:.4f}, difference "
          f"{p1 - q1:+.4f}, two binomial standard errors {2 * se:.4f} -> {'equal' if equal else 'NOT equal'}")
    print("  the model never materializes an N x C dense matrix: by construction (batches of B x C scores at most)")
    if max(run["others"] for _, run in columns) > 0.2:
        print("NOTE: other processes kept the machine busy during a run (other load above); the timings are noisy: rerun.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs on each side (default {EPOCHS})")
    parser.add_argument("--quick", action="store_true", help="one epoch: a smoke test")
    parser.add_argument("--bin", default=DEFAULT_BIN, help="the SparseKit binaries (default: .build/release of this package)")
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR, help="converted data, models, results (default bench/out/sdlgm-epoch)")
    parser.add_argument("--keep", action="store_true", help="keep the files in the workdir")
    parser.add_argument("--hidden", default=HIDDEN, help="hidden sizes, comma-separated (sk-train's --hidden; default 512)")
    parser.add_argument("--no-check", action="store_true", help="skip the replica check")
    parser.add_argument("--no-extras", action="store_true", help="skip the extra reference run with fused Adam")
    ref = sub.add_parser("ref", help="the PyTorch reference (run as a subprocess by the benchmark)")
    ref.add_argument("data")
    ref.add_argument("result")
    ref.add_argument("--epochs", type=int, default=EPOCHS)
    ref.add_argument("--hidden", default=HIDDEN)
    ref.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    ref.add_argument("--threads", type=int, default=THREADS)
    ref.add_argument("--seed", type=int, default=SEED)
    ref.add_argument("--adam", choices=["default", "foreach", "fused"], default="default",
                     help="torch.optim.Adam's implementation: default (for CPU tensors the per-tensor loop), foreach, fused")
    ref.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation")
    ref.add_argument("--dump-initial", help="write the initial weights to this .npz")
    ref.add_argument("--eval-model", help="also score this sk-train model with the reference's evaluation code")
    options = parser.parse_args()
    if options.command == "ref":
        reference(options)
    else:
        if options.epochs < 1:
            parser.error("--epochs must be at least 1")
        benchmark(options)


if __name__ == "__main__":
    main()
