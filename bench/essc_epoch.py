#!/usr/bin/env python3
"""ES-SC epoch benchmark: one EM-like epoch of entropy-based sparse coding, SparseKit against a PyTorch CPU reference.

Run from anywhere, after building the release binaries:

    swift build -c release --scratch-path .build-bench          # or plain `swift build -c release`
    python3 bench/essc_epoch.py | tee bench/results-essc-epoch.txt   # full size: N = 51,200 (about 5 minutes)
    python3 bench/essc_epoch.py --quick                              # smoke test: N = 2,048, a few seconds

The workload (../shared/docs/es-sc.md, "Training schemes", EM-like): N whitened 16x16 gray patches (D = 256) made
by the project's own tools (`sk-patches --count N --seed 1`, then `sk-whiten --method zca --epsilon 1e-4`),
H = 100 latents, diagonal Gaussian posteriors q_n = N(mu_n, diag(s_n^2)) parameterised by mu and rho = log s,
W = V / ||V||_col, and the objective

    L = (1/B) sum_n sum_h [rho_nh + 1/2 log(2 pi e)] - sum_h log(2 e lambda_h) - D/2 log(2 pi e sigma^2)

with sigma^2 and lambda at their closed forms over the batch. Per minibatch of 512 (shuffled once per epoch):
E-step = L-BFGS (history 10, at most 100 iterations, strong Wolfe line search) on the batch's (mu, rho) with W
fixed, minimising -B L from mu = 0, rho = 0 (sk-train's default, as the authors' code); M-step = one
gradient-ascent step on V with learning rate 0.5.

The two sides:
(a) SparseKit: `sk-train sc DATA -o model.h5 --latents 100 --scheme em --epochs E --batch-size 512
    --iterations 100 --learning-rate 0.5 --seed 1 --lbfgs-history 10` (its em epoch runs OpenBLAS on one thread).
(b) The reference, this file's `ref-epoch` sub-command: the same algorithm written with PyTorch on the CPU
    (torch.set_num_threads(2), float32, autograd gradients, torch.optim.LBFGS(history_size=10, max_iter=100,
    line_search_fn="strong_wolfe"), its other settings at their defaults; note max_eval defaults to
    1.25 max_iter = 125 objective evaluations per E-step, while SparseKit's L-BFGS caps iterations only).
    It starts from SparseKit's initial dictionary and visits the minibatches in SparseKit's order (this file
    re-implements SparseKit's seeded generator, xoshiro256** seeded by SplitMix64, and Swift's shuffle; checked
    bit for bit against a Swift build), so both sides run the same algorithm on the same data from the same start.

Both train on the same /data matrix (the reference reads it with h5py). Reported, per side: seconds per epoch
(SparseKit: /history/seconds of the model file, which includes its full-data objective and Gini; the reference
times the same: its E/M loop plus the full-data objective and Gini), whole-process wall time, peak RSS (GNU time),
the full-data objective L after the epoch with sigma^2, lambda over all N (SparseKit: /history/objective;
reference: computed in float64 at its final W and q), and the objective evaluations made (reference: closure
calls; SparseKit: counted in a second, instrumented run by an LD_PRELOAD shim around cblas_sgemm, which also
times the sgemm calls). From the evaluation counts, the FLOP rate of the hot loop. The reference's E-step evaluation
costs 2 B D H (residual R = X - M W^T) + 2 B D H (the product R W for the mu gradient) flops. SparseKit's costs
2 B H^2: with W fixed for the whole E-step it precomputes X W, W^T W and ||X||^2 once per minibatch and evaluates
||R||^2 = ||X||^2 - 2 <M, X W> + <M, M W^T W> and R W = X W - M W^T W (the same objective and gradients, one
512 x 100 x 100 product instead of two 512 x 256 x 100 ones). Both are compared with the machine's sgemm rate
(system OpenBLAS, which sk-train links, through ctypes; numpy's OpenBLAS; torch.mm with MKL), at 2048^3 and at the
hot-loop shapes; SparseKit's rate is also given in "direct-formula" flops (4 B D H per evaluation), the work it
replaces.

Sub-commands (the benchmark runs them as subprocesses):

    python3 bench/essc_epoch.py ref-epoch DATA.h5 RESULT.json [--epochs E] [--threads 2] ...
    python3 bench/essc_epoch.py gemm-rates RESULT.json --backend system-openblas|numpy|torch [--library PATH]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

from sparsekit import cpu_model, memory_total_bytes, output_of
from swift_random import SeededGenerator

COUNT = 51_200             # patches (N); 100 minibatches of 512
QUICK_COUNT = 2_048
LATENTS = 100              # H
BATCH = 512
ITERATIONS = 100           # L-BFGS iterations per E-step
HISTORY = 10               # L-BFGS history
LEARNING_RATE = 0.5        # M-step step size on V
SEED = 1                   # sk-patches --seed and sk-train --seed
EPSILON = 1e-4             # ZCA epsilon
PATCH = 16
THREADS = 2                # torch.set_num_threads
PERF_COUNT = 5_120         # points in the profiled SparseKit run (--perf)

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(BENCH_DIR)
IMAGE_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "images"))
MIB = 1 << 20
HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def sparsekit_initial_dictionary(d, h, seed):
    """SparseCodingModel.initial: D x H standard normal draws (row-major), columns normalised."""
    import numpy as np

    g = SeededGenerator(seed)
    w = np.array([g.normal() for _ in range(d * h)], dtype=np.float32).reshape(d, h)
    norms = np.sqrt((w.astype(np.float64) ** 2).sum(axis=0))
    return (w.astype(np.float64) / norms).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------------
# The PyTorch reference (run as a subprocess: `ref-epoch`)
# ----------------------------------------------------------------------------------------------------------------------

def entropy_objective(x, w, mu, rho):
    """L per point and its parts, with sigma^2 and lambda at their closed forms over the rows of x
    (../shared/docs/es-sc.md; diagonal q, s = exp(rho))."""
    import torch

    b, d = x.shape
    h = w.shape[1]
    s = torch.exp(rho)
    residual = x - mu @ w.T
    norms = (w * w).sum(dim=0)                                   # ||w_h||^2 (1 for normalised W)
    sigma2 = ((residual * residual).sum() + ((s * s).sum(dim=0) * norms).sum()) / (b * d)
    t = mu / (math.sqrt(2) * s)
    mean_abs = s * SQRT_2_OVER_PI * torch.exp(-t * t) + mu * torch.erf(t)   # E|z| under N(mu, s^2)
    lam = mean_abs.mean(dim=0)
    posterior = rho.sum() / b + h * HALF_LOG_2PIE
    prior = torch.log(2 * math.e * lam).sum()
    noise = d / 2 * torch.log(2 * math.pi * math.e * sigma2)
    return posterior - prior - noise, (posterior, prior, noise, sigma2, lam)


def mean_gini(mu):
    """Mean over rows of the Gini coefficient of |mu_n| (SparseKit's Sparsity.meanGini)."""
    import torch

    a, _ = torch.sort(mu.abs().double(), dim=1)
    h = a.shape[1]
    weights = (h - torch.arange(1, h + 1, dtype=torch.float64) + 0.5) / h
    total = a.sum(dim=1)
    gini = 1 - 2 * (a * weights).sum(dim=1) / total.clamp_min(1e-300)
    return float(torch.where(total > 0, gini, torch.zeros_like(gini)).mean())


def reference_epoch(args):
    import h5py
    import numpy as np

    started = time.perf_counter()
    import torch

    torch.set_num_threads(args.threads)
    imported = time.perf_counter()
    with h5py.File(args.data, "r") as f:
        x = torch.from_numpy(f["data"][...].astype(np.float32, copy=False))
    loaded = time.perf_counter()
    n, d = x.shape
    h = args.latents
    v = torch.from_numpy(sparsekit_initial_dictionary(d, h, args.seed))
    mu = torch.zeros(n, h)
    rho = torch.zeros(n, h)
    order_generator = SeededGenerator(args.seed + 1)   # SparseKit's minibatch-order generator

    def full_objective():
        """L at the current V and q over all N, in float64."""
        with torch.no_grad():
            v64 = v.double()
            w64 = v64 / v64.norm(dim=0, keepdim=True)
            value, (post, prior, noise, sigma2, lam) = entropy_objective(x.double(), w64, mu.double(), rho.double())
        return {"objective": float(value), "posterior_entropy": float(post), "prior_entropy": float(prior),
                "noise_entropy": float(noise), "sigma2": float(sigma2), "mean_lambda": float(lam.mean())}

    initial = full_objective()
    epochs = []
    for epoch in range(args.epochs):
        order = order_generator.shuffled(n)  # outside the timed region: SparseKit's shuffle takes microseconds
        epoch_start = time.perf_counter()
        e_seconds = m_seconds = 0.0
        evaluations = iterations = 0
        stops = {"iterations": 0, "max_eval": 0, "converged": 0, "failed": 0}
        failures = []
        starts = list(range(0, n, args.batch_size))
        if args.max_batches:
            starts = starts[:args.max_batches]
        for start in starts:
            rows = torch.tensor(order[start:start + args.batch_size])
            b = len(rows)
            xb = x[rows]
            with torch.no_grad():
                w = v / v.norm(dim=0, keepdim=True)
            # Every E-step starts from mu = 0, rho = 0, as sk-train does by default (and the authors' code).
            mu_b = torch.zeros(len(rows), h, requires_grad=True)
            rho_b = torch.zeros(len(rows), h, requires_grad=True)
            # E-step: minimise -B L over the batch's (mu, rho), W fixed.
            t0 = time.perf_counter()
            optimizer = torch.optim.LBFGS([mu_b, rho_b], history_size=args.history, max_iter=args.iterations,
                                          max_eval=args.max_eval, line_search_fn="strong_wolfe")
            calls = 0
            best = [math.inf, None, None]   # lowest finite -B L seen, and its (mu, rho)

            def closure():
                nonlocal calls
                calls += 1
                optimizer.zero_grad()
                loss = -b * entropy_objective(xb, w, mu_b, rho_b)[0]
                loss.backward()
                value = float(loss)
                if value < best[0]:     # NaN compares false
                    best[:] = [value, mu_b.detach().clone(), rho_b.detach().clone()]
                return loss

            # torch's strong-Wolfe search can extrapolate along a direction where the objective keeps improving
            # without a minimum (rho -> -inf for a latent that no point uses) until the step overflows float32
            # ("value cannot be converted to type float without overflow") or the values turn NaN. Then the E-step
            # keeps the best point it evaluated, and the failure is counted.
            try:
                optimizer.step(closure)
                failed = not (torch.isfinite(mu_b).all() and torch.isfinite(rho_b).all())
            except RuntimeError as error:
                failed = True
                failures.append({"batch": start // args.batch_size, "evaluations": calls, "error": str(error)[:120]})
            if failed:
                with torch.no_grad():
                    mu_b.copy_(best[1])
                    rho_b.copy_(best[2])
                if not failures or failures[-1]["batch"] != start // args.batch_size:
                    failures.append({"batch": start // args.batch_size, "evaluations": calls, "error": "non-finite"})
            state = optimizer.state[optimizer._params[0]]
            evaluations += calls
            iterations += state.get("n_iter", 0)
            max_eval = args.max_eval if args.max_eval is not None else args.iterations * 5 // 4
            stops["failed" if failed else "iterations" if state["n_iter"] >= args.iterations else
                  "max_eval" if state["func_evals"] >= max_eval else "converged"] += 1
            t1 = time.perf_counter()
            with torch.no_grad():
                mu[rows] = mu_b.detach()
                rho[rows] = rho_b.detach()
            # M-step: one ascent step on V along dL/dV (W = V / ||V||_col), q fixed at the E-step result.
            v.requires_grad_(True)
            w_v = v / v.norm(dim=0, keepdim=True)
            value = entropy_objective(xb, w_v, mu_b.detach(), rho_b.detach())[0]
            (grad,) = torch.autograd.grad(value, v)
            v.requires_grad_(False)
            with torch.no_grad():
                v += args.learning_rate * grad
            m_seconds += time.perf_counter() - t1
            e_seconds += t1 - t0
        loop_seconds = time.perf_counter() - epoch_start
        record = full_objective()
        record["gini"] = mean_gini(mu)
        record.update(epoch=epoch + 1, seconds=time.perf_counter() - epoch_start, loop_seconds=loop_seconds,
                      e_step_seconds=e_seconds, m_step_seconds=m_seconds, evaluations=evaluations,
                      iterations=iterations, batches=len(starts), stops=stops,
                      failures=failures)
        epochs.append(record)
        print(f"reference epoch {epoch + 1}: L = {record['objective']:.4f}  ({record['seconds']:.1f} s, "
              f"{evaluations} evaluations)", file=sys.stderr, flush=True)
    result = {"n": n, "d": d, "h": h, "threads": torch.get_num_threads(), "torch": torch.__version__,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
              "import_seconds": imported - started, "load_seconds": loaded - imported,
              "initial": initial, "epochs": epochs}
    with open(args.result, "w") as f:
        json.dump(result, f, indent=1)


# ----------------------------------------------------------------------------------------------------------------------
# sgemm rates (run as a subprocess: `gemm-rates`)
# ----------------------------------------------------------------------------------------------------------------------

# (label, M, N, K, transpose A, transpose B) in row-major terms, as sk-train calls them.
GEMM_SHAPES = [
    ("2048x2048x2048", 2048, 2048, 2048, False, False),
    ("residual M W^T: 512x256, K=100", BATCH, 256, LATENTS, False, True),
    ("R W: 512x100, K=256", BATCH, LATENTS, 256, False, False),
    ("M W^T W: 512x100, K=100", BATCH, LATENTS, LATENTS, False, False),
]


def gemm_rates(args):
    import numpy as np

    rng = np.random.default_rng(0)
    info = {"backend": args.backend}
    if args.backend == "system-openblas":
        import ctypes

        lib = ctypes.CDLL(args.library)
        f32p = ctypes.POINTER(ctypes.c_float)
        lib.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, f32p, ctypes.c_int, f32p, ctypes.c_int,
                                                        ctypes.c_float, f32p, ctypes.c_int]
        lib.cblas_sgemm.restype = None
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        info["library"] = os.path.realpath(args.library)
        info["corename"] = lib.openblas_get_corename().decode()
        info["config"] = lib.openblas_get_config().decode().strip()
        info["threads"] = lib.openblas_get_num_threads()

        def make(m, n, k, ta, tb):
            a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
            b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
            c = np.zeros((m, n), dtype=np.float32)
            pa, pb, pc = (z.ctypes.data_as(f32p) for z in (a, b, c))
            ops = (112 if ta else 111, 112 if tb else 111)
            return lambda: lib.cblas_sgemm(101, ops[0], ops[1], m, n, k, 1.0, pa, a.shape[1], pb, b.shape[1], 0.0,
                                           pc, n)
    elif args.backend == "numpy":
        import threadpoolctl

        info["config"] = "; ".join(f"{i['internal_api']} {i['version']} {i.get('architecture', '?')}, "
                                   f"{i['num_threads']} threads" for i in threadpoolctl.threadpool_info()
                                   if i["user_api"] == "blas")

        def make(m, n, k, ta, tb):
            a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
            b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
            c = np.zeros((m, n), dtype=np.float32)
            a_op, b_op = (a.T if ta else a), (b.T if tb else b)
            return lambda: np.matmul(a_op, b_op, out=c)
    else:
        import torch

        torch.set_num_threads(args.threads)
        info["config"] = f"torch {torch.__version__}, {torch.get_num_threads()} threads, " \
                         f"MKL {'yes' if torch.backends.mkl.is_available() else 'no'}"

        def make(m, n, k, ta, tb):
            a = torch.randn((k, m) if ta else (m, k))
            b = torch.randn((n, k) if tb else (k, n))
            c = torch.zeros(m, n)
            a_op, b_op = (a.T if ta else a), (b.T if tb else b)
            return lambda: torch.mm(a_op, b_op, out=c)

    rates = {}
    for label, m, n, k, ta, tb in GEMM_SHAPES:
        call = make(m, n, k, ta, tb)
        flops = 2.0 * m * n * k
        call()
        reps = max(3, int(2e9 / flops))     # about 2 GFLOP per timing
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                call()
            best = min(best, (time.perf_counter() - t0) / reps)
        rates[label] = flops / best / 1e9
    info["gflops"] = rates
    with open(args.result, "w") as f:
        json.dump(info, f, indent=1)


# ----------------------------------------------------------------------------------------------------------------------
# The cblas_sgemm counting shim (LD_PRELOAD) for the instrumented SparseKit run
# ----------------------------------------------------------------------------------------------------------------------

SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
enum { SLOTS = 64 };
static struct { int ta, tb, m, n, k; long calls; double seconds; } slots[SLOTS];
static int used;
static sgemm_fn real_sgemm;

/* Counts and times every cblas_sgemm call by shape, then forwards it to the real one. sk-train calls BLAS from
   one thread only, so no locking. */
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc) {
    if (!real_sgemm) real_sgemm = (sgemm_fn)dlsym(RTLD_NEXT, "cblas_sgemm");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    real_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    int i = 0;
    while (i < used && !(slots[i].ta == ta && slots[i].tb == tb && slots[i].m == m && slots[i].n == n &&
                         slots[i].k == k)) i++;
    if (i == used) {
        if (used == SLOTS) i = SLOTS - 1; /* overflow: lump into the last slot */
        else { used++; slots[i].ta = ta; slots[i].tb = tb; slots[i].m = m; slots[i].n = n; slots[i].k = k; }
    }
    slots[i].calls++;
    slots[i].seconds += seconds;
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("ESSC_GEMM_LOG");
    if (used == 0) return; /* e.g. /usr/bin/time, which loads the shim too and exits last */
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f) return;
    for (int i = 0; i < used; i++)
        fprintf(f, "%d %d %d %d %d %ld %.9f\n", slots[i].ta == 112, slots[i].tb == 112, slots[i].m, slots[i].n,
                slots[i].k, slots[i].calls, slots[i].seconds);
    fclose(f);
}
"""


def build_shim(work):
    source = os.path.join(work, "gemm_count.c")
    library = os.path.join(work, "gemm_count.so")
    with open(source, "w") as f:
        f.write(SHIM_SOURCE)
    done = subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", library, source, "-ldl"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        print(f"  (could not build the sgemm counting shim, skipping it: {done.stderr.strip()})")
        return None
    return library


def read_gemm_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            ta, tb, m, n, k, calls, seconds = line.split()
            rows.append({"ta": ta == "1", "tb": tb == "1", "m": int(m), "n": int(n), "k": int(k),
                         "calls": int(calls), "seconds": float(seconds)})
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# Benchmark harness
# ----------------------------------------------------------------------------------------------------------------------

def cpu_ticks():
    """(all ticks, idle + iowait ticks) of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4]


def timed(command, env=None, label=""):
    """Runs `command` under GNU time: wall seconds, peak RSS MiB, user s, sys s, stdout, stderr, and the load of
    everything else on the machine meanwhile (busy CPU seconds minus the run's own, per wall second)."""
    import tempfile

    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        ticks_before = cpu_ticks()
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-v", "-o", report.name] + command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        ticks_after = cpu_ticks()
        fields = {}
        for line in report.read().splitlines():
            key, _, value = line.strip().rpartition(": ")
            fields[key] = value
    if done.returncode != 0:
        sys.exit(f"{label} failed (exit {done.returncode}):\n{' '.join(command)}\n{done.stdout}\n{done.stderr}")
    return {"wall": seconds, "peak_mib": int(fields["Maximum resident set size (kbytes)"]) / 1024,
            "user": float(fields["User time (seconds)"]), "sys": float(fields["System time (seconds)"]),
            "stdout": done.stdout, "stderr": done.stderr,
            "others": max(0.0, ((ticks_after[0] - ticks_before[0]) - (ticks_after[1] - ticks_before[1])) / hz
                          - float(fields["User time (seconds)"]) - float(fields["System time (seconds)"])) / seconds}


def run_quiet(command, label):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{label} failed (exit {done.returncode}):\n{' '.join(command)}\n{done.stderr}")
    return done


def make_data(binaries, images, work, count, name):
    patches = os.path.join(work, f"{name}-patches.h5")
    white = os.path.join(work, f"{name}-white.h5")
    start = time.perf_counter()
    run_quiet([binaries["sk-patches"], *images, "-o", patches, "--size", str(PATCH), "--count", str(count),
               "--seed", str(SEED), "--color", "gray", "--quiet"], "sk-patches")
    run_quiet([binaries["sk-whiten"], patches, "-o", white, "--method", "zca", "--epsilon", repr(EPSILON), "--quiet"],
              "sk-whiten")
    return white, time.perf_counter() - start


def sk_train_command(binary, data, model, epochs, history=HISTORY):
    """sk-train's command line; `history` is passed as --lbfgs-history when this sk-train has the option (its
    default became 20 in commit 2c1796a; the reference keeps 10), None leaves sk-train's default."""
    command = [binary, "sc", data, "-o", model, "--latents", str(LATENTS), "--scheme", "em", "--epochs", str(epochs),
               "--batch-size", str(BATCH), "--iterations", str(ITERATIONS), "--learning-rate", repr(LEARNING_RATE),
               "--seed", str(SEED), "--quiet"]
    if history is not None and has_history_option(binary):
        command[-1:-1] = ["--lbfgs-history", str(history)]
    return command


def has_history_option(binary, cache={}):
    if binary not in cache:
        help_text = subprocess.run([binary, "sc", "--help"], capture_output=True, text=True).stdout
        cache[binary] = "--lbfgs-history" in help_text
    return cache[binary]


def read_history(model):
    import h5py

    with h5py.File(model, "r") as f:
        return {name: [float(v) for v in f["history"][name][...]] for name in f["history"]}


def environment_header(binaries, system_blas):
    import datetime
    import platform

    import h5py
    import numpy as np
    import torch

    run = output_of
    cpu = cpu_model()
    flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    memory = memory_total_bytes() / 2**30
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"])
    commit = run(["git", "rev-parse", "--short", "HEAD"]) + (" (working tree has uncommitted changes)" if dirty else "")
    built = datetime.datetime.fromtimestamp(os.path.getmtime(binaries["sk-train"])).isoformat(timespec="seconds")
    return [
        f"date:            {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"machine:         {cpu} ({simd}), nproc = {os.cpu_count()} (affinity {len(os.sched_getaffinity(0))}), "
        f"{memory:.0f} GiB RAM, {platform.platform()}",
        f"SparseKit:       commit {commit}; sk-train at {binaries['sk-train']} built {built}",
        f"  BLAS:          {system_blas.get('library', '?')}, core {system_blas.get('corename', '?')}, "
        f"{system_blas.get('threads', '?')} threads (OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; unset = one per core)",
        f"reference:       PyTorch {torch.__version__} on the CPU, float32, torch.set_num_threads({THREADS}), "
        f"BLAS {'MKL' if torch.backends.mkl.is_available() else '?'}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}",
        f"Python:          {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__}",
    ]


def system_openblas(binary):
    """The OpenBLAS library sk-train loads (from ldd)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "libopenblas" in line and "=>" in line:
            return line.split("=>")[1].split("(")[0].strip()
    return None


def perf_profile(binaries, images, work, env=None):
    """Top symbols (self time) of sk-train under perf record (cpu-clock), 1 epoch on PERF_COUNT points, as
    (lines, None), or (None, why) if perf is unavailable. Swift symbols are demangled when swift-demangle exists."""
    import shutil

    if not shutil.which("perf"):
        return None, "perf not found"
    data = os.path.join(work, "perf-white.h5")
    if not os.path.exists(data):
        data, _ = make_data(binaries, images, work, PERF_COUNT, "perf")
    record = os.path.join(work, "perf.data")
    done = subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "999", "-o", record, "--",
                           *sk_train_command(binaries["sk-train"], data, os.path.join(work, "perf-model.h5"), 1)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    report = subprocess.run(["perf", "report", "-i", record, "--no-children", "--sort", "dso,symbol", "--stdio",
                             "--percent-limit", "0.7"], capture_output=True, text=True).stdout
    demangler = shutil.which("swift-demangle")
    lines = []
    for line in report.splitlines():
        parts = line.split()
        if not parts or line.startswith("#") or not parts[0].endswith("%"):
            continue
        percent, dso, symbol = parts[0], parts[1], " ".join(p for p in parts[3:] if p != "-")
        if demangler and symbol.startswith("$s"):
            symbol = subprocess.run([demangler, "--simplified", "--compact", symbol], capture_output=True,
                                    text=True).stdout.strip() or symbol
        lines.append(f"{percent:>7}  {dso:<26} {symbol[:110]}")
    return lines[:20], None


def fmt(value, digits=2):
    return f"{value:.{digits}f}"


def print_table(header, rows):
    cells = [header] + rows
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def idle_fraction(seconds=2.0):
    """Fraction of the machine's CPU time idle over `seconds` (from /proc/stat)."""
    a = cpu_ticks()
    time.sleep(seconds)
    b = cpu_ticks()
    return (b[1] - a[1]) / max(1, b[0] - a[0])


def describe(run):
    return (f"{run['wall']:7.1f} s wall  {run['user']:7.1f} s user  {run['sys']:5.1f} s sys  "
            f"{run['peak_mib']:7.1f} MiB peak  (other load {run['others']:.2f} cores)")


def benchmark(args):
    import glob
    import shutil
    import tempfile

    count = QUICK_COUNT if args.quick and args.count is None else (args.count or COUNT)
    if not os.path.exists("/usr/bin/time"):
        sys.exit("GNU time is needed for peak memory: apt-get install -y time")
    build = args.build_dir or next((d for d in (os.path.join(PACKAGE_DIR, ".build-bench", "release"),
                                                os.path.join(PACKAGE_DIR, ".build", "release"))
                                    if os.access(os.path.join(d, "sk-train"), os.X_OK)), None)
    if build is None:
        sys.exit(f"no sk-train binary: run `swift build -c release --scratch-path .build-bench` in {PACKAGE_DIR}")
    binaries = {name: os.path.join(build, name) for name in ("sk-patches", "sk-whiten", "sk-train")}
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} is missing: build the release binaries first")
    images = sorted(glob.glob(os.path.join(IMAGE_DIR, "*.png")))
    if not images:
        sys.exit(f"no PNG images in {IMAGE_DIR}")
    newest_source = max(os.path.getmtime(os.path.join(d, f))
                        for d, _, fs in os.walk(os.path.join(PACKAGE_DIR, "Sources")) for f in fs)
    stale = newest_source > os.path.getmtime(binaries["sk-train"])
    me = [sys.executable, os.path.abspath(__file__)]
    # libgomp's default (active) wait policy makes torch with 2 threads stall for ~0.5 s at a time on this kind of
    # 2-vCPU machine; the timed reference runs with passive waiting (an extra measures the default).
    passive = dict(os.environ)
    passive.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    default_omp = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    work = tempfile.mkdtemp(prefix="essc-epoch-", dir=args.workdir)
    try:
        idle_before = idle_fraction()
        # sgemm rates first, each backend in its own process.
        rates = {}
        blas_path = system_openblas(binaries["sk-train"])
        backends = [("system-openblas", "system-openblas", None), ("numpy", "numpy", None),
                    ("torch", "torch", passive), ("torch-default-omp", "torch", default_omp)]
        for key, backend, env in backends:
            if backend == "system-openblas" and not blas_path:
                continue
            out = os.path.join(work, f"gemm-{key}.json")
            extra = ["--library", blas_path] if backend == "system-openblas" else []
            done = subprocess.run(me + ["gemm-rates", out, "--backend", backend, "--threads", str(THREADS)] + extra,
                                  capture_output=True, text=True, env=env)
            if done.returncode != 0:
                sys.exit(f"gemm-rates {key} failed:\n{done.stderr}")
            with open(out) as f:
                rates[key] = json.load(f)

        print("ES-SC epoch benchmark: one EM-like epoch, SparseKit sk-train against a PyTorch CPU reference")
        print("=" * 100)
        for line in environment_header(binaries, rates.get("system-openblas", {})):
            print(line)
        print(f"                 timed reference with OMP_WAIT_POLICY={passive['OMP_WAIT_POLICY']} (libgomp's "
              "default active spinning stalls torch on this machine: see the extras)")
        print(f"load:            {100 * idle_before:.0f}% of the CPU time idle over 2 s before starting; 'other load' "
              "below = busy CPU time of the machine during a run minus the run's own, per second")
        if idle_before < 0.9:
            print("WARNING:         the machine was busy before starting: timings may be inflated")
        if stale:
            print("WARNING:         a file under Sources/ is newer than sk-train (rebuild to measure it)")
        data, data_seconds = make_data(binaries, images, work, count, "train")
        batches = math.ceil(count / BATCH)
        print(f"workload:        N = {count} gray {PATCH}x{PATCH} patches (sk-patches --seed {SEED}), ZCA-whitened "
              f"(sk-whiten --epsilon {EPSILON:g}), D = {PATCH * PATCH}, H = {LATENTS}; {args.epochs} epoch(s) of "
              f"{batches} minibatches of {BATCH}; E-step L-BFGS history {HISTORY}, <= {ITERATIONS} iterations, "
              f"strong Wolfe; M-step lr {LEARNING_RATE:g} on V")
        print(f"                 data made in {data_seconds:.1f} s ({os.path.getsize(data) / MIB:.1f} MiB); both "
              "sides read the same /data; same initial W and minibatch order")
        print("command:         " + " ".join("DATA.h5" if c == data else "model.h5" if c.endswith("model.h5") else
                                             os.path.relpath(c, PACKAGE_DIR) if c.startswith(PACKAGE_DIR) else c
                                             for c in sk_train_command(binaries["sk-train"], data,
                                                                       os.path.join(work, "model.h5"), args.epochs)))
        print(f"ref. command:    python3 bench/essc_epoch.py ref-epoch DATA.h5 RESULT.json --epochs {args.epochs} "
              f"--threads {THREADS}")
        print()

        # (a) SparseKit and (b) the reference, the timed runs.
        print("Runs")
        model = os.path.join(work, "model.h5")
        sk = timed(sk_train_command(binaries["sk-train"], data, model, args.epochs), label="sk-train")
        history = read_history(model)
        print(f"  sk-train:                   {describe(sk)}; epochs: " +
              ", ".join(f"{s:.1f} s (L = {o:.4f})" for s, o in zip(history["seconds"], history["objective"])),
              flush=True)

        def reference_run(label, threads, env, max_batches=None):
            out = os.path.join(work, f"reference-{label}.json")
            command = me + ["ref-epoch", data, out, "--epochs", str(args.epochs), "--threads", str(threads)]
            if args.max_eval is not None:
                command += ["--max-eval", str(args.max_eval)]
            if max_batches:
                command += ["--max-batches", str(max_batches)]
            run = timed(command, env=env, label=f"reference ({label})")
            with open(out) as f:
                run["result"] = json.load(f)
            return run

        ref = reference_run("main", THREADS, passive)
        reference = ref["result"]
        print(f"  reference (torch, 2 thr.):  {describe(ref)}; epochs: " +
              ", ".join(f"{e['seconds']:.1f} s (L = {e['objective']:.4f})" for e in reference["epochs"]) +
              f"; import {reference['import_seconds']:.1f} s, h5py read {reference['load_seconds']:.1f} s",
              flush=True)

        # SparseKit again with the counting shim (evaluations, time inside sgemm).
        gemm = None
        if args.gemm_count:
            shim = build_shim(work)
            if shim:
                log = os.path.join(work, "gemm.log")
                env = dict(os.environ, LD_PRELOAD=shim, ESSC_GEMM_LOG=log)
                counted_model = os.path.join(work, "model-counted.h5")
                counted = timed(sk_train_command(binaries["sk-train"], data, counted_model, args.epochs), env=env,
                                label="sk-train (counted)")
                gemm = read_gemm_log(log) if os.path.exists(log) else None
                if gemm:
                    print(f"  sk-train, sgemm shim:       {describe(counted)}; epochs: " +
                          ", ".join(f"{s:.1f} s" for s in read_history(counted_model)["seconds"]), flush=True)
                else:
                    print("  (the sgemm counting shim recorded nothing: is cblas_sgemm resolved dynamically?)")

        extras = []
        if args.extras:
            one = dict(os.environ, OPENBLAS_NUM_THREADS="1")
            sk1 = timed(sk_train_command(binaries["sk-train"], data, os.path.join(work, "model-1.h5"), args.epochs),
                        env=one, label="sk-train (1 thread)")
            sk1["history"] = read_history(os.path.join(work, "model-1.h5"))
            print(f"  sk-train, 1 BLAS thread:    {describe(sk1)}", flush=True)
            ref1 = reference_run("1-thread", 1, passive)
            print(f"  reference, 1 thread:        {describe(ref1)}", flush=True)
            refd = reference_run("default-omp", THREADS, default_omp, max_batches=args.default_omp_batches)
            print(f"  reference, 2 thr., default OMP wait, {args.default_omp_batches} batches: {describe(refd)}",
                  flush=True)
            extras = [("sk-train, OPENBLAS_NUM_THREADS=1", sk1, None)]
            if has_history_option(binaries["sk-train"]):
                skd = timed(sk_train_command(binaries["sk-train"], data, os.path.join(work, "model-h20.h5"),
                                             args.epochs, history=None), label="sk-train (default history)")
                skd["history"] = read_history(os.path.join(work, "model-h20.h5"))
                print(f"  sk-train, default history:  {describe(skd)}", flush=True)
                extras.append(("sk-train, its default --lbfgs-history (20)", skd, None))
            extras += [
                      ("reference, torch.set_num_threads(1)", ref1, ref1["result"]),
                      (f"reference, 2 threads, default OMP wait ({args.default_omp_batches} batches)", refd,
                       refd["result"])]
        idle_after = idle_fraction()
        print(f"  machine idle after the runs: {100 * idle_after:.0f}% over 2 s")
        print()

        # Results -------------------------------------------------------------------------------------------------
        d, h = PATCH * PATCH, LATENTS
        flops_per_eval = 4.0 * BATCH * d * h        # 2 B D H (residual) + 2 B D H (R W): the direct formula
        sk_flops_per_eval = 2.0 * BATCH * h * h     # M W^T W: SparseKit's fixed-W formulation
        sk_seconds = sum(history["seconds"]) / args.epochs
        ref_seconds = sum(e["seconds"] for e in reference["epochs"]) / args.epochs
        sk_last = {k: v[-1] for k, v in history.items()}
        ref_last = reference["epochs"][-1]
        ref_evals = sum(e["evaluations"] for e in reference["epochs"]) / args.epochs
        ref_iters = sum(e["iterations"] for e in reference["epochs"]) / args.epochs

        sk_evals = sk_gemm_seconds = None
        if gemm:
            # E-step evaluations: one M W^T W product (512 x 100, K = 100) each (the last batch may be smaller).
            sk_evals = sum(r["calls"] for r in gemm if not r["ta"] and not r["tb"] and r["n"] == h and r["k"] == h)
            sk_evals /= args.epochs
            sk_gemm_seconds = sum(r["seconds"] for r in gemm) / args.epochs

        print(f"Results (per epoch, mean over {args.epochs}; MiB = 2^20 bytes; SK = SparseKit sk-train, "
              "ref = PyTorch reference, 2 threads)")
        print()
        rows = [
            ["seconds per epoch", fmt(sk_seconds), fmt(ref_seconds), f"{ref_seconds / sk_seconds:.2f}x"],
            ["  per minibatch", fmt(sk_seconds / batches, 3), fmt(ref_seconds / batches, 3), ""],
            ["whole process, wall s", fmt(sk["wall"]), fmt(ref["wall"]), f"{ref['wall'] / sk['wall']:.2f}x"],
            ["whole process, user + sys s", fmt(sk["user"] + sk["sys"]), fmt(ref["user"] + ref["sys"]),
             f"{(ref['user'] + ref['sys']) / (sk['user'] + sk['sys']):.2f}x"],
            ["peak RSS, MiB", fmt(sk["peak_mib"], 1), fmt(ref["peak_mib"], 1),
             f"{ref['peak_mib'] / sk['peak_mib']:.2f}x"],
            ["L after the epoch (full data, nats/pt)", fmt(sk_last["objective"], 4), fmt(ref_last["objective"], 4),
             f"diff {ref_last['objective'] - sk_last['objective']:+.4f}"],
            ["  posterior entropy", fmt(sk_last["posterior_entropy"], 4), fmt(ref_last["posterior_entropy"], 4), ""],
            ["  prior entropy", fmt(sk_last["prior_entropy"], 4), fmt(ref_last["prior_entropy"], 4), ""],
            ["  noise entropy", fmt(sk_last["noise_entropy"], 4), fmt(ref_last["noise_entropy"], 4), ""],
            ["  sigma^2", f"{sk_last['sigma2']:.5f}", f"{ref_last['sigma2']:.5f}", ""],
            ["  mean lambda", f"{sk_last['mean_lambda']:.5f}", f"{ref_last['mean_lambda']:.5f}", ""],
            ["  mean Gini of |mu_n|", f"{sk_last['gini']:.4f}", f"{ref_last['gini']:.4f}", ""],
            ["E-step objective evaluations", f"{sk_evals:.0f}" if sk_evals else "n/a", f"{ref_evals:.0f}",
             f"{ref_evals / sk_evals:.2f}x" if sk_evals else ""],
            ["  per E-step (minibatch)", f"{sk_evals / batches:.1f}" if sk_evals else "n/a",
             f"{ref_evals / batches:.1f}", ""],
            ["  L-BFGS iterations per E-step", "n/a", f"{ref_iters / batches:.1f}", ""],
            ["ms per evaluation (epoch s / evaluations)", f"{1e3 * sk_seconds / sk_evals:.2f}" if sk_evals else "n/a",
             f"{1e3 * ref_seconds / ref_evals:.2f}", f"{(ref_seconds / ref_evals) / (sk_seconds / sk_evals):.2f}x"
             if sk_evals else ""],
        ]
        print_table(["", "SK", "ref", "ref/SK"], rows)
        print()
        initial = reference["initial"]
        print(f"L at the common start (initial W, mu = 0, rho = 0; float64): {initial['objective']:.4f} nats/point. "
              "SK's L is its own full-data evaluation (/history/objective: float32 data, float64 sums); the "
              "reference's is computed in float64 at its final W and q.")
        stops = ref_last["stops"]
        print(f"Reference E-steps ending by: {stops['iterations']} max_iter, {stops['max_eval']} max_eval "
              f"(torch default 125 evaluations), {stops['converged']} tolerance, {stops['failed']} failure "
              f"(best point kept); E-step {ref_last['e_step_seconds']:.1f} s, M-step {ref_last['m_step_seconds']:.1f} s, "
              f"full-data L + Gini {ref_last['seconds'] - ref_last['loop_seconds']:.1f} s.")
        for failure in ref_last["failures"]:
            print(f"  failed E-step: minibatch {failure['batch']}, after {failure['evaluations']} evaluations: "
                  f"{failure['error']}")
        print()

        if extras:
            print("Extra configurations (same data, same start)")
            print()
            extra_rows = [["SK (timed run above)", fmt(sk_seconds), fmt(sk_seconds / batches, 3),
                           fmt(sk_last["objective"], 4), fmt(sk["peak_mib"], 1), fmt(sk["others"])],
                          ["ref, 2 threads, OMP passive (timed run above)", fmt(ref_seconds),
                           fmt(ref_seconds / batches, 3), fmt(ref_last["objective"], 4), fmt(ref["peak_mib"], 1),
                           fmt(ref["others"])]]
            for label, run, result in extras:
                if result is None:
                    hist = run["history"]
                    sec = sum(hist["seconds"]) / args.epochs
                    extra_rows.append([label, fmt(sec), fmt(sec / batches, 3), fmt(hist["objective"][-1], 4),
                                       fmt(run["peak_mib"], 1), fmt(run["others"])])
                else:
                    e = result["epochs"][-1]
                    per_batch = sum(x["loop_seconds"] for x in result["epochs"]) / args.epochs / e["batches"]
                    partial = e["batches"] < batches
                    extra_rows.append([label, f"~{per_batch * batches:.0f} (extrapolated)" if partial
                                       else fmt(e["seconds"]), fmt(per_batch, 3),
                                       "(partial epoch)" if partial else fmt(e["objective"], 4),
                                       fmt(run["peak_mib"], 1), fmt(run["others"])])
            print_table(["", "s/epoch", "s/minibatch", "L", "peak MiB", "other load"], extra_rows)
            print()

        print(f"FLOP rates (GFLOP/s = 1e9 flop/s; a reference E-step evaluation = 4 B D H = {flops_per_eval / 1e6:.1f} "
              f"MFLOP in its two products, a SparseKit one 2 B H^2 = {sk_flops_per_eval / 1e6:.1f} MFLOP; "
              "sgemm best of 5, 2 threads)")
        print()
        rate_rows = []
        labels = {"system-openblas": "sgemm, system OpenBLAS (sk-train's)", "numpy": "sgemm, numpy",
                  "torch": "torch.mm, OMP passive", "torch-default-omp": "torch.mm, OMP default"}
        for key, info in rates.items():
            extra = f" [{info.get('corename', '')}]" if key == "system-openblas" else ""
            rate_rows.append([labels[key] + extra] + [fmt(info["gflops"][s[0]], 1) for s in GEMM_SHAPES])
        print_table(["", *[s[0] for s in GEMM_SHAPES]], rate_rows)
        for key, info in rates.items():
            print(f"    {key}: {info.get('config', '')}".replace("\n", " ")[:300])
        print()
        big = GEMM_SHAPES[0][0]
        peak = rates.get("system-openblas", rates.get("numpy"))["gflops"][big]
        torch_peak = rates["torch"]["gflops"][big]
        sk_rate = sk_evals * sk_flops_per_eval / sk_seconds / 1e9 if sk_evals else None
        sk_direct_rate = sk_evals * flops_per_eval / sk_seconds / 1e9 if sk_evals else None
        ref_rate = ref_evals * flops_per_eval / ref_seconds / 1e9
        flop_rows = []
        if sk_rate:
            flop_rows.append(["SK: E-step product flops / epoch seconds", fmt(sk_rate, 2),
                              f"{100 * sk_rate / peak:.1f}% of system sgemm at 2048^3"])
            flop_rows.append(["SK: direct-formula flops (4 B D H) / epoch s", fmt(sk_direct_rate, 2),
                              f"{100 * sk_direct_rate / peak:.1f}% of system sgemm at 2048^3"])
        if gemm:
            all_flops = sum(2.0 * r["m"] * r["n"] * r["k"] * r["calls"] for r in gemm) / args.epochs
            inside = all_flops / sk_gemm_seconds / 1e9
            flop_rows.append(["SK: inside cblas_sgemm (all calls)", fmt(inside, 2),
                              f"{100 * inside / peak:.1f}% of system sgemm at 2048^3"])
            flop_rows.append(["SK: share of the epoch spent in sgemm", f"{100 * sk_gemm_seconds / sk_seconds:.1f}%",
                              f"{sk_gemm_seconds:.1f} s of {sk_seconds:.1f} s (instrumented run)"])
        flop_rows.append(["ref: E-step product flops / epoch seconds", fmt(ref_rate, 2),
                          f"{100 * ref_rate / torch_peak:.1f}% of torch.mm at 2048^3"])
        print_table(["", "GFLOP/s", ""], flop_rows)
        if gemm:
            print()
            print("SK sgemm calls per epoch (instrumented run; row-major M x N, inner K):")
            for r in sorted(gemm, key=lambda r: -r["seconds"]):
                print(f"    {'T' if r['ta'] else 'N'}{'T' if r['tb'] else 'N'} {r['m']:>6} x {r['n']:<4} K={r['k']:<4} "
                      f"{r['calls'] / args.epochs:8.0f} calls  {r['seconds'] / args.epochs:7.2f} s  "
                      f"{2.0 * r['m'] * r['n'] * r['k'] * r['calls'] / r['seconds'] / 1e9:7.1f} GFLOP/s")

        if args.perf:
            for label, env in (("OpenBLAS threads at their default", None),
                               ("OPENBLAS_NUM_THREADS=1", dict(os.environ, OPENBLAS_NUM_THREADS="1"))):
                print()
                print(f"SK profile, {label}: perf record -e cpu-clock, sk-train 1 epoch on N = {PERF_COUNT} "
                      "(its own patches), self time of the top symbols, all threads:")
                lines, error = perf_profile(binaries, images, work, env)
                if lines is None:
                    print(f"    (perf unavailable: {error})")
                else:
                    for line in lines:
                        print("    " + line)
    finally:
        if args.keep:
            print(f"\nkept the files in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="the benchmark (the default)")
    for p in (parser, run):
        p.add_argument("--count", type=int, default=None, help=f"patches N (default {COUNT}; {QUICK_COUNT} with --quick)")
        p.add_argument("--epochs", type=int, default=1, help="epochs on each side (default 1)")
        p.add_argument("--quick", action="store_true", help=f"smoke test: N = {QUICK_COUNT} unless --count is given")
        p.add_argument("--max-eval", type=int, default=None,
                       help="the reference's L-BFGS max_eval (default: torch's, 1.25 x max_iter = 125)")
        p.add_argument("--no-gemm-count", dest="gemm_count", action="store_false",
                       help="skip the second, instrumented sk-train run that counts objective evaluations")
        p.add_argument("--no-extras", dest="extras", action="store_false",
                       help="skip the extra runs (1 thread each side; torch with libgomp's default wait policy)")
        p.add_argument("--default-omp-batches", type=int, default=2,
                       help="minibatches timed for torch with the default OMP wait policy (default 2)")
        p.add_argument("--perf", action="store_true", help=f"profile sk-train with perf on N = {PERF_COUNT}")
        p.add_argument("--build-dir", default=None,
                       help="directory of the release binaries (default: .build-bench/release, then .build/release)")
        p.add_argument("--workdir", default=None, help="where temporary files go (default: the system temp dir)")
        p.add_argument("--keep", action="store_true", help="keep the temporary files")
    ref = sub.add_parser("ref-epoch", help="the PyTorch reference: EM-like epochs on DATA, results as JSON")
    ref.add_argument("data")
    ref.add_argument("result")
    ref.add_argument("--epochs", type=int, default=1)
    ref.add_argument("--latents", type=int, default=LATENTS)
    ref.add_argument("--batch-size", type=int, default=BATCH)
    ref.add_argument("--iterations", type=int, default=ITERATIONS)
    ref.add_argument("--history", type=int, default=HISTORY)
    ref.add_argument("--max-eval", type=int, default=None)
    ref.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    ref.add_argument("--seed", type=int, default=SEED)
    ref.add_argument("--threads", type=int, default=THREADS)
    ref.add_argument("--max-batches", type=int, default=None, help="stop each epoch after this many minibatches")
    gr = sub.add_parser("gemm-rates", help="sgemm GFLOP/s of one backend, as JSON")
    gr.add_argument("result")
    gr.add_argument("--backend", choices=("system-openblas", "numpy", "torch"), required=True)
    gr.add_argument("--library", default="libopenblas.so.0")
    gr.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args()

    if args.command == "ref-epoch":
        reference_epoch(args)
    elif args.command == "gemm-rates":
        gemm_rates(args)
    else:
        if args.epochs < 1:
            parser.error("--epochs must be at least 1")
        benchmark(args)


if __name__ == "__main__":
    main()
