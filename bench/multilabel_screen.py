#!/usr/bin/env python3
"""Screen settings of supervised SDLGM by 10-fold cross-validation on the TRAINING rows only: each candidate's pooled
validation P@1 curve (bench/multilabel_validation.py's `pooled_curve`: `--validation-fold I/10 --seed 1`, the folds'
hits added up epoch by epoch over all N training rows), its value at the default length and its peak. No test row
is read. Run after `swift build -c release`:

    python3 bench/multilabel_screen.py bench/out/ml/bibtex-train.h5 --epochs 60 [--only NAME,NAME] [--bin DIR]
    python3 bench/multilabel_screen.py bench/out/ml/bibtex-train.h5 --epochs 26 --only l2-hd5 --members 5,10

(bench/multilabel.py converts the Mulan ARFF files to bench/out/ml/NAME-train.h5.) A candidate's curve does not depend
on --epochs beyond its length (no learning-rate schedule), so curves of different lengths compare epoch by epoch.
Prints one line per candidate and a Markdown table; --output FILE writes the table.
"""

import argparse
import os

import h5py

from multilabel_validation import ENSEMBLE_FOLDS, default_epochs, ensemble_check, margin, pooled_curve
from sparsekit import BENCH_DIR

L2 = ["--scale", "l2-rows"]
HD5 = ["--hidden-dropout", "0.5"]
CANDIDATES = {  # short names (for --only) and options; l2-hd5 is bibtex's validated setting (docs/multilabel.md)
    "defaults": [],
    "hd5": HD5,
    "l2-hd5": L2 + HD5,
    "tfidf-hd5": ["--scale", "tf-idf"] + HD5,
    "l2-h1024-hd5": L2 + HD5 + ["--hidden", "1024"],
    "l2-h2048-hd6": L2 + ["--hidden-dropout", "0.6", "--hidden", "2048"],
    "l2-hd5-in0.1": L2 + HD5 + ["--dropout", "0.1"],
    "l2-h512x2-hd5": L2 + HD5 + ["--hidden", "512,512"],
    "l2-hd5-wd0.1": L2 + HD5 + ["--weight-decay", "0.1"],
    "l2-hd5-L0-5": L2 + HD5 + ["--max-active", "5"],
    "l2-hd5-lr3e-3": L2 + HD5 + ["--learning-rate", "0.003"],
    "l2-hd5-lr1e-2": L2 + HD5 + ["--learning-rate", "0.01"],
}
MARKS = (10, 20, 30, 40, 50, 60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train", help="a multilabel training file (without splits, or with a 'train' split)")
    parser.add_argument("--epochs", type=int, default=60, help="each fold's run length (default 60)")
    parser.add_argument("--only", help="comma-separated candidate names (default: all)")
    parser.add_argument("--bin", default=None, help="folder of the sk-* binaries (default .build/release)")
    parser.add_argument("--output", help="write the Markdown table here")
    parser.add_argument("--members", help="instead of the curves: the ensemble check of the one candidate --only names "
                        "at these member counts (e.g. 5,10) against one model, at --epochs, on the procedure's "
                        f"{ENSEMBLE_FOLDS} folds")
    options = parser.parse_args()
    dataset = os.path.basename(options.train).split("-")[0]
    out = os.path.join(BENCH_DIR, "out", "ml")
    os.makedirs(out, exist_ok=True)
    with h5py.File(options.train, "r") as f:
        rows = int(f["features"].attrs["shape"][0])
    default = default_epochs(rows)
    names = options.only.split(",") if options.only else list(CANDIDATES)
    if options.members:
        members = tuple(map(int, options.members.split(",")))
        single, *ensembles = ensemble_check(dataset, options.train, out, CANDIDATES[names[0]], options.epochs, options.bin,
                                            members=members)
        print(f"{dataset} {names[0]}, {options.epochs} epochs: one model {single:.4f}, "
              + ", ".join(f"--ensemble {m} {p:.4f}" for m, p in zip(members, ensembles)))
        return
    run = ["--epochs", str(options.epochs), "--patience", "1000000"]
    lines = [f"| candidate | options | P@1 at the default length ({default} epochs) | peak @ epoch | "
             + " | ".join(f"@ {m}" for m in MARKS if m <= options.epochs) + " |",
             "|---|---|---|---|" + "---|" * len([m for m in MARKS if m <= options.epochs])]
    for name in names:
        curve, points = pooled_curve(dataset, options.train, out, name, CANDIDATES[name], options.bin, run=run)
        peak = max(range(len(curve)), key=lambda e: curve[e])
        at_default = curve[min(default, len(curve)) - 1]
        print(f"{dataset} {name}: {at_default:.4f} at {default} epochs, peak {curve[peak]:.4f} @ {peak + 1} "
              f"(one standard error {margin(at_default, points):.4f} on {points} rows)", flush=True)
        lines.append(f"| {name} | `{' '.join(CANDIDATES[name]) or '(none)'}` | {at_default:.4f} | {curve[peak]:.4f} @ "
                     f"{peak + 1} | " + " | ".join(f"{curve[m - 1]:.4f}" for m in MARKS if m <= len(curve)) + " |")
    print("\n".join(lines))
    if options.output:
        with open(options.output, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
