#!/usr/bin/env python3
"""Two builds of sk-eval side by side on the same AIS job: CPU seconds per point, alternating runs, and the ratio.

    python3 bench/ais_ab.py OLD_BIN_DIR NEW_BIN_DIR MODEL.h5 DATA.h5 [--runs 3] [--temperatures 1000] [--chains 16]

Each run is `sk-eval MODEL DATA --loglik --seed S --temperatures T --chains K --json` (S = 3, 4, ... over the runs, the
same S for both builds of a pair); the builds alternate (old, new, old, new, ...) so that other load on the machine
falls on both alike. Reported per build: the process's user + system CPU seconds per point (from wait4, not the wall
clock, so a busy machine stretches both alike less than it stretches wall time; it includes the held-out ELBO that
sk-eval computes first), AIS's own seconds per point (its `seconds_per_point`, wall clock), each run's estimate, and
the ratios old / new with their range over the runs paired in order. When only the speed changed the estimates must
agree bit for bit; when the random streams changed too, they must agree within the seed-to-seed spread that the
chains' log-weight variances imply, printed beside the mean difference over the paired runs.
"""

import argparse
import json
import os
import subprocess
import time

import h5py


def run(bin_dir, options, seed):
    """(CPU seconds, wall seconds, the log-likelihood report) of one sk-eval run."""
    command = [os.path.join(bin_dir, "sk-eval"), options.model, options.data, "--loglik", "--seed", str(seed),
               "--temperatures", str(options.temperatures), "--chains", str(options.chains), "--json"]
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed ({status})")
    return usage.ru_utime + usage.ru_stime, time.time() - started, json.loads(output)["log_likelihood"]


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
    for index in range(options.runs):
        for side in ("old", "new"):
            cpu, wall, report = run(getattr(options, side), options, 3 + index)
            results[side].append((cpu, wall, report))
            print(f"{side}: {cpu:7.2f} s CPU  {wall:7.2f} s wall  AIS {report['seconds_per_point']:.3f} s/point  "
                  f"estimate {report['mean']!r} ± {report['standard_error']:.2f}", flush=True)
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{options.model}, {options.data} ({points} points), T = {options.temperatures}, K = {options.chains}")
    for side in ("old", "new"):
        cpus = [r[0] for r in results[side]]
        print(f"  {side}: {sum(cpus) / len(cpus) / points:.3f} s CPU per point (runs {min(cpus):.2f} .. {max(cpus):.2f} s)")
    for label, measure in (("process CPU", lambda r: r[0]), ("AIS seconds per point", lambda r: r[2]["seconds_per_point"])):
        ratios = [measure(o) / measure(n) for o, n in zip(results["old"], results["new"])]
        mean_ratio = sum(map(measure, results["old"])) / sum(map(measure, results["new"]))
        print(f"  old / new, {label}: {mean_ratio:.2f}x (paired runs {min(ratios):.2f} .. {max(ratios):.2f})")
    pairs = list(zip(results["old"], results["new"]))
    same = all(o[2]["mean"] == n[2]["mean"] for o, n in pairs)
    print(f"  estimates identical bit for bit: {'yes' if same else 'no'}")
    if not same:
        differences = [n[2]["mean"] - o[2]["mean"] for o, n in pairs]
        # Per point Var log p̂ ≈ (the chains' log-weight variance)/K (delta method), so one run's mean over N points
        # varies by about sqrt(mean variance / K / N) from seed to seed; a paired difference by the two combined.
        spread = max(((o[2]["mean_log_weight_variance"] + n[2]["mean_log_weight_variance"]) / options.chains / points) ** 0.5
                     for o, n in pairs)
        print(f"  new − old estimate: {sum(differences) / len(differences):+.4f} nats/point over the {len(pairs)} paired runs "
              f"(runs {min(differences):+.4f} .. {max(differences):+.4f}; expected seed-to-seed spread of one "
              f"difference about {spread:.4f})")


if __name__ == "__main__":
    main()
