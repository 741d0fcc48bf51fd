"""Screen (training rows only, PyTorch): do born-again students or label smoothing beat the ensemble they come from?
The stand-in network of bench/multilabel_knn_prior.py (not SDLGM, so only the comparison counts), at the shape of
bibtex's chosen setting: one hidden layer of WIDTH (ReLU, dropout 0.5) on l2-normalised rows, softmax cross-entropy to
a target distribution, Adam 1e-3, batch 128, EPOCHS epochs. On each of the validation procedure's 5 folds of TRAIN.h5:

- teacher: an ensemble of 5 (seeds 0-4) trained on each row's label set normalised to sum 1 (the first-choice
  distribution);
- smoothed: the same with the target (1 - eps) y + eps / C;
- student beta: 5 networks (seeds 5-9) trained on (1 - beta) y + beta t, t the teacher ensemble's mean softmax on the
  training part (born-again distillation: the teacher saw those rows).

Each is scored alone (member 1) and as an ensemble of 5, without and with the neighbour blend (1 - alpha) p + alpha q
of docs/neighbours.md (K = 10, alpha = 0.3); pooled P@1 printed after each fold.

    python3 bench/multilabel_distill.py bench/out/ml/bibtex-train.h5
"""

import sys

import numpy as np
import torch

from multilabel_knn_prior import fit_stand_in, neighbour_distribution, read_folds
from multilabel_validation import ENSEMBLE_FOLDS

WIDTH, EPOCHS, MEMBERS, ALPHA = 1024, 26, 5, 0.3
SMOOTHING, BETAS = 0.1, (0.5, 0.8)


def probabilities(nets, x):
    """The members' softmax outputs on x, one array per member."""
    with torch.no_grad():
        return [torch.softmax(net(x), 1).numpy() for net in nets]


def tensor(a):
    return torch.tensor(np.asarray(a), dtype=torch.float32)


def ensemble_screen(train, fit_variants):
    """The loop both PyTorch ensemble screens share: on each of the procedure's 5 folds of TRAIN.h5,
    `fit_variants(x_part, y_part)` yields (name, members) pairs, `members` a list of networks trained on the training
    part (l2-normalised rows as a tensor; y_part each row's label set normalised to sum 1, an array); each is scored on
    the held-out part as one model (the first) and as the ensemble, without and with the neighbour blend
    (1 - ALPHA) p + ALPHA q, and the pooled P@1 of every score is printed after each fold."""
    torch.set_num_threads(2)
    x, labels, rows, splits = read_folds(train)
    hits, seen = {}, 0
    for i in range(1, ENSEMBLE_FOLDS + 1):
        part, held = splits[f"fold{i}-train"], splits[f"fold{i}-valid"]
        q_held = neighbour_distribution(x[part], labels[part], x[held])
        y_part = labels[part] / np.maximum(labels[part].sum(1, keepdims=True), 1)
        x_held = tensor(rows[held].toarray())
        truth = labels[held] > 0
        for name, nets in fit_variants(tensor(rows[part].toarray()), y_part):
            members = probabilities(nets, x_held)
            for key, p in ((f"{name}, one", members[0]), (f"{name}, {len(members)}", np.mean(members, 0))):
                for tag, blended in ((key, p), (f"{key} + nb", (1 - ALPHA) * p + ALPHA * q_held)):
                    hits[tag] = hits.get(tag, 0) + truth[np.arange(len(held)), blended.argmax(1)].sum()
        seen += len(held)
        print(f"after fold {i} ({seen} rows):", flush=True)
        for key, value in hits.items():
            print(f"  {key:28s} {value / seen:.4f}", flush=True)


def variants(x_part, y_part):
    """The teacher ensemble, the smoothed one, and the students of each beta."""
    teachers = [fit_stand_in(x_part, tensor(y_part), seed, WIDTH, EPOCHS) for seed in range(MEMBERS)]
    yield "teacher", teachers
    t_part = np.mean(probabilities(teachers, x_part), 0)
    smoothed = (1 - SMOOTHING) * y_part + SMOOTHING / y_part.shape[1]
    yield f"smoothed {SMOOTHING}", [fit_stand_in(x_part, tensor(smoothed), seed, WIDTH, EPOCHS) for seed in range(MEMBERS)]
    for beta in BETAS:
        yield f"student {beta}", [fit_stand_in(x_part, tensor((1 - beta) * y_part + beta * t_part), MEMBERS + seed,
                                               WIDTH, EPOCHS) for seed in range(MEMBERS)]


def main():
    ensemble_screen(sys.argv[1], variants)


if __name__ == "__main__":
    main()
