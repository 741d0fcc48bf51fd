#!/usr/bin/env python3
"""Supervised multi-label results: SDLGM against one-vs-all, most-frequent and scikit-learn's one-vs-rest logistic
regression on the Mulan datasets, with SDLGM's settings chosen on validation rows of the training data.

Run from anywhere, after `swift build -c release` (about a minute on 2 cores); the whole procedure on the three
Mulan sets takes about 2 hours on 2 cores:

    python3 bench/multilabel.py [--bin DIR] [--datasets bibtex,medical,emotions] [--data-dir DIR]

For each dataset in --data-dir (default ../shared/data/multilabel; each folder holds NAME-train.arff, NAME-test.arff
and NAME.xml in Mulan's format, so delicious drops in as it is), the SparseKit tools only, as a user with separate train
and test files runs them: `sk-convert` (train ARFF + XML -> TRAIN.h5; test ARFF `--like TRAIN.h5` -> TEST.h5), then

- defaults: `sk-train sdlgm TRAIN.h5 --seed 1` with nothing else (L0 = 10 capped at C, hidden 512, Adam 1e-3, batch
  128, the automatic feature scaling, 20 epochs or more to make 1000 Adam steps), `--method one-vs-all
  --learning-rate 0.01` (the same length rule) and `--method most-frequent`;
- validation procedure (never the test split; bench/multilabel_validation.py): 10-fold cross-validation over the
  training rows chooses a setting from GRID and its length (the default length unless the pooled validation curve
  beats it by more than one standard error), then on 5 folds whether `--ensemble 5` of it beats one model, whether
  `--label-smoothing` 0.1 or 0.2 beats that by more than the margin, and whether the neighbour component does; the
  validated model ("sdlgm, validated") is that setting, length, member count, smoothing and neighbour component
  trained on every training row;
- seeds (--seeds 1,2,3,4,5): the defaults and the validated setting trained again at each seed and scored on the
  test rows, their P@1 reported as mean and range (an ensemble at seed s uses the seeds (s - 1) M + 1 ... s M, so the
  ensembles of different seeds share no member); when the ensemble was chosen, its single-model setting too;
- anchor: scikit-learn's `OneVsRestClassifier(LogisticRegression(max_iter=1000))` on the same features (read from
  TRAIN.h5 / TEST.h5), as the issue states it; its P@k and nDCG@k computed here with pyxclib's definitions.

`sk-eval MODEL TEST.h5 --json` scores the SparseKit models (every row; propensities from the counts the model
stores). Writes docs/multilabel.md (or --output); intermediate files in bench/out/ml/ (or --work).
"""

import argparse
import json
import math
import os
import time

import h5py

from multilabel_validation import (ENSEMBLE, ENSEMBLE_FOLDS, FOLDS, GRID, NEIGHBOUR_COUNTS, NEIGHBOUR_WEIGHTS, SEED,
                                   SMOOTHING_GRID, VALIDATION, choose, choose_neighbours, ensemble_check,
                                   margin as margin_of, smoothing_check)
from sparsekit import commit as sparsekit_commit, BENCH_DIR, PACKAGE_DIR, read_csr, tool

DATA_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "multilabel"))
BASELINES = {"one-vs-all": ["--method", "one-vs-all", "--learning-rate", "0.01", "--seed", "1"],
             "most-frequent": ["--method", "most-frequent"]}
