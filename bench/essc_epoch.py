#!/usr/bin/env python3
"""ES-SC epoch benchmark: EM-like epochs of entropy-based sparse coding, SparseKit against the authors' PyTorch setup.

Run from anywhere, after building the release binaries:

    swift build -c release --scratch-path .build-bench          # or plain `swift build -c release`
    python3 bench/essc_epoch.py | tee bench/results-essc-epoch.txt   # full size: N = 51,200, 1 epoch (about 5 minutes)
    python3 bench/essc_epoch.py --epochs 3                           # 3 epochs (about 10 minutes)
    python3 bench/essc_epoch.py --anneal-prior 10:5                  # beta_prior annealed, 10 epochs (about 35 minutes)
    python3 bench/essc_epoch.py --quick                              # smoke test: N = 2,048, about a minute
    python3 bench/essc_epoch.py --sk-args "--e-step lbfgs" --sk-args "--iterations 30"   # SparseKit variants too

The workload (../shared/docs/es-sc.md, "Training schemes", EM-like): N whitened 16x16 gray patches (D = 256) made
by the project's own tools (`sk-patches --count N --seed 1`, then `sk-whiten --method zca --epsilon 1e-4`),
H = 100 latents, diagonal Gaussian posteriors q_n = N(mu_n, diag(s_n^2)), W = V / ||V||_col, minibatches of 512
(shuffled once per epoch), and the batch objective

    L_beta = (1/B) sum_n [sum_h log s_nh + H/2 log(2 pi e)] - beta_prior sum_h log(2 e lambda_h)
             - D/2 log(2 pi e sigma^2)

with sigma^2 and lambda at their closed forms over the batch (beta_prior = 1 unless annealed). Held-out data:
10,240 patches cut with `--seed 2` and whitened with the training transform (`sk-whiten --transform-from`).

The two sides:
(a) SparseKit: `sk-train sc DATA -o model.h5 --latents 100 --batch-size 512 --seed 1 --epochs E`, every other setting
    at sk-train's default (the script prints the model file's /config), plus `--anneal-prior START:EPOCHS` when
    annealing; each `--sk-args "..."` adds one more SparseKit run with those options appended (E-step variants side
    by side).
(b) The reference, this file's `ref-epoch` sub-command: the ES-SC authors' own EM-like training as their public code
    runs it (github.com/Learning-with-Entropies/sparse-coding at commit 23a37bf: train-patches-em-prior-annealing.py,
    utils/training.py optimize_latents and adjust_parameters, models/optimalmanifoldELBO.py OptimalManifoldSC with
    constrain_W=True, models/common.py DiagCovarGaussianVariationalParams), written anew here:
    - per minibatch a FRESH torch.optim.LBFGS over the batch's (mu, s) with history_size=20, max_iter=100,
      line_search_fn="strong_wolfe" and torch's defaults otherwise (max_eval = 1.25 max_iter = 125,
      tolerance_grad = 1e-7, tolerance_change = 1e-9), from mu = 0, s = 1;
    - minimising minus the batch MEAN of the objective in float32 (not B times it: torch's tolerance_change compares
      successive losses, so the scale decides when it stops), s used directly as the authors parameterise it
      (Sigma = s^2, sqrt(Sigma) in the folded-normal mean, log|s| in the entropy), W = V/||V|| formed inside every
      evaluation from V, which requires grad as the authors' nn.Parameter does (so every evaluation's backward also
      forms dL/dV, as in their code), then one more forward at the fitted q (optimize_latents' returned value);
    - M-step: one gradient-ascent step V += 0.5 dL/dV at the batch's fitted q (adjust_parameters(lr=0.5); V is
      never renormalised, W = V/||V|| throughout), whose backward also reaches the stored N x H posterior
      parameters as in the authors' model; prior weight (model.prior_scale) 1, or the annealing schedule below;
    - the same initial W and the same minibatch order as sk-train (this file re-implements SparseKit's seeded
      generator, xoshiro256** seeded by SplitMix64, and Swift's shuffle; bench/swift_random.py), where the
      authors' DataLoader would take the patches in file order and their model would draw its own W;
    - float32, torch.set_num_threads(1) and (2) in two separate timed runs (--reference-threads);
      OMP_WAIT_POLICY=PASSIVE (libgomp's active waiting stalls torch at 2 threads on a 2-vCPU machine; an extra run
      measures the default).
    Left out of the timing, as sk-train has no counterpart: the authors' per-epoch diagnostics (plots, a second
    E-step pass over all N for the epoch ELBO). Added, as sk-train does it: the full-data L in float64 and the
    mean Gini of |mu_n| at the end of each epoch. A failed E-step (torch's line search extrapolating until float32
    overflows, or non-finite values) keeps the best point it evaluated and is counted; the authors' code has no
    such guard.
    Annealing (`--anneal-prior START:EPOCHS`, 10 epochs unless --epochs says otherwise): beta_prior per epoch e
    (0-based) as sk-train's schedule, max(1, START - (START - 1) e / EPOCHS), on both sides; with
    `--reference-schedule authors` both sides follow the authors' script instead, max(1, START (1 - e / EPOCHS))
    (10, 8, 6, 4, 2, 1, ... for 10:5, their max(1, 2 (5 - epoch))): sk-train gets it as a list, `--anneal-prior
    10,8,6,4,2`. beta_prior weighs E-step and M-step alike.
    The reference's final model (W = V/||V||, and sigma^2, lambda at their closed forms over all N at its final q, as
    sk-train stores them) is written as a SparseKit ES-SC model file (formats.md, "Models"), so that one evaluator
    scores both: `sk-eval MODEL HELDOUT.h5 --json` (held-out ELBO: W, sigma^2, lambda fixed, q fitted per point).

Reported, per run: seconds per epoch (SparseKit: /history/seconds of the model file, which includes its full-data
objective and Gini; the reference times the same: its E/M loop plus the full-data objective and Gini), whole-process
wall time, peak RSS (GNU time), the full-data objective L (beta = 1) after the last epoch, the held-out ELBO, the
objective evaluations per E-step and the milliseconds per evaluation (epoch seconds / evaluations), and for the
reference why each E-step stopped: max_iter, max_eval, tolerance_change (the loss changed by less than
1e-9, or the step or the directional derivative fell below it), tolerance_grad (max |gradient| <= 1e-7) or failure.
The speed-up is reported against the FASTER of the reference's 1- and 2-thread runs. SparseKit's evaluations:
- L-BFGS E-steps (`--e-step lbfgs`, or a sk-train without the option): counted in a second, instrumented run by an
  LD_PRELOAD shim around cblas_sgemm, which also times the sgemm calls. With W fixed for the whole E-step sk-train
  precomputes X W, W^T W and ||X||^2 once per minibatch and evaluates ||R||^2 = ||X||^2 - 2 <M, X W> +
  <M, M W^T W> and R W = X W - M W^T W: one 512 x 100 x 100 product per evaluation (2 B H^2 flops), which the shim
  counts; the reference's evaluation costs 6 B D H flops (M W^T forward; R W for dL/dmu and R^T M for dL/dV
  backward).
- other E-steps (the coordinate-ascent one): sweeps, from a /history column whose name holds "evaluations" or
  "sweeps" when sk-train records one, else from its `SK_DEBUG_ESTEP` stderr lines in the instrumented run, else n/a.
Both are compared with the machine's sgemm rate (system OpenBLAS, which sk-train links, through ctypes; numpy's
OpenBLAS; torch.mm with MKL), at 2048^3 and at the hot-loop shapes.

Sub-commands (the benchmark runs them as subprocesses):

    python3 bench/essc_epoch.py ref-epoch DATA.h5 RESULT.json [--model MODEL.h5] [--epochs E] [--threads 2] ...
    python3 bench/essc_epoch.py gemm-rates RESULT.json --backend system-openblas|numpy|torch [--library PATH]
"""

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time

