#!/usr/bin/env python3
"""Held-out likelihood table (issue 13, "Results a user can see"): density baselines, ES-SC and unsupervised SDLGM on
8x8 and 16x16 whitened natural patches, held-out ELBO and log-likelihood side by side.

Run from anywhere; every stage is cached in the work folder (a stage whose output exists is skipped), so the script
can be rerun to fill in what the binaries could not do yet (AIS, BDMC, baselines, the SDLGM log-likelihood):

    mkdir -p /tmp/skbin && cp .build/release/sk-* /tmp/skbin/     # a private copy: rebuilds cannot disturb a run
    OPENBLAS_NUM_THREADS=1 python3 bench/likelihood_table.py --bin /tmp/skbin --stages data,train   # the expensive part
    python3 bench/likelihood_table.py --bin /tmp/skbin --stages eval,table   # evaluation and bench/results-likelihood.txt
    python3 bench/likelihood_table.py --sizes 8 --only essc-h64 --stages data,train,eval,table   # one model

Stages (`--stages`, default all: data,train,eval,table):
- data: `sk-patches` on the six photographs of ../shared/data/images (the synthetic chessboard left out), --size P,
  50,000 training patches (--seed 1) and 2,000 held-out patches (--seed 2); `sk-whiten --method zca --epsilon 1e-3` on
  the training patches, the held-out patches whitened with the training transform (`--transform-from`). P = 8 (D = 64)
  and P = 16 (D = 256).
- train, per patch size:
  * ES-SC, `sk-train sc --posterior diagonal --scheme em --batch-size 512 --seed 1`, H = D/2, D, 2D, with
    `--anneal-prior 10:5` and without: one run of --epochs epochs at beta = 1 (the annealed models get the 5
    annealing epochs on top). Settled when the training objective L (at beta = 1) drifts by less than --tolerance
    nats/patch per epoch: (mean of the last 3 epochs - mean of the 3 before) / 3, which averages out the minibatch
    noise (about +-0.2 nats/patch from epoch to epoch on a plateau). If not, the model is trained again from scratch
    with twice the epochs (at most --max-epochs), once: this script was written when `--resume` restarted the
    M-step from V = W (unit columns) while an ongoing run's columns of V had grown, so the effective step lr/||V||
    jumped back up (on 8x8 patches the first resumed epoch lost 0.5-0.6 nats/patch at H = 32). Today --resume keeps
    V and continues a run bit for bit (bench/likelihood_p16_rows.sh uses it). The L of runs trained before 455c48c
    was taken at q's made stale by each epoch's later M-steps, which at small sigma^2 understates the model and
    drifts on after it has settled (README, sk-train sc section). The per-epoch history stays in the model file (/history)
    and goes to the table.
  * SDLGM, `sk-train sdlgm --mode unsupervised --decoder linear --likelihood gaussian`, K = D latent features (as
    many as the complete ES-SC model), L0 = 5, 10, 20, encoder MLP --hidden 512, Adam 1e-3, batch 128, a fixed
    number of epochs (--sdlgm-epochs; the temperature schedule spans the whole run, so it is not resumed). At 16×16 the
    default 20 epochs leave the training ELBO rising 0.4–0.5 nats/patch per epoch; the README's 16×16 SDLGM rows come
    from bench/likelihood_sdlgm16.sh (60 epochs, 20,000 importance samples).
  * baselines, `sk-train baseline DATA -o base.h5 --model gaussian|laplace|ica`, when the binaries have that
    subcommand (skipped with a message otherwise).
  Models whose estimated training time exceeds --max-train-minutes (estimated from the smaller models' epoch times)
  are left for later with a message; --force trains them anyway.
- eval: `sk-eval MODEL HELDOUT --json --seed 3` (held-out ELBO; the exact held-out log-likelihood for baselines);
  `--loglik` when sk-eval's estimator is AIS for ES-SC (plain importance sampling is known to land below the ELBO at
  these sizes, issue 13, so it is not used unless --allow-is), and for SDLGM when sk-eval reports it; `--bdmc N`
  when sk-eval has that option. Missing features are skipped with a message; rerun the stage later.
- table: writes bench/results-likelihood.txt (nats per patch of whitened data and bits per pixel = nats / (D ln 2)).

Work folder: --out (default bench/out/likelihood, git-ignored): p8/ and p16/ hold the data, the models (NAME.h5),
their training records (NAME.train.json) and evaluations (NAME.elbo.json, NAME.loglik.json, NAME.bdmc.json).
Run with OPENBLAS_NUM_THREADS=1 on a shared 2-core machine (the trainings run one at a time).
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

from sparsekit import BENCH_DIR, PACKAGE_DIR, BIN, commit as sparsekit_commit, cpu_model, memory_total_bytes, output_of

IMAGE_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "images"))
PHOTOS = ["brick.png", "camera.png", "chelsea.png", "grass.png", "gravel.png", "horse.png"]
ANNEAL = "10:5"
BASELINES = ["gaussian", "laplace", "ica"]
LEVELS = [5, 10, 20]
ISSUE_FIGURES = {8: "Gaussian -78.7, Laplace -67.3, complete ICA -58.3 nats/patch",
                 16: "Gaussian -304.9, Laplace -251.8 nats/patch"}


def now():
    return time.strftime("%H:%M:%S")


def log(message):
    print(f"[{now()}] {message}", flush=True)


def short(path):
    return os.path.relpath(path, PACKAGE_DIR) if path.startswith(os.path.dirname(PACKAGE_DIR) + "/") else path


def run(bin_dir, name, *args, check=True, capture=True):
    """Runs a tool (echoing the command); returns (exit code, stdout, wall seconds). Exits on failure when check."""
    command = [os.path.join(bin_dir, name)] + [str(a) for a in args]
    print("+", " ".join(short(c) for c in command), flush=True)
    started = time.time()
    result = subprocess.run(command, stdout=subprocess.PIPE if capture else None, text=True)
    seconds = time.time() - started
    if check and result.returncode != 0:
        sys.exit(f"{name} failed with exit code {result.returncode}")
    return result.returncode, result.stdout or "", seconds


def display_command(bin_dir, name, *args):
    return " ".join([name] + [short(str(a)) for a in args])


def help_text(bin_dir, *args):
    result = subprocess.run([os.path.join(bin_dir, args[0])] + list(args[1:]) + ["--help"], capture_output=True,
                            text=True)
    return result.stdout + result.stderr


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, value):
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=1)
    os.replace(path + ".tmp", path)


def history(path):
    import h5py
    with h5py.File(path, "r") as f:
        return {key: f["history"][key][:].tolist() for key in f["history"].keys()}


# ---------------------------------------------------------------------------------------------------------------- data

def prepare(options, size):
    folder = os.path.join(options.out, f"p{size}")
    os.makedirs(folder, exist_ok=True)
    images = [os.path.join(IMAGE_DIR, name) for name in PHOTOS]
    paths = {k: os.path.join(folder, k + ".h5") for k in ("train-patches", "heldout-patches", "train", "heldout")}
    steps = [
        ("train-patches", "sk-patches", [*images, "-o", paths["train-patches"], "--size", size, "--count",
                                         options.count, "--seed", 1, "--quiet"]),
        ("heldout-patches", "sk-patches", [*images, "-o", paths["heldout-patches"], "--size", size, "--count",
                                           options.heldout, "--seed", 2, "--quiet"]),
        ("train", "sk-whiten", [paths["train-patches"], "-o", paths["train"], "--method", "zca", "--epsilon",
                                options.epsilon, "--quiet"]),
        ("heldout", "sk-whiten", [paths["heldout-patches"], "-o", paths["heldout"], "--transform-from",
                                  paths["train"], "--quiet"]),
    ]
    record = os.path.join(folder, "data.json")
    commands = read_json(record)["commands"] if os.path.exists(record) else []
    for key, name, args in steps:
        if os.path.exists(paths[key]):
            continue
        started = time.time()
        run(options.bin, name, *args)
        log(f"data p{size} {key}: {time.time() - started:.1f} s")
        commands.append(display_command(options.bin, name, *args))
    if commands:
        write_json(record, {"commands": commands})
    return folder, paths["train"], paths["heldout"]


# ---------------------------------------------------------------------------------------------------------- models

def models_for(size):
    """The models of one patch size, in training order: (name, family, settings)."""
    dim = size * size
    essc = []
    for latents in (dim // 2, dim, 2 * dim):
        for annealed in (True, False):
            name = f"essc-h{latents}" + ("-annealed" if annealed else "")
            essc.append((name, "essc", {"latents": latents, "annealed": annealed}))
    sdlgm = [(f"sdlgm-l0-{l0}", "sdlgm", {"latents": dim, "l0": l0}) for l0 in LEVELS]
    base = [(f"baseline-{m}", "baseline", {"model": m}) for m in BASELINES]
    small = [m for m in essc if m[2]["latents"] < 2 * dim]
    large = [m for m in essc if m[2]["latents"] == 2 * dim]
    # Order of the brief: the ES-SC models at H = D/2 and D, SDLGM, the baselines, then H = 2D (the longest).
    return small + sdlgm + base + large


def essc_drift(hist, window=3):
    """(drift, last change) of the training objective L at β = 1: drift = (mean of the last `window` epochs − mean of
    the `window` before) / `window`, the per-epoch trend with the minibatch noise averaged out (about ±0.2 nats/patch
    from epoch to epoch on a plateau); None while there are fewer than 2·window epochs at β = 1."""
    objective, beta = hist["objective"], hist.get("beta_prior", [1.0] * len(hist["objective"]))
    settled = [o for o, b in zip(objective, beta) if b == 1.0]
    last = settled[-1] - settled[-2] if len(settled) >= 2 else None
    if len(settled) < 2 * window:
        return None, last
    recent, before = settled[-window:], settled[-2 * window:-window]
    return (sum(recent) - sum(before)) / window / window, last


def resumes_exactly(model):
    """Whether sk-train stored the state --resume needs to continue this model exactly (the /training group)."""
    import h5py
    with h5py.File(model, "r") as f:
        return "training" in f


def train_essc(options, folder, train, name, settings, estimates):
    final = os.path.join(folder, name + ".h5")
    record_path = os.path.join(folder, name + ".train.json")
    if os.path.exists(final) and os.path.exists(record_path):
        log(f"train {name}: cached ({short(final)})")
        return
    latents, annealed = settings["latents"], settings["annealed"]
    size = int(round(math.sqrt(read_dim(train))))
    estimate = estimates.get((size, latents))
    if estimate and estimate > options.max_train_minutes * 60 and not options.force:
        message = (f"train {name}: LEFT FOR LATER: estimated {estimate / 60:.0f} min (> --max-train-minutes "
                   f"{options.max_train_minutes}); rerun with --force --only {name} --sizes {size} to train it")
        log(message)
        write_json(os.path.join(folder, name + ".skipped.json"), {"estimate_seconds": estimate, "message": message})
        return
    anneal_epochs = int(ANNEAL.split(":")[1]) if annealed else 0
    common = ["--latents", latents, "--posterior", "diagonal", "--scheme", "em", "--batch-size", 512, "--seed", 1,
              "--quiet"] + (["--anneal-prior", ANNEAL] if annealed else [])
    discarded, commands, seconds = [], [], 0.0
    plan = [options.epochs, min(2 * options.epochs, options.max_epochs)]
    for attempt, epochs in enumerate(plan):
        total = epochs + anneal_epochs
        if attempt > 0 and resumes_exactly(final + ".tmp.h5"):
            # sk-train stores what --resume needs to continue exactly (`/training`): the extra epochs on top of the
            # unsettled run give the model `total` epochs from scratch would, bit for bit (TrainingContractTests).
            args = ["sc", train, "-o", final + ".tmp.h5", "--epochs", epochs - plan[attempt - 1], "--resume", final + ".tmp.h5",
                    *common]
        else:
            args = ["sc", train, "-o", final + ".tmp.h5", "--epochs", total, *common]
            commands, seconds = [], 0.0
        _, _, run_seconds = run(options.bin, "sk-train", *args)
        seconds += run_seconds
        hist = history(final + ".tmp.h5")
        drift, last = essc_drift(hist)
        settled = drift is not None and abs(drift) < options.tolerance
        log(f"train {name}: {total} epochs in {seconds:.0f} s; L = {hist['objective'][-1]:.3f}, drift "
            + (f"{drift:+.3f}" if drift is not None else "?") + " nats/patch/epoch over the last 6 epochs, last change "
            + (f"{last:+.3f}" if last is not None else "?"))
        commands.append(display_command(options.bin, "sk-train", *args).replace(".h5.tmp.h5", ".h5"))
        if settled or attempt == len(plan) - 1 or plan[attempt + 1] <= epochs:
            break
        if resumes_exactly(final + ".tmp.h5"):
            log(f"train {name}: not settled; {plan[attempt + 1] - epochs} more epochs with --resume")
            continue
        discarded.append({"command": commands[-1], "wall_seconds": seconds, "epochs": total, "drift": drift})
        log(f"train {name}: not settled; training again from scratch with {plan[attempt + 1] + anneal_epochs} epochs "
            "(these binaries' --resume does not continue exactly)")
    os.replace(final + ".tmp.h5", final)
    record = {"binaries": short(options.bin), "family": "essc", "settings": settings, "commands": commands, "wall_seconds": seconds,
              "epochs": len(hist["objective"]), "converged": settled, "drift": drift, "last_change": last,
              "tolerance": options.tolerance, "discarded_runs": discarded}
    write_json(record_path, record)
    log(f"train {name}: done, {record['epochs']} epochs, {seconds:.0f} s, "
        + ("settled" if settled else "NOT settled") + (f" (drift {drift:+.3f})" if drift is not None else ""))


def train_sdlgm(options, folder, train, name, settings):
    final = os.path.join(folder, name + ".h5")
    record_path = os.path.join(folder, name + ".train.json")
    if os.path.exists(final) and os.path.exists(record_path):
        log(f"train {name}: cached ({short(final)})")
        return
    size = int(round(math.sqrt(read_dim(train))))
    epochs = options.sdlgm_epochs if size == 8 else options.sdlgm_epochs_16
    args = ["sdlgm", train, "-o", final, "--mode", "unsupervised", "--latents", settings["latents"], "--max-active",
            settings["l0"], "--decoder", "linear", "--likelihood", "gaussian", "--hidden", 512, "--epochs", epochs,
            "--batch-size", 128, "--learning-rate", 0.001, "--seed", 1, "--quiet"]
    _, _, seconds = run(options.bin, "sk-train", *args)
    hist = history(final)
    change = hist["objective"][-1] - hist["objective"][-2] if len(hist["objective"]) > 1 else None
    record = {"binaries": short(options.bin), "family": "sdlgm", "settings": settings, "commands": [display_command(options.bin, "sk-train", *args)],
              "wall_seconds": seconds, "epochs": len(hist["objective"]), "last_change": change}
    write_json(record_path, record)
    log(f"train {name}: {seconds:.0f} s, {record['epochs']} epochs, ELBO {hist['objective'][-1]:.3f}"
        + (f", last change {change:+.3f}" if change is not None else ""))


def train_baseline(options, folder, train, name, settings, has_baseline):
    final = os.path.join(folder, name + ".h5")
    record_path = os.path.join(folder, name + ".train.json")
    if os.path.exists(final) and os.path.exists(record_path):
        log(f"train {name}: cached ({short(final)})")
        return
    if not has_baseline:
        log(f"train {name}: SKIPPED: `sk-train baseline` is not in {short(options.bin)} yet; rerun the train stage "
            "with binaries that have it")
        return
    args = ["baseline", train, "-o", final, "--model", settings["model"], "--quiet"]
    _, _, seconds = run(options.bin, "sk-train", *args)
    record = {"binaries": short(options.bin), "family": "baseline", "settings": settings, "commands": [display_command(options.bin, "sk-train", *args)],
              "wall_seconds": seconds}
    write_json(record_path, record)
    log(f"train {name}: {seconds:.1f} s")


def read_dim(path):
    import h5py
    with h5py.File(path, "r") as f:
        return f["data"].shape[1]


def epoch_estimates(options):
    """Seconds to train each (size, H) ES-SC model, estimated from the trained ones: per-epoch time grows with H as
    measured between the two largest trained H of that size (exponent clipped to [1, 2]), times the most epochs any
    trained model of that size needed."""
    estimates = {}
    for size in options.sizes:
        folder = os.path.join(options.out, f"p{size}")
        per_h, epochs = {}, []
        for name, family, settings in models_for(size):
            path = os.path.join(folder, name + ".h5")
            if family != "essc" or not os.path.exists(path):
                continue
            hist = history(path)
            per_h.setdefault(settings["latents"], []).append(sum(hist["seconds"]) / len(hist["seconds"]))
            epochs.append(len(hist["seconds"]))
        if len(per_h) < 2:
            continue
        hs = sorted(per_h)
        h1, h2 = hs[-2], hs[-1]
        t1, t2 = max(per_h[h1]), max(per_h[h2])
        exponent = min(2.0, max(1.0, math.log(t2 / t1) / math.log(h2 / h1)))
        for latents in (size * size // 2, size * size, 2 * size * size):
            if latents not in per_h:
                estimates[(size, latents)] = t2 * (latents / h2) ** exponent * max(epochs)
    return estimates


# ------------------------------------------------------------------------------------------------------------- eval

def loglik_of(report):
    """(mean, standard error) of a held-out log-likelihood estimate in an sk-eval report, or None."""
    for key in ("marginal_log_likelihood", "log_likelihood", "held_out_log_likelihood"):
        value = report.get(key)
        if isinstance(value, dict) and "mean" in value:
            return value["mean"], value.get("standard_error")
    return None


def loglik_method(report):
    """How an sk-eval report's log-likelihood was estimated: 'AIS', 'IS', 'IS, exact given S' or 'exact'."""
    if "marginal_log_likelihood" in report:
        return "IS, exact given S" if report.get("likelihood_exact_given_support") else "IS"
    value = report.get("log_likelihood")
    if isinstance(value, dict) and "method" in value:
        return str(value["method"]).upper()
    return "exact" if "model" in report else "?"


