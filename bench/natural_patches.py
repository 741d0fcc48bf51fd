#!/usr/bin/env python3
"""ES-SC on natural image patches: the results table of the README (`es-sc.md`, "Results a user can see").

Run from anywhere, after `swift build -c release`:

    python3 bench/natural_patches.py --epochs 3 --anneal 10:2   # the README's table: N = 100,000 (about 15 minutes on 2 cores)
    python3 bench/natural_patches.py --count 20000 --epochs 3 --quick-eval   # a smoke run in minutes

Pipeline (only SparseKit tools; Python just drives them and formats the table):
1. `sk-patches` draws --count 16x16 gray training patches and --heldout held-out patches (another seed) from the six
   photographs in ../shared/data/images (the synthetic chessboard left out).
2. `sk-whiten --method zca --epsilon 1e-3` fits the whitening on the training patches; the held-out patches are whitened with the
   training transform (`--transform-from`).
3. `sk-train sc` with H = 100, diagonal posteriors, the EM-like scheme, batch 512, the same seed (same initial W,
   same batch order) for: `entropy` annealed (β_prior 10 -> 1 over --anneal, default 5 epochs), `entropy` without annealing,
   `elbo-mc`, and `map-l1`.
4. `sk-eval --loglik` on the held-out patches: held-out ELBO (W, σ², λ fixed, q fitted per point), the importance-
   sampled log-likelihood (mean ± standard error, ESS), and the Gini sparsity of the posterior means.
5. `sk-inspect --tiles` draws the annealed model's fields.

Writes docs/natural-patches.md (tables) and docs/natural-patches-fields.png; intermediate files in bench/out/np/.
"""

import argparse
import json
import os
import time

from sparsekit import commit as sparsekit_commit, BENCH_DIR, PACKAGE_DIR, tool

IMAGE_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "images"))
PHOTOS = ["brick.png", "camera.png", "chelsea.png", "grass.png", "gravel.png", "horse.png"]




def history(path):
    import h5py
    with h5py.File(path, "r") as f:
        return {key: f["history"][key][:].tolist() for key in f["history"].keys()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--heldout", type=int, default=2_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latents", type=int, default=100)
    parser.add_argument("--samples", type=int, default=500, help="importance samples per held-out point")
    parser.add_argument("--penalty", type=float, default=0.3, help="map-l1's α")
    parser.add_argument("--epsilon", type=float, default=1e-3,
                        help="ZCA ε (on the [0, 1] pixel scale; 1e-3 damps the noise-dominated high frequencies)")
    parser.add_argument("--quick-eval", action="store_true", help="fewer importance samples (100)")
    parser.add_argument("--only", help="comma-separated subset of the models")
    parser.add_argument("--anneal", default="10:5", help="the annealed model's --anneal-prior START:EPOCHS")
    parser.add_argument("--headline", help="a model trained apart (e.g. the 10-epoch annealed one) to evaluate on the "
                        "same held-out patches and feature in the document: its per-epoch objective and its fields")
    options = parser.parse_args()
    samples = 100 if options.quick_eval else options.samples

    out = os.path.join(BENCH_DIR, "out", f"np-{options.count}-{options.epochs}")
    docs = os.path.join(PACKAGE_DIR, "docs")
    os.makedirs(out, exist_ok=True)
    os.makedirs(docs, exist_ok=True)
    images = [os.path.join(IMAGE_DIR, name) for name in PHOTOS]
    train_patches, heldout_patches = os.path.join(out, "train-patches.h5"), os.path.join(out, "heldout-patches.h5")
    train, heldout = os.path.join(out, "train.h5"), os.path.join(out, "heldout.h5")
    tool("sk-patches", *images, "-o", train_patches, "--count", options.count, "--seed", 1, "--quiet")
    tool("sk-patches", *images, "-o", heldout_patches, "--count", options.heldout, "--seed", 2, "--quiet")
    tool("sk-whiten", train_patches, "-o", train, "--method", "zca", "--epsilon", options.epsilon, "--quiet")
    tool("sk-whiten", heldout_patches, "-o", heldout, "--transform-from", train, "--quiet")

    common = ["--latents", options.latents, "--scheme", "em", "--epochs", options.epochs, "--batch-size", 512,
              "--seed", 1, "--quiet"]
    models = {
        "entropy, annealed": ["--anneal-prior", options.anneal],
        "entropy": [],
        "elbo-mc": ["--objective", "elbo-mc", "--samples", 1],
        "map-l1": ["--objective", "map-l1", "--penalty", options.penalty],
    }
    if options.only:
        models = {k: v for k, v in models.items() if k in options.only.split(",")}
    results = {}
    for label, extra in models.items():
        path = os.path.join(out, label.replace(", ", "-") + ".h5")
        started = time.time()
        tool("sk-train", "sc", train, "-o", path, *common, *extra)
        seconds = time.time() - started
        report = json.loads(tool("sk-eval", path, heldout, "--loglik", "--loglik-method", "is", "--samples", samples, "--seed", 3, "--json"))
        results[label] = {"report": report, "history": history(path), "seconds": seconds}
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    headline = None
    if options.headline:
        report = json.loads(tool("sk-eval", options.headline, heldout, "--loglik", "--loglik-method", "is", "--samples", samples, "--seed", 3, "--json"))
        headline = {"report": report, "history": history(options.headline), "path": options.headline}
        fields = options.headline
    else:
        fields = os.path.join(out, "entropy-annealed.h5") if "entropy, annealed" in results else None
    if fields:
        tool("sk-inspect", fields, "--tiles", "-o", os.path.join(docs, "natural-patches-fields.png"), "--quiet")
    write_markdown(options, samples, results, headline, os.path.join(docs, "natural-patches.md"))