# The workflow and definitions behind the table, written into docs/multilabel.md after it.
WORKFLOW = """## The workflow

```sh
sk-convert bibtex-train.arff --format arff --xml bibtex.xml -o bibtex-train.h5
sk-convert bibtex-test.arff --format arff --like bibtex-train.h5 -o bibtex-test.h5   # TRAIN's counts and names
sk-train sdlgm bibtex-train.h5 -o sdlgm.h5 --seed 1              # a file without splits: every row
sk-eval sdlgm.h5 bibtex-test.h5 --k 1,3,5,10                     # every row; no training file needed
sk-encode sdlgm.h5 bibtex-test.h5 -o pred.h5 --top-k 10          # /codes (predicted sets) and /predictions
sk-encode sdlgm.h5 bibtex-test.h5 -o pred.txt --top-k 10 --export xc
sk-train sdlgm bibtex-train.h5 -o five.h5 --ensemble 5 --seed 1  # seeds 1…5 in one file (docs/ensemble.md)
```

**Training on data it was not tuned on.** `sk-train sdlgm` fits a feature scaling on the training rows, stores it
in the model (root attribute `feature_scaling`, `/model/feature_shift` and `/model/feature_scale`) and every later
tool applies it: `--scale auto` (the default) leaves binary features as they are, standardizes dense ones (at least
half of the entries non-zero: emotions' audio descriptors, birds' features that reach 1e5) and divides other sparse
real values by each feature's largest magnitude; `standardize`, `max-abs`, `tf-idf` (smooth idf, then unit rows) and
`l2-rows` are scikit-learn's `StandardScaler`, `MaxAbsScaler`, `TfidfTransformer` and `normalize`, checked against
them. The length: `--epochs`, or `--steps` Adam steps; by default 20 epochs or enough for 1000 Adam steps, so a data
set of a few hundred points (emotions, medical, genbase: three or four minibatches per epoch) is not stopped after
80 steps. `--validation F` holds out a fraction F of the training rows (drawn from the seed, the same on `--resume`),
measures P@1 on them after every epoch (`/history/validation_precision`), stops once it has not risen for
`--patience` epochs (default 10) and keeps the best epoch's weights (`/config/best_epoch`); the label counts the model
stores are those of the rows it trained on. A model that stopped after its best epoch cannot be resumed exactly and
says so. Regularisers: `--dropout P` (input dropout on the stored features), `--hidden-dropout P` (on the MLP's
hidden activations), `--weight-decay λ` (decoupled, AdamW) and `--label-smoothing ε` (the Plackett–Luce bound
weighted 1 − ε, the cross-entropy of the label softmax against the uniform distribution over the labels ε;
Szegedy et al. 2016's label smoothing of the first choice).
A minibatch whose loss stops being finite ends training with a message that names the minibatch, how large the
(scaled) features are and the remedy; the last good epoch's model is written.

**Rows.** Without `--split`, `sk-train` reads the `train` split and `sk-eval` and `sk-encode` the `test` split; a
file without splits is read whole, and a file whose splits lack that name is refused (exit 64) until `--split NAME`
or `--split all` says which rows (`DefaultSplit` in DataKit, the one rule of every tool).

**`--like TRAIN.h5`** gives a file converted later TRAIN's feature and label counts and names: LIBSVM indices beyond
them, an XC header with other counts, or an ARFF attribute TRAIN does not name are refused with the file and line
(exit 65); ARFF labels are found by TRAIN's label names, so the XML is optional. A test file converted alone with
other counts is refused by `sk-eval` and `sk-encode` with a pointer to `--like`.

**Propensities** (Jain, Prabhu & Varma 2016; pyxclib's `compute_inv_propesity`): p_l = 1 / (1 + C (N_l + B)^−A),
C = (ln N − 1)(B + 1)^A, N the training points (with or without labels), N_l those with label l. Supervised models
store N as the root attribute `training_points` beside `/model/label_frequencies` (N_l / N), so `sk-eval` needs only
the model and the test file. pyxclib's typical values: A = 0.55, B = 1.5 (the default, and the one for every Mulan
data set here), A = 0.5, B = 0.4 for Wikipedia data sets (WikiLSHTC, Wikipedia-500K), A = 0.6, B = 2.6 for Amazon
data sets; `--propensity-a/-b` set them. A model written before `training_points` existed takes them from the data
file's `train` split (or `--propensity-split`), and otherwise reports no propensity-scored metrics, saying why;
`--propensity-split` is refused for newer models.

**Metrics** at any k (`sk-eval --k 1,3,5,10`), as pyxclib's `xclib/evaluation/xc_metrics.py` defines them, for N
points, y_i the true labels of point i, r_1, r_2, … its ranking (ties: the lower label first), g_l = 1/p_l:
P@k = (1/N) Σ_i (1/k) Σ_{j≤k} [r_j ∈ y_i]; nDCG@k = (1/N) Σ_i DCG_i / Z_i with DCG_i = Σ_{j≤k} [r_j ∈ y_i] / log2(j+1)
and Z_i = Σ_{j≤min(k,|y_i|)} 1/log2(j+1); PSP@k = Σ_i Σ_{j≤k} [r_j ∈ y_i] g_{r_j} over the same sum for the ideal
ranking (each point's labels by g); PSnDCG@k = Σ_i PSDCG_i / Z_i over the same for the ideal ranking, each point's
PSDCG divided by its own plain Z_i before the sums (pyxclib's `psndcg`; SparseKit divided the plain sums before,
which gave the bibtex SDLGM above 0.5161 instead of 0.5168 at k = 3 and 0.5469 instead of 0.5518 at k = 5). Points
without labels count in every denominator with zero gain. On that model's scores for all 159 labels
(`sk-encode --top-k 159`), pyxclib's own functions give the same four metrics at k = 1, 3, 5, 10 within 5·10⁻⁸
(pyxclib keeps nDCG in float32). Checked against an independent numpy/scipy implementation of these formulas on matrices with ties
and empty rows (`MultiLabelMetricsTests`, `MultiLabelWorkflowToolTests`) and against hard-coded values.

**Predictions** (`sk-encode --top-k K`, kind `codes`): `/codes`, the predicted label sets (CSR [N, C], the labels'
scores as values); `/predictions`, a CSR group [N, C] holding each row's K highest-scoring labels with their scores,
stored by label index as every CSR group here (sort a row's scores, descending, for its ranking; ties rank the lower
label first); root attributes `top_k` = K, `split` (the rows encoded, or `all`) and `model_file`. pyxclib takes
`/predictions` as a score matrix directly. `--export xc` writes the same top K as text in the Extreme Classification
Repository's sparse score-file format (what pyxclib's `read_sparse_file` reads): a header `N C`, then one line per
row of space-separated `label:score` pairs (0-based labels), best first.
"""


