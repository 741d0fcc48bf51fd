#!/usr/bin/env python3
"""How far the Laplace prior itself is from the sources of natural patches (issue 13).

    python3 bench/ica_source_shapes.py ICA.h5 TRAIN.h5 HELDOUT.h5

Takes complete ICA's basis A as fitted by `sk-train baseline --model ica` (Laplace sources) and, with A fixed,
compares held-out log p(x) = Σ_h log p_h(s_h) − log|det A|, s = A⁻¹(x − mean), under
  * the model's own Laplace sources (scales b_h from the file: the exact density sk-eval reports), and
  * generalized-normal sources p(s) ∝ exp(−|s/α|^β), β and α fitted per source by maximum likelihood on the
    training sources (scipy.stats.gennorm; β = 1 is the Laplace, β = 2 the Gaussian).
Also prints the sources' excess kurtosis on the training data (3 for a Laplace). A gain far larger than what separates
the Laplace models (complete ICA, ES-SC at H = 2D) from each other says the prior's shape, not the number of latents,
limits every model with a Laplace prior on these data.
"""
import sys

import h5py
import numpy as np
from scipy import stats


def sources(path, a, mean):
    with h5py.File(path, "r") as f:
        x = f["data"][:].astype(np.float64)
    return np.linalg.solve(a, (x - mean).T).T


def main(ica_path, train_path, heldout_path):
    with h5py.File(ica_path, "r") as f:
        a, b, mean = f["model/mixing"][:], f["model/scale"][:], f["model/mean"][:]
    log_det = np.linalg.slogdet(a)[1]
    s_train, s_heldout = sources(train_path, a, mean), sources(heldout_path, a, mean)
    laplace = (-np.log(2 * b) - np.abs(s_heldout) / b).sum(axis=1) - log_det
    kurtosis = stats.kurtosis(s_train, axis=0)
    general = np.zeros(len(s_heldout))
    shapes = []
    for h in range(a.shape[1]):
        shape, _, scale = stats.gennorm.fit(s_train[:, h], floc=0)
        shapes.append(shape)
        general += stats.gennorm.logpdf(s_heldout[:, h], shape, 0, scale)
    general -= log_det
    d = general - laplace
    n = len(d)
    print(f"sources' excess kurtosis (training): median {np.median(kurtosis):.1f}, range {kurtosis.min():.1f}-{kurtosis.max():.1f} "
          "(Laplace: 3)")
    print(f"held-out log p(x), nats/patch, A fixed ({n} patches):")
    print(f"  Laplace sources (the model's):        {laplace.mean():.4f} ± {laplace.std(ddof=1) / np.sqrt(n):.4f}")
    print(f"  generalized-normal sources (fitted):  {general.mean():.4f} ± {general.std(ddof=1) / np.sqrt(n):.4f}   "
          f"shape β median {np.median(shapes):.2f}, range {min(shapes):.2f}-{max(shapes):.2f}")
    print(f"  difference (paired): {d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(n):.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