def write_markdown(options, samples, results, headline, path):
    commit = sparsekit_commit()
    lines = [
        "# ES-SC on natural image patches",
        "",
        f"Made by `python3 bench/natural_patches.py` (commit {commit}): {options.count:,} whitened (ZCA) 16×16 training "
        f"patches (ZCA ε = {options.epsilon:g}) and {options.heldout:,} held-out patches (another seed, whitened with the training transform) from the six "
        f"photographs in ../shared/data/images; H = {options.latents}, diagonal posteriors, EM-like scheme, batch 512, "
        f"{options.epochs} epochs, seed 1 for every model. Held-out numbers are per patch in nats, with W, σ², λ from "
        f"training; log-likelihood by importance sampling with K = {samples} (mean ± standard error; ESS is the mean "
        "effective sample size per point).",
        "",
        f"Annealed model: --anneal-prior {options.anneal}.", "",
        "| model | training L (last epoch) | held-out ELBO | held-out log-likelihood (IS) | ESS | Gini | σ² | train time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        rep = r["report"]
        ll = rep.get("log_likelihood")
        last = r["history"]["objective"][-1]
        note = " (−MAP energy)" if label == "map-l1" else (" (exact ELBO)" if label == "elbo-mc" else "")
        lines.append(
            f"| {label} | {last:.2f}{note} | {rep['held_out_elbo']['mean']:.2f} ± {rep['held_out_elbo']['standard_error']:.2f} | "
            + (f"{ll['mean']:.2f} ± {ll['standard_error']:.2f}" if ll else "–")
            + f" | {(ll or {}).get('mean_effective_sample_size', 0):.0f} | {rep['gini']:.3f} | {rep['sigma2']:.4g} | {r['seconds']:.0f} s |")
    lines += ["", "Per-epoch training objective (L per point at β = 1; for elbo-mc the exact ELBO with the learned σ², λ; "
              "for map-l1 minus the MAP energy):", "",
              "| epoch | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    epochs = max(len(r["history"]["objective"]) for r in results.values())
    for e in range(epochs):
        cells = []
        for r in results.values():
            values = r["history"]["objective"]
            cells.append(f"{values[e]:.2f}" if e < len(values) else "")
        lines.append(f"| {e + 1} | " + " | ".join(cells) + " |")
    if headline:
        rep, hist = headline["report"], headline["history"]
        ll = rep.get("log_likelihood")
        lines += ["", "## The annealed model trained longer", "",
                  f"`{os.path.relpath(headline['path'], PACKAGE_DIR)}`, trained apart on the same training patches "
                  "(H = 100, diagonal, EM-like, β_prior annealed 10 → 1 over 5 epochs), evaluated on the same held-out "
                  f"patches: held-out ELBO {rep['held_out_elbo']['mean']:.2f} ± {rep['held_out_elbo']['standard_error']:.2f}, "
                  + (f"log-likelihood (IS) {ll['mean']:.2f} ± {ll['standard_error']:.2f} (ESS {(ll or {}).get('mean_effective_sample_size', 0):.0f}), "
                     if ll else "")
                  + f"Gini {rep['gini']:.3f}, σ² {rep['sigma2']:.4g}.", "",
                  "| epoch | L (β = 1) | β_prior | H[q] | H[prior] | H[noise] | Gini | seconds |", "|---|---|---|---|---|---|---|---|"]
        for e in range(len(hist["objective"])):
            lines.append(f"| {e + 1} | {hist['objective'][e]:.2f} | {hist['beta_prior'][e]:.1f} | {hist['posterior_entropy'][e]:.2f} | "
                         f"{hist['prior_entropy'][e]:.2f} | {hist['noise_entropy'][e]:.2f} | {hist['gini'][e]:.3f} | {hist['seconds'][e]:.0f} |")
    lines += ["", "The learned fields" + (" of the annealed model trained longer:" if headline else ":"), "",
              "![fields](natural-patches-fields.png)", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote", path)


if __name__ == "__main__":
    main()
