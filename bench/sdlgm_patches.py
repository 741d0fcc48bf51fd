#!/usr/bin/env python3
"""Unsupervised SDLGM on natural image patches next to ES-SC (issue 5, "Results"): held-out ELBO for L0 = 5, 10, 20.

Run after `python3 bench/natural_patches.py --epochs 3 --anneal 10:2` (it makes the whitened training and held-out
patches in bench/out/np-100000-3/ and the ES-SC models evaluated there) and `swift build -c release`:

    python3 bench/sdlgm_patches.py --epochs 15          # K = 100, L0 = 5, 10, 20 (about 11 minutes on 2 cores)
    python3 bench/sdlgm_patches.py --epochs 2 --only 10   # a smoke run

For each L0: `sk-train sdlgm TRAIN --mode unsupervised --latents 100 --max-active L0 --decoder linear --likelihood
gaussian --hidden 512 --epochs E --batch-size 128 --seed 1`, then `sk-eval MODEL HELDOUT --elbo-samples 10 --json` on the
2,000 held-out patches (whitened with the training transform). The ES-SC rows are read from the natural-patches
results (bench/out/np-100000-3/results.json): their held-out ELBO and importance-sampled log-likelihood on the same
patches. Writes docs/sdlgm-patches.md and docs/sdlgm-patches-fields.png (the L0 = 10 decoder's columns).
"""

import argparse
import json
import os
import sys
import time

from sparsekit import commit as sparsekit_commit, BENCH_DIR, PACKAGE_DIR, tool





def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(BENCH_DIR, "out", "np-100000-3"),
                        help="the natural-patches output folder (train.h5, heldout.h5, results.json)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latents", type=int, default=100)
    parser.add_argument("--only", help="comma-separated subset of L0 values")
    options = parser.parse_args()
    levels = [int(v) for v in options.only.split(",")] if options.only else [5, 10, 20]
    train, heldout = os.path.join(options.data, "train.h5"), os.path.join(options.data, "heldout.h5")
    for path in (train, heldout):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run python3 bench/natural_patches.py --epochs 3 --anneal 10:2 first")
    out = os.path.join(BENCH_DIR, "out", "sdlgm-patches")
    docs = os.path.join(PACKAGE_DIR, "docs")
    os.makedirs(out, exist_ok=True)
    rows = []
    for l0 in levels:
        model = os.path.join(out, f"l0-{l0}.h5")
        started = time.time()
        tool("sk-train", "sdlgm", train, "-o", model, "--mode", "unsupervised", "--latents", options.latents,
             "--max-active", l0, "--decoder", "linear", "--likelihood", "gaussian", "--hidden", 512,
             "--epochs", options.epochs, "--batch-size", 128, "--seed", 1, "--quiet")
        seconds = time.time() - started
        report = json.loads(tool("sk-eval", model, heldout, "--elbo-samples", 10, "--seed", 3, "--json"))
        rows.append((l0, report, seconds))
        if l0 == 10 or len(levels) == 1:
            tool("sk-inspect", model, "--tiles", "-o", os.path.join(docs, "sdlgm-patches-fields.png"), "--quiet")
    essc = {}
    results = os.path.join(options.data, "results.json")
    if os.path.exists(results):
        with open(results) as f:
            essc = json.load(f)
    write_markdown(options, rows, essc, os.path.join(docs, "sdlgm-patches.md"))


def write_markdown(options, rows, essc, path):
    commit = sparsekit_commit()
    lines = [
        "# Unsupervised SDLGM on natural image patches",
        "",
        f"Made by `python3 bench/sdlgm_patches.py` (commit {commit}) on the patches of [natural-patches.md]"
        "(natural-patches.md): 100,000 ZCA-whitened 16×16 training patches, 2,000 held-out patches whitened with the "
        f"training transform. SDLGM: K = {options.latents} features, linear decoder, Gaussian likelihood with learned σ², "
        f"encoder MLP 256 → 512 → heads, Adam 10⁻³, batch 128, {options.epochs} epochs, temperatures 1 → 0.5, seed 1. "
        "Held-out ELBO of the discrete model (hard samples, 10 per patch; mean ± standard error over patches), nats per "
        "patch. The ES-SC rows (H = 100, 3 EM-like epochs) are evaluated on the same held-out patches.",
        "",
        "| model | held-out ELBO | held-out log-likelihood (IS) | E log p(x \\| z) | KL level / support / values | "
        "reconstruction error (data variance) | mean active | σ² | train time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for l0, rep, seconds in rows:
        lines.append(
            f"| SDLGM, L0 = {l0} | {rep['held_out_elbo']['mean']:.2f} ± {rep['held_out_elbo']['standard_error']:.2f} | – | "
            f"{rep['log_likelihood']:.2f} | {rep['level_kl']:.2f} / {rep['support_kl']:.2f} / {rep['value_kl']:.2f} | "
            f"{rep['reconstruction_error']:.4f} ({rep['data_variance']:.4f}) | {rep['mean_active']:.2f} | {rep['sigma2']:.4f} | "
            f"{seconds:.0f} s |")
    for label in ("entropy, annealed", "entropy"):
        if label in essc:
            rep = essc[label]["report"]
            ll = rep.get("log_likelihood")
            lines.append(
                f"| ES-SC {label} | {rep['held_out_elbo']['mean']:.2f} ± {rep['held_out_elbo']['standard_error']:.2f} | "
                + (f"{ll['mean']:.2f} ± {ll['standard_error']:.2f}" if ll else "–")
                + f" | – | – | – | 100 (dense) | {rep['sigma2']:.4f} | {essc[label]['seconds']:.0f} s |")
    lines += ["", "Active counts of the evaluation codes (L̂ = argmax q(L | x)) on the held-out patches:", "",
              "| L0 | " + " | ".join(str(n) for n in range(1, max(r[0] for r in rows) + 1)) + " |",
              "|---|" + "---|" * max(r[0] for r in rows)]
    for l0, rep, _ in rows:
        counts = rep["active_counts"][1:]
        lines.append(f"| {l0} | " + " | ".join(str(c) for c in counts) + " |" + " |" * (max(r[0] for r in rows) - l0))
    lines += ["", "The L0 = 10 decoder's columns:", "", "![SDLGM dictionary](sdlgm-patches-fields.png)", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote", path)


if __name__ == "__main__":
    main()
