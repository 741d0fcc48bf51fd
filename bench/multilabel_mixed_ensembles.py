"""Screen (training rows only): ensembles of 5 of several settings of supervised SDLGM, alone and mixed, with and
without the neighbour component, on the validation procedure's 5 folds of TRAIN.h5 (multilabel_validation.fold_file).

For each named setting, `sk-train --ensemble 5 --neighbours 10 --seed S` is trained on each fold's training part and
`sk-encode --top-k C` writes the held-out part's scores twice: `--neighbour-weight 0` (the members' mean first-choice
probabilities) and `--neighbour-weight 1` (the neighbours' label distribution, K = 10, the same for every setting).
Prints the pooled P@1 of every setting and of every mix of settings (their probabilities averaged), each also blended
with the neighbours, (1 - alpha) p + alpha q for alpha 0.2, 0.3, 0.4.

    python3 bench/multilabel_mixed_ensembles.py bench/out/ml/bibtex-train.h5 l2,h1024 [--seed 6]

Settings: see SETTINGS (bibtex's at its validated length, 26 epochs; medical's at its 334). Scores are cached in bench/out/screen per
setting, seed, weight and fold (delete them to retrain).
"""

import argparse
import hashlib
import itertools
import os

import h5py
import numpy as np

from multilabel_validation import ENSEMBLE, ENSEMBLE_FOLDS, fold_file
from sparsekit import BENCH_DIR, read_csr, tool

SETTINGS = {
    "l2": "--scale l2-rows --hidden-dropout 0.5 --epochs 26",
    "tfidf": "--scale tf-idf --hidden-dropout 0.5 --epochs 26",
    "h1024": "--scale l2-rows --hidden-dropout 0.5 --hidden 1024 --epochs 26",
    "h1024hd6": "--scale l2-rows --hidden-dropout 0.6 --hidden 1024 --epochs 26",
    "h2048": "--scale l2-rows --hidden-dropout 0.6 --hidden 2048 --epochs 26",
    "h1024ls1": "--scale l2-rows --hidden-dropout 0.5 --hidden 1024 --label-smoothing 0.1 --epochs 26",
    "h1024ls2": "--scale l2-rows --hidden-dropout 0.5 --hidden 1024 --label-smoothing 0.2 --epochs 26",
    # medical's choice (the defaults at its validated length) and the same with label smoothing
    "med": "--epochs 334",
    "medls1": "--epochs 334 --label-smoothing 0.1",
    "medls2": "--epochs 334 --label-smoothing 0.2",
}
WEIGHTS = (0.2, 0.3, 0.4)


def fold_scores(dataset, folds, splits, shape, out, setting, weight, seed):
    """The held-out scores (log probabilities, rows × labels) of every row, each from the fold that held it out."""
    key = hashlib.sha1(f"{SETTINGS[setting]} --seed {seed}".encode()).hexdigest()[:8]
    labels, scores = shape[1], np.zeros(shape)
    for i in range(1, ENSEMBLE_FOLDS + 1):
        cache = lambda w: os.path.join(out, f"{dataset}-mixed-{key}-w{w}-{i}.npy")
        if not os.path.exists(cache(weight)):  # train once, keep the scores of both weights
            model = os.path.join(out, f"{dataset}-mixed-{key}-{i}.h5")
            tool("sk-train", "sdlgm", folds, "-o", model, "--quiet", "--split", f"fold{i}-train", "--seed", seed,
                 "--ensemble", ENSEMBLE, "--neighbours", 10, *SETTINGS[setting].split())
            predictions = os.path.join(out, f"{dataset}-mixed-pred.h5")
            for w in (0, 1):
                tool("sk-encode", model, folds, "--split", f"fold{i}-valid", "-o", predictions, "--top-k", labels,
                     "--quiet", "--neighbour-weight", w)
                with h5py.File(predictions, "r") as f:
                    np.save(cache(w), read_csr(f, "predictions").toarray())
            os.remove(predictions)
            os.remove(model)
        scores[splits[f"fold{i}-valid"]] = np.load(cache(weight))
    return scores


def probabilities(logs):
    p = np.exp(logs - logs.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train")
    parser.add_argument("settings", help="comma-separated names of SETTINGS")
    parser.add_argument("--seed", type=int, default=1, help="the first member's seed (default 1)")
    options = parser.parse_args()
    dataset = os.path.basename(options.train).removesuffix("-train.h5")
    out = os.path.join(BENCH_DIR, "out", "screen")
    os.makedirs(out, exist_ok=True)
    folds = fold_file(options.train, out, dataset)
    with h5py.File(folds, "r") as f:
        y = read_csr(f, "labels")
        splits = {k: f["splits/" + k][:] for k in f["splits"]}
    names = options.settings.split(",")
    truth = y.toarray() > 0
    p_at_1 = lambda s: truth[np.arange(len(truth)), np.argmax(s, 1)].mean()
    scores = lambda name, weight: fold_scores(dataset, folds, splits, y.shape, out, name, weight, options.seed)
    neighbours = probabilities(scores(names[0], 1))
    alone = {name: probabilities(scores(name, 0)) for name in names}
    print(f"{dataset}, ensembles of {ENSEMBLE} (seeds {options.seed}-{options.seed + ENSEMBLE - 1}), pooled P@1 over "
          f"{len(truth)} rows: alone | blended with the neighbours (K 10) at alpha " + ", ".join(map(str, WEIGHTS)))
    for count in range(1, len(names) + 1):
        for mix in itertools.combinations(names, count):
            p = sum(alone[name] for name in mix) / count
            print(f"{'+'.join(mix)}: {p_at_1(p):.4f} | "
                  + ", ".join(f"{p_at_1((1 - a) * p + a * neighbours):.4f}" for a in WEIGHTS), flush=True)


if __name__ == "__main__":
    main()
