"""Measuring a benchmark run, shared by the epoch benchmarks (essc_epoch.py, essc_amortized_epoch.py): a command
timed under GNU time with the machine's other load, the busy processes before a run, a model's history and
held-out ELBO, and a plain text table."""

import json
import os
import subprocess
import sys
import tempfile
import time

def run_quiet(command, label, env=None):
    """Runs `command` (its parts as text; `env` the environment, else this one's); exits naming `label`, the
    command and its stderr when it fails."""
    command = [str(c) for c in command]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{label} failed (exit {done.returncode}):\n{' '.join(command)}\n{done.stderr}")
    return done


def cpu_ticks():
    """(all ticks, idle + iowait ticks) of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4]


def busy_processes(seconds=2.0, threshold=0.1):
    """(idle fraction of the machine, [(pid, cores, command)] of the processes outside this one's tree that used more
    than `threshold` cores) over `seconds`, from /proc."""
    def snapshot():
        ticks = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    ticks[int(pid)] = (int(fields[11]) + int(fields[12]), int(fields[1]))
                except (OSError, IndexError, ValueError):
                    pass
        return ticks

    hz = os.sysconf("SC_CLK_TCK")
    a, machine_a = snapshot(), cpu_ticks()
    time.sleep(seconds)
    b, machine_b = snapshot(), cpu_ticks()
    idle = (machine_b[1] - machine_a[1]) / max(1, machine_b[0] - machine_a[0])
    mine = {os.getpid()}
    changed = True
    while changed:      # this process's descendants
        changed = False
        for pid, (_, parent) in b.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    busy = []
    for pid, (ticks, _) in b.items():
        cores = (ticks - a.get(pid, (ticks, 0))[0]) / hz / seconds
        if cores > threshold and pid not in mine:
            try:
                with open(f"/proc/{pid}/cmdline") as f:
                    command = f.read().replace("\0", " ").strip()
            except OSError:
                command = "?"
            busy.append((pid, cores, command[:150]))
    return idle, sorted(busy, key=lambda p: -p[1])


def timed(command, env=None, label=""):
    """Runs `command` under GNU time: wall seconds, peak RSS MiB, user s, sys s, stdout, stderr, and the load of
    everything else on the machine meanwhile (busy CPU seconds minus the run's own, per wall second)."""
    command = [str(c) for c in command]
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        ticks_before = cpu_ticks()
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-v", "-o", report.name] + command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        ticks_after = cpu_ticks()
        fields = {}
        for line in report.read().splitlines():
            key, _, value = line.strip().rpartition(": ")
            fields[key] = value
    if done.returncode != 0:
        sys.exit(f"{label} failed (exit {done.returncode}):\n{' '.join(command)}\n{done.stdout}\n{done.stderr}")
    return {"wall": seconds, "peak_mib": int(fields["Maximum resident set size (kbytes)"]) / 1024,
            "user": float(fields["User time (seconds)"]), "sys": float(fields["System time (seconds)"]),
            "stdout": done.stdout, "stderr": done.stderr,
            "others": max(0.0, ((ticks_after[0] - ticks_before[0]) - (ticks_after[1] - ticks_before[1])) / hz
                          - float(fields["User time (seconds)"]) - float(fields["System time (seconds)"])) / seconds}


def describe(run):
    return (f"{run['wall']:7.1f} s wall  {run['user']:7.1f} s user  {run['sys']:5.1f} s sys  "
            f"{run['peak_mib']:7.1f} MiB peak  (other load {run['others']:.2f} cores)")


def read_history(model):
    import h5py

    with h5py.File(model, "r") as f:
        return {name: [float(v) for v in f["history"][name][...]] for name in f["history"]}


def read_config(model):
    """The /config attributes of a model file (sk-train's settings as it ran), strings decoded."""
    import h5py

    with h5py.File(model, "r") as f:
        if "config" not in f:
            return {}
        return {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                for k, v in f["config"].attrs.items()}


def mean_gini(mu):
    """Mean over rows of the Gini coefficient of |mu_n| (SparseKit's Sparsity.meanGini)."""
    import torch

    a, _ = torch.sort(mu.abs().double(), dim=1)
    h = a.shape[1]
    weights = (h - torch.arange(1, h + 1, dtype=torch.float64) + 0.5) / h
    total = a.sum(dim=1)
    gini = 1 - 2 * (a * weights).sum(dim=1) / total.clamp_min(1e-300)
    return float(torch.where(total > 0, gini, torch.zeros_like(gini)).mean())


def heldout_elbo(binary, model, heldout):
    """`sk-eval MODEL HELDOUT --json`: the held-out ELBO (mean, standard error) and the model's sigma^2, lambda."""
    start = time.perf_counter()
    done = run_quiet([binary, model, heldout, "--json", "--quiet"], f"sk-eval {os.path.basename(model)}")
    report = json.loads(done.stdout)
    return {"mean": report["held_out_elbo"]["mean"], "standard_error": report["held_out_elbo"]["standard_error"],
            "points": report["points"], "sigma2": report["sigma2"], "lambda_mean": report["lambda_mean"],
            "gini": report["gini"], "seconds": time.perf_counter() - start}


def print_table(header, rows):
    cells = [header] + rows
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def whitened_patches(binaries, images, work, count, name, seed, size, epsilon, transform_from=None):
    """`count` gray `size`×`size` patches cut from `images` with `seed`, ZCA-whitened with `epsilon` (or with the
    transform of `transform_from`), in `work`/NAME-white.h5; returns the path and the seconds it took."""
    patches = os.path.join(work, f"{name}-patches.h5")
    white = os.path.join(work, f"{name}-white.h5")
    start = time.perf_counter()
    run_quiet([binaries["sk-patches"], *images, "-o", patches, "--size", size, "--count", count, "--seed", seed,
               "--color", "gray", "--quiet"], "sk-patches")
    whiten = ["--transform-from", transform_from] if transform_from else ["--method", "zca", "--epsilon", repr(epsilon)]
    run_quiet([binaries["sk-whiten"], patches, "-o", white, *whiten, "--quiet"], "sk-whiten")
    os.remove(patches)
    return white, time.perf_counter() - start


def gflops(call, flops):
    """The rate of `call` (doing `flops` floating-point operations) in GFLOP/s: after one warm-up call, the best of 5
    timings of about 2 GFLOP each (at least 3 calls)."""
    call()
    reps = max(3, int(2e9 / flops))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            call()
        best = min(best, (time.perf_counter() - t0) / reps)
    return flops / best / 1e9


def write_essc_model(path, data_path, history_line, datasets, history, config):
    """A reference's ES-SC model as a SparseKit model file (../shared/docs/formats.md, "Models": kind `model`,
    attribute model = es-sc): the training data's root attributes with `history_line` appended to its history, its
    /whitening, `datasets` (path under the root -> array), `history` (/history/KEY -> per-epoch values, float64) and
    `config` (/config attributes, None written as "none"); written to a temporary file and renamed."""
    import h5py
    import numpy as np

    temporary = path + ".partial"
    with h5py.File(data_path, "r") as data, h5py.File(temporary, "w") as f:
        for key, value in data.attrs.items():
            if key != "sparsekit.kind":
                f.attrs[key] = value
        f.attrs["sparsekit.kind"] = "model"
        f.attrs["sparsekit.format_version"] = np.int64(1)
        f.attrs["model"] = "es-sc"
        lines = [str(line.decode() if isinstance(line, bytes) else line)
                 for line in np.atleast_1d(data.attrs.get("sparsekit.history", []))]
        lines.append(f"{history_line} | args: " + " ".join(sys.argv[1:])
                     + f" | {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} | inputs: {data_path}")
        f.attrs["sparsekit.history"] = np.array(lines, dtype=h5py.string_dtype())
        for name, values in datasets.items():
            f.create_dataset(name, data=values)
        if "whitening" in data:
            data.copy("whitening", f)
        for key, values in history.items():
            f.create_dataset(f"history/{key}", data=np.array(values, dtype=np.float64))
        group = f.create_group("config")
        for key, value in config.items():
            group.attrs[key] = "none" if value is None else value
    os.replace(temporary, path)