def estimate(value):
    """(mean, standard error) of a JSON estimate {mean, standardError}, a bare number, or None."""
    if isinstance(value, dict) and "mean" in value:
        return value["mean"], value.get("standard_error")
    if isinstance(value, (int, float)):
        return value, None
    return None


def evaluate(options, folder, heldout, name, family, features):
    model = os.path.join(folder, name + ".h5")
    if not os.path.exists(model):
        return
    elbo_path = os.path.join(folder, name + ".elbo.json")
    if not os.path.exists(elbo_path):
        # --seed only where the held-out report is sampled (SDLGM); sk-eval refuses it elsewhere
        seed = ["--seed", 3] if family == "sdlgm" else []
        args = [model, heldout, "--json", *seed, "--quiet"]
        code, out, seconds = run(options.bin, "sk-eval", *args, check=False)
        if code == 0:
            write_json(elbo_path, {"binaries": short(options.bin), "command": display_command(options.bin, "sk-eval", *args), "seconds": seconds,
                                   "report": json.loads(out)})
            log(f"eval {name}: " + ("exact held-out log-likelihood" if family == "baseline" else "held-out ELBO") + f" in {seconds:.1f} s")
        else:
            log(f"eval {name}: sk-eval failed with exit code {code}; skipped")
    if family == "baseline":
        return  # sk-eval gives a baseline's exact log-likelihood in its plain report
    loglik_path = os.path.join(folder, name + ".loglik.json")
    if not os.path.exists(loglik_path):
        if family == "essc" and not (features["ais"] or options.allow_is):
            log(f"eval {name}: log-likelihood SKIPPED: sk-eval --loglik is still plain importance sampling (no AIS in "
                "its --help); rerun the eval stage when AIS lands, or pass --allow-is")
        else:
            args = [model, heldout, "--loglik", "--json", "--seed", 3, "--quiet", *options.loglik_args.split()]
            code, out, seconds = run(options.bin, "sk-eval", *args, check=False)
            report = json.loads(out) if code == 0 and out.strip() else None
            if report is not None and family == "essc" and loglik_method(report) != "AIS" and not options.allow_is:
                log(f"eval {name}: log-likelihood NOT KEPT: sk-eval used {loglik_method(report)}, not AIS")
            elif report is not None and loglik_of(report) is not None:
                write_json(loglik_path, {"binaries": short(options.bin), "command": display_command(options.bin, "sk-eval", *args),
                                         "seconds": seconds, "report": report})
                log(f"eval {name}: log-likelihood in {seconds:.0f} s")
            else:
                log(f"eval {name}: log-likelihood SKIPPED: sk-eval --loglik gave no estimate for this model "
                    f"(exit code {code}); rerun the eval stage when it does")
    bdmc_path = os.path.join(folder, name + ".bdmc.json")
    if not os.path.exists(bdmc_path) and family == "essc":
        if not features["bdmc"]:
            log(f"eval {name}: BDMC SKIPPED: sk-eval has no --bdmc yet")
        else:
            args = [model, "--bdmc", options.bdmc, "--json", "--seed", 4, "--quiet", *options.loglik_args.split()]
            code, out, seconds = run(options.bin, "sk-eval", *args, check=False)
            if code == 0:
                write_json(bdmc_path, {"binaries": short(options.bin), "command": display_command(options.bin, "sk-eval", *args), "seconds": seconds,
                                       "report": json.loads(out)})
                log(f"eval {name}: BDMC in {seconds:.0f} s")
            else:
                log(f"eval {name}: sk-eval --bdmc failed with exit code {code}; skipped")


