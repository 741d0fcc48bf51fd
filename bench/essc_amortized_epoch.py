#!/usr/bin/env python3
"""Amortized ES-SC epoch benchmark: `sk-train sc --posterior amortized --scheme adam` against a PyTorch CPU
reference of the same encoder, objective and optimizer, timed per epoch side by side in one run.

Run from anywhere, after building the release binaries:

    swift build -c release --scratch-path .build-amort      # or plain `swift build -c release`, then --bin
    python3 bench/essc_amortized_epoch.py | tee bench/results-essc-amortized.txt   # N = 51,200, 3 epochs
    python3 bench/essc_amortized_epoch.py --quick                                  # smoke test: N = 4,096, 2 epochs

Options: --epochs E (default 3), --quick, --count N, --heldout K, --bin DIR (default: .build-amort/release, else
.build/release), --workdir DIR (default bench/out/essc-amortized), --keep (keep data, models, JSON), --no-check (skip
the replica check, step 6), --no-extras (skip sk-train on one BLAS thread and torch's fused Adam), --no-perf (skip
the perf profile of sk-train).

The workload (../shared/docs/es-sc.md, "Posterior families", amortized; "Training schemes", amortized): N whitened
16x16 gray patches (D = 256) made by the project's own tools (`sk-patches --count N --seed 1 --color gray`, then
`sk-whiten --method zca --epsilon 1e-4`), H = 100 latents; held-out: 10,240 patches cut with `--seed 2` and whitened
with the training transform (`sk-whiten --transform-from`). Both sides train the same model, as sk-train builds it
(Sources/Models/SparseCoding/SparseCodingTrainer+Amortized.swift, SparseCodingSession.swift, Networks/):

- encoder x -> (mu, s) of q(z | x) = N(mu, diag s^2): h0 = Linear(D -> 2D)(x); two residual blocks
  h <- h + Linear(3D -> 2D)(relu(Linear(2D -> 3D)(h))); mu = Linear(2D -> H)(h); s = softplus(Linear(2D -> H)(h))
  + 1e-3;
- initial weights: SparseKit's own. Each Linear is drawn uniform in +-gain sqrt(3 / fan-in), row-major out x in, as
  Float((2u - 1) bound), zero bias, gain 1 for the input layer and each block's first layer, 0.5 for each block's
  second layer and the two heads, in the order input, block0 first/second, block1 first/second, mean, scale, from
  SeededGenerator(seed + 2); V = SparseCodingModel.initial (D x H standard normals from SeededGenerator(seed),
  columns normalised). This file re-implements the generator (bench/swift_random.py), and the replica is checked
  bit for bit in every run (step 6);
- W = V / ||V||_col inside every step (a backward reaches V); the batch objective, the MEAN over the batch's points,
      L = (1/B) sum_n [sum_h log s_nh + H/2 log(2 pi e)] - sum_h log(2 e lambda_h) - D/2 log(2 pi e sigma^2)
  with sigma^2 = (||X - M W^T||^2 + sum_h ||w_h||^2 sum_n s_nh^2) / (B D) and lambda_h = (1/B) sum_n E|z_nh|
  (folded-normal mean) at their closed forms over the batch, beta_prior = 1 (DiagonalEntropyObjective.swift);
- Adam on -L over the encoder's weights and biases and V together: lr 1e-3 (sk-train's default for --scheme adam),
  betas 0.9 / 0.999, eps 1e-8 (torch.optim.Adam's defaults and Sources/Models/Optimizers/Adam.swift's), no weight
  decay, minibatches of 512 in the order SparseKit draws (Array(0..<N).shuffle(using: SeededGenerator(seed + 1))
  every epoch, Swift's Fisher-Yates);
- after each epoch, as sk-train: every training point re-encoded (512 rows at a time), the full-data L (sigma^2,
  lambda over all N, sums in float64) and the mean Gini of |mu_n|. sk-train's /history/seconds includes them, so the
  reference's epoch time does too.

Steps (each timed process runs under GNU time, `/usr/bin/time -v`, for its peak RSS):
1. Data: sk-patches + sk-whiten (training), sk-patches --seed 2 + sk-whiten --transform-from (held-out).
2. SparseKit: `sk-train sc DATA -o sk.h5 --latents 100 --posterior amortized --scheme adam --epochs E
   --batch-size 512 --seed 1 --quiet` (OpenBLAS threads at their default, one per core); seconds and L per epoch from
   /history.
3. The reference, this file's `ref` sub-command as a subprocess: float32 PyTorch, autograd, torch.nn.functional
   layers, torch.optim.Adam as a user writes it (for CPU tensors its default is the per-tensor loop),
   torch.set_num_threads(1) and (2) in two timed runs, OMP_WAIT_POLICY=PASSIVE (as essc_epoch.py: libgomp's active
   waiting stalls torch at 2 threads on a 2-vCPU machine). The minibatch order for an epoch is drawn before that
   epoch's clock starts (the pure-Python generator takes about 0.15 s per epoch; sk-train's shuffle takes
   microseconds). Its final model is written as a SparseKit ES-SC model file (formats.md, "Models": /model/W,
   /model/lambda, /model/sigma2 at their closed forms over all N at its final encoder, as sk-train stores them, the
   encoder under /model/encoder/<layer>/{weight,bias}, the training data's /whitening). The speed-up is reported
   against the FASTER of the two runs.
4. Held-out ELBO of both models from the same evaluator: `sk-eval MODEL HELDOUT.h5 --json` (W, sigma^2, lambda
   fixed, q fitted per point: sk-eval does not use the encoder). Also, from this file's `eval-encoder` sub-command
   (float64, one code path for both model files): the held-out ELBO with q given by each model's ENCODER (the
   amortized ELBO: E_q log p(x|z) + E_q log p(z) + H[q] at the stored W, sigma^2, lambda) with the paired standard
   error of the difference, and the full-data L of each model's encoder on the training data, which must equal the
   model's own last /history/objective (a check that the reference's code computes sk-train's objective and reads
   sk-train's encoder right).
5. Extras (skip with --no-extras): sk-train with OPENBLAS_NUM_THREADS=1; the reference with
   torch.optim.Adam(fused=True) (torch's opt-in fused CPU kernel) at the faster thread count.
6. Replica check (skip with --no-check): `sk-train ... --learning-rate 1e-30 --epochs 1` (Adam moves every weight by
   about 1e-30 per step, far below a float32 ulp, so the weights stay at their initial values; the zero biases move
   to about 1e-28) against the reference with the same learning rate: the encoder weights and V bit for bit, and the
   full-data L after that epoch on both sides.
7. Profile (skip with --no-perf): `perf record -e cpu-clock` on sk-train for one epoch of the same data; the top
   symbols by self time and the split by library.

Reported: seconds per epoch (each epoch, mean, fastest .. slowest), the ratio reference / SparseKit against the
faster reference run, whole-process wall and CPU time, peak RSS (and the reference's minus what its libraries alone
take: imports and one Adam step), the other load on the machine during each run (busy cores beyond the run's own:
rerun when it is not near 0), L per epoch, the held-out ELBOs, the GFLOP/s each side reaches on the epoch's matrix
products (epoch_flops) next to the machine's sgemm rates (the system OpenBLAS through ctypes and torch.mm at 1 and 2
threads, at 2048^3 and at a residual block's 512 x 768 x 512 shape: the `gemm-rates` sub-command), and the target of
issue 15: SparseKit at least 3x faster per epoch than the faster reference at equal held-out ELBO (SparseKit's
sk-eval held-out ELBO at least the reference's minus 0.05 nats/patch, the tolerance the issue sets for the EM goal).
Benchmarks are scripts, never timed assertions.

Sub-commands (the benchmark runs them as subprocesses):

    python3 bench/essc_amortized_epoch.py init INITIAL.npz [--dimension 256] [--latents 100] [--seed 1]
    python3 bench/essc_amortized_epoch.py ref DATA.h5 RESULT.json [--initial INITIAL.npz] [--model MODEL.h5]
        [--epochs E] [--threads 2] [--learning-rate 1e-3] [--adam default|fused] ...
    python3 bench/essc_amortized_epoch.py eval-encoder RESULT.json --train DATA.h5 --heldout HELDOUT.h5 MODEL.h5 ...
    python3 bench/essc_amortized_epoch.py gemm-rates RESULT.json [--library /path/to/libopenblas.so]
"""

