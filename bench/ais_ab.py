#!/usr/bin/env python3
"""Two builds of sk-eval side by side on the same AIS job: CPU seconds per point, alternating runs, and the ratio.

    python3 bench/ais_ab.py OLD_BIN_DIR NEW_BIN_DIR MODEL.h5 DATA.h5 [--runs 3] [--temperatures 1000] [--chains 16]

Each run is `sk-eval MODEL DATA --loglik --seed 3 --temperatures T --chains K --json`; the builds alternate (old, new,
old, new, ...) so that other load on the machine falls on both alike. Reported per build: the process's user + system
CPU seconds per point (from wait4, not the wall clock, so a busy machine stretches both alike less than it stretches
wall time), each run's estimate (the two builds must agree bit for bit when only the speed changed) and the ratio
old / new of the mean CPU seconds with its range over the runs paired in order.
"""

import argparse
import json
import os
import subprocess
import time

import h5py


def run(bin_dir, options):
    """(CPU seconds, wall seconds, the mean log-likelihood as printed) of one sk-eval run."""
    command = [os.path.join(bin_dir, "sk-eval"), options.model, options.data, "--loglik", "--seed", "3",
               "--temperatures", str(options.temperatures), "--chains", str(options.chains), "--json"]
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed ({status})")
    report = json.loads(output)["log_likelihood"]
    return usage.ru_utime + usage.ru_stime, time.time() - started, repr(report["mean"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--temperatures", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=16)
    options = parser.parse_args()
    results = {"old": [], "new": []}
    with h5py.File(options.data, "r") as f:
        points = f["data"].shape[0]
    for _ in range(options.runs):
        for side in ("old", "new"):
            cpu, wall, mean = run(getattr(options, side), options)
            results[side].append((cpu, wall, mean))
            print(f"{side}: {cpu:7.2f} s CPU  {wall:7.2f} s wall  estimate {mean}", flush=True)
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{options.model}, {options.data} ({points} points), T = {options.temperatures}, K = {options.chains}")
    for side in ("old", "new"):
        cpus = [r[0] for r in results[side]]
        print(f"  {side}: {sum(cpus) / len(cpus) / points:.3f} s CPU per point (runs {min(cpus):.2f} .. {max(cpus):.2f} s)")
    ratios = [o[0] / n[0] for o, n in zip(results["old"], results["new"])]
    mean_ratio = sum(r[0] for r in results["old"]) / sum(r[0] for r in results["new"])
    print(f"  old / new, CPU: {mean_ratio:.2f}x (paired runs {min(ratios):.2f} .. {max(ratios):.2f})")
    same = {r[2] for r in results["old"]} == {r[2] for r in results["new"]} and len({r[2] for r in results["old"]}) == 1
    print(f"  estimates identical bit for bit: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