def sklearn_anchor(train, test):
    """P@k and nDCG@k (k = 1, 3, 5) of scikit-learn's one-vs-rest logistic regression on the features of the two
    files, and its training time; labels absent from the training rows score -inf."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    def read(path):
        with h5py.File(path, "r") as f:
            return read_csr(f, "features"), read_csr(f, "labels")
    (x, y), (xt, yt) = read(train), read(test)
    present = np.asarray(y.sum(0)).ravel() > 0
    started = time.time()
    model = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(x, y[:, present].toarray())
    seconds = time.time() - started
    scores = np.full((xt.shape[0], y.shape[1]), -np.inf)
    scores[:, present] = model.decision_function(xt)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :5]  # ties: the lower label first
    truth = yt.toarray() > 0
    hits = truth[np.arange(truth.shape[0])[:, None], order]
    discount = 1 / np.log2(np.arange(2, 7))
    counts = truth.sum(1)
    result = []
    for k in (1, 3, 5):
        ideal = np.array([discount[:min(k, c)].sum() if c else 1 for c in counts])
        ndcg = np.where(counts > 0, (hits[:, :k] * discount[:k]).sum(1) / ideal, 0)
        result.append({"k": k, "precision": hits[:, :k].sum(1).mean() / k, "ndcg": ndcg.mean()})
    return result, seconds


def seed_runs(dataset, train, test, out, method, options, seeds, bin_dir, members=1):
    """Test P@1 of `options` trained at each of `seeds` (an ensemble of `members` at seed s: the seeds from
    (s - 1) members + 1 on)."""
    result = []
    for seed in seeds:
        model = os.path.join(out, f"{dataset}-{method.replace(', ', '-')}-seed{seed}.h5")
        tool("sk-train", "sdlgm", train, "-o", model, "--quiet", *options, "--seed", (seed - 1) * members + 1, bin_dir=bin_dir)
        report = json.loads(tool("sk-eval", model, test, "--json", bin_dir=bin_dir))
        result.append(report["ranking"][0]["precision"])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=None, help="folder of the sk-* binaries (default .build/release)")
    parser.add_argument("--datasets", default="bibtex,medical,emotions")
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--seeds", default="1,2,3,4,5", help="seeds of the test P@1 table (defaults and validated)")
    parser.add_argument("--output", default=os.path.join(PACKAGE_DIR, "docs", "multilabel.md"))
    parser.add_argument("--work", default=os.path.join(BENCH_DIR, "out", "ml"),
                        help="folder of the converted files, models and fold files (default bench/out/ml; give two runs "
                             "at once different folders)")
    parser.add_argument("--chosen", action="append", default=[], metavar="DATASET=CANDIDATE@EPOCHS",
                        help="take steps 1-3's result for DATASET from an earlier run of this procedure instead of "
                             "running them again (e.g. 'bibtex=l2-rows, hidden dropout 0.5@26'); steps 4 and 5 run")
    options = parser.parse_args()
    seeds = [int(s) for s in options.seeds.split(",")]
    out = options.work
    os.makedirs(out, exist_ok=True)
    rows, procedure, seed_table = [], [], []
    load = os.getloadavg()[0]  # training times are only comparable on an idle machine
    commit = sparsekit_commit()  # of the binaries' sources, read before the runs
    for dataset in options.datasets.split(","):
        folder = os.path.join(options.data_dir, dataset)
        train, test = (os.path.join(out, f"{dataset}-{part}.h5") for part in ("train", "test"))
        tool("sk-convert", os.path.join(folder, f"{dataset}-train.arff"), "--format", "arff", "--xml",
             os.path.join(folder, f"{dataset}.xml"), "-o", train, "--quiet", bin_dir=options.bin)
        tool("sk-convert", os.path.join(folder, f"{dataset}-test.arff"), "--format", "arff", "--like", train, "-o", test,
             "--quiet", bin_dir=options.bin)
        started = time.time()
        given = dict(c.split("=", 1) for c in options.chosen)
        with h5py.File(train, "r") as f:
            rows_n = int(f["features"].attrs["shape"][0])
        if dataset in given:  # steps 1-3 from an earlier run
            chosen, epochs = given[dataset].rsplit("@", 1)
            chosen_options, epochs, scores, margin = GRID[chosen], int(epochs), None, None
        else:
            chosen, chosen_options, epochs, scores, margin = choose(dataset, train, out, options.bin)
        single = chosen_options + ["--epochs", str(epochs)]
        check, grid = ensemble_check(dataset, train, out, chosen_options, epochs, options.bin, neighbours=True)
        members = ENSEMBLE if check[1] > check[0] else 1
        slot = 1 if members > 1 else 0
        alone = single + (["--ensemble", str(members)] if members > 1 else [])
        eps, smoothing = smoothing_check(dataset, train, out, alone, check[slot], rows_n, options.bin)
        if eps:
            single, alone = (part + ["--label-smoothing", str(eps)] for part in (single, alone))
        base, base_grid = smoothing[eps] if eps else (check[slot], grid[slot])
        pair = choose_neighbours(base, base_grid, rows_n)
        neighbours = ["--neighbours", str(pair[0]), "--neighbour-weight", str(pair[1])] if pair else []
        selection_seconds = time.time() - started
        procedure.append((dataset, chosen, margin, scores, check, members, (eps, smoothing),
                          (pair, base_grid, base, rows_n), selection_seconds))
        validated = alone + neighbours
        runs = {"sdlgm, validated": ["--seed", "1"] + validated, "sdlgm, defaults": ["--seed", "1"], **BASELINES}
        for method, extra in runs.items():
            model = os.path.join(out, f"{dataset}-{method.replace(', ', '-')}.h5")
            started = time.time()
            tool("sk-train", "sdlgm", train, "-o", model, "--quiet", *extra, bin_dir=options.bin)
            seconds = time.time() - started
            report = json.loads(tool("sk-eval", model, test, "--json", bin_dir=options.bin))
            rows.append((dataset, method, report, seconds))
            print(dataset, method, [round(m["precision"], 4) for m in report["ranking"]], f"{seconds:.1f} s", flush=True)
        ranking, seconds = sklearn_anchor(train, test)
        rows.append((dataset, "scikit-learn one-vs-rest LR", {"ranking": ranking}, seconds))
        print(dataset, "sklearn", [round(m["precision"], 4) for m in ranking], f"{seconds:.1f} s", flush=True)
        seeded = [("sdlgm, validated", validated, members), ("sdlgm, defaults", [], 1)]
        if neighbours:
            seeded.insert(1, ("sdlgm, validated, without neighbours", alone, members))
        if members > 1:
            seeded.insert(1 + bool(neighbours), ("sdlgm, validated setting, one model", single, 1))
        for method, extra, m in seeded:
            precisions = seed_runs(dataset, train, test, out, method, extra, seeds, options.bin, members=m)
            seed_table.append((dataset, method, " ".join(extra) or "(none)", precisions, ranking[0]["precision"]))
            print(dataset, method, "seeds", seeds, [round(p, 4) for p in precisions], flush=True)
    lines = ["# Supervised multi-label results", "",
             f"Made by `python3 bench/multilabel.py` (commit {commit}) on the train/test splits of the Mulan-format "
             f"datasets in {os.path.relpath(options.data_dir, PACKAGE_DIR)} (in ../shared/data/multilabel: the "
             "published splits), converted to separate files (the test file `--like` the training "
             "file): trained on every row of the training file, evaluated on every row of the test file, seed 1. "
             "*sdlgm, defaults*: `sk-train sdlgm TRAIN.h5` with no options (L0 = 10 capped at C, hidden 512, Adam "
             "10⁻³, batch 128, automatic feature scaling, 20 epochs or more to make 1000 Adam steps). *sdlgm, "
             "validated*: the setting, length and member count the procedure below chose. "
             "*one-vs-all*: logistic regression with the same sparse first layer and no hidden layer, Adam 10⁻², the "
             "same length rule. *scikit-learn one-vs-rest LR*: `OneVsRestClassifier(LogisticRegression(max_iter="
             "1000))` on the same HDF5 features, the anchor the issue names (P@k and nDCG@k only). Metrics as "
             "pyxclib's `xc_metrics` computes them (PSP@k and PSnDCG@k normalized by the ideal ranking's; "
             "propensities from the training label counts the model stores, A = 0.55, B = 1.5). Training time is the "
             "whole `sk-train` process on 2 cores (scikit-learn: its `fit`); the load average when the run began was "
             f"{load:.1f} (above 0 means other work shared the cores and the times are upper bounds).", "",
             "| dataset | model | P@1 | P@3 | P@5 | nDCG@1 | nDCG@3 | nDCG@5 | PSP@1 | PSP@3 | PSP@5 | PSnDCG@3 | PSnDCG@5 "
             "| micro-F1 | train time |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for dataset, method, report, seconds in rows:
        r = report["ranking"]
        if "sets" in report:
            cells = [f"{m['precision']:.4f}" for m in r] + [f"{m['ndcg']:.4f}" for m in r] + \
                    [f"{m['propensity_precision']:.4f}" for m in r] + [f"{m['propensity_ndcg']:.4f}" for m in r[1:]] + \
                    [f"{report['sets']['micro_f1']:.4f}", f"{seconds:.1f} s"]
        else:
            cells = [f"{m['precision']:.4f}" for m in r] + [f"{m['ndcg']:.4f}" for m in r] + ["—"] * 6 + [f"{seconds:.1f} s"]
        lines.append(f"| {dataset} | {method} | " + " | ".join(cells) + " |")
    lines += ["", "## Test P@1 at seeds " + ", ".join(map(str, seeds)), "",
              "The validated setting (with its cross-validated length and member count) and the defaults, trained on every "
              "training row at each seed and scored on the test rows once the choice was made: mean [lowest–highest]. An "
              f"ensemble at seed s has the members of seeds {ENSEMBLE}(s − 1) + 1 … {ENSEMBLE}s.", "",
              "| dataset | model | options | P@1 mean [range] | per seed | scikit-learn one-vs-rest LR |",
              "|---|---|---|---|---|---|"]
    for dataset, method, extra, precisions, anchor in seed_table:
        lines.append(f"| {dataset} | {method} | `{extra}` | {sum(precisions) / len(precisions):.4f} "
                     f"[{min(precisions):.4f}–{max(precisions):.4f}] | " + ", ".join(f"{p:.4f}" for p in precisions)
                     + f" | {anchor:.4f} |")
    lines += ["", "## The validation procedure", "",
              f"Never the test split (bench/multilabel_validation.py): {FOLDS}-fold cross-validation over the training "
              f"rows. Each candidate setting is trained {FOLDS} times, `--validation-fold I/{FOLDS} " + " ".join(VALIDATION)
              + f" --seed {SEED}` (fold I of an order drawn from the seed held out, so the runs hold out every training "
              "row once; the patience exceeds the run, so each fold's P@1 curve is whole). The folds' hits are added up "
              "epoch by epoch into one validation P@1 curve over all N training rows. Length rule: the default length of "
              "a run on the N rows (20 epochs or more to make 1000 Adam steps, in epochs), unless the curve's peak beats "
              "the curve there by more than one standard error of a P@1 on N points, sqrt(p (1 − p) / N); then the "
              "peak's epoch. A candidate's score is its curve at that length (the table: score @ epochs; the peak: "
              "peak @ epoch). A candidate replaces the defaults only when its score beats theirs by more than the same "
              f"standard error (the margin column). Then the ensemble check: the chosen setting at its length, "
              f"`--ensemble {ENSEMBLE}` against one model of seed {SEED}, both trained on {ENSEMBLE_FOLDS} folds "
              "(splits cut by numpy from the seed) and scored on the held-out rows; the ensemble is chosen when its "
              "pooled P@1 is higher. Then the smoothing check: that configuration (setting, length, member count) "
              "with `--label-smoothing ε` for ε in " + ", ".join(map(str, SMOOTHING_GRID)) + " on the same folds; the "
              "best ε is chosen when its pooled P@1 beats the configuration without by more than the margin. Then the "
              "neighbour check (docs/neighbours.md): those models (of the member count and ε chosen) keep their "
              "training rows (`--neighbours`, which changes no training step) and the held-out rows "
              "are scored again for every K in " + ", ".join(map(str, NEIGHBOUR_COUNTS)) + " and weight α in "
              + ", ".join(map(str, NEIGHBOUR_WEIGHTS)) + " (`sk-eval --neighbours K --neighbour-weight α`); the best "
              "pair is chosen when its pooled P@1 beats the same models without neighbours by more than the margin. "
              "The same candidates and rules for every dataset, so a dataset never seen "
              "(delicious) gets the same treatment: `python3 bench/multilabel.py --datasets delicious --data-dir DIR`.",
              "",
              "| dataset | " + " | ".join(GRID) + " | margin | chosen | one model | ensemble | members | "
              + " | ".join(f"smoothing {eps}" for eps in SMOOTHING_GRID) + " | ε chosen | neighbours: "
              "best K, α | its P@1 | chosen | selection time |",
              "|---|" + "---|" * (len(GRID) + 10 + len(SMOOTHING_GRID))]
    for dataset, chosen, margin, scores, check, members, (eps, smoothing), (pair, grid, base, rows_n), seconds \
            in procedure:
        best = max(grid, key=grid.get)
        cells = [f"{scores[n][0]:.4f} @ {scores[n][1]} (peak {scores[n][2]:.4f} @ {scores[n][3]})" for n in GRID] if scores \
            else ["(earlier run)"] * len(GRID)
        cells += [f"{margin:.4f}" if margin else "—", chosen, f"{check[0]:.4f}", f"{check[1]:.4f}", str(members)]
        cells += [f"{smoothing[e][0]:.4f}" for e in SMOOTHING_GRID] + [str(eps) if eps else "none"]
        cells += [f"K = {best[0]}, α = {best[1]}",
                  f"{grid[best]:.4f} ({grid[best] - base:+.4f}; margin {margin_of(base, rows_n):.4f})",
                  "yes" if pair else "no", f"{seconds:.0f} s"]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    lines += ["", "Candidates: " + "; ".join(f"*{n}*: `{' '.join(o) or '(none)'}`" for n, o in GRID.items()) + ".", "",
              WORKFLOW]
    path = options.output
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote", path)


if __name__ == "__main__":
    main()
