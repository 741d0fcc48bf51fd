"""The validation procedure of bench/multilabel.py: SDLGM's setting, its training length and whether to ensemble it,
chosen on the training rows only (never the test split).

1. K-fold cross-validation (FOLDS = 10): each GRID candidate is trained FOLDS times, `--validation-fold I/10
   --steps 4000` with a patience longer than the run (fold I of an order drawn from SEED held out, P@1 on it after
   every epoch); the folds' hits are added up epoch by epoch into one validation curve over all N training rows.
2. The length rule (`length`): the default length of a run on all N rows (max(20 epochs, 1000 Adam steps), in
   epochs), unless the curve's peak beats the curve at that epoch by more than the margin, one standard error of a P@1
   on N points, sqrt(p (1 - p) / N); then the peak's epoch. A candidate's score is its curve at that length.
3. A candidate replaces the defaults only when its score beats theirs by more than the margin.
4. The ensemble check (`ensemble_check`): the chosen setting at its length, `--ensemble ENSEMBLE` against one model
   (seed SEED, member 1 of the ensemble), both trained on the training part of ENSEMBLE_FOLDS folds cut here
   (`/splits/fold<i>-train`, `fold<i>-valid` in a copy of TRAIN.h5) and scored on the held-out part by sk-eval; the
   ensemble is chosen when its pooled P@1 is above the single model's.
4b. The smoothing check (`smoothing_check`): the step-4 configuration (setting, length, member count) with
   `--label-smoothing eps` for every eps of SMOOTHING_GRID on the same folds; the best eps is chosen when its pooled
   P@1 beats the configuration without by more than the margin.
5. The neighbour check (`choose_neighbours`, docs/neighbours.md): the step-4 models (step 4b's, with its eps) keep
   their training rows (`--neighbours`); sk-eval scores the held-out parts again for every K and weight alpha of
   NEIGHBOUR_GRID (`--neighbours K --neighbour-weight alpha`), and the best pair is chosen when its pooled P@1 beats
   the same models without neighbours by more than the margin.

Why K = 10 and the length rule (measured on the training rows at seed 1, `bench/fold_curves.py`): the 5-fold curve
of emotions peaked at epoch 21 (0.742) and fell to 0.701 at the default length of a run on all 391 rows (250
epochs), and the peak's length lost 0.056 of test P@1 against the defaults. How far the curve falls from its peak to
the default length depends on how many rows the folds train on: for emotions 0.046 with 2 folds (0.5 N rows), 0.041
with 5 (0.8 N), 0.015 with 10 (0.9 N), where one standard error is 0.023; medical's curve at the default length
rises from 0.715 to 0.796 to 0.826 over the same folds, and falls from its peak by 0.012, 0.006 and 0. So the length
is read from folds as large as affordable, and only a peak that beats the default length by more than its standard
error moves it. The peak's epoch was as unstable as the drop was consistent: 11, 21 and 9 for emotions at 2, 5 and 10
folds (16 at 5 folds with seed 2), so neither "the same epochs" nor "the same Adam steps" carries it over.
"""

import json
import math
import os

import h5py
import numpy as np

from sparsekit import tool

GRID = {"defaults": [], "l2-rows": ["--scale", "l2-rows"], "weight decay 0.1": ["--weight-decay", "0.1"],
        "dropout 0.2": ["--dropout", "0.2"], "hidden dropout 0.5": ["--hidden-dropout", "0.5"],
        "l2-rows, hidden dropout 0.5": ["--scale", "l2-rows", "--hidden-dropout", "0.5"],
        "l2-rows, hidden dropout 0.5, hidden 1024": ["--scale", "l2-rows", "--hidden-dropout", "0.5", "--hidden", "1024"]}
FOLDS = 10
# Each fold trains this long; the patience exceeds the run's epochs, so every fold's curve is whole.
VALIDATION = ["--steps", "4000", "--patience", "1000000"]
SEED = 1
ENSEMBLE = 5
ENSEMBLE_FOLDS = 5
# Step 5's grid: K most similar training rows and the weight alpha of their label distribution (sk-eval
# --neighbours K --neighbour-weight alpha on the step-4 models, trained with --neighbours).
NEIGHBOUR_COUNTS = (5, 10, 20, 40)
NEIGHBOUR_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
NEIGHBOUR_GRID = [(k, a) for k in NEIGHBOUR_COUNTS for a in NEIGHBOUR_WEIGHTS]
# Step 4b's label smoothing weights (sk-train --label-smoothing eps on the step-4 configuration).
SMOOTHING_GRID = (0.1, 0.2)
# sk-train's default length (SupervisedTrainer.defaultEpochs, defaultSteps) and minibatch size.
DEFAULT_EPOCHS, DEFAULT_STEPS, BATCH = 20, 1000, 128