from measure import (busy_processes, describe, heldout_elbo, mean_gini, print_table, read_config, read_history,
                     timed, gflops, whitened_patches, write_essc_model)
from sparsekit import cpu_model, memory_total_bytes, output_of
from swift_random import SeededGenerator

COUNT = 51_200             # training patches (N); 100 minibatches of 512
QUICK_COUNT = 2_048
HELDOUT = 10_240           # held-out patches (sk-patches --seed 2, whitened with the training transform)
QUICK_HELDOUT = 1_024
LATENTS = 100              # H
BATCH = 512
ITERATIONS = 100           # the reference's L-BFGS max_iter per E-step (the authors' optimize_latents(max_iter=100))
HISTORY = 20               # the reference's L-BFGS history_size (the authors' optimize_latents)
LEARNING_RATE = 0.5        # the reference's M-step step size on V (the authors' adjust_parameters(lr=0.5))
SEED = 1                   # sk-patches --seed (training patches) and sk-train --seed
TRAIN_SEED = SEED          # sk-train --seed and the reference's (initial W, minibatch order); --train-seed sets it
HELDOUT_SEED = 2           # sk-patches --seed of the held-out patches
EPSILON = 1e-4             # ZCA epsilon
PATCH = 16
REFERENCE_THREADS = (1, 2)  # torch.set_num_threads of the two timed reference runs
THREADS = 2                # threads of the sgemm-rate runs and of the default-OMP extra
ANNEAL_EPOCHS = 10         # epochs of an annealed run unless --epochs is given (the authors' script: 10)
PERF_COUNT = 5_120         # points in the profiled SparseKit run (--perf)
AUTHORS_CODE = "github.com/Learning-with-Entropies/sparse-coding @ 23a37bf"

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(BENCH_DIR)
IMAGE_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "images"))
MIB = 1 << 20
HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
STOP_REASONS = ("max_iter", "max_eval", "tolerance_change", "tolerance_grad", "failure")


def sparsekit_initial_dictionary(d, h, seed):
    """SparseCodingModel.initial: D x H standard normal draws (row-major), columns normalised."""
    import numpy as np

    g = SeededGenerator(seed)
    w = np.array([g.normal() for _ in range(d * h)], dtype=np.float32).reshape(d, h)
    norms = np.sqrt((w.astype(np.float64) ** 2).sum(axis=0))
    return (w.astype(np.float64) / norms).astype(np.float32)


def parse_anneal(text):
    """START:EPOCHS of --anneal-prior, as sk-train takes it."""
    try:
        start, epochs = text.split(":")
        start, epochs = float(start), int(epochs)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--anneal-prior takes START:EPOCHS, e.g. 10:5 (not {text!r})")
    if not (start >= 1 and math.isfinite(start) and epochs >= 1):
        raise argparse.ArgumentTypeError("--anneal-prior takes START:EPOCHS with START >= 1 and EPOCHS >= 1")
    return start, epochs


def beta_prior(anneal, epoch, schedule="sk-train"):
    """beta_prior at `epoch` (0-based): 1 without annealing; sk-train's linear schedule
    (SparseCodingTrainer.betaPrior); or the authors' (train-patches-em-prior-annealing.py: max(1, 2 (5 - epoch)),
    i.e. max(1, START (1 - epoch / EPOCHS)) for START:EPOCHS = 10:5)."""
    if anneal is None:
        return 1.0
    start, epochs = anneal
    if schedule == "authors":
        return max(1.0, start * (1 - epoch / epochs))
    return max(1.0, start - (start - 1) * epoch / epochs)


# ----------------------------------------------------------------------------------------------------------------------
# The PyTorch reference (run as a subprocess: `ref-epoch`)
# ----------------------------------------------------------------------------------------------------------------------

def authors_objective(x, v, mu, s, beta=1.0):
    """The authors' batch objective (OptimalManifoldSC.elbo_on_manifold with diagonal posteriors): the MEAN over the
    rows of x, W = V / ||V||_col formed here from V (a backward reaches V), the posterior standard deviations s used
    as the authors parameterise them (Sigma = s^2; sqrt(Sigma) in the folded-normal mean E|z|; log|s| in the
    entropy), sigma^2 and lambda at their closed forms over the rows, the prior entropy weighted by `beta`.
    Returns L_beta and its parts (posterior, prior and noise entropies, sigma^2, lambda)."""
    import torch

    b, d = x.shape
    h = v.shape[1]
    w = v / torch.sqrt((v * v).sum(dim=0))
    variance = s * s
    residual = torch.mm(w, mu.T).T - x                            # (W mu_n - x_n) per row, as the authors form it
    sigma2 = ((variance * (w * w).sum(dim=0)).sum() + (residual * residual).sum()) / (d * b)
    sd = torch.sqrt(variance)
    mean_abs = SQRT_2_OVER_PI * sd * torch.exp(-0.5 * mu * mu / variance) + mu * torch.erf(mu / (math.sqrt(2) * sd))
    lam = mean_abs.sum(dim=0) / b
    posterior = (torch.log(s.abs()).sum(dim=1) + h * HALF_LOG_2PIE).sum() / b
    prior = torch.log(2 * math.e * lam).sum()
    noise = 0.5 * d * torch.log(2 * math.pi * math.e * sigma2)
    return posterior - beta * prior - noise, (posterior, prior, noise, sigma2, lam)


def stop_reason(optimizer, line_search, failed):
    """Why torch.optim.LBFGS.step returned, as (reason, detail), reason one of STOP_REASONS. Re-traces the checks of
    torch's loop in its order from the optimizer's state and the last line search (`line_search`: the number of
    strong-Wolfe searches this step ran, and the loss and max |gradient| the last one returned)."""
    group = optimizer.param_groups[0]
    state = optimizer.state[optimizer._params[0]]
    n_iter = state.get("n_iter", 0)
    if failed:
        return "failure", "failure"
    if n_iter == 0:
        return "tolerance_grad", "max |gradient| <= tolerance_grad at the start"
    if line_search["calls"] < n_iter:      # the last iteration broke before its line search
        return "tolerance_change", "directional derivative > -tolerance_change"
    if n_iter >= group["max_iter"]:
        return "max_iter", "max_iter"
    if state["func_evals"] >= group["max_eval"]:
        return "max_eval", "max_eval"
    if line_search["grad_max"] <= group["tolerance_grad"]:
        return "tolerance_grad", "max |gradient| <= tolerance_grad"
    if float((state["d"] * state["t"]).abs().max()) <= group["tolerance_change"]:
        return "tolerance_change", "step <= tolerance_change"
    if abs(line_search["loss"] - state["prev_loss"]) < group["tolerance_change"]:
        return "tolerance_change", "loss changed by < tolerance_change"
    return "failure", "unclassified stop"