# ------------------------------------------------------------------------------------------------------------ table

def fmt(mean_se, dim=None):
    if mean_se is None:
        return "–"
    mean, se = mean_se
    return f"{mean:.2f} ± {se:.2f}" if se is not None else f"{mean:.2f}"


def bits(mean_se, dim):
    return "–" if mean_se is None else f"{mean_se[0] / (dim * math.log(2)):.3f}"


def model_label(name, family, settings, dim):
    if family == "essc":
        h = settings["latents"]
        rel = {dim // 2: "D/2", dim: "D", 2 * dim: "2D"}[h]
        return f"ES-SC H = {h} ({rel})" + (", annealed" if settings["annealed"] else "")
    if family == "sdlgm":
        return f"SDLGM linear, K = {settings['latents']}, L0 = {settings['l0']}"
    return {"gaussian": "Gaussian (full covariance)", "laplace": "Laplace per dimension",
            "ica": "complete ICA (Laplace sources)"}[settings["model"]]


def tagged(record, command, options):
    """A command line, prefixed with its binaries' folder when that is not --bin."""
    binaries = record.get("binaries")
    return f"[{binaries}] {command}" if binaries and binaries != short(options.bin) else command


def write_table(options, features):
    lines = []
    commit = sparsekit_commit()
    dirty = output_of(["git", "status", "--porcelain", "--untracked-files=no"])
    sk_train = os.path.join(options.bin, "sk-train")
    built = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(os.path.getmtime(sk_train))) \
        if os.path.exists(sk_train) else "?"
    lines += [
        "Held-out likelihood table: baselines, ES-SC and SDLGM on whitened natural patches (issue 13)",
        "=" * 100,
        f"date:       {time.strftime('%Y-%m-%dT%H:%M:%S')}",
        f"machine:    {cpu_model()}, nproc = {os.cpu_count()}, {memory_total_bytes() / 2**30:.0f} GiB RAM, "
        f"{platform.platform()}",
        f"SparseKit:  commit {commit}{' (working tree has uncommitted changes)' if dirty else ''}; binaries "
        f"{short(options.bin)} (sk-train built {built}); OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} for this run (training ran with 1)",
        f"sk-eval:    log-likelihood estimator for ES-SC: {'AIS' if features['ais'] else 'plain IS only (not used)'}; "
        f"--bdmc: {'yes' if features['bdmc'] else 'no'}; sk-train baseline: {'yes' if features['baseline'] else 'no'}",
        f"command:    python3 bench/likelihood_table.py --bin {short(options.bin)} (stages cached in "
        f"{short(options.out)})",
        f"data:       six photographs of ../shared/data/images, {options.count:,} training patches (--seed 1) and "
        f"{options.heldout:,} held-out patches (--seed 2), ZCA ε = {options.epsilon:g} fitted on the training patches",
        "units:      nats per patch of whitened data (ZCA keeps the dimension); bits/px = nats / (D ln 2)",
        "ES-SC:      diagonal q, em scheme, batch 512, L-BFGS E-steps (100 iterations, history 20), seed 1; annealed: "
        f"--anneal-prior {ANNEAL} (5 epochs on top); {options.epochs} epochs at β = 1, extended with --resume to "
        f"{min(2 * options.epochs, options.max_epochs)} epochs when L still drifted by >= {options.tolerance} nats/patch per "
        "epoch ((mean of the last 3 epochs - mean of the 3 before) / 3)",
        f"SDLGM:      unsupervised, linear Gaussian decoder, K = D, encoder --hidden 512, Adam 1e-3, batch 128, "
        f"{options.sdlgm_epochs} epochs (8x8) / {options.sdlgm_epochs_16} epochs (16x16), temperatures 1 → 0.5, seed 1",
        "eval:       sk-eval MODEL HELDOUT --json [--seed 3 for SDLGM] (held-out ELBO: W, σ², λ fixed, q fitted per point; "
        "SDLGM: hard samples, 10 per point); --loglik --seed 3; --bdmc N --seed 4; mean ± standard error over the "
        "held-out patches",
        "",
    ]
    pending = []
    for size in options.sizes:
        dim = size * size
        folder = os.path.join(options.out, f"p{size}")
        lines += [f"{size}x{size} patches, D = {dim}", "-" * 40, "",
                  f"{'model':<42} {'epochs':>7} {'train L':>9} {'drift':>8} {'eval L':>9} {'held-out ELBO':>16} "
                  f"{'log-likelihood':>16} {'estimator':>17} {'BDMC gap':>9} {'ELBO b/px':>10} {'LL b/px':>8} "
                  f"{'train s':>8} {'LL s':>6}",
                  ]
        if size in ISSUE_FIGURES and not any(os.path.exists(os.path.join(folder, f"baseline-{m}.h5")) for m in BASELINES):
            lines += [f"  (no baseline trained here yet; issue 13 quotes, from other code on the same kind of data: "
                      f"{ISSUE_FIGURES[size]})", ""]
        histories, bdmc_lines = {}, []
        for name, family, settings in models_for(size):
            path = os.path.join(folder, name + ".h5")
            label = model_label(name, family, settings, dim)
            skipped = os.path.join(folder, name + ".skipped.json")
            if not os.path.exists(path):
                if os.path.exists(skipped):
                    est = read_json(skipped)["estimate_seconds"]
                    lines.append(f"{label:<42} left for later: estimated training {est / 60:.0f} min")
                    pending.append(f"p{size} {name}: training (estimated {est / 60:.0f} min)")
                else:
                    lines.append(f"{label:<42} not trained")
                    pending.append(f"p{size} {name}: training")
                continue
            record_path = os.path.join(folder, name + ".train.json")
            record = read_json(record_path) if os.path.exists(record_path) else {}
            elbo = ll = gap = method = ll_seconds = eval_l = None
            train_l = change = epochs = "–"
            if family in ("essc", "sdlgm"):
                hist = history(path)
                histories[name] = hist
                drift, _ = essc_drift(hist)
                unsettled = family == "essc" and (drift is None or abs(drift) >= options.tolerance)
                epochs = str(len(hist["objective"])) + ("*" if unsettled else "")
                train_l = f"{hist['objective'][-1]:.2f}"
                if drift is not None:
                    change = f"{drift:+.2f}"
            elbo_path = os.path.join(folder, name + ".elbo.json")
            if os.path.exists(elbo_path):
                rep = read_json(elbo_path)["report"]
                if "held_out_elbo" in rep:
                    elbo = (rep["held_out_elbo"]["mean"], rep["held_out_elbo"].get("standard_error"))
                if family == "essc" and "objective" in rep:
                    eval_l = rep["objective"]
                if family == "baseline":
                    ll = loglik_of(rep)
            else:
                pending.append(f"p{size} {name}: held-out ELBO")
            loglik_path = os.path.join(folder, name + ".loglik.json")
            if os.path.exists(loglik_path):
                loglik_record = read_json(loglik_path)
                ll = loglik_of(loglik_record["report"])
                method = loglik_method(loglik_record["report"])
                ll_seconds = loglik_record["seconds"]
            elif ll is not None:
                method = "exact"
            elif family != "baseline":
                pending.append(f"p{size} {name}: log-likelihood")
            bdmc_path = os.path.join(folder, name + ".bdmc.json")
            if os.path.exists(bdmc_path):
                bdmc_report = read_json(bdmc_path)["report"]
                gap = estimate(bdmc_report.get("gap"))
                bdmc_lines.append(f"  {label}: BDMC on {bdmc_report.get('points', '?')} points simulated from the "
                                  f"model: lower {fmt(estimate(bdmc_report.get('lower')))}, upper "
                                  f"{fmt(estimate(bdmc_report.get('upper')))}, gap {fmt(gap)} nats/point "
                                  f"(T = {bdmc_report.get('temperatures', '?')}, K = {bdmc_report.get('chains', '?')}, "
                                  f"{bdmc_report.get('seconds', float('nan')):.0f} s)")
            elif family == "essc":
                pending.append(f"p{size} {name}: BDMC")
            seconds = f"{record['wall_seconds']:.0f}" if "wall_seconds" in record else "–"
            lines.append(f"{label:<42} {epochs:>7} {train_l:>9} {change:>8} "
                         f"{(f'{eval_l:.2f}' if eval_l is not None else '–'):>9} {fmt(elbo):>16} {fmt(ll):>16} "
                         f"{(method or '–'):>17} {(f'{gap[0]:.2f}' if gap is not None else '–'):>9} "
                         f"{bits(elbo, dim):>10} {bits(ll, dim):>8} {seconds:>8} "
                         f"{(f'{ll_seconds:.0f}' if ll_seconds is not None else '–'):>6}")
        lines += ["", f"  epochs: * = ES-SC objective not settled (drift >= {options.tolerance}); train L: the training "
                  "objective of the last epoch (ES-SC: L at β = 1; SDLGM: the relaxed training ELBO); drift: its "
                  "trend per epoch, (mean of the last 3 epochs - mean of the 3 before) / 3; eval L: ES-SC's entropy "
                  "objective on the held-out patches with q fitted to convergence by sk-eval (σ², λ re-optimized; "
                  "above train L when the training E-steps, 100 L-BFGS iterations per minibatch, stop short); train s: wall seconds of the kept training run (ES-SC runs discarded as unsettled are listed below); LL s: wall seconds of the "
                  "log-likelihood evaluation; b/px: bits per pixel = nats / (D ln 2)", ""] + bdmc_lines + \
            ([""] if bdmc_lines else [])
        essc = {k: v for k, v in histories.items() if k.startswith("essc")}
        if essc:
            lines += [f"  per-epoch training objective L (nats/patch, at β = 1; annealed epochs marked a), {size}x{size}",
                      "  epoch " + "".join(f"{k[5:]:>18}" for k in essc)]
            for e in range(max(len(h["objective"]) for h in essc.values())):
                cells = []
                for h in essc.values():
                    if e < len(h["objective"]):
                        mark = "a" if h["beta_prior"][e] != 1.0 else " "
                        cells.append(f"{h['objective'][e]:>17.2f}{mark}")
                    else:
                        cells.append(" " * 18)
                lines.append(f"  {e + 1:>5} " + "".join(cells))
            lines.append("  seconds/epoch " + ", ".join(
                f"{k[5:]}: {sum(h['seconds']) / len(h['seconds']):.0f}" for k, h in essc.items()))
            lines.append("")
        commands = []
        data_record = os.path.join(folder, "data.json")
        if os.path.exists(data_record):
            commands += read_json(data_record)["commands"]
        for name, family, settings in models_for(size):
            record_path = os.path.join(folder, name + ".train.json")
            if os.path.exists(record_path):
                rec = read_json(record_path)
                commands += [tagged(rec, c, options) for c in rec["commands"]]
            for kind in ("elbo", "loglik", "bdmc"):
                p = os.path.join(folder, f"{name}.{kind}.json")
                if os.path.exists(p):
                    rec = read_json(p)
                    commands.append(tagged(rec, rec["command"], options))
        for name, family, settings in models_for(size):
            record_path = os.path.join(folder, name + ".train.json")
            if os.path.exists(record_path):
                for run_ in read_json(record_path).get("discarded_runs", []):
                    lines.append(f"  discarded as unsettled: {name}, {run_['epochs']} epochs in "
                                 f"{run_['wall_seconds']:.0f} s, drift {run_['drift']:+.2f} nats/patch/epoch")
        lines.append("")
        if commands:
            parent = os.path.dirname(PACKAGE_DIR) + "/"
            lines += [f"  commands ({size}x{size}; binaries from --bin):"] + \
                [f"    {c.replace(' ' + parent, ' ../')}" for c in commands] + [""]
    if pending:
        lines += ["Not yet measured (rerun `python3 bench/likelihood_table.py --bin DIR` once the binaries can):"]
        lines += [f"  {p}" for p in pending]
    text = "\n".join(lines) + "\n"
    with open(options.results, "w") as f:
        f.write(text)
    print(text)
    log(f"wrote {short(options.results)}")


