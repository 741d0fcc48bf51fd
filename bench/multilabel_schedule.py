"""Screen (training rows only, PyTorch): does a decaying learning rate beat Adam's constant 1e-3 for the ensemble the
procedure chose on bibtex? The stand-in network of bench/multilabel_knn_prior.py (not SDLGM, so only the comparison
counts) at the shape of bibtex's chosen setting: one hidden layer of 1024 (ReLU, dropout 0.5) on l2-normalised rows,
softmax cross-entropy to each row's label set normalised to sum 1, batch 128, 26 epochs, 5 members (seeds 0-4). The
learning rate per epoch, t the fraction of training done:

- constant: 1e-3 (the tools' default);
- cosine: 1e-3 (1 + cos(pi t)) / 2;
- cosine 2e-3: the same from twice the rate;
- linear: 1e-3 (1 - t).

Each scored as one model and as the ensemble, without and with the neighbour blend (1 - alpha) p + alpha q of
docs/neighbours.md (K = 10, alpha = 0.3), on the validation procedure's 5 folds; pooled P@1 printed after each fold.

    python3 bench/multilabel_schedule.py bench/out/ml/bibtex-train.h5
"""

import math
import sys

import numpy as np
import torch

from multilabel_distill import probabilities
from multilabel_knn_prior import fit_stand_in, neighbour_distribution, read_folds
from multilabel_validation import ENSEMBLE_FOLDS

WIDTH, EPOCHS, MEMBERS, ALPHA = 1024, 26, 5, 0.3
SCHEDULES = {
    "constant": (1e-3, None),
    "cosine": (1e-3, lambda t: (1 + math.cos(math.pi * t)) / 2),
    "cosine 2e-3": (2e-3, lambda t: (1 + math.cos(math.pi * t)) / 2),
    "linear": (1e-3, lambda t: 1 - t),
}


def main():
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    x, labels, rows, splits = read_folds(sys.argv[1])
    tensor = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)
    hits, seen = {}, 0
    for i in range(1, ENSEMBLE_FOLDS + 1):
        part, held = splits[f"fold{i}-train"], splits[f"fold{i}-valid"]
        q_held = neighbour_distribution(x[part], labels[part], x[held])
        y_part = tensor(labels[part] / np.maximum(labels[part].sum(1, keepdims=True), 1))
        x_part, x_held = tensor(rows[part].toarray()), tensor(rows[held].toarray())
        truth = labels[held] > 0
        for name, (rate, schedule) in SCHEDULES.items():
            members = probabilities([fit_stand_in(x_part, y_part, seed, WIDTH, EPOCHS, schedule=schedule, rate=rate)
                                     for seed in range(MEMBERS)], x_held)
            for key, p in ((f"{name}, one", members[0]), (f"{name}, {MEMBERS}", np.mean(members, 0))):
                for tag, blended in ((key, p), (f"{key} + nb", (1 - ALPHA) * p + ALPHA * q_held)):
                    hits[tag] = hits.get(tag, 0) + truth[np.arange(len(held)), blended.argmax(1)].sum()
        seen += len(held)
        print(f"after fold {i} ({seen} rows):", flush=True)
        for key, value in hits.items():
            print(f"  {key:28s} {value / seen:.4f}", flush=True)


if __name__ == "__main__":
    main()
