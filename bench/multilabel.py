#!/usr/bin/env python3
"""Supervised multi-label results: SDLGM against one-vs-all and most-frequent on the Mulan datasets.

Run from anywhere, after `swift build -c release` (about a minute on 2 cores):

    python3 bench/multilabel.py

For each dataset in ../shared/data/multilabel (bibtex, medical, emotions; their published train/test splits), the
SparseKit tools only: `sk-convert` (train and test ARFF + XML -> one `multilabel` file with splits), `sk-train
sdlgm` on the train split for `--method sdlgm` (hidden 512, L0 = 10, Adam 1e-3), `one-vs-all` (Adam 1e-2; 1e-3
reaches P@1 0.53 on bibtex in the same 20 epochs) and `most-frequent`, 20 epochs, batch 128, seed 1, and `sk-eval
--split test --json`. Writes docs/multilabel.md; intermediate files in bench/out/ml/.
"""

import json
import os
import time

from sparsekit import commit as sparsekit_commit, BENCH_DIR, PACKAGE_DIR, tool

DATA_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "multilabel"))
# Each method with the options that apply to it (sk-train refuses the others by name).
TRAINING = ["--epochs", "20", "--batch-size", "128", "--seed", "1"]
METHODS = {"sdlgm": ["--max-active", "10", "--hidden", "512", "--learning-rate", "0.001"] + TRAINING,
           "one-vs-all": ["--learning-rate", "0.01"] + TRAINING, "most-frequent": []}


def main():
    out = os.path.join(BENCH_DIR, "out", "ml")
    os.makedirs(out, exist_ok=True)
    rows = []
    for dataset in ["bibtex", "medical", "emotions"]:
        folder = os.path.join(DATA_DIR, dataset)
        data = os.path.join(out, dataset + ".h5")
        tool("sk-convert", os.path.join(folder, f"{dataset}-train.arff"), os.path.join(folder, f"{dataset}-test.arff"),
             "--format", "arff", "--xml", os.path.join(folder, f"{dataset}.xml"), "-o", data, "--quiet")
        for method, extra in METHODS.items():
            model = os.path.join(out, f"{dataset}-{method}.h5")
            started = time.time()
            tool("sk-train", "sdlgm", data, "-o", model, "--method", method, "--quiet", *extra)
            seconds = time.time() - started
            report = json.loads(tool("sk-eval", model, data, "--split", "test", "--json"))
            rows.append((dataset, method, report, seconds))
            print(dataset, method, [round(m["precision"], 4) for m in report["ranking"]], f"{seconds:.1f} s", flush=True)
    commit = sparsekit_commit()
    lines = ["# Supervised multi-label results", "",
             f"Made by `python3 bench/multilabel.py` (commit {commit}) on the published train/test splits of the Mulan "
             "datasets in ../shared/data/multilabel: trained on the train split, evaluated on the test split. SDLGM: "
             "hidden layer 512, L0 = 10, Adam 10⁻³; one-vs-all logistic regression: the same sparse first layer, no "
             "hidden layer, Adam 10⁻²; 20 epochs, batch 128, seed 1. PSP@k is normalized as pyxclib computes it "
             "(propensities from the training labels, A = 0.55, B = 1.5). Training time is the whole `sk-train` "
             "process on 2 cores.", "",
             "| dataset | model | P@1 | P@3 | P@5 | nDCG@1 | nDCG@3 | nDCG@5 | PSP@1 | PSP@3 | PSP@5 | micro-F1 | train time |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for dataset, method, report, seconds in rows:
        r = report["ranking"]
        cells = [f"{m['precision']:.4f}" for m in r] + [f"{m['ndcg']:.4f}" for m in r] + \
                [f"{m['propensityPrecision']:.4f}" for m in r] + [f"{report['sets']['microF1']:.4f}", f"{seconds:.1f} s"]
        lines.append(f"| {dataset} | {method} | " + " | ".join(cells) + " |")
    lines.append("")
    path = os.path.join(PACKAGE_DIR, "docs", "multilabel.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote", path)


if __name__ == "__main__":
    main()
