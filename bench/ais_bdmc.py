#!/usr/bin/env python3
"""Choosing AIS's temperatures T and chains K by bidirectional Monte Carlo (issue 13).

For each trained ES-SC model given, `sk-eval MODEL --bdmc N` simulates N points from the model (z from the Laplace
prior, x from p(x | z)), runs forward AIS (a stochastic lower bound on log p(x)) and reverse AIS from the simulated
z (a stochastic upper bound), over a grid of (T, K). The gap between the bounds bounds the error of either on such
data; the defaults of `sk-eval --loglik` must keep it below 0.5 nats/point. Prints one table per model, with the
seconds per point of one direction (the cost of `sk-eval --loglik` per held-out point).

    python3 bench/ais_bdmc.py MODEL.h5 [MODEL.h5 ...] [--points 50] [--grid 100:4,300:4,1000:4,1000:16,3000:16]
"""

import argparse
import datetime
import json
import os
import platform

import sparsekit


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--grid", default="100:4,300:4,1000:4,1000:16,3000:16")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bin", default=None, help="folder of the sk-* binaries (default: the release build)")
    args = parser.parse_args()
    grid = [tuple(int(v) for v in cell.split(":")) for cell in args.grid.split(",")]

    print(f"AIS by BDMC: {args.points} simulated points per model, seed {args.seed}")
    print(f"date {datetime.datetime.now().isoformat(timespec='seconds')}, commit {sparsekit.commit()}, "
          f"{sparsekit.cpu_model()}, nproc {os.cpu_count()}, {platform.platform()}")
    for model in args.models:
        print(f"\n{model}")
        print(f"  {'T':>5} {'K':>3}  {'lower (fwd AIS)':>18}  {'upper (rev AIS)':>18}  {'gap':>16}  "
              f"{'var log w':>9}  {'s/point':>7}")
        for temperatures, chains in grid:
            out = sparsekit.tool("sk-eval", model, "--bdmc", args.points, "--temperatures", temperatures, "--chains",
                                 chains, "--seed", args.seed, "--json", echo=False, bin_dir=args.bin)
            r = json.loads(out)
            per_point = r["seconds"] / (2 * r["points"])
            print(f"  {temperatures:>5} {chains:>3}  {r['lower']['mean']:>9.3f} ± {r['lower']['standard_error']:<6.3f}"
                  f"  {r['upper']['mean']:>9.3f} ± {r['upper']['standard_error']:<6.3f}"
                  f"  {r['gap']['mean']:>7.3f} ± {r['gap']['standard_error']:<6.3f}"
                  f"  {r['lower_log_weight_variance']:>9.3g}  {per_point:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
