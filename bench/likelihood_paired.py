#!/usr/bin/env python3
"""Paired per-patch comparison of a model's estimated log-likelihoods (ES-SC: AIS; unsupervised SDLGM: importance
sampling) with complete ICA's exact ones (issue 13).

    python3 bench/likelihood_paired.py ICA.h5 DATA.h5 MODEL.json [DATA2.h5 MODEL2.json ...]

MODEL.json: `sk-eval MODEL DATA.h5 --loglik --per-point --json`. ICA's log p(x) = Σ_h log Laplace(s_h; b_h) − log|det A|,
s = A⁻¹(x − mean), from the model file's /model/mixing, /model/scale, /model/mean (docs/baselines.md). Prints, per
file and over all, the mean difference (model − ICA) with its paired standard error.
"""
import json
import sys

import h5py
import numpy as np


def ica_log_likelihoods(model_path, data_path):
    with h5py.File(model_path, "r") as f:
        a, b, mean = f["model/mixing"][:], f["model/scale"][:], f["model/mean"][:]
    with h5py.File(data_path, "r") as f:
        x = f["data"][:].astype(np.float64)
    s = np.linalg.solve(a, (x - mean).T).T
    return (-np.log(2 * b) - np.abs(s) / b).sum(axis=1) - np.linalg.slogdet(a)[1]


def main(args):
    ica, pairs = args[0], list(zip(args[1::2], args[2::2]))
    differences = []
    for data, report in pairs:
        model = np.array(json.load(open(report))["per_point"]["log_likelihood"])
        d = model - ica_log_likelihoods(ica, data)
        differences.append(d)
        print(f"{data}: model {model.mean():.4f}  ICA {model.mean() - d.mean():.4f}  difference {d.mean():+.4f} ± "
              f"{d.std(ddof=1) / np.sqrt(len(d)):.4f} (paired), model higher on {np.mean(d > 0) * 100:.0f}% of points")
    d = np.concatenate(differences)
    print(f"all {len(d)}: difference {d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f}, higher on {np.mean(d > 0) * 100:.0f}%")


if __name__ == "__main__":
    main(sys.argv[1:])