# ------------------------------------------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=BIN, help="folder of the sk-* binaries (default .build/release)")
    parser.add_argument("--out", default=os.path.join(BENCH_DIR, "out", "likelihood"), help="work folder")
    parser.add_argument("--results", default=os.path.join(BENCH_DIR, "results-likelihood.txt"))
    parser.add_argument("--stages", default="data,train,eval,table")
    parser.add_argument("--sizes", default="8,16", help="patch sizes, comma-separated")
    parser.add_argument("--only", help="comma-separated model names (essc-h64-annealed, sdlgm-l0-10, baseline-ica, ...)")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--heldout", type=int, default=2_000)
    parser.add_argument("--epsilon", type=float, default=1e-3)
    parser.add_argument("--tolerance", type=float, default=0.1, help="ES-SC: settled when L drifts less per epoch")
    parser.add_argument("--max-epochs", type=int, default=24, help="ES-SC: most epochs at beta = 1")
    parser.add_argument("--epochs", type=int, default=12, help="ES-SC: epochs at beta = 1 (the annealed models get "
                        "the annealing epochs on top); twice as many when the first run has not settled")
    parser.add_argument("--sdlgm-epochs", type=int, default=40, help="SDLGM epochs on 8x8")
    parser.add_argument("--sdlgm-epochs-16", type=int, default=20, help="SDLGM epochs on 16x16")
    parser.add_argument("--max-train-minutes", type=float, default=40)
    parser.add_argument("--force", action="store_true", help="train models estimated above --max-train-minutes")
    parser.add_argument("--allow-is", action="store_true", help="use sk-eval --loglik for ES-SC even without AIS")
    parser.add_argument("--loglik-args", default="", help="extra sk-eval arguments with --loglik (e.g. '--chains 16')")
    parser.add_argument("--bdmc", default="100", help="the N of sk-eval --bdmc N")
    options = parser.parse_args()
    options.sizes = [int(s) for s in options.sizes.split(",")]
    options.out = os.path.abspath(options.out)
    options.bin = os.path.abspath(options.bin)
    stages = options.stages.split(",")
    only = set(options.only.split(",")) if options.only else None

    eval_help = help_text(options.bin, "sk-eval")
    train_help = help_text(options.bin, "sk-train")
    features = {
        "ais": any(marker in eval_help for marker in ("AIS", "annealed importance", "--loglik-method")),
        "bdmc": "--bdmc" in eval_help,
        "baseline": "baseline" in train_help,
    }
    log(f"binaries {short(options.bin)}: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in features.items()))
    started = time.time()
    for size in options.sizes:
        folder, train, heldout = prepare(options, size) if "data" in stages else \
            (os.path.join(options.out, f"p{size}"), os.path.join(options.out, f"p{size}", "train.h5"),
             os.path.join(options.out, f"p{size}", "heldout.h5"))
        if "train" in stages:
            for name, family, settings in models_for(size):
                if only and name not in only:
                    continue
                stage_started = time.time()
                if family == "essc":
                    train_essc(options, folder, train, name, settings, epoch_estimates(options))
                elif family == "sdlgm":
                    train_sdlgm(options, folder, train, name, settings)
                else:
                    train_baseline(options, folder, train, name, settings, features["baseline"])
                log(f"stage train p{size} {name}: {time.time() - stage_started:.0f} s")
        if "eval" in stages:
            for name, family, settings in models_for(size):
                if only and name not in only:
                    continue
                evaluate(options, folder, heldout, name, family, features)
    if "table" in stages:
        write_table(options, features)
    log(f"all stages: {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