def default_epochs(rows):
    """The epochs of sk-train's default length on `rows` training rows."""
    return max(DEFAULT_EPOCHS, math.ceil(DEFAULT_STEPS / math.ceil(rows / BATCH)))


def margin(p, points):
    """One standard error of a P@1 of p on `points` points."""
    return math.sqrt(p * (1 - p) / points)


def pooled_curve(dataset, train, out, name, options, bin_dir, run=VALIDATION):
    """(curve, N): the FOLDS folds' validation P@1 of one candidate after every epoch, pooled over the N rows; `run`
    is each fold's run length and patience."""
    curves, total = [], 0
    for fold in range(1, FOLDS + 1):
        model = os.path.join(out, f"{dataset}-valid-{name.replace(' ', '-').replace(',', '')}-{fold}.h5")
        tool("sk-train", "sdlgm", train, "-o", model, "--quiet", "--seed", SEED, "--validation-fold", f"{fold}/{FOLDS}",
             *run, *options, bin_dir=bin_dir)
        with h5py.File(model, "r") as f:
            history = f["history/validation_precision"][:]
            points = int(f["config"].attrs["validation_points"])
        curves.append([round(p * points) for p in history])
        total += points
        os.remove(model)
    epochs = min(map(len, curves))  # folds differ by a row, so their epoch counts may differ by one
    return [sum(c[e] for c in curves) / total for e in range(epochs)], total


def length(curve, rows):
    """The length rule: (epochs, score). The default length on `rows` rows unless the curve's peak beats it by more
    than the margin."""
    default = min(default_epochs(rows), len(curve))
    best = max(range(len(curve)), key=lambda e: curve[e]) + 1
    if curve[best - 1] - curve[default - 1] > margin(curve[default - 1], rows):
        return best, curve[best - 1]
    return default, curve[default - 1]


def choose(dataset, train, out, bin_dir):
    """Steps 1-3: (name, options, epochs, {candidate: (score, epochs, peak score, peak epoch)}, margin)."""
    with h5py.File(train, "r") as f:
        rows = int(f["features"].attrs["shape"][0])
    scores = {}
    for name, options in GRID.items():
        curve, points = pooled_curve(dataset, train, out, name, options, bin_dir)
        epochs, score = length(curve, rows)
        peak = max(range(len(curve)), key=lambda e: curve[e])
        scores[name] = (score, epochs, curve[peak], peak + 1)
        print(dataset, "cross-validation", name, round(score, 4), "at epoch", epochs, "peak", round(curve[peak], 4), "at",
              peak + 1, flush=True)
    p = scores["defaults"][0]
    width = margin(p, rows)
    name = max(scores, key=lambda n: scores[n][0])
    if scores[name][0] - p <= width:
        name = "defaults"
    return name, GRID[name], scores[name][1], scores, width


def fold_file(train, out, dataset):
    """A copy of TRAIN.h5 with ENSEMBLE_FOLDS folds as splits `fold<i>-train` / `fold<i>-valid` (an order drawn from
    SEED by numpy, cut in contiguous parts)."""
    path = os.path.join(out, f"{dataset}-folds.h5")
    with h5py.File(train, "r") as source, h5py.File(path, "w") as copy:
        for name in source:
            source.copy(name, copy)
        for key, value in source.attrs.items():
            copy.attrs[key] = value
        rows = int(source["features"].attrs["shape"][0])
        parts = np.array_split(np.random.RandomState(SEED).permutation(rows), ENSEMBLE_FOLDS)
        for i, part in enumerate(parts, 1):
            copy[f"splits/fold{i}-valid"] = np.sort(part).astype(np.int64)
            copy[f"splits/fold{i}-train"] = np.sort(np.concatenate([p for j, p in enumerate(parts, 1) if j != i])).astype(np.int64)
    return path