def reference_epoch(args):
    import h5py
    import numpy as np

    started = time.perf_counter()
    import torch
    import torch.optim.lbfgs as lbfgs_module

    torch.set_num_threads(args.threads)
    imported = time.perf_counter()
    with h5py.File(args.data, "r") as f:
        x = torch.from_numpy(f["data"][...].astype(np.float32, copy=False))
    loaded = time.perf_counter()
    n, d = x.shape
    h = args.latents
    # The authors' parameters: V (their nn.Parameter W, normalised once at the start; it requires grad throughout)
    # and every point's stored posterior parameters (their DiagCovarGaussianVariationalParams: mu = 0, s = 1).
    v = torch.from_numpy(sparsekit_initial_dictionary(d, h, args.seed)).requires_grad_(True)
    mu_all = torch.zeros(n, h, requires_grad=True)
    s_all = torch.ones(n, h, requires_grad=True)
    order_generator = SeededGenerator(args.seed + 1)   # SparseKit's minibatch-order generator

    # Records each strong-Wolfe line search torch's L-BFGS runs (count, returned loss and max |gradient|), so that
    # stop_reason can tell which of torch's checks ended a step. It only observes.
    line_search = {"calls": 0, "loss": math.nan, "grad_max": math.nan}
    strong_wolfe = lbfgs_module._strong_wolfe

    def observed_strong_wolfe(*a, **k):
        result = strong_wolfe(*a, **k)
        line_search.update(calls=line_search["calls"] + 1, loss=float(result[0]),
                           grad_max=float(result[1].abs().max()))
        return result

    lbfgs_module._strong_wolfe = observed_strong_wolfe

    def full_objective(with_lambda=False):
        """L (beta = 1) at the current V and q over all N, in float64: the batch objective's sums over blocks of
        4,096 rows, combined (the benchmark's own evaluation, so it holds no N x D float64 array)."""
        squares = log_s = 0.0
        abs_sums = torch.zeros(h, dtype=torch.float64)
        with torch.no_grad():
            v64 = v.double()
            for first in range(0, n, 4096):
                rows = slice(first, min(n, first + 4096))
                b = rows.stop - rows.start
                _, (post, _, _, sigma2, lam) = authors_objective(x[rows].double(), v64, mu_all[rows].double(),
                                                                 s_all[rows].double())
                squares += float(sigma2) * d * b
                log_s += (float(post) - h * HALF_LOG_2PIE) * b
                abs_sums += lam * b
        sigma2, lam = squares / (n * d), abs_sums / n
        post = log_s / n + h * HALF_LOG_2PIE
        prior = float(torch.log(2 * math.e * lam).sum())
        noise = 0.5 * d * math.log(2 * math.pi * math.e * sigma2)
        record = {"objective": post - prior - noise, "posterior_entropy": post, "prior_entropy": prior,
                  "noise_entropy": noise, "sigma2": sigma2, "mean_lambda": float(lam.mean())}
        if with_lambda:
            record["lambda"] = lam.tolist()
        return record

    initial = full_objective()
    epochs = []
    settings = None
    for epoch in range(args.epochs):
        beta = beta_prior(args.anneal_prior, epoch, args.schedule)
        order = order_generator.shuffled(n)  # outside the timed region: SparseKit's shuffle takes microseconds
        epoch_start = time.perf_counter()
        e_seconds = forward_seconds = m_seconds = 0.0
        evaluations = iterations = 0
        per_step = []
        stops = dict.fromkeys(STOP_REASONS, 0)
        details = {}
        failures = []
        starts = list(range(0, n, args.batch_size))
        if args.max_batches:
            starts = starts[:args.max_batches]
        for start in starts:
            rows = torch.tensor(order[start:start + args.batch_size])
            b = len(rows)
            xb = x[rows]
            # E-step (optimize_latents): fresh posteriors mu = 0, s = 1 and a fresh L-BFGS for every minibatch,
            # minimising minus the batch-mean objective; V stays a leaf that requires grad, so every backward also
            # accumulates dL/dV (zeroed before the M-step), as in the authors' code.
            t0 = time.perf_counter()
            mu_b = torch.zeros(b, h, requires_grad=True)
            s_b = torch.ones(b, h, requires_grad=True)
            optimizer = torch.optim.LBFGS([mu_b, s_b], history_size=args.history, max_iter=args.iterations,
                                          max_eval=args.max_eval, line_search_fn="strong_wolfe")
            if settings is None:
                settings = {k: optimizer.param_groups[0][k] for k in
                            ("lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size",
                             "line_search_fn")}
            calls = 0
            best = [math.inf, None, None]   # lowest finite loss seen, and its (mu, s)

            def closure():
                nonlocal calls
                calls += 1
                optimizer.zero_grad()
                loss = -authors_objective(xb, v, mu_b, s_b, beta)[0]
                loss.backward()
                value = float(loss.detach())
                if value < best[0]:     # NaN compares false
                    best[:] = [value, mu_b.detach().clone(), s_b.detach().clone()]
                return loss

            # torch's strong-Wolfe search can extrapolate along a direction where the objective keeps improving
            # without a minimum until the step overflows float32 ("value cannot be converted to type float without
            # overflow") or the values turn NaN. Then the E-step keeps the best point it evaluated, and the failure
            # is counted.
            line_search["calls"] = 0
            try:
                optimizer.step(closure)
                failed = not (torch.isfinite(mu_b).all() and torch.isfinite(s_b).all())
            except RuntimeError as error:
                failed = True
                failures.append({"batch": start // args.batch_size, "evaluations": calls, "error": str(error)[:120]})
            if failed:
                with torch.no_grad():
                    mu_b.copy_(best[1])
                    s_b.copy_(best[2])
                if not failures or failures[-1]["batch"] != start // args.batch_size:
                    failures.append({"batch": start // args.batch_size, "evaluations": calls, "error": "non-finite"})
            reason, detail = stop_reason(optimizer, line_search, failed)
            stops[reason] += 1
            details[detail] = details.get(detail, 0) + 1
            state = optimizer.state[optimizer._params[0]]
            evaluations += calls
            iterations += state.get("n_iter", 0)
            per_step.append([calls, state.get("n_iter", 0)])
            t1 = time.perf_counter()
            # optimize_latents ends with one more forward at the fitted q (the value the authors' script prints).
            authors_objective(xb, v, mu_b, s_b, beta)[0].item()
            t2 = time.perf_counter()
            with torch.no_grad():
                mu_all[rows] = mu_b.detach()
                s_all[rows] = s_b.detach()
            # M-step (adjust_parameters): one ascent step on V along dL_beta/dV at the stored q of the batch.
            v.grad.zero_()
            authors_objective(xb, v, mu_all[rows], s_all[rows], beta)[0].backward()
            with torch.no_grad():
                v.add_(args.learning_rate * v.grad)
            t3 = time.perf_counter()
            e_seconds += t1 - t0
            forward_seconds += t2 - t1
            m_seconds += t3 - t2
        loop_seconds = time.perf_counter() - epoch_start
        record = full_objective(with_lambda=epoch == args.epochs - 1)
        record["gini"] = mean_gini(mu_all.detach())
        record.update(epoch=epoch + 1, beta_prior=beta, seconds=time.perf_counter() - epoch_start,
                      loop_seconds=loop_seconds, e_step_seconds=e_seconds, forward_seconds=forward_seconds,
                      m_step_seconds=m_seconds, evaluations=evaluations, iterations=iterations, batches=len(starts),
                      stops=stops, stop_details=details, per_step=per_step, failures=failures)
        epochs.append(record)
        print(f"reference epoch {epoch + 1}: L = {record['objective']:.4f}  ({record['seconds']:.1f} s, "
              f"{evaluations} evaluations, beta_prior {beta:g})", file=sys.stderr, flush=True)
    lbfgs_module._strong_wolfe = strong_wolfe
    result = {"n": n, "d": d, "h": h, "threads": torch.get_num_threads(), "torch": torch.__version__,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"), "lbfgs": settings,
              "import_seconds": imported - started, "load_seconds": loaded - imported,
              "initial": initial, "epochs": epochs}
    if args.model:
        with torch.no_grad():
            v64 = v.detach().double()
            w = (v64 / v64.norm(dim=0, keepdim=True)).float().numpy()
        write_reference_model(args.model, args.data, w, epochs, settings, args)
        result["model"] = args.model
    with open(args.result, "w") as f:
        json.dump(result, f, indent=1)


def write_reference_model(path, data_path, w, epochs, settings, args):
    """The reference's final W, lambda, sigma^2 as a SparseKit ES-SC model file (/model/W [D, H], /model/lambda [H],
    /model/sigma2 scalar) with its configuration under /config and its /history (`write_essc_model`)."""
    import numpy as np

    last = epochs[-1]
    history_keys = ("objective", "posterior_entropy", "prior_entropy", "noise_entropy", "sigma2", "mean_lambda", "gini",
                    "beta_prior", "seconds")
    write_essc_model(
        path, data_path, f"essc_epoch.py ref-epoch (PyTorch reference of {AUTHORS_CODE})",
        {"model/W": np.asarray(w, dtype=np.float32), "model/lambda": np.asarray(last["lambda"], dtype=np.float32),
         "model/sigma2": np.float32(last["sigma2"])},
        {key: [e[key] for e in epochs] for key in history_keys},
        {"latents": args.latents, "scheme": "em", "posterior": "diagonal", "objective": "entropy",
         "batch_size": args.batch_size, "epochs": args.epochs, "learning_rate": args.learning_rate, "seed": args.seed,
         "threads": args.threads, "reference": AUTHORS_CODE,
         "anneal_prior": "none" if args.anneal_prior is None else f"{args.anneal_prior[0]:g}:{args.anneal_prior[1]}",
         "anneal_schedule": args.schedule, **{f"lbfgs_{k}": v for k, v in settings.items()}})


# ----------------------------------------------------------------------------------------------------------------------
# sgemm rates (run as a subprocess: `gemm-rates`)
# ----------------------------------------------------------------------------------------------------------------------

# (label, M, N, K, transpose A, transpose B) in row-major terms: the reference's three products per evaluation and
# sk-train's one (its L-BFGS E-step).
GEMM_SHAPES = [
    ("2048x2048x2048", 2048, 2048, 2048, False, False),
    ("residual M W^T: 512x256, K=100", BATCH, 256, LATENTS, False, True),
    ("R W: 512x100, K=256", BATCH, LATENTS, 256, False, False),
    ("R^T M: 256x100, K=512", 256, LATENTS, BATCH, True, False),
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
        rates[label] = gflops(make(m, n, k, ta, tb), 2.0 * m * n * k)
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

def make_data(binaries, images, work, count, name, seed=SEED, transform_from=None):
    """`count` gray patches cut with `seed`, ZCA-whitened (or whitened with the transform of `transform_from`)."""
    return whitened_patches(binaries, images, work, count, name, seed, PATCH, EPSILON, transform_from)


def sk_anneal_text(anneal, schedule, epochs):
    """sk-train's --anneal-prior for the reference's `schedule`: START:EPOCHS for sk-train's own linear schedule; for
    the authors', their beta_prior of each epoch while it exceeds 1 (10,8,6,4,2 for 10:5), so both sides anneal alike."""
    if anneal is None:
        return None
    if schedule != "authors":
        return f"{anneal[0]:g}:{anneal[1]}"
    betas = [beta_prior(anneal, e, schedule) for e in range(epochs)]
    return ",".join(f"{b:g}" for b in betas[:max(1, sum(b > 1 for b in betas))])


def sk_train_command(binary, data, model, epochs, extra=(), anneal=None):
    """sk-train's command line: its defaults plus --latents 100 --batch-size 512 --seed 1 --epochs E, the annealing
    schedule (sk-train's --anneal-prior text, `sk_anneal_text`) when given, then the variant's `extra` options."""
    command = [binary, "sc", data, "-o", model, "--latents", str(LATENTS), "--batch-size", str(BATCH),
               "--seed", str(TRAIN_SEED), "--epochs", str(epochs)]
    if anneal is not None:
        command += ["--anneal-prior", anneal]
    return command + list(extra) + ["--quiet"]


def sk_evaluations(run, latents):
    """SparseKit's E-step evaluations over all epochs of `run`, as (count or None, unit, where it comes from)."""
    import re

    columns = [k for k in run["history"] if "evaluations" in k or "sweeps" in k]
    if columns:
        return sum(run["history"][columns[0]]), "sweeps" if "sweep" in columns[0] else "evaluations", \
            f"/history/{columns[0]}"
    e_step = run["config"].get("e_step", "lbfgs")
    if e_step == "lbfgs":
        if not run.get("gemm"):
            return None, "evaluations", "not counted (no sgemm shim run)"
        count = sum(r["calls"] for r in run["gemm"] if not r["ta"] and not r["tb"] and r["n"] == latents
                    and r["k"] == latents)
        return count, "evaluations", "sgemm shim: one B x H x H product per evaluation"
    sweeps = [int(s) for s in re.findall(r"estep sweeps (\d+)", run.get("counted_stderr", ""))]
    if sweeps:
        return sum(sweeps), "sweeps", "sk-train's SK_DEBUG_ESTEP lines (instrumented run)"
    return None, "sweeps", f"not recorded by this sk-train (--e-step {e_step})"


def environment_header(binaries, system_blas, threads):
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
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no", "--", "Sources"])
    commit = run(["git", "rev-parse", "--short", "HEAD"]) + (" (Sources/ has uncommitted changes)" if dirty else "")
    built = datetime.datetime.fromtimestamp(os.path.getmtime(binaries["sk-train"])).isoformat(timespec="seconds")
    return [
        f"date:            {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"machine:         {cpu} ({simd}), nproc = {os.cpu_count()} (affinity {len(os.sched_getaffinity(0))}), "
        f"{memory:.0f} GiB RAM, {platform.platform()}",
        f"SparseKit:       commit {commit}; sk-train at {os.path.relpath(binaries['sk-train'], PACKAGE_DIR)} built "
        f"{built}",
        f"  BLAS:          {system_blas.get('library', '?')}, core {system_blas.get('corename', '?')}, "
        f"{system_blas.get('threads', '?')} threads (OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; unset = one per core)",
        f"reference:       the authors' EM-like training ({AUTHORS_CODE}) rewritten here; PyTorch {torch.__version__} "
        f"on the CPU, float32, torch.set_num_threads({' and '.join(map(str, threads))}), BLAS "
        f"{'MKL' if torch.backends.mkl.is_available() else '?'}, CPU capability "
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


# The reference's memory before any data: its imports, and one strong-Wolfe L-BFGS step on 3 variables (the first
# optimizer step loads more of torch).
LIBRARY_FOOTPRINT = """import h5py, numpy, torch
x = torch.zeros(3, requires_grad=True)
optimizer = torch.optim.LBFGS([x], line_search_fn="strong_wolfe")
def closure():
    optimizer.zero_grad()
    loss = ((x - 1) ** 2).sum()
    loss.backward()
    return loss
optimizer.step(closure)
"""


def benchmark(args):
    import glob
    import shutil
    import tempfile

    count = QUICK_COUNT if args.quick and args.count is None else (args.count or COUNT)
    heldout_count = args.heldout or (QUICK_HELDOUT if args.quick else HELDOUT)
    epochs = args.epochs or (ANNEAL_EPOCHS if args.anneal_prior else 1)
    if not os.path.exists("/usr/bin/time"):
        sys.exit("GNU time is needed for peak memory: apt-get install -y time")
    build = args.build_dir or next((d for d in (os.path.join(PACKAGE_DIR, ".build-bench", "release"),
                                                os.path.join(PACKAGE_DIR, ".build", "release"))
                                    if os.access(os.path.join(d, "sk-train"), os.X_OK)), None)
    if build is None:
        sys.exit(f"no sk-train binary: run `swift build -c release --scratch-path .build-bench` in {PACKAGE_DIR}")
    binaries = {name: os.path.join(build, name) for name in ("sk-patches", "sk-whiten", "sk-train", "sk-eval")}
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
    variants = [("SK", [])] + [(f"SK {a}", shlex.split(a)) for a in args.sk_args]
    anneal_text = f"{args.anneal_prior[0]:g}:{args.anneal_prior[1]}" if args.anneal_prior else None
    sk_anneal = sk_anneal_text(args.anneal_prior, args.reference_schedule, epochs)
    # libgomp's default (active) wait policy makes torch with 2 threads stall for ~0.5 s at a time on this kind of
    # 2-vCPU machine; the timed reference runs with passive waiting (an extra measures the default).
    passive = dict(os.environ)
    passive.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    default_omp = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    work = tempfile.mkdtemp(prefix="essc-epoch-", dir=args.workdir)
    started = time.perf_counter()
    try:
        idle_before, busy_before = busy_processes()
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

        print("ES-SC epoch benchmark: EM-like epochs, SparseKit sk-train against the authors' PyTorch training")
        print("=" * 100)
        print("benchmark:       python3 bench/essc_epoch.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]) +
              f"   (Python {sys.executable})")
        for line in environment_header(binaries, rates.get("system-openblas", {}), args.reference_threads):
            print(line)
        print(f"                 timed reference runs with OMP_WAIT_POLICY={passive['OMP_WAIT_POLICY']} (libgomp's "
              "default active spinning stalls torch at 2 threads on this machine: see the extras)")
        print(f"load:            {100 * idle_before:.0f}% of the CPU time idle over 2 s before starting; 'other load' "
              "below = busy CPU time of the machine during a run minus the run's own, in cores")
        if idle_before < 0.9 or busy_before:
            print("WARNING:         the machine was NOT idle before starting: timings may be inflated. Busy:")
            for pid, cores, command in busy_before:
                print(f"                   pid {pid}: {cores:.2f} cores  {command}")
        if stale:
            print("WARNING:         a file under Sources/ is newer than sk-train (rebuild to measure it)")
        imports = timed([sys.executable, "-c", LIBRARY_FOOTPRINT], label="the library footprint")
        print(f"                 the reference's libraries alone (imports, one L-BFGS step on 3 variables): "
              f"{imports['peak_mib']:.0f} MiB peak RSS, {imports['wall']:.1f} s (torch's CPU-only wheels take less "
              "than its CUDA ones)")
        data, data_seconds = make_data(binaries, images, work, count, "train")
        heldout, heldout_seconds = make_data(binaries, images, work, heldout_count, "heldout", seed=HELDOUT_SEED,
                                             transform_from=data)
        batches = math.ceil(count / BATCH)
        schedule = ", ".join(f"{beta_prior(args.anneal_prior, e, args.reference_schedule):g}" for e in range(epochs))
        sk_schedule = ", ".join(f"{beta_prior(args.anneal_prior, e, args.reference_schedule):g}" for e in range(epochs))
        print(f"workload:        N = {count} gray {PATCH}x{PATCH} patches (sk-patches --seed {SEED}), ZCA-whitened "
              f"(sk-whiten --epsilon {EPSILON:g}), D = {PATCH * PATCH}, H = {LATENTS}; {epochs} epoch(s) of "
              f"{batches} minibatches of {BATCH}; same /data, initial W and minibatch order on both sides")
        print(f"                 data made in {data_seconds:.1f} s ({os.path.getsize(data) / MIB:.1f} MiB); held-out: "
              f"{heldout_count} patches (sk-patches --seed {HELDOUT_SEED}, sk-whiten --transform-from the training "
              f"file), made in {heldout_seconds:.1f} s")
        if args.anneal_prior:
            print(f"annealing:       sk-train --anneal-prior {sk_anneal}: beta_prior per epoch, sk-train: {sk_schedule}; "
                  f"reference ({args.reference_schedule} schedule): {schedule}")
        else:
            print("annealing:       none (beta_prior = 1)")

        def shown(command):
            return " ".join("DATA.h5" if c == data else "model.h5" if c.endswith(".h5") else
                            os.path.relpath(c, PACKAGE_DIR) if c.startswith(PACKAGE_DIR) else
                            shlex.quote(c) for c in command)

        for label, extra in variants:
            print(f"{label + ':':<16} " + shown(sk_train_command(binaries["sk-train"], data, "model.h5", epochs, extra,
                                                                  sk_anneal)))
        ref_options = f" --anneal-prior {anneal_text} --schedule {args.reference_schedule}" if args.anneal_prior else ""
        ref_options += f" --max-eval {args.max_eval}" if args.max_eval is not None else ""
        print(f"reference:       python3 bench/essc_epoch.py ref-epoch DATA.h5 RESULT.json --model MODEL.h5 --epochs "
              f"{epochs} --threads 1|2{ref_options}   (OMP_WAIT_POLICY=PASSIVE)")
        print(f"evaluator:       {os.path.relpath(binaries['sk-eval'], PACKAGE_DIR)} MODEL.h5 HELDOUT.h5 --json "
              "(held-out ELBO: W, sigma^2, lambda fixed, q fitted per point)")
        print()

        # (a) SparseKit, each variant: the timed run, then the instrumented run --------------------------------------
        print("Runs")
        shim = build_shim(work) if args.gemm_count else None
        sk_runs = []
        for i, (label, extra) in enumerate(variants):
            model = os.path.join(work, f"sk-{i}.h5")
            run = timed(sk_train_command(binaries["sk-train"], data, model, epochs, extra, sk_anneal),
                        label=label)
            run.update(label=label, extra=extra, model=model, history=read_history(model), config=read_config(model))
            print(f"  {label + ':':<32}{describe(run)}; epochs: " +
                  ", ".join(f"{s:.1f} s" for s in run["history"]["seconds"]) +
                  f"; L = {run['history']['objective'][-1]:.4f}", flush=True)
            if shim:
                log = os.path.join(work, f"gemm-{i}.log")
                env = dict(os.environ, LD_PRELOAD=shim, ESSC_GEMM_LOG=log, SK_DEBUG_ESTEP="1")
                counted_model = os.path.join(work, f"sk-{i}-counted.h5")
                command = sk_train_command(binaries["sk-train"], data, counted_model, epochs, extra, sk_anneal)
                counted = timed(command, env=env, label=f"{label} (counted)")
                run["gemm"] = read_gemm_log(log) if os.path.exists(log) else None
                run["counted_stderr"] = counted["stderr"]
                print(f"  {label + ', sgemm shim:':<32}{describe(counted)}; epochs: " +
                      ", ".join(f"{s:.1f} s" for s in read_history(counted_model)["seconds"]), flush=True)
            sk_runs.append(run)

        # (b) the reference at 1 and 2 threads ------------------------------------------------------------------------
        def reference_run(label, threads, env, max_batches=None, run_epochs=epochs):
            out = os.path.join(work, f"reference-{label}.json")
            model = os.path.join(work, f"reference-{label}.h5")
            command = me + ["ref-epoch", data, out, "--epochs", str(run_epochs), "--threads", str(threads),
                            "--seed", str(TRAIN_SEED)]
            if not max_batches:
                command += ["--model", model]
            if args.anneal_prior:
                command += ["--anneal-prior", anneal_text, "--schedule", args.reference_schedule]
            if args.max_eval is not None:
                command += ["--max-eval", str(args.max_eval)]
            if max_batches:
                command += ["--max-batches", str(max_batches)]
            run = timed(command, env=env, label=f"reference ({label})")
            with open(out) as f:
                run["result"] = json.load(f)
            run.update(label=f"ref, {threads} thr.", model=model if not max_batches else None)
            return run

        ref_runs = []
        for threads in args.reference_threads:
            run = reference_run(f"{threads}-thread", threads, passive)
            result = run["result"]
            print(f"  {f'reference, {threads} thread(s):':<32}{describe(run)}; epochs: " +
                  ", ".join(f"{e['seconds']:.1f} s" for e in result["epochs"]) +
                  f"; L = {result['epochs'][-1]['objective']:.4f}; import {result['import_seconds']:.1f} s, "
                  f"h5py read {result['load_seconds']:.1f} s", flush=True)
            ref_runs.append(run)

        extras = []
        if args.extras:
            one = dict(os.environ, OPENBLAS_NUM_THREADS="1")
            model = os.path.join(work, "sk-blas1.h5")
            sk1 = timed(sk_train_command(binaries["sk-train"], data, model, 1, [], sk_anneal), env=one,
                        label="sk-train (1 BLAS thread)")
            sk1["history"] = read_history(model)
            print(f"  {'SK, OPENBLAS_NUM_THREADS=1:':<32}{describe(sk1)} (1 epoch)", flush=True)
            refd = reference_run("default-omp", THREADS, default_omp, max_batches=args.default_omp_batches,
                                 run_epochs=1)
            print(f"  {f'reference, 2 thr., default OMP wait, {args.default_omp_batches} batches:':<32} "
                  f"{describe(refd)}", flush=True)
            extras = [("SK, OPENBLAS_NUM_THREADS=1 (first epoch)", sk1, None),
                      (f"reference, 2 threads, default OMP wait ({args.default_omp_batches} batches)", refd,
                       refd["result"])]

        # held-out ELBO of every model from the same evaluator -------------------------------------------------------
        for run in sk_runs + ref_runs:
            run["heldout"] = heldout_elbo(binaries["sk-eval"], run["model"], heldout)
            print(f"  {'sk-eval, ' + run['label'] + ':':<32}held-out ELBO {run['heldout']['mean']:.4f} "
                  f"± {run['heldout']['standard_error']:.4f} nats/patch on {run['heldout']['points']} patches "
                  f"({run['heldout']['seconds']:.1f} s)", flush=True)
        idle_after, busy_after = busy_processes()
        print(f"  machine idle after the runs: {100 * idle_after:.0f}% over 2 s" +
              ("".join(f"; busy: pid {p} {c:.2f} cores {cmd[:60]}" for p, c, cmd in busy_after) if busy_after else ""))
        print()

        # Results -------------------------------------------------------------------------------------------------
        d, h = PATCH * PATCH, LATENTS
        ref_flops_per_eval = 6.0 * BATCH * d * h    # M W^T, and in the backward R W (dL/dmu) and R^T M (dL/dV)
        direct_flops_per_eval = 4.0 * BATCH * d * h  # the direct formula's E-step products without dL/dV
        sk_flops_per_eval = 2.0 * BATCH * h * h     # M W^T W: SparseKit's fixed-W formulation
        for run in sk_runs:
            hist = run["history"]
            run["seconds"] = sum(hist["seconds"]) / epochs
            run["epoch_seconds"] = hist["seconds"]
            run["last"] = {k: v[-1] for k, v in hist.items()}
            run["evals"], run["unit"], run["evals_source"] = sk_evaluations(run, h)
            run["evals"] = run["evals"] / epochs if run["evals"] is not None else None
        for run in ref_runs:
            result = run["result"]
            run["seconds"] = sum(e["seconds"] for e in result["epochs"]) / epochs
            run["epoch_seconds"] = [e["seconds"] for e in result["epochs"]]
            run["last"] = result["epochs"][-1]
            run["evals"] = sum(e["evaluations"] for e in result["epochs"]) / epochs
            run["unit"] = "evaluations"
            run["stops"] = {k: sum(e["stops"][k] for e in result["epochs"]) for k in STOP_REASONS}
            details = {}
            for e in result["epochs"]:
                for k, c in e["stop_details"].items():
                    details[k] = details.get(k, 0) + c
            run["stop_details"] = details
        fastest = min(ref_runs, key=lambda r: r["seconds"])
        columns = sk_runs + ref_runs

        def row(label, value, digits=2):
            return [label] + [value(r) if callable(value) else "" for r in columns]

        def each(f, kinds=("sk", "ref")):
            return lambda r: f(r) if (("ref" if r in ref_runs else "sk") in kinds) else ""

        steps = batches * epochs
        print(f"Results (per epoch, mean over {epochs}; MiB = 2^20 bytes; SK = sk-train; ref = the authors' training "
              f"in PyTorch; speed-up = the faster reference ({fastest['label']}) / the run)")
        print()
        rows = [
            row("seconds per epoch", lambda r: fmt(r["seconds"])),
            row("  fastest .. slowest epoch", lambda r: f"{min(r['epoch_seconds']):.1f} .. "
                f"{max(r['epoch_seconds']):.1f}" if epochs > 1 else ""),
            row("  per minibatch", lambda r: fmt(r["seconds"] / batches, 3)),
            row("speed-up over the faster reference", lambda r: f"{fastest['seconds'] / r['seconds']:.2f}x"),
            row("whole process, wall s", lambda r: fmt(r["wall"])),
            row("whole process, user + sys s", lambda r: fmt(r["user"] + r["sys"])),
            row("peak RSS, MiB", lambda r: fmt(r["peak_mib"], 1)),
            row("  minus the libraries alone", each(lambda r: fmt(r["peak_mib"] - imports["peak_mib"], 1), ("ref",))),
            row("other load during the run, cores", lambda r: fmt(r["others"])),
            row("held-out ELBO (sk-eval), nats/patch", lambda r: fmt(r["heldout"]["mean"], 4)),
            row("  standard error", lambda r: fmt(r["heldout"]["standard_error"], 4)),
            row("  minus the faster reference's",
                lambda r: f"{r['heldout']['mean'] - fastest['heldout']['mean']:+.4f}"),
            row("L after the last epoch (full data, beta 1)", lambda r: fmt(r["last"]["objective"], 4)),
            row("  posterior entropy", lambda r: fmt(r["last"]["posterior_entropy"], 4)),
            row("  prior entropy", lambda r: fmt(r["last"]["prior_entropy"], 4)),
            row("  noise entropy", lambda r: fmt(r["last"]["noise_entropy"], 4)),
            row("  sigma^2", lambda r: f"{r['last']['sigma2']:.5f}"),
            row("  mean lambda", lambda r: f"{r['last']['mean_lambda']:.5f}"),
            row("  mean Gini of |mu_n|", lambda r: f"{r['last']['gini']:.4f}"),
            row("E-step evaluations (L-BFGS) or sweeps", lambda r: f"{r['evals'] * epochs:.0f}"
                + (" sweeps" if r["unit"] == "sweeps" else "") if r["evals"] is not None else "n/a"),
            row("  per E-step (minibatch)",
                lambda r: f"{r['evals'] / batches:.1f}" if r["evals"] is not None else "n/a"),
            row("  per E-step, fewest .. most", each(lambda r: "{} .. {}".format(
                min(c for e in r["result"]["epochs"] for c, _ in e["per_step"]),
                max(c for e in r["result"]["epochs"] for c, _ in e["per_step"])), ("ref",))),
            row("  L-BFGS iterations per E-step",
                each(lambda r: f"{sum(e['iterations'] for e in r['result']['epochs']) / steps:.1f}", ("ref",))),
            row("ms per evaluation (epoch s / evaluations)", lambda r: f"{1e3 * r['seconds'] / r['evals']:.2f}"
                if r["evals"] else "n/a"),
        ]
        for reason in STOP_REASONS:
            rows.append(row(f"E-steps ending by {reason}", each(
                lambda r, reason=reason: f"{r['stops'][reason]} ({100 * r['stops'][reason] / steps:.0f}%)", ("ref",))))
        rows += [
            row("ref time: E-step (L-BFGS) s per epoch", each(
                lambda r: fmt(sum(e["e_step_seconds"] for e in r["result"]["epochs"]) / epochs), ("ref",))),
            row("  forward after the E-step", each(
                lambda r: fmt(sum(e["forward_seconds"] for e in r["result"]["epochs"]) / epochs), ("ref",))),
            row("  M-step", each(lambda r: fmt(sum(e["m_step_seconds"] for e in r["result"]["epochs"]) / epochs),
                                 ("ref",))),
            row("  full-data L + Gini", each(lambda r: fmt(sum(e["seconds"] - e["loop_seconds"]
                                                               for e in r["result"]["epochs"]) / epochs), ("ref",))),
        ]
        print_table(["", *[r["label"] for r in columns]], rows)
        print()
        print(f"Speed-up per epoch against the faster reference ({fastest['label']}, "
              f"{fastest['seconds']:.2f} s/epoch): " +
              "; ".join(f"{r['label']} {fastest['seconds'] / r['seconds']:.2f}x (held-out ELBO "
                        f"{r['heldout']['mean'] - fastest['heldout']['mean']:+.4f} nats/patch)" for r in sk_runs) + ".")
        for r in sk_runs:
            config = r["config"]
            print(f"{r['label']}: sk-train's /config: " + ", ".join(f"{k} {config[k]}" for k in sorted(config)
                                                                     if k not in ("resumed_from",)))
            print(f"    evaluations: {r['evals_source']}")
        settings = ref_runs[0]["result"]["lbfgs"]
        print("reference L-BFGS (torch.optim.LBFGS as constructed, per minibatch): " +
              ", ".join(f"{k} {v}" for k, v in settings.items()) + "; from mu = 0, s = 1; loss = minus the batch mean")
        for r in ref_runs:
            print(f"{r['label']}: E-step stops in detail: " +
                  ", ".join(f"{k}: {c}" for k, c in sorted(r["stop_details"].items(), key=lambda kc: -kc[1])))
            for e in r["result"]["epochs"]:
                for failure in e["failures"]:
                    print(f"    failed E-step: epoch {e['epoch']}, minibatch {failure['batch']}, after "
                          f"{failure['evaluations']} evaluations: {failure['error']}")
        initial = ref_runs[0]["result"]["initial"]
        print(f"L at the common start (initial W, mu = 0, s = 1; float64): {initial['objective']:.4f} nats/point. "
              "SK's L is its own full-data evaluation (/history/objective: float32 data, float64 sums); the "
              "reference's is computed in float64 at its final W and q.")
        print()

        if epochs > 1:
            print("Per epoch (seconds and full-data L at beta 1; ref evaluations per E-step)")
            print()
            header = ["epoch", "beta SK", "beta ref"]
            for r in columns:
                header += [f"{r['label']} s", f"{r['label']} L"]
            header += [f"{r['label']} evals/E" for r in ref_runs]
            epoch_rows = []
            for e in range(epochs):
                line = [str(e + 1), f"{beta_prior(args.anneal_prior, e, args.reference_schedule):g}",
                        f"{ref_runs[0]['result']['epochs'][e]['beta_prior']:g}"]
                for r in sk_runs:
                    line += [fmt(r["history"]["seconds"][e]), fmt(r["history"]["objective"][e], 4)]
                for r in ref_runs:
                    rec = r["result"]["epochs"][e]
                    line += [fmt(rec["seconds"]), fmt(rec["objective"], 4)]
                line += [f"{r['result']['epochs'][e]['evaluations'] / batches:.1f}" for r in ref_runs]
                epoch_rows.append(line)
            print_table(header, epoch_rows)
            print()

        if extras:
            print("Extra configurations (same data, same start)")
            print()
            extra_rows = []
            for label, run, result in extras:
                if result is None:
                    hist = run["history"]
                    sec = sum(hist["seconds"]) / len(hist["seconds"])
                    extra_rows.append([label, fmt(sec), fmt(sec / batches, 3), fmt(hist["objective"][-1], 4),
                                       fmt(run["peak_mib"], 1), fmt(run["others"])])
                else:
                    e = result["epochs"][-1]
                    per_batch = e["loop_seconds"] / e["batches"]
                    extra_rows.append([label, f"~{per_batch * batches:.0f} (extrapolated)", fmt(per_batch, 3),
                                       "(partial epoch)", fmt(run["peak_mib"], 1), fmt(run["others"])])
            print_table(["", "s/epoch", "s/minibatch", "L", "peak MiB", "other load"], extra_rows)
            print()

        print(f"FLOP rates (GFLOP/s = 1e9 flop/s; a reference evaluation = 6 B D H = {ref_flops_per_eval / 1e6:.1f} "
              f"MFLOP in its three products, a SparseKit L-BFGS one 2 B H^2 = {sk_flops_per_eval / 1e6:.1f} MFLOP; "
              f"sgemm best of 5, {THREADS} threads)")
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
        flop_rows = []
        for r in sk_runs:
            if r["evals"] is None or r["unit"] != "evaluations":
                continue
            rate = r["evals"] * sk_flops_per_eval / r["seconds"] / 1e9
            direct = r["evals"] * direct_flops_per_eval / r["seconds"] / 1e9
            flop_rows.append([f"{r['label']}: E-step product flops / epoch s", fmt(rate, 2),
                              f"{100 * rate / peak:.1f}% of system sgemm at 2048^3"])
            flop_rows.append([f"{r['label']}: direct-formula flops (4 B D H) / epoch s", fmt(direct, 2),
                              f"{100 * direct / peak:.1f}% of system sgemm at 2048^3"])
        for r in sk_runs:
            if r.get("gemm"):
                all_flops = sum(2.0 * g["m"] * g["n"] * g["k"] * g["calls"] for g in r["gemm"]) / epochs
                gemm_seconds = sum(g["seconds"] for g in r["gemm"]) / epochs
                if gemm_seconds > 0:
                    flop_rows.append([f"{r['label']}: inside cblas_sgemm (all calls)",
                                      fmt(all_flops / gemm_seconds / 1e9, 2),
                                      f"{100 * all_flops / gemm_seconds / 1e9 / peak:.1f}% of system sgemm at 2048^3"])
                flop_rows.append([f"{r['label']}: share of the epoch in sgemm",
                                  f"{100 * gemm_seconds / r['seconds']:.1f}%",
                                  f"{gemm_seconds:.2f} s of {r['seconds']:.2f} s (instrumented run)"])
        for r in ref_runs:
            rate = r["evals"] * ref_flops_per_eval / r["seconds"] / 1e9
            flop_rows.append([f"{r['label']}: E-step product flops / epoch s", fmt(rate, 2),
                              f"{100 * rate / torch_peak:.1f}% of torch.mm at 2048^3, {THREADS} threads"])
        print_table(["", "GFLOP/s", ""], flop_rows)
        for r in sk_runs:
            if r.get("gemm"):
                print()
                print(f"{r['label']}: sgemm calls per epoch (instrumented run; row-major M x N, inner K):")
                for g in sorted(r["gemm"], key=lambda g: -g["seconds"]):
                    print(f"    {'T' if g['ta'] else 'N'}{'T' if g['tb'] else 'N'} {g['m']:>6} x {g['n']:<4} "
                          f"K={g['k']:<4} {g['calls'] / epochs:8.0f} calls  {g['seconds'] / epochs:7.2f} s  "
                          f"{2.0 * g['m'] * g['n'] * g['k'] * g['calls'] / max(g['seconds'], 1e-12) / 1e9:7.1f} "
                          "GFLOP/s")

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
        print()
        print(f"total runtime {time.perf_counter() - started:.0f} s")
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
        p.add_argument("--heldout", type=int, default=None,
                       help=f"held-out patches (default {HELDOUT}; {QUICK_HELDOUT} with --quick)")
        p.add_argument("--epochs", type=int, default=None,
                       help=f"epochs on each side (default 1; {ANNEAL_EPOCHS} with --anneal-prior)")
        p.add_argument("--anneal-prior", type=parse_anneal, default=None, metavar="START:EPOCHS",
                       help="beta_prior annealing on both sides, sk-train's schedule (e.g. 10:5)")
        p.add_argument("--reference-schedule", choices=("sk-train", "authors"), default="sk-train",
                       help="both sides' annealing schedule: sk-train's linear START:EPOCHS (default) or the authors' script's")
        p.add_argument("--reference-threads", type=lambda t: [int(k) for k in t.split(",")],
                       default=list(REFERENCE_THREADS), metavar="1,2",
                       help="torch thread counts of the timed reference runs (default 1,2; the speed-up is against "
                            "the fastest)")
        p.add_argument("--train-seed", type=int, default=None,
                       help=f"sk-train's --seed and the reference's: initial W and minibatch order (default {SEED}); "
                            "the data stay those of --seed 1, to measure seed-to-seed spread")
        p.add_argument("--sk-args", action="append", default=[], metavar='"OPTIONS"',
                       help="one more SparseKit run with these sk-train options appended (repeatable)")
        p.add_argument("--quick", action="store_true",
                       help=f"smoke test: N = {QUICK_COUNT}, {QUICK_HELDOUT} held-out, unless given")
        p.add_argument("--max-eval", type=int, default=None,
                       help="the reference's L-BFGS max_eval (default: torch's, 1.25 x max_iter = 125)")
        p.add_argument("--no-gemm-count", dest="gemm_count", action="store_false",
                       help="skip the instrumented sk-train runs that count objective evaluations")
        p.add_argument("--no-extras", dest="extras", action="store_false",
                       help="skip the extra runs (sk-train on one BLAS thread; torch with libgomp's default wait)")
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
    ref.add_argument("--model", default=None, help="write the final W, sigma^2, lambda as a SparseKit ES-SC model")
    ref.add_argument("--epochs", type=int, default=1)
    ref.add_argument("--latents", type=int, default=LATENTS)
    ref.add_argument("--batch-size", type=int, default=BATCH)
    ref.add_argument("--iterations", type=int, default=ITERATIONS)
    ref.add_argument("--history", type=int, default=HISTORY)
    ref.add_argument("--max-eval", type=int, default=None)
    ref.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    ref.add_argument("--anneal-prior", type=parse_anneal, default=None, metavar="START:EPOCHS")
    ref.add_argument("--schedule", choices=("sk-train", "authors"), default="sk-train")
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
        if args.epochs is not None and args.epochs < 1:
            parser.error("--epochs must be at least 1")
        if args.train_seed is not None:
            global TRAIN_SEED
            TRAIN_SEED = args.train_seed
        benchmark(args)


if __name__ == "__main__":
    main()
