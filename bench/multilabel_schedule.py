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

from multilabel_distill import ensemble_screen, tensor
from multilabel_knn_prior import fit_stand_in

WIDTH, EPOCHS, MEMBERS = 1024, 26, 5
SCHEDULES = {
    "constant": (1e-3, None),
    "cosine": (1e-3, lambda t: (1 + math.cos(math.pi * t)) / 2),
    "cosine 2e-3": (2e-3, lambda t: (1 + math.cos(math.pi * t)) / 2),
    "linear": (1e-3, lambda t: 1 - t),
}


def variants(x_part, y_part):
    """An ensemble of MEMBERS for each schedule."""
    for name, (rate, schedule) in SCHEDULES.items():
        yield name, [fit_stand_in(x_part, tensor(y_part), seed, WIDTH, EPOCHS, schedule=schedule, rate=rate)
                     for seed in range(MEMBERS)]


def main():
    ensemble_screen(sys.argv[1], variants)


if __name__ == "__main__":
    main()
