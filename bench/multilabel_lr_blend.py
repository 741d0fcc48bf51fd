"""Screen (training rows only): does blending scikit-learn's one-vs-rest logistic regression into SDLGM's predictions
raise the validation P@1? On the validation procedure's 5 folds of TRAIN.h5 (multilabel_validation.fold_file), the
SDLGM model of OPTIONS is trained on each fold's training part and writes its scores for the held-out part (sk-encode
--top-k C: log p, the blend of the network and, with --neighbours, the neighbour component); LR is fitted on the same
part. Prints the pooled P@1 of each alone and of three blends for weights beta 0.1 ... 0.6: the mixture of the
distributions with LR's probabilities normalised per row, the log-linear mix (1 - beta) log p + beta log sigmoid, and
the mixture with LR's raw probabilities.

    python3 bench/multilabel_lr_blend.py bench/out/ml/bibtex-train.h5 \
        --scale l2-rows --hidden-dropout 0.5 --epochs 26 --ensemble 5 --neighbours 10 --neighbour-weight 0.3

The arguments after TRAIN.h5 go to sk-train. Scores are cached in bench/out/screen per dataset, options and fold (delete
them to retrain).
"""

import hashlib
import os
import sys

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from multilabel_validation import ENSEMBLE_FOLDS, fold_file
from sparsekit import BENCH_DIR, read_csr, tool


def main():
    train, options = sys.argv[1], sys.argv[2:]
    dataset = os.path.basename(train).removesuffix("-train.h5")
    out = os.path.join(BENCH_DIR, "out", "screen")
    os.makedirs(out, exist_ok=True)
    folds = fold_file(train, out, dataset)
    with h5py.File(folds, "r") as f:
        x, y = read_csr(f, "features"), read_csr(f, "labels")
        splits = {k: f["splits/" + k][:] for k in f["splits"]}
    labels = y.shape[1]
    key = hashlib.sha1(" ".join(options).encode()).hexdigest()[:8]  # cached scores belong to one set of options
    network, linear = np.zeros((x.shape[0], labels)), np.zeros((x.shape[0], labels))
    for i in range(1, ENSEMBLE_FOLDS + 1):
        part, held = splits[f"fold{i}-train"], splits[f"fold{i}-valid"]
        cache = os.path.join(out, f"{dataset}-scores-{key}-{i}.npy")
        if not os.path.exists(cache):
            model, predictions = os.path.join(out, f"{dataset}-model-{i}.h5"), os.path.join(out, f"{dataset}-pred-{i}.h5")
            tool("sk-train", "sdlgm", folds, "-o", model, "--quiet", "--split", f"fold{i}-train", "--seed", 1, *options)
            tool("sk-encode", model, folds, "--split", f"fold{i}-valid", "-o", predictions, "--top-k", labels, "--quiet")
            with h5py.File(predictions, "r") as f:
                np.save(cache, read_csr(f, "predictions").toarray())
            os.remove(model)
            os.remove(predictions)
        network[held] = np.load(cache)
        present = np.asarray(y[part].sum(0)).ravel() > 0  # labels absent from the part score 0
        lr = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(x[part], y[part][:, present].toarray())
        linear[held[:, None], np.flatnonzero(present)[None, :]] = lr.predict_proba(x[held])
    truth = y.toarray() > 0
    p_at_1 = lambda scores: truth[np.arange(len(truth)), np.argmax(scores, 1)].mean()
    p = np.exp(network)
    p /= p.sum(1, keepdims=True)
    normalised = linear / np.maximum(linear.sum(1, keepdims=True), 1e-12)
    print(f"{dataset}: sdlgm {p_at_1(network):.4f}, LR {p_at_1(linear):.4f} (pooled P@1 over {len(truth)} rows)")
    for beta in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        mixed = p_at_1((1 - beta) * p + beta * normalised)
        log_linear = p_at_1((1 - beta) * np.log(p + 1e-30) + beta * np.log(linear + 1e-30))
        raw = p_at_1((1 - beta) * p + beta * linear)
        print(f"beta {beta}: mixture {mixed:.4f}, log-linear {log_linear:.4f}, raw mixture {raw:.4f}")


if __name__ == "__main__":
    main()