import argparse
import glob
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from measure import (busy_processes, describe, heldout_elbo, mean_gini, print_table, read_config, read_history,
                     run_quiet, timed, gflops, whitened_patches, write_essc_model)
from sparsekit import cpu_model, memory_total_bytes, output_of
from swift_random import SeededGenerator

COUNT = 51_200             # training patches (N): 100 minibatches of 512
QUICK_COUNT = 4_096
HELDOUT = 10_240
QUICK_HELDOUT = 1_024
EPOCHS = 3
QUICK_EPOCHS = 2
LATENTS = 100              # H
BATCH = 512                # sk-train's default batch size
LEARNING_RATE = 1e-3       # sk-train's default for --scheme adam
BETAS, ADAM_EPSILON = (0.9, 0.999), 1e-8
MIN_SCALE = 1e-3           # GaussianEncoder.minimumScale
SEED = 1
HELDOUT_SEED = 2
EPSILON = 1e-4             # ZCA epsilon
PATCH = 16
REFERENCE_THREADS = (1, 2)
CHECK_LEARNING_RATE = 1e-30
EQUAL_TOLERANCE = 0.05     # nats/patch: "equal held-out ELBO" (the tolerance for the EM goal)
TARGET = 3.0

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(BENCH_DIR)
IMAGE_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "images"))
DEFAULT_WORKDIR = os.path.join(BENCH_DIR, "out", "essc-amortized")
MIB = 1 << 20
HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
# GaussianEncoder.layerNames with (fan-in, fan-out, gain) as functions of D and H, in SparseKit's draw order.
LAYERS = [("input", lambda d, h: (d, 2 * d), 1.0),
          ("block0/first", lambda d, h: (2 * d, 3 * d), 1.0), ("block0/second", lambda d, h: (3 * d, 2 * d), 0.5),
          ("block1/first", lambda d, h: (2 * d, 3 * d), 1.0), ("block1/second", lambda d, h: (3 * d, 2 * d), 0.5),
          ("mean", lambda d, h: (2 * d, h), 0.5), ("scale", lambda d, h: (2 * d, h), 0.5)]


# ----------------------------------------------------------------------------------------------------------------------
# SparseKit's initial weights (sub-command `init`)
# ----------------------------------------------------------------------------------------------------------------------

def initial_weights(d, h, seed):
    """V (SparseCodingModel.initial: D x H normals from SeededGenerator(seed), columns normalised in float64) and the
    encoder's weights (out x in) from SeededGenerator(seed + 2), in GaussianEncoder's draw order, each value
    Float((2u - 1) bound) with bound = gain sqrt(3 / fan-in) computed in double and rounded once to float32."""
    import numpy as np

    g = SeededGenerator(seed)
    v = np.array([g.normal() for _ in range(d * h)], dtype=np.float32).reshape(d, h).astype(np.float64)
    weights = {"v": (v / np.sqrt((v ** 2).sum(axis=0))).astype(np.float32)}
    g = SeededGenerator(seed + 2)
    for name, shape, gain in LAYERS:
        fan_in, fan_out = shape(d, h)
        bound = gain * math.sqrt(3.0 / fan_in)
        u = np.fromiter((g.uniform() for _ in range(fan_in * fan_out)), dtype=np.float64, count=fan_in * fan_out)
        weights[name] = ((2 * u - 1) * bound).astype(np.float32).reshape(fan_out, fan_in)
    return weights