def fold_check(dataset, train, out, options, bin_dir, neighbours=False):
    """One configuration (`options`, with its --epochs and member count) trained on the training part of each of the
    ENSEMBLE_FOLDS folds and scored on the held-out part: its pooled P@1, and with `neighbours` (the models keep their
    training rows, `--neighbours`, which changes no training step) also the grid {(K, alpha): pooled P@1} of sk-eval
    `--neighbours K --neighbour-weight alpha` for every pair of NEIGHBOUR_GRID (step 5), the P@1 then that of alpha = 0."""
    folds = fold_file(train, out, dataset)
    hits, total, grid_hits = 0.0, 0, {pair: 0.0 for pair in NEIGHBOUR_GRID}
    keep = ["--neighbours", NEIGHBOUR_COUNTS[0]] if neighbours else []
    for i in range(1, ENSEMBLE_FOLDS + 1):
        model = os.path.join(out, f"{dataset}-check-{i}.h5")
        tool("sk-train", "sdlgm", folds, "-o", model, "--quiet", "--split", f"fold{i}-train", "--seed", SEED, *options,
             *keep, bin_dir=bin_dir)

        def pooled_hits(*overrides):
            report = json.loads(tool("sk-eval", model, folds, "--split", f"fold{i}-valid", "--json", *overrides,
                                     bin_dir=bin_dir, echo=False))
            return report["ranking"][0]["precision"] * report["points"], report["points"]

        value, points = pooled_hits(*(["--neighbour-weight", 0] if neighbours else []))
        hits += value
        for k, alpha in NEIGHBOUR_GRID if neighbours else []:
            grid_hits[(k, alpha)] += pooled_hits("--neighbours", k, "--neighbour-weight", alpha)[0]
        os.remove(model)
        total += points
    return hits / total, ({pair: h / total for pair, h in grid_hits.items()} if neighbours else None)


def ensemble_check(dataset, train, out, options, epochs, bin_dir, members=(ENSEMBLE,), neighbours=False):
    """Step 4: the P@1 of one model and of `--ensemble M` for each M in `members`, pooled over the ENSEMBLE_FOLDS
    held-out parts (`fold_check`): (single, ensemble) with the default one count, (single, M1's, M2's, ...) with
    several. With `neighbours` the result is (scores, grids), grids[slot] each count's step-5 grid."""
    counts = (1, *members)
    checks = [fold_check(dataset, train, out, [*options, "--epochs", epochs, *(["--ensemble", c] if c > 1 else [])],
                         bin_dir, neighbours) for c in counts]
    scores = tuple(score for score, _ in checks)
    print(dataset, "ensemble check", ", ".join(f"{c} member{'s' if c > 1 else ''} {p:.4f}" for c, p in zip(counts, scores)),
          flush=True)
    if not neighbours:
        return scores
    grids = [grid for _, grid in checks]
    for count, grid in zip(counts, grids):
        best = max(grid, key=grid.get)
        print(dataset, "neighbour check", count, "member(s): best --neighbours", best[0], "--neighbour-weight", best[1],
              f"{grid[best]:.4f}", flush=True)
    return scores, grids


def smoothing_check(dataset, train, out, options, base, rows, bin_dir):
    """Step 4b: the step-4 configuration (`options`: setting, --epochs, member count; `base` its pooled P@1) with
    `--label-smoothing eps` for every eps of SMOOTHING_GRID on the same folds (`fold_check`, with the step-5 grid).
    Returns (eps or None, {eps: (P@1, grid)}): the best eps when it beats `base` by more than the margin."""
    checks = {eps: fold_check(dataset, train, out, [*options, "--label-smoothing", eps], bin_dir, neighbours=True)
              for eps in SMOOTHING_GRID}
    for eps, (score, _) in checks.items():
        print(dataset, "smoothing check", eps, f"{score:.4f} (without: {base:.4f})", flush=True)
    best = max(checks, key=lambda eps: checks[eps][0])
    return (best if checks[best][0] - base > margin(base, rows) else None), checks


def choose_neighbours(base, grid, rows):
    """Step 5: (K, alpha) of the grid's best pooled P@1 when it beats `base` (alpha = 0, the same models) by more than
    the margin, else None."""
    best = max(grid, key=grid.get)
    return best if grid[best] - base > margin(base, rows) else None
