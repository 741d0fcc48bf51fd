#!/usr/bin/env python3
"""The measurement behind multilabel_validation.py's fold count and length rule: one setting's pooled K-fold
validation P@1 curve on the training rows (never the test split), for several K, printed at chosen epochs with the
drop from its peak to the default length of a run on all N rows.

    python3 bench/fold_curves.py TRAIN.h5 [--folds 2,5,10] [--seed 1] [-- sk-train options]

e.g. `python3 bench/fold_curves.py bench/out/ml/emotions-train.h5` (after bench/multilabel.py converted it)."""

import argparse
import os

import h5py

import multilabel_validation as validation
from sparsekit import BENCH_DIR

EPOCHS = [5, 10, 21, 30, 50, 100, 200, 250, 333, 500, 1000]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train")
    parser.add_argument("--folds", default="2,5,10")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bin", default=None)
    parser.add_argument("options", nargs="*")
    arguments = parser.parse_args()
    out = os.path.join(BENCH_DIR, "out", "ml")
    os.makedirs(out, exist_ok=True)
    with h5py.File(arguments.train, "r") as f:
        rows = int(f["features"].attrs["shape"][0])
    dataset = os.path.basename(arguments.train).replace(".h5", "")
    validation.SEED = arguments.seed
    default = validation.default_epochs(rows)
    for folds in map(int, arguments.folds.split(",")):
        validation.FOLDS = folds
        curve, _ = validation.pooled_curve(dataset, arguments.train, out, f"curve-k{folds}", arguments.options, arguments.bin)
        peak = max(range(len(curve)), key=lambda e: curve[e])
        at_default = curve[min(default, len(curve)) - 1]
        print(f"K = {folds}: peak {curve[peak]:.4f} @ {peak + 1}, default length {default}: {at_default:.4f} "
              f"(drop {curve[peak] - at_default:.4f}); " + " ".join(f"{e}: {curve[e - 1]:.3f}" for e in EPOCHS if e <= len(curve)),
              flush=True)


if __name__ == "__main__":
    main()