def write_initial(args):
    import numpy as np

    started = time.perf_counter()
    weights = initial_weights(args.dimension, args.latents, args.seed)
    np.savez(args.output, **{k.replace("/", "."): v for k, v in weights.items()})
    print(f"initial weights drawn in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def load_initial(path):
    import numpy as np

    with np.load(path) as f:
        return {k.replace(".", "/"): f[k] for k in f.files}


# ----------------------------------------------------------------------------------------------------------------------
# The PyTorch model: encoder and objective (shared by `ref` and `eval-encoder`)
# ----------------------------------------------------------------------------------------------------------------------

def encode(layers, x):
    """(mu, s) of the rows of x; `layers` maps GaussianEncoder's layer names to (weight out x in, bias)."""
    import torch.nn.functional as F

    h = F.linear(x, *layers["input"])
    for k in range(2):
        h = h + F.linear(F.relu(F.linear(h, *layers[f"block{k}/first"])), *layers[f"block{k}/second"])
    return F.linear(h, *layers["mean"]), F.softplus(F.linear(h, *layers["scale"])) + MIN_SCALE


def normalized(v):
    """W = V / ||V||_col (ColumnNormalization: norms floored at 1e-12); a backward reaches V."""
    return v / v.norm(dim=0).clamp_min(1e-12)


def batch_objective(x, w, mu, s):
    """L per point on a batch (DiagonalEntropyObjective), sigma^2 and lambda at their closed forms over the batch."""
    import torch

    b, d = x.shape
    h = w.shape[1]
    residual = x - mu @ w.T
    sigma2 = ((residual * residual).sum() + ((s * s).sum(dim=0) * (w * w).sum(dim=0)).sum()) / (b * d)
    t = mu / s * (1 / math.sqrt(2))
    mean_abs = SQRT_2_OVER_PI * s * torch.exp(-t * t) + mu * torch.erf(t)
    lam = mean_abs.sum(dim=0) / b
    posterior = torch.log(s).sum() / b + h * HALF_LOG_2PIE
    prior = torch.log(2 * math.e * lam).sum()
    noise = 0.5 * d * torch.log(2 * math.pi * math.e * sigma2)
    return posterior - prior - noise


def encode_all(layers, x, chunk=BATCH):
    """mu and s of every row, `chunk` rows at a time (as GaussianEncoder.encode), without gradients."""
    import torch

    with torch.no_grad():
        parts = [encode(layers, x[i:i + chunk]) for i in range(0, x.shape[0], chunk)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def full_terms(x, w, mu, s, chunk=4096):
    """L at beta = 1 over all rows, sigma^2 and lambda over all N, its parts: float32 inputs, float64 sums (as
    DiagonalEntropyObjective.terms)."""
    import torch

    n, d = x.shape
    h = w.shape[1]
    w64 = w.double()
    residual_squares, sum_s2, sum_abs, sum_log = 0.0, torch.zeros(h, dtype=torch.float64), \
        torch.zeros(h, dtype=torch.float64), 0.0
    with torch.no_grad():
        for i in range(0, n, chunk):
            xb, m, sd = x[i:i + chunk].double(), mu[i:i + chunk].double(), s[i:i + chunk].double()
            r = xb - m @ w64.T
            residual_squares += float((r * r).sum())
            sum_s2 += (sd * sd).sum(dim=0)
            t = m / sd / math.sqrt(2)
            sum_abs += (SQRT_2_OVER_PI * sd * torch.exp(-t * t) + m * torch.erf(t)).sum(dim=0)
            sum_log += float(torch.log(sd).sum())
    lam = sum_abs / n
    sigma2 = (residual_squares + float((sum_s2 * (w64 * w64).sum(dim=0)).sum())) / (n * d)
    posterior = sum_log / n + h * HALF_LOG_2PIE
    prior = float(torch.log(2 * math.e * lam).sum())
    noise = 0.5 * d * math.log(2 * math.pi * math.e * sigma2)
    return {"objective": posterior - prior - noise, "posterior_entropy": posterior, "prior_entropy": prior,
            "noise_entropy": noise, "sigma2": sigma2, "mean_lambda": float(lam.mean()), "lambda": lam.tolist()}


# ----------------------------------------------------------------------------------------------------------------------
# The reference (sub-command `ref`)
# ----------------------------------------------------------------------------------------------------------------------

def reference(args):
    started = time.perf_counter()
    import h5py
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    imported = time.perf_counter()
    with h5py.File(args.data, "r") as f:
        x = torch.from_numpy(f["data"][...].astype(np.float32, copy=False))
    loaded = time.perf_counter()
    n, d = x.shape
    h = args.latents
    init = load_initial(args.initial) if args.initial else initial_weights(d, h, args.seed)
    if init["v"].shape != (d, h):
        sys.exit(f"{args.initial}: V is {init['v'].shape}, the data and --latents give {(d, h)}")
    v = torch.nn.Parameter(torch.from_numpy(init["v"].copy()))
    layers = {name: (torch.nn.Parameter(torch.from_numpy(init[name].copy())),
                     torch.nn.Parameter(torch.zeros(init[name].shape[0]))) for name, _, _ in LAYERS}
    parameters = [p for name, _, _ in LAYERS for p in layers[name]] + [v]
    variant = {"default": {}, "fused": {"fused": True}}[args.adam]
    optimizer = torch.optim.Adam(parameters, lr=args.learning_rate, betas=BETAS, eps=ADAM_EPSILON, **variant)
    order_generator = SeededGenerator(args.seed + 1)   # SparseKit's minibatch-order generator
    initialized = time.perf_counter()

    epochs = []
    final = None
    for epoch in range(args.epochs):
        order = torch.tensor(order_generator.shuffled(n))   # before the clock (see the docstring)
        epoch_start = time.perf_counter()
        total = 0.0
        for start in range(0, n, args.batch_size):
            xb = x[order[start:start + args.batch_size]]
            mu, s = encode(layers, xb)
            loss = -batch_objective(xb, normalized(v), mu, s)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * xb.shape[0]
        loop_seconds = time.perf_counter() - epoch_start
        with torch.no_grad():
            w = normalized(v)
            mu, s = encode_all(layers, x)
            record = full_terms(x, w, mu, s)
            record["gini"] = mean_gini(mu)
        seconds = time.perf_counter() - epoch_start
        final = record
        record = {k: val for k, val in record.items() if k != "lambda"}
        record.update(epoch=epoch + 1, seconds=seconds, loop_seconds=loop_seconds, batch_mean_loss=total / n)
        epochs.append(record)
        print(f"reference epoch {epoch + 1}: L = {record['objective']:.4f} ({seconds:.2f} s)", file=sys.stderr,
              flush=True)
    result = {"n": n, "d": d, "h": h, "threads": torch.get_num_threads(), "torch": torch.__version__,
              "adam": args.adam, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
              "import_seconds": imported - started, "load_seconds": loaded - imported,
              "init_seconds": initialized - loaded, "epochs": epochs,
              "parameters": sum(p.numel() for p in parameters)}
    if args.model:
        with torch.no_grad():
            w = normalized(v.double()).float().numpy()
        write_reference_model(args.model, args.data, w, final, epochs,
                              {name: (wt.detach().numpy(), b.detach().numpy()) for name, (wt, b) in layers.items()}, args)
        result["model"] = args.model
    with open(args.result, "w") as f:
        json.dump(result, f, indent=1)


def write_reference_model(path, data_path, w, final, epochs, layers, args):
    """The reference's final W, lambda, sigma^2 (closed forms over all N at its final encoder) and encoder as a
    SparseKit ES-SC model file with its /config and /history (`write_essc_model`)."""
    import numpy as np

    datasets = {"model/W": np.asarray(w, dtype=np.float32), "model/lambda": np.asarray(final["lambda"], dtype=np.float32),
                "model/sigma2": np.float32(final["sigma2"])}
    for name, (weight, bias) in layers.items():
        datasets[f"model/encoder/{name}/weight"] = np.asarray(weight, dtype=np.float32)
        datasets[f"model/encoder/{name}/bias"] = np.asarray(bias, dtype=np.float32)
    history_keys = ("objective", "posterior_entropy", "prior_entropy", "noise_entropy", "sigma2", "mean_lambda", "gini",
                    "seconds")
    write_essc_model(
        path, data_path, "essc_amortized_epoch.py ref (PyTorch reference of sk-train's amortized scheme)", datasets,
        {key: [e[key] for e in epochs] for key in history_keys},
        {"latents": args.latents, "scheme": "adam", "posterior": "amortized", "objective": "entropy",
         "batch_size": args.batch_size, "epochs": args.epochs, "learning_rate": args.learning_rate, "seed": args.seed,
         "threads": args.threads, "adam": args.adam, "reference": "bench/essc_amortized_epoch.py ref (PyTorch)"})


# ----------------------------------------------------------------------------------------------------------------------
# One evaluator for both models' encoders (sub-command `eval-encoder`)
# ----------------------------------------------------------------------------------------------------------------------

def read_model(path):
    """W, sigma^2, lambda, the encoder layers and the last recorded L of an ES-SC model file."""
    import h5py
    import torch

    with h5py.File(path, "r") as f:
        model = {"w": torch.from_numpy(f["model/W"][...]), "sigma2": float(f["model/sigma2"][()]),
                 "lambda": torch.from_numpy(f["model/lambda"][...]).double(),
                 "layers": {name: (torch.from_numpy(f[f"model/encoder/{name}/weight"][...]),
                                   torch.from_numpy(f[f"model/encoder/{name}/bias"][...])) for name, _, _ in LAYERS},
                 "history_objective": float(f["history/objective"][-1]) if "history/objective" in f else None}
    return model


def amortized_elbo(model, x, chunk=4096):
    """Per point, the ordinary ELBO E_q log p(x|z) + E_q log p(z) + H[q] with q from the model's encoder (float32
    network, float64 ELBO) at the model's W, sigma^2, lambda (es-sc.md, "Evaluation": the held-out ELBO keeps them
    fixed)."""
    import torch

    mu, s = encode_all(model["layers"], x)
    w = model["w"].double()
    d = x.shape[1]
    sigma2, lam = model["sigma2"], model["lambda"]
    values = []
    for i in range(0, x.shape[0], chunk):
        xb, m, sd = x[i:i + chunk].double(), mu[i:i + chunk].double(), s[i:i + chunk].double()
        r = xb - m @ w.T
        expected_residual = (r * r).sum(dim=1) + ((sd * sd) * (w * w).sum(dim=0)).sum(dim=1)
        likelihood = -0.5 * d * math.log(2 * math.pi * sigma2) - expected_residual / (2 * sigma2)
        t = m / sd / math.sqrt(2)
        mean_abs = SQRT_2_OVER_PI * sd * torch.exp(-t * t) + m * torch.erf(t)
        prior = (-torch.log(2 * lam) - mean_abs / lam).sum(dim=1)
        entropy = torch.log(sd).sum(dim=1) + m.shape[1] * HALF_LOG_2PIE
        values.append(likelihood + prior + entropy)
    return torch.cat(values)


def evaluate_encoders(args):
    import h5py
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)

    def read(path):
        with h5py.File(path, "r") as f:
            return torch.from_numpy(f["data"][...].astype(np.float32, copy=False))

    train, heldout = read(args.train), read(args.heldout)
    result = {"models": [], "paired": []}
    per_point = []
    for path in args.models:
        model = read_model(path)
        mu, s = encode_all(model["layers"], train)
        terms = full_terms(train, model["w"], mu, s)
        values = amortized_elbo(model, heldout)
        per_point.append(values)
        result["models"].append({"path": path, "train_objective": terms["objective"],
                                 "history_objective": model["history_objective"],
                                 "heldout_amortized_elbo": float(values.mean()),
                                 "standard_error": float(values.std() / math.sqrt(len(values)))})
    for i in range(1, len(per_point)):
        difference = per_point[0] - per_point[i]
        result["paired"].append({"minus": args.models[i], "mean": float(difference.mean()),
                                 "standard_error": float(difference.std() / math.sqrt(len(difference)))})
    with open(args.result, "w") as f:
        json.dump(result, f, indent=1)


# ----------------------------------------------------------------------------------------------------------------------
# FLOPs of an epoch and the machine's sgemm rates (sub-command `gemm-rates`)
# ----------------------------------------------------------------------------------------------------------------------

def epoch_flops(n, d, h):
    """The least floating-point work of an epoch, counting only the matrix products (2 flops per multiply-add):
    per training point the encoder's forward (D 2D + 2 (2D 3D + 3D 2D) + 2 (2D H) multiply-adds), its backward
    (dW of every layer, dX of every layer but the input layer: 2x the forward minus D 2D), and the objective's
    M W^T, R W and R^T M (3 D H); then the re-encoding of all N (forward) and the full-data residual (D H)."""
    forward = d * 2 * d + 2 * (2 * d * 3 * d + 3 * d * 2 * d) + 2 * (2 * d * h)
    training = 3 * forward - d * 2 * d + 3 * d * h
    return 2.0 * n * (training + forward + d * h)


# (label, M, N, K): row-major C[M x N] = A[M x K] B[K x N].
GEMM_SHAPES = [("2048 x 2048 x 2048", 2048, 2048, 2048),
               ("block layer: 512 x 768, K = 512", BATCH, 768, 512)]


def gemm_rates(args):
    """GFLOP/s of sgemm at GEMM_SHAPES: the system OpenBLAS that sk-train links (ctypes; its default threads) and
    torch.mm at 1 and 2 threads (MKL), best of 5 timings of about 2 GFLOP each."""
    import ctypes

    import numpy as np
    import torch

    rng = np.random.default_rng(0)
    rates = {}

    if args.library:
        lib = ctypes.CDLL(args.library)
        f32p = ctypes.POINTER(ctypes.c_float)
        lib.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, f32p, ctypes.c_int, f32p, ctypes.c_int,
                                                        ctypes.c_float, f32p, ctypes.c_int]
        lib.cblas_sgemm.restype = None
        key = f"system OpenBLAS, {lib.openblas_get_num_threads()} thr."
        rates[key] = {}
        for label, m, n, k in GEMM_SHAPES:
            a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
            c = np.zeros((m, n), dtype=np.float32)
            pa, pb, pc = (z.ctypes.data_as(f32p) for z in (a, b, c))
            rates[key][label] = gflops(lambda: lib.cblas_sgemm(101, 111, 111, m, n, k, 1.0, pa, k, pb, n, 0.0,
                                                                  pc, n), 2.0 * m * n * k)
    for threads in REFERENCE_THREADS:
        torch.set_num_threads(threads)
        key = f"torch.mm, {threads} thr."
        rates[key] = {}
        for label, m, n, k in GEMM_SHAPES:
            a, b, c = torch.randn(m, k), torch.randn(k, n), torch.zeros(m, n)
            rates[key][label] = gflops(lambda: torch.mm(a, b, out=c), 2.0 * m * n * k)
    with open(args.result, "w") as f:
        json.dump(rates, f, indent=1)


# The reference's memory before any data: its imports and one Adam step on 3 values.
LIBRARY_FOOTPRINT = """import h5py, numpy, torch
x = torch.nn.Parameter(torch.zeros(3))
optimizer = torch.optim.Adam([x])
((x - 1) ** 2).sum().backward()
optimizer.step()
"""


# ----------------------------------------------------------------------------------------------------------------------
# Benchmark harness
# ----------------------------------------------------------------------------------------------------------------------

def make_data(binaries, images, work, count, name, seed=SEED, transform_from=None):
    """`count` gray patches cut with `seed`, ZCA-whitened (or whitened with the transform of `transform_from`)."""
    return whitened_patches(binaries, images, work, count, name, seed, PATCH, EPSILON, transform_from)


def sk_train_command(binary, data, model, epochs, learning_rate=None):
    command = [binary, "sc", data, "-o", model, "--latents", LATENTS, "--posterior", "amortized", "--scheme", "adam",
               "--epochs", epochs, "--batch-size", BATCH, "--seed", SEED]
    if learning_rate is not None:
        command += ["--learning-rate", repr(learning_rate)]
    return [str(c) for c in command + ["--quiet"]]


def system_openblas(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "libopenblas" in line and "=>" in line:
            return os.path.realpath(line.split("=>")[1].split("(")[0].strip())
    return ""


def perf_profile(binary_command, work, env=None):
    """Self time of sk-train under `perf record -e cpu-clock`: (top symbols, split by library) as text lines, or
    (None, why)."""
    if not shutil.which("perf"):
        return None, "perf not found"
    record = os.path.join(work, "perf.data")
    done = subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "999", "-o", record, "--", *binary_command],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return None, (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    demangler = shutil.which("swift-demangle")

    def report(sort, limit):
        out = subprocess.run(["perf", "report", "-i", record, "--no-children", "--sort", sort, "--stdio",
                              "--percent-limit", str(limit)], capture_output=True, text=True).stdout
        lines = []
        for line in out.splitlines():
            parts = line.split()
            if not parts or line.startswith("#") or not parts[0].endswith("%"):
                continue
            if sort == "dso":
                lines.append(f"{parts[0]:>7}  {' '.join(parts[1:])}")
                continue
            percent, dso, symbol = parts[0], parts[1], " ".join(p for p in parts[3:] if p != "-")
            if demangler and symbol.startswith("$s"):
                symbol = subprocess.run([demangler, "--simplified", "--compact", symbol], capture_output=True,
                                        text=True).stdout.strip() or symbol
            lines.append(f"{percent:>7}  {dso:<24} {symbol[:120]}")
        return lines

    return (report("dso,symbol", 0.5)[:25], report("dso", 0.5)), None


def header(binaries):
    import datetime

    import h5py
    import numpy as np
    import torch

    flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    dirty = output_of(["git", "status", "--porcelain", "--untracked-files=no", "--", "Sources"])
    commit = output_of(["git", "rev-parse", "--short", "HEAD"]) + (" (Sources/ has uncommitted changes)" if dirty else "")
    built = datetime.datetime.fromtimestamp(os.path.getmtime(binaries["sk-train"]), datetime.timezone.utc)
    newest = max(os.path.getmtime(os.path.join(root, name))
                 for root, _, names in os.walk(os.path.join(PACKAGE_DIR, "Sources")) for name in names)
    lines = [
        f"date:            {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"machine:         {cpu_model()} ({simd}), nproc = {os.cpu_count()}, "
        f"{memory_total_bytes() / 2 ** 30:.0f} GiB RAM, {platform.platform()}",
        f"SparseKit:       commit {commit}; sk-train at {os.path.relpath(binaries['sk-train'], PACKAGE_DIR)} built "
        f"{built.isoformat(timespec='seconds')}",
        f"  BLAS:          {system_openblas(binaries['sk-train'])} (OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; unset = one thread per core)",
        f"reference:       PyTorch {torch.__version__} on the CPU, float32, autograd, torch.optim.Adam, "
        f"torch.set_num_threads(1) and (2), OMP_WAIT_POLICY=PASSIVE, BLAS "
        f"{'MKL' if torch.backends.mkl.is_available() else '?'}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}",
        f"Python:          {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__}",
    ]
    if newest > os.path.getmtime(binaries["sk-train"]):
        lines.append("WARNING:         a file under Sources/ is newer than sk-train: rebuild to measure it")
    return lines


def default_bin():
    for candidate in (os.path.join(PACKAGE_DIR, ".build-amort", "release"), os.path.join(PACKAGE_DIR, ".build", "release")):
        if os.access(os.path.join(candidate, "sk-train"), os.X_OK):
            return candidate
    return os.path.join(PACKAGE_DIR, ".build", "release")


def benchmark(args):
    count = args.count or (QUICK_COUNT if args.quick else COUNT)
    heldout_count = args.heldout or (QUICK_HELDOUT if args.quick else HELDOUT)
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS)
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("GNU time is needed for peak memory: apt-get install -y time")
    binaries = {name: os.path.join(args.bin, name) for name in ("sk-patches", "sk-whiten", "sk-train", "sk-eval")}
    missing = [p for p in binaries.values() if not os.access(p, os.X_OK)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run `swift build -c release --scratch-path .build-amort` in "
                 f"{PACKAGE_DIR} or pass --bin DIR")
    images = sorted(glob.glob(os.path.join(IMAGE_DIR, "*.png")))
    if not images:
        sys.exit(f"no PNG images in {IMAGE_DIR}")
    os.makedirs(args.workdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run-", dir=args.workdir)
    me = [sys.executable, os.path.abspath(__file__)]
    passive = dict(os.environ)
    passive.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    started = time.perf_counter()
    try:
        idle_before, busy_before = busy_processes()
        print("Amortized ES-SC epoch benchmark: sk-train sc --posterior amortized --scheme adam against PyTorch")
        print("=" * 100)
        for line in header(binaries):
            print(line)
        print(f"load:            {100 * idle_before:.0f}% of the CPU time idle over 2 s before starting, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; 'other load' below = busy CPU time of the machine "
              "during a run minus the run's own, in cores")
        if idle_before < 0.9 or busy_before:
            print("WARNING:         the machine was NOT idle before starting: timings may be inflated. Busy:")
            for pid, cores, command in busy_before:
                print(f"                   pid {pid}: {cores:.2f} cores  {command}")

        footprint = timed([sys.executable, "-c", LIBRARY_FOOTPRINT], env=passive, label="library footprint")
        print(f"                 the reference's libraries alone (imports, one Adam step on 3 values): "
              f"{footprint['peak_mib']:.0f} MiB peak RSS")
        rates_json = os.path.join(work, "gemm.json")
        blas = system_openblas(binaries["sk-train"])
        run_quiet(me + ["gemm-rates", rates_json] + (["--library", blas] if blas else []), "gemm-rates", env=passive)
        with open(rates_json) as f:
            rates = json.load(f)

        # 1. Data ---------------------------------------------------------------------------------------------------
        data, data_seconds = make_data(binaries, images, work, count, "train")
        heldout, heldout_seconds = make_data(binaries, images, work, heldout_count, "heldout", seed=HELDOUT_SEED,
                                             transform_from=data)
        d = PATCH * PATCH
        batches = math.ceil(count / BATCH)
        initial = os.path.join(work, "initial.npz")
        run_quiet(me + ["init", initial, "--dimension", d, "--latents", LATENTS, "--seed", SEED], "init")
        print(f"workload:        N = {count} gray {PATCH}x{PATCH} patches (sk-patches --seed {SEED}), ZCA-whitened "
              f"(sk-whiten --epsilon {EPSILON:g}), D = {d}, H = {LATENTS}; {epochs} epochs of {batches} minibatches "
              f"of {BATCH}; same /data, initial weights and minibatch order on both sides")
        print(f"                 data made in {data_seconds:.1f} s; held-out: {heldout_count} patches (sk-patches "
              f"--seed {HELDOUT_SEED}, sk-whiten --transform-from the training file), made in {heldout_seconds:.1f} s")
        print(f"model:           encoder Linear({d}->{2 * d}), 2 x residual [Linear({2 * d}->{3 * d}), ReLU, "
              f"Linear({3 * d}->{2 * d})], heads mu = Linear({2 * d}->{LATENTS}), s = softplus(Linear({2 * d}->"
              f"{LATENTS})) + 1e-3; W = V/||V||; Adam lr {LEARNING_RATE:g}, betas {BETAS[0]}/{BETAS[1]}, eps "
              f"{ADAM_EPSILON:g} over the encoder and V")
        print(f"SK:              sk-train sc DATA.h5 -o sk.h5 --latents {LATENTS} --posterior amortized --scheme adam "
              f"--epochs {epochs} --batch-size {BATCH} --seed {SEED} --quiet")
        print(f"reference:       python3 bench/essc_amortized_epoch.py ref DATA.h5 RESULT.json --initial INITIAL.npz "
              f"--model MODEL.h5 --epochs {epochs} --threads 1|2   (OMP_WAIT_POLICY=PASSIVE)")
        print("evaluators:      sk-eval MODEL.h5 HELDOUT.h5 --json (W, sigma^2, lambda fixed, q fitted per point); "
              "essc_amortized_epoch.py eval-encoder (q from each model's encoder)")
        print(flush=True)

        # 2. SparseKit ----------------------------------------------------------------------------------------------
        print("Runs")
        sk_model = os.path.join(work, "sk.h5")
        sk = timed(sk_train_command(binaries["sk-train"], data, sk_model, epochs), label="sk-train")
        sk.update(label="SparseKit", model=sk_model, history=read_history(sk_model), config=read_config(sk_model))
        print(f"  {'SparseKit:':<30}{describe(sk)}; epochs: "
              + ", ".join(f"{s:.2f} s" for s in sk["history"]["seconds"]), flush=True)

        # 3. The reference at 1 and 2 threads -----------------------------------------------------------------------
        def reference_run(label, threads, adam="default", model=True):
            out = os.path.join(work, f"ref-{adam}-{threads}.json")
            path = os.path.join(work, f"ref-{adam}-{threads}.h5")
            command = me + ["ref", data, out, "--initial", initial, "--epochs", epochs, "--threads", threads,
                            "--adam", adam] + (["--model", path] if model else [])
            run = timed(command, env=passive, label=f"reference ({label})")
            with open(out) as f:
                run["result"] = json.load(f)
            run["history"] = {"seconds": [e["seconds"] for e in run["result"]["epochs"]],
                              "objective": [e["objective"] for e in run["result"]["epochs"]]}
            run.update(label=label, model=path if model else None)
            print(f"  {label + ':':<30}{describe(run)}; epochs: "
                  + ", ".join(f"{s:.2f} s" for s in run["history"]["seconds"])
                  + f"; import {run['result']['import_seconds']:.1f} s, read {run['result']['load_seconds']:.1f} s",
                  flush=True)
            return run

        refs = [reference_run(f"torch, {t} thr.", t) for t in REFERENCE_THREADS]
        fastest = min(refs, key=lambda r: sum(r["history"]["seconds"]))

        # 5. Extras -------------------------------------------------------------------------------------------------
        extras = []
        if not args.no_extras:
            one = dict(os.environ, OPENBLAS_NUM_THREADS="1")
            model = os.path.join(work, "sk-blas1.h5")
            run = timed(sk_train_command(binaries["sk-train"], data, model, epochs), env=one, label="sk-train (1 thr.)")
            run.update(label="SK, 1 BLAS thr.", history=read_history(model))
            print(f"  {run['label'] + ':':<30}{describe(run)}; epochs: "
                  + ", ".join(f"{s:.2f} s" for s in run["history"]["seconds"]), flush=True)
            extras.append(run)
            extras.append(reference_run(f"torch fused, {fastest['result']['threads']} thr.",
                                        fastest["result"]["threads"], adam="fused", model=False))

        # 4. Held-out ELBOs -----------------------------------------------------------------------------------------
        for run in [sk] + refs:
            run["heldout"] = heldout_elbo(binaries["sk-eval"], run["model"], heldout)
            print(f"  {'sk-eval, ' + run['label'] + ':':<30}held-out ELBO {run['heldout']['mean']:.4f} "
                  f"± {run['heldout']['standard_error']:.4f} nats/patch on {run['heldout']['points']} patches "
                  f"({run['heldout']['seconds']:.1f} s)", flush=True)
        encoders_json = os.path.join(work, "encoders.json")
        run_quiet(me + ["eval-encoder", encoders_json, "--train", data, "--heldout", heldout, sk_model]
                  + [r["model"] for r in refs], "eval-encoder", env=passive)
        with open(encoders_json) as f:
            encoders = json.load(f)
        for run, model in zip([sk] + refs, encoders["models"]):
            run["encoder_eval"] = model
        for run, paired in zip(refs, encoders["paired"]):
            run["encoder_paired"] = paired

        # 6. Replica check -------------------------------------------------------------------------------------------
        check = None
        if not args.no_check:
            check_model = os.path.join(work, "check.h5")
            run_quiet(sk_train_command(binaries["sk-train"], data, check_model, 1, CHECK_LEARNING_RATE),
                      "sk-train (replica check)")
            out = os.path.join(work, "ref-check.json")
            run_quiet(me + ["ref", data, out, "--initial", initial, "--epochs", 1, "--threads", 2,
                            "--learning-rate", repr(CHECK_LEARNING_RATE)], "reference (replica check)", env=passive)
            check = replica_check(initial, check_model, out)

        # 7. Profile ------------------------------------------------------------------------------------------------
        profile = None
        if not args.no_perf:
            profile = perf_profile(sk_train_command(binaries["sk-train"], data, os.path.join(work, "perf.h5"), 1), work)

        idle_after, busy_after = busy_processes()
        print(f"  machine idle after the runs: {100 * idle_after:.0f}% over 2 s, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
              + "".join(f"; busy: pid {p} {c:.2f} cores {cmd[:60]}" for p, c, cmd in busy_after))
        print()
        report(sk, refs, fastest, extras, check, profile, epochs, batches, count, footprint, rates)
        print(f"total runtime {time.perf_counter() - started:.0f} s")
    finally:
        if args.keep:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def replica_check(initial_path, check_model, ref_result):
    import h5py
    import numpy as np

    initial = load_initial(initial_path)
    same = total = 0
    biggest_bias = 0.0
    with h5py.File(check_model, "r") as f:
        pairs = [(f["training/v"][...], initial["v"])] + \
            [(f[f"model/encoder/{name}/weight"][...], initial[name]) for name, _, _ in LAYERS]
        for stored, drawn in pairs:
            if stored.shape == drawn.shape:
                same += int(np.sum(stored.view(np.uint32) == drawn.view(np.uint32)))
            total += drawn.size
        for name, _, _ in LAYERS:
            biggest_bias = max(biggest_bias, float(np.abs(f[f"model/encoder/{name}/bias"][...]).max()))
        sk_objective = float(f["history/objective"][0])
    with open(ref_result) as f:
        ref_objective = json.load(f)["epochs"][0]["objective"]
    return {"same": same, "total": total, "biggest_bias": biggest_bias, "sk_objective": sk_objective,
            "ref_objective": ref_objective}


def report(sk, refs, fastest, extras, check, profile, epochs, batches, count, footprint, rates):
    mean = lambda values: sum(values) / len(values)
    columns = [sk] + refs + extras
    print("Per epoch (seconds from SparseKit's /history/seconds and the reference's clock: the minibatch loop plus "
          "re-encoding all N, full-data L and Gini; ratio = the run's seconds / SparseKit's; L = full-data "
          "objective after the epoch)")
    print()
    head = ["epoch"] + [f"{r['label']} s" for r in [sk] + refs] + [f"{r['label']} / SK" for r in refs] + \
        [f"{r['label']} L" for r in [sk] + refs]
    rows = []
    for e in range(epochs):
        rows.append([str(e + 1)] + [f"{r['history']['seconds'][e]:.2f}" for r in [sk] + refs]
                    + [f"{r['history']['seconds'][e] / sk['history']['seconds'][e]:.2f}x" for r in refs]
                    + [f"{r['history']['objective'][e]:.4f}" for r in [sk] + refs])
    print_table(head, rows)
    print()

    def row(label, f, runs=None):
        return [label] + [f(r) if runs is None or r in runs else "" for r in columns]

    sk_mean = mean(sk["history"]["seconds"])
    models = [sk] + refs
    flops = epoch_flops(count, PATCH * PATCH, LATENTS)
    rows = [
        row("seconds per epoch, mean", lambda r: f"{mean(r['history']['seconds']):.2f}"),
        row("  fastest .. slowest epoch", lambda r: f"{min(r['history']['seconds']):.2f} .. "
            f"{max(r['history']['seconds']):.2f}"),
        row("  per minibatch, ms", lambda r: f"{1e3 * mean(r['history']['seconds']) / batches:.1f}"),
        row("  minibatch loop only, s", lambda r: f"{mean([e['loop_seconds'] for e in r['result']['epochs']]):.2f}",
            [r for r in columns if "result" in r]),
        row("ratio to SparseKit (mean / mean)", lambda r: f"{mean(r['history']['seconds']) / sk_mean:.2f}x"),
        row("whole process, wall s", lambda r: f"{r['wall']:.1f}"),
        row("whole process, user + sys s", lambda r: f"{r['user'] + r['sys']:.1f}"),
        row("  GFLOP/s (products only, see below)", lambda r: f"{flops / mean(r['history']['seconds']) / 1e9:.1f}"),
        row("peak RSS, MiB", lambda r: f"{r['peak_mib']:.1f}"),
        row("  minus the libraries alone", lambda r: f"{r['peak_mib'] - footprint['peak_mib']:.1f}",
            [r for r in columns if "result" in r]),
        row("other load during the run, cores", lambda r: f"{r['others']:.2f}"),
        row("held-out ELBO, sk-eval (q per point)", lambda r: f"{r['heldout']['mean']:.4f}", models),
        row("  standard error", lambda r: f"{r['heldout']['standard_error']:.4f}", models),
        row("  SparseKit minus this", lambda r: f"{sk['heldout']['mean'] - r['heldout']['mean']:+.4f}", refs),
        row("held-out ELBO, q from the encoder", lambda r: f"{r['encoder_eval']['heldout_amortized_elbo']:.4f}", models),
        row("  standard error", lambda r: f"{r['encoder_eval']['standard_error']:.4f}", models),
        row("  SparseKit minus this (paired s.e.)", lambda r: f"{r['encoder_paired']['mean']:+.4f} "
            f"({r['encoder_paired']['standard_error']:.4f})", refs),
        row("L after the last epoch (own record)", lambda r: f"{r['history']['objective'][-1]:.4f}", models),
        row("  recomputed by eval-encoder", lambda r: f"{r['encoder_eval']['train_objective']:.4f}", models),
        row("sigma^2 (sk-eval's report)", lambda r: f"{r['heldout']['sigma2']:.5f}", models),
        row("mean lambda", lambda r: f"{r['heldout']['lambda_mean']:.5f}", models),
        row("mean Gini, held-out fitted mu", lambda r: f"{r['heldout']['gini']:.4f}", models),
    ]
    print(f"Summary (mean over {epochs} epochs; N = {count}; MiB = 2^20 bytes)")
    print()
    print_table([""] + [r["label"] for r in columns], rows)
    print()
    print(f"Reference parameters: {refs[0]['result']['parameters']:,} (encoder weights and biases, and V); Adam "
          f"steps per epoch: {batches}. The reference's libraries alone take {footprint['peak_mib']:.0f} MiB.")
    print(f"GFLOP/s: {flops / 1e9:.0f} GFLOP per epoch (matrix products only: encoder forward and backward without "
          "the input layer's dX, the objective's three D x H products per point, re-encoding all N) / seconds per "
          "epoch. sgemm rates on this machine, GFLOP/s (best of 5):")
    for backend, by_shape in rates.items():
        print(f"  {backend:<28}" + "; ".join(f"{shape}: {rate:.1f}" for shape, rate in by_shape.items()))
    if check:
        print()
        print("Replica check (both sides with --learning-rate 1e-30, 1 epoch: the weights stay at their initial values):")
        print(f"  initial V and encoder weights identical bit for bit: {check['same']:,} of {check['total']:,}"
              f" (the zero biases moved to at most {check['biggest_bias']:.1e} on SparseKit's side)")
        print(f"  full-data L after the epoch: SparseKit {check['sk_objective']:.6f}, reference "
              f"{check['ref_objective']:.6f} (difference {check['sk_objective'] - check['ref_objective']:+.2e})")
    if profile is not None:
        print()
        lines, why = profile
        if lines is None:
            print(f"Profile of sk-train: perf unavailable ({why})")
        else:
            symbols, libraries = lines
            print(f"Where sk-train's time goes: perf record -e cpu-clock (all threads), sk-train 1 epoch on the same "
                  f"N = {count} (includes reading the data and writing the model); self time")
            print("  by library:")
            for line in libraries:
                print("    " + line)
            print("  top symbols:")
            for line in symbols:
                print("    " + line)
    ratio = mean(fastest["history"]["seconds"]) / sk_mean
    difference = sk["heldout"]["mean"] - fastest["heldout"]["mean"]
    equal = difference >= -EQUAL_TOLERANCE
    print()
    print("Target (issue 15): the amortized scheme at least 3x faster per epoch than the PyTorch reference of the same "
          "encoder (its faster thread count) at equal held-out ELBO")
    print(f"  speed-up: {ratio:.2f}x against {fastest['label']} ({mean(fastest['history']['seconds']):.2f} s/epoch "
          f"against {sk_mean:.2f}) -> {'met' if ratio >= TARGET else 'NOT met'}")
    print(f"  held-out ELBO (sk-eval): SparseKit {sk['heldout']['mean']:.4f}, reference "
          f"{fastest['heldout']['mean']:.4f}, difference {difference:+.4f} nats/patch -> "
          f"{'equal or better' if equal else 'LOWER'} (tolerance {EQUAL_TOLERANCE} nats/patch)")
    if max(r["others"] for r in columns) > 0.2:
        print("NOTE: other processes kept the machine busy during a run ('other load' above): the timings are noisy; "
              "rerun on an idle machine.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--epochs", type=int, help=f"epochs on each side (default {EPOCHS}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--quick", action="store_true", help=f"smoke test: N = {QUICK_COUNT}, {QUICK_HELDOUT} held-out")
    parser.add_argument("--count", type=int, help=f"training patches (default {COUNT})")
    parser.add_argument("--heldout", type=int, help=f"held-out patches (default {HELDOUT})")
    parser.add_argument("--bin", default=default_bin(), help="the SparseKit binaries (default .build-amort/release, "
                        "else .build/release)")
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR, help="where the run's files go (default "
                        "bench/out/essc-amortized)")
    parser.add_argument("--keep", action="store_true", help="keep the run's files")
    parser.add_argument("--no-check", action="store_true", help="skip the replica check")
    parser.add_argument("--no-extras", action="store_true", help="skip sk-train on 1 BLAS thread and torch's fused Adam")
    parser.add_argument("--no-perf", action="store_true", help="skip the perf profile of sk-train")

    init = sub.add_parser("init", help="SparseKit's initial V and encoder weights, to an .npz")
    init.add_argument("output")
    init.add_argument("--dimension", type=int, default=PATCH * PATCH)
    init.add_argument("--latents", type=int, default=LATENTS)
    init.add_argument("--seed", type=int, default=SEED)

    ref = sub.add_parser("ref", help="the PyTorch reference (run as a subprocess by the benchmark)")
    ref.add_argument("data")
    ref.add_argument("result")
    ref.add_argument("--initial", help="the initial weights from `init` (default: drawn here)")
    ref.add_argument("--model", help="write the final model here as a SparseKit ES-SC model file")
    ref.add_argument("--epochs", type=int, default=EPOCHS)
    ref.add_argument("--threads", type=int, default=2)
    ref.add_argument("--latents", type=int, default=LATENTS)
    ref.add_argument("--batch-size", type=int, default=BATCH)
    ref.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    ref.add_argument("--seed", type=int, default=SEED)
    ref.add_argument("--adam", choices=["default", "fused"], default="default",
                     help="torch.optim.Adam's implementation: default (for CPU tensors the per-tensor loop) or fused")

    evaluate = sub.add_parser("eval-encoder", help="held-out ELBO with q from each model's encoder, and its L on the "
                              "training data")
    evaluate.add_argument("result")
    evaluate.add_argument("models", nargs="+")
    evaluate.add_argument("--train", required=True)
    evaluate.add_argument("--heldout", required=True)
    evaluate.add_argument("--threads", type=int, default=2)

    gemm = sub.add_parser("gemm-rates", help="sgemm GFLOP/s of the system OpenBLAS and torch.mm")
    gemm.add_argument("result")
    gemm.add_argument("--library", help="the system OpenBLAS (libopenblas.so) to call through ctypes")

    options = parser.parse_args()
    if options.command == "init":
        write_initial(options)
    elif options.command == "ref":
        reference(options)
    elif options.command == "eval-encoder":
        evaluate_encoders(options)
    elif options.command == "gemm-rates":
        gemm_rates(options)
    else:
        if options.epochs is not None and options.epochs < 1:
            parser.error("--epochs must be at least 1")
        benchmark(options)


if __name__ == "__main__":
    main()
