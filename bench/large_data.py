#!/usr/bin/env python3
"""Large-data benchmark: the memory bounds of the data stages (sk-patches, sk-whiten, sk-inspect) on 20 million patches.

Run from anywhere, after `swift build -c release` (or on a copy of the binaries, with --bin):

    python3 bench/large_data.py | tee bench/results-large-data.txt     # N = 20,000,000: about 20 minutes on 2 cores
    python3 bench/large_data.py --count 200000                          # smoke test: N = 2,000 ... 200,000, seconds

What it measures, for N = --count (default 20,000,000, about 19 GiB of float32) and, for scale, N/100 and N/10
(and, when they lie in between, the largest N sk-whiten keeps in memory and the first N it streams, see below):

1. `sk-patches IMAGES -o patches-N.h5 --count N --size 16 --seed 1 --quiet`, IMAGES the PNGs in ../shared/data/images.
2. `sk-inspect patches-N.h5 --json`: the file holds kind "patches" and N rows of 256 values in [0, 1], all finite.
3. `sk-whiten patches-N.h5 -o whitened-N.h5 --quiet` (ZCA, sk-whiten's default epsilon); then patches-N.h5 is deleted.
4. `sk-inspect whitened-N.h5 --json`: kind "whitened", N rows.
5. With h5py: --sample rows (default 50,000) of whitened-N.h5 drawn at random and read one hyperslab each; their mean
   (about 0) and covariance C (about I: exactly I - eps M^2 for the ZCA matrix M and epsilon stored in the file),
   with each entry's sampling standard error estimated from the sample; then whitened-N.h5 is deleted (unless
   --keep: the whitened files then stay in the workdir, e.g. as inputs for bench/stream_train.py).

Every tool run is one whole process under GNU time (`/usr/bin/time -v`): wall clock, rows/s and "Maximum resident set
size". The bound for every stage is --bound-mib (default 1024 MiB: the issue's bound, peak memory under 1 GiB).
Peak RSS is also given as a fraction of the raw N x 256 float32 data, and the table shows whether it stays flat
while N grows 100x.

sk-whiten keeps its input in memory when the raw float32 data take at most 256 MiB (WhitenJob.memoryBudget) and
streams it chunk by chunk (two passes: covariance, then transform) above that; the largest N within the limit and the
first N above it (262,144 and 262,145 for 16x16 patches) are measured as well, unless --no-edge, so the table shows
both regimes and the in-memory regime at its largest.

Safety: before each file is written the free disk space is checked against a conservative estimate (the raw data
size) plus a margin; big files are deleted as soon as they are not needed and always at the end. Each tool runs with
oom_score_adj 1000 (the kernel's first choice should memory run out) and is killed (and reported as such) if the
machine's MemAvailable falls below --min-available MiB while the tool holds more than the bound.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from sparsekit import commit as sparsekit_commit, cpu_model, memory_total_bytes, output_of, BENCH_DIR, BIN, PACKAGE_DIR, tool

PATCH = 16                     # patch side; D = 256 values per row
DIMENSION = PATCH * PATCH
SEED = 1
COUNT = 20_000_000             # the largest N (default)
SAMPLE = 50_000                # whitened rows read by hyperslab for the covariance check
SAMPLE_SEED = 12345
BOUND_MIB = 1024               # the bound: peak memory under 1 GiB
WHITEN_CACHE_BYTES = 256 << 20  # sk-whiten keeps inputs up to this raw size in memory (WhitenJob.memoryBudget)
DISK_MARGIN = 4 << 30          # free space kept beyond the estimate of what a step writes
MIN_AVAILABLE_MIB = 2048       # kill the measured tool if MemAvailable falls below this while it holds > bound
Z_LIMIT = 6.0                  # |sample covariance - expected| / standard error, largest over 256 x 257 / 2 entries

IMAGE_DIR = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "shared", "data", "images"))
DEFAULT_WORKDIR = os.path.join(BENCH_DIR, "out", "large-data")
MIB, GIB = 1 << 20, 1 << 30


# ----------------------------------------------------------------------------------------------------------------------
# Measuring one process
# ----------------------------------------------------------------------------------------------------------------------

def cpu_ticks():
    """(all ticks, idle + iowait ticks) of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4]


def mem_available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return float("inf")


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def first_to_be_killed():
    """In the child before exec: make it (and the tool GNU time starts) the OOM killer's first choice."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


class Watchdog(threading.Thread):
    """Kills the tool started by GNU time (by its pid) if the machine runs short of memory while the tool holds more
    than `bound_mib`; records the largest RSS it saw (a cross-check of GNU time's figure)."""

    def __init__(self, time_pid, bound_mib, min_available_mib):
        super().__init__(daemon=True)
        self.time_pid, self.bound_mib, self.min_available_mib = time_pid, bound_mib, min_available_mib
        self.stop = threading.Event()
        self.killed = None
        self.seen_mib = 0.0

    def run(self):
        while not self.stop.wait(0.5):
            for pid in children(self.time_pid):
                rss = rss_mib(pid)
                self.seen_mib = max(self.seen_mib, rss)
                available = mem_available_mib()
                if available < self.min_available_mib and rss > self.bound_mib:
                    self.killed = f"killed by the benchmark: MemAvailable {available:.0f} MiB, tool RSS {rss:.0f} MiB"
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass


def timed(command, monitor_for):
    """Runs `command` (strings) under GNU time (`/usr/bin/time -v`) with a monitor thread, `monitor_for(pid, start)`,
    running meanwhile: a dict with wall seconds, peak RSS (MiB), user and system seconds, the other load on the machine
    meanwhile (busy cores beyond the run's own), exit code, stdout, stderr and the monitor."""
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report, tempfile.TemporaryFile("w+") as out, \
            tempfile.TemporaryFile("w+") as err:
        ticks_before = cpu_ticks()
        start = time.perf_counter()
        process = subprocess.Popen(["/usr/bin/time", "-v", "-o", report.name] + command, stdout=out, stderr=err,
                                   preexec_fn=first_to_be_killed)
        monitor = monitor_for(process.pid, start)
        monitor.start()
        process.wait()
        wall = time.perf_counter() - start
        monitor.stop.set()
        monitor.join()
        ticks_after = cpu_ticks()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        fields = dict(line.strip().rpartition(": ")[::2] for line in report.read().splitlines())
    user = float(fields.get("User time (seconds)", 0))
    system = float(fields.get("System time (seconds)", 0))
    busy = (ticks_after[0] - ticks_before[0]) - (ticks_after[1] - ticks_before[1])
    return {"wall": wall, "peak_mib": int(fields.get("Maximum resident set size (kbytes)", 0)) / 1024, "user": user,
            "system": system, "others": max(0.0, busy / hz - user - system) / wall, "code": process.returncode,
            "stdout": stdout, "stderr": stderr, "monitor": monitor}


def measured(command, bound_mib, min_available_mib):
    """Runs `command` under GNU time with the memory watchdog: a dict with wall seconds, peak RSS (MiB), user and
    system seconds, the other load on the machine meanwhile (busy cores beyond the run's own), stdout, and failure
    (None, or why it failed)."""
    run = timed([str(c) for c in command], lambda pid, start: Watchdog(pid, bound_mib, min_available_mib))
    watchdog = run.pop("monitor")
    run["seen_mib"] = watchdog.seen_mib
    run["failure"] = None
    if run["code"] != 0:
        run["failure"] = watchdog.killed or f"exit {run['code']}: {run['stderr'].strip()[-500:]}"
    return run


# ----------------------------------------------------------------------------------------------------------------------
# Sizes, disk, files
# ----------------------------------------------------------------------------------------------------------------------

def size(nbytes):
    """'109.2 MiB' / '10.66 GiB' (2^20, 2^30 bytes)."""
    if nbytes is None:
        return "-"
    return f"{nbytes / GIB:.2f} GiB" if nbytes >= GIB else f"{nbytes / MIB:.1f} MiB"


def raw_bytes(n):
    return n * DIMENSION * 4


def free_bytes(path):
    return shutil.disk_usage(path).free


def remove(path):
    if os.path.exists(path):
        os.remove(path)
        print(f"  deleted {os.path.relpath(path, PACKAGE_DIR)}", flush=True)


def enough_disk(workdir, needed, what):
    free = free_bytes(workdir)
    if free < needed + DISK_MARGIN:
        print(f"  SKIPPED {what}: {size(free)} free, needs about {size(needed)} + {size(DISK_MARGIN)} margin", flush=True)
        return False
    return True


# ----------------------------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------------------------

def inspect_check(report, kind, n, unit_range):
    """Problems with an `sk-inspect --json` report of a file that should be `kind` with n x 256 rows in /data."""
    problems = []
    if report.get("kind") != kind:
        problems.append(f"kind {report.get('kind')!r}, expected {kind!r}")
    data = next((d for d in report.get("datasets", []) if d.get("path") == "/data"), None)
    if data is None:
        return problems + ["no /data"]
    if data.get("shape") != [n, DIMENSION]:
        problems.append(f"/data shape {data.get('shape')}, expected [{n}, {DIMENSION}]")
    stats = data.get("statistics", {})
    if stats.get("non_finite", 1) != 0:
        problems.append(f"{stats.get('non_finite')} non-finite values")
    if unit_range and not (0 <= stats.get("min", -1) and stats.get("max", 2) <= 1):
        problems.append(f"values outside [0, 1]: min {stats.get('min')}, max {stats.get('max')}")
    return problems


def inspect_summary(report):
    data = next(d for d in report["datasets"] if d["path"] == "/data")
    s = data["statistics"]
    return (f"kind {report['kind']}, /data {data['type']} {data['shape']}, {data['storage']}; all values: "
            f"min {s['min']:.4g}, max {s['max']:.4g}, mean {s['mean']:.4g}, std {s['std']:.4g}, non-finite "
            f"{s['non_finite']}")


def sample_check(path, count, seed):
    """Mean and covariance of `count` random rows of /data read by hyperslab (one row each, in file order), against
    0 and the covariance ZCA whitening gives exactly: M C M^T = V diag(e / (e + eps)) V^T = I - eps M^2."""
    import h5py
    import numpy as np

    started = time.perf_counter()
    with h5py.File(path, "r") as f:
        data = f["data"]
        n, d = data.shape
        count = min(count, n)
        rows = np.sort(np.random.default_rng(seed).choice(n, size=count, replace=False))
        x = np.empty((count, d), dtype=np.float32)
        for k, i in enumerate(rows):
            x[k] = data[i]                       # one row: a 1 x D hyperslab
        epsilon = float(f["whitening"].attrs["epsilon"])
        method = f["whitening"].attrs["method"]
        m = f["whitening/matrix"][...].astype(np.float64)
    read_seconds = time.perf_counter() - started
    x = x.astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    c = xc.T @ xc / count
    identity = np.eye(d)
    expected = identity - epsilon * (m @ m)      # ZCA: what the covariance of all N rows is, exactly
    # Standard error of each covariance entry: sqrt((E[x_i^2 x_j^2] - C_ij^2) / count)
    squares = xc * xc
    se = np.sqrt(np.maximum(squares.T @ squares / count - c * c, 0) / count)
    mean_se = xc.std(axis=0) / np.sqrt(count)
    off = ~np.eye(d, dtype=bool)
    upper = np.triu(np.ones((d, d), dtype=bool))
    z = np.abs(c - expected)[upper] / se[upper]
    return {
        "rows": count, "n": n, "read_seconds": read_seconds, "method": method, "epsilon": epsilon,
        "mean_max": float(np.abs(mean).max()), "mean_z": float((np.abs(mean) / mean_se).max()),
        "diag_max": float(np.abs(np.diag(c) - 1).max()), "off_max": float(np.abs(c[off]).max()),
        "expected_diag_max": float(np.abs(np.diag(expected) - 1).max()),
        "expected_off_max": float(np.abs(expected[off]).max()),
        "se_median": float(np.median(se[upper])), "se_max": float(se[upper].max()), "z_max": float(z.max()),
        "ok": bool(z.max() <= Z_LIMIT and (np.abs(mean) / mean_se).max() <= Z_LIMIT),
    }


# ----------------------------------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------------------------------

def produced(row, command, output, args, consumed=None):
    """Runs a stage's `command`, which writes `output`, under GNU time; records the run and the size written in `row`
    and prints them. Deletes `consumed` (its input, no longer needed) afterwards, and `output` if the stage failed;
    returns whether it succeeded."""
    print("  +", " ".join(str(c) for c in command).replace(IMAGE_DIR + "/", "IMAGES/").replace(PACKAGE_DIR + "/", ""),
          flush=True)
    row["run"] = run = measured(command, args.bound_mib, args.min_available)
    if consumed:
        remove(consumed)
    if run["failure"]:
        print(f"  {os.path.basename(str(command[0]))} FAILED: {run['failure']}")
        remove(output)
        return False
    row["output"] = os.path.getsize(output)
    print(f"    {run['wall']:8.1f} s wall  {run['user']:8.1f} s user  {run['system']:6.1f} s sys  "
          f"{run['peak_mib']:8.1f} MiB peak  {size(row['output'])} written", flush=True)
    return True


def inspected(binaries, path, kind, n, args, rows, checks):
    """Runs `sk-inspect PATH --json` on a `kind` ("patches" or "whitened") file of n rows, adds its row (peak memory)
    to `rows` and the check of what it reports to `checks`."""
    row = {"stage": f"sk-inspect {kind}", "n": n, "input": os.path.getsize(path), "output": None, "run": None}
    row["run"] = run = measured([binaries["sk-inspect"], path, "--json"], args.bound_mib, args.min_available)
    rows.append(row)
    if run["failure"]:
        print(f"  sk-inspect FAILED: {run['failure']}")
        checks.append((n, f"{kind} file", False, run["failure"]))
        return
    report = json.loads(run["stdout"])
    problems = inspect_check(report, kind, n, unit_range=kind == "patches")
    checks.append((n, f"{kind} file", not problems, "; ".join(problems) or inspect_summary(report)))
    print(f"    sk-inspect: {run['wall']:.1f} s, {run['peak_mib']:.1f} MiB peak; "
          f"{'; '.join(problems) or inspect_summary(report)}", flush=True)


def header(binaries, images, args):
    import h5py
    import numpy as np

    run = output_of
    cpu = cpu_model()
    total = memory_total_bytes() / 2**30
    dirty = run(["git", "status", "--porcelain", "--", "Sources"]).splitlines()
    built = datetime.datetime.fromtimestamp(min(os.path.getmtime(p) for p in binaries.values())).isoformat(timespec="seconds")
    ignored = run(["git", "check-ignore", "-v", os.path.join(args.workdir, "x.h5")])
    version = tool("sk-whiten", "--version", echo=False, bin_dir=args.bin).strip()
    lines = [
        f"date:            {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"machine:         {cpu}, nproc = {os.cpu_count()}, {total:.1f} GiB RAM, {platform.platform()}",
        f"SparseKit:       commit {sparsekit_commit()}"
        + (f" ({len(dirty)} uncommitted changes under Sources/)" if dirty else "")
        + f"; {version}; binaries in {args.bin} (files dated {built})",
        f"Python:          {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__} "
        f"(HDF5 {h5py.version.hdf5_version}); peak RSS from /usr/bin/time -v",
        f"inputs:          {len(images)} PNG images in {IMAGE_DIR}, {size(sum(os.path.getsize(p) for p in images))}",
        f"workload:        gray {PATCH}x{PATCH} patches (D = {DIMENSION}), seed {SEED}; sk-whiten defaults (ZCA); "
        f"bound {args.bound_mib} MiB peak RSS for every stage",
        f"workdir:         {os.path.relpath(args.workdir, PACKAGE_DIR)} "
        + (f"(git-ignored: {ignored.split(chr(9))[0]})" if ignored else "(NOT git-ignored)")
        + f", {size(free_bytes(args.workdir))} free at the start",
    ]
    return lines


def print_table(rows, bound_mib):
    head = ["stage", "N", "input", "output", "raw /data", "wall s", "rows/s", "peak RSS MiB", "peak/raw", "other load",
            "bound", "met"]
    cells = [head]
    for r in rows:
        run = r["run"]
        failed = run is None or run["failure"] is not None
        met = "-" if run is None else ("NOT MET (failed)" if failed else
                                       ("met" if run["peak_mib"] < bound_mib else "NOT MET"))
        cells.append([r["stage"], f"{r['n']:,}", size(r["input"]), size(r["output"]), size(raw_bytes(r["n"])),
                      "-" if run is None else f"{run['wall']:.1f}",
                      "-" if run is None or failed else f"{r['n'] / run['wall']:,.0f}",
                      "-" if run is None else f"{run['peak_mib']:.1f}",
                      "-" if run is None else f"{run['peak_mib'] * MIB / raw_bytes(r['n']):.3f}",
                      "-" if run is None else f"{run['others']:.2f}",
                      f"< {bound_mib} MiB", met])
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def growth(rows, bound_mib):
    """Per tool: peak RSS at the smallest and largest N, and the slope between the two largest N that ran in the
    same regime (bytes of peak RSS per row), with the N at which the bound would be crossed."""
    lines = []
    for stage in dict.fromkeys(r["stage"] for r in rows):
        done = [r for r in rows if r["stage"] == stage and r["run"] and r["run"]["failure"] is None]
        if len(done) < 2:
            continue
        small, large = done[0], done[-1]
        line = (f"  {stage:<28} peak {small['run']['peak_mib']:7.1f} MiB at N = {small['n']:,} -> "
                f"{large['run']['peak_mib']:7.1f} MiB at N = {large['n']:,} ({large['n'] / small['n']:.0f}x the rows, "
                f"{large['run']['peak_mib'] / small['run']['peak_mib']:.2f}x the peak)")
        same = [r for r in done if r.get("regime") == large.get("regime")]
        if len(same) >= 2:
            a, b = same[-2], same[-1]
            slope = (b["run"]["peak_mib"] - a["run"]["peak_mib"]) * MIB / (b["n"] - a["n"])
            line += f"; slope {slope:.1f} bytes/row between N = {a['n']:,} and {b['n']:,}"
            if b.get("regime") == "in memory":
                line += (f" (the in-memory regime ends at N = {WHITEN_CACHE_BYTES // (DIMENSION * 4):,}: larger "
                         "inputs are streamed)")
            elif slope > 0.5:
                crossing = b["n"] + (bound_mib - b["run"]["peak_mib"]) * MIB / slope
                line += (f" (the {bound_mib} MiB bound would be crossed near N = {crossing:,.0f})"
                         if crossing > b["n"] else "")
        lines.append(line)
    return lines


def benchmark(args):
    started = time.perf_counter()
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("GNU time is needed for peak memory: apt-get install -y time")
    binaries = {name: os.path.join(args.bin, name) for name in ("sk-patches", "sk-whiten", "sk-inspect")}
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} is missing: run `swift build -c release` in {PACKAGE_DIR} first, or pass --bin")
    images = sorted(glob.glob(os.path.join(IMAGE_DIR, "*.png")))
    if not images:
        sys.exit(f"no PNG images in {IMAGE_DIR}")
    os.makedirs(args.workdir, exist_ok=True)

    counts = sorted({max(1, args.count // 100), max(1, args.count // 10), args.count})
    edge = WHITEN_CACHE_BYTES // (DIMENSION * 4) + 1     # the first N sk-whiten streams
    if not args.no_edge:
        counts = sorted(set(counts) | {n for n in (edge - 1, edge) if counts[0] < n < counts[-1]})

    print("Large-data benchmark: memory bounds of sk-patches, sk-whiten and sk-inspect")
    print("=" * 100)
    for line in header(binaries, images, args):
        print(line)
    print(f"counts:          {', '.join(f'{n:,}' for n in counts)} patches"
          + (f" ({edge - 1:,}: the largest N sk-whiten keeps in memory ({size(WHITEN_CACHE_BYTES)} of raw data); "
             f"{edge:,}: the first it streams)" if edge in counts else ""))
    if args.keep:
        print(f"keep:            the whitened files stay in {os.path.relpath(args.workdir, PACKAGE_DIR)} (--keep)")
    print()

    rows = []
    checks = []
    created = []
    try:
        for n in counts:
            patches = os.path.join(args.workdir, f"patches-{n}.h5")
            whitened = os.path.join(args.workdir, f"whitened-{n}.h5")
            created += [patches, whitened]
            regime = "in memory" if raw_bytes(n) <= WHITEN_CACHE_BYTES else "streamed"
            print(f"N = {n:,} ({size(raw_bytes(n))} of raw float32; df: {size(free_bytes(args.workdir))} free)", flush=True)

            # Patches: the two files coexist while sk-whiten runs; the raw size bounds each of them.
            row = {"stage": "sk-patches", "n": n, "input": sum(os.path.getsize(p) for p in images), "output": None,
                   "run": None}
            rows.append(row)
            if not enough_disk(args.workdir, 2 * raw_bytes(n), f"N = {n:,} (patches + whitened)"):
                continue
            command = [binaries["sk-patches"], *images, "-o", patches, "--count", n, "--size", PATCH, "--seed", SEED,
                       "--quiet"]
            if not produced(row, command, patches, args):
                continue

            inspected(binaries, patches, "patches", n, args, rows, checks)

            # Whitening
            wrow = {"stage": f"sk-whiten ({regime})", "n": n, "input": row["output"], "output": None, "run": None,
                    "regime": regime}
            rows.append(wrow)
            command = [binaries["sk-whiten"], patches, "-o", whitened, "--quiet"]
            if not produced(wrow, command, whitened, args, consumed=patches):
                continue

            inspected(binaries, whitened, "whitened", n, args, rows, checks)

            s = sample_check(whitened, args.sample, SAMPLE_SEED)
            text = (f"{s['rows']:,} random rows of {s['n']:,} (read in {s['read_seconds']:.1f} s): max |mean| "
                    f"{s['mean_max']:.4f} ({s['mean_z']:.1f} standard errors); max |C - I| diagonal "
                    f"{s['diag_max']:.4f}, off-diagonal {s['off_max']:.4f}; exact ZCA covariance I - eps M^2 "
                    f"(eps {s['epsilon']:g}) differs from I by up to {s['expected_diag_max']:.4f} (diagonal), "
                    f"{s['expected_off_max']:.4f} (off); sampling standard error of an entry: median "
                    f"{s['se_median']:.4f}, max {s['se_max']:.4f}; max |C - (I - eps M^2)| / standard error "
                    f"{s['z_max']:.1f} (limit {Z_LIMIT:g})")
            checks.append((n, "whitened sample", s["ok"], text))
            print(f"    sample: {text}", flush=True)
            if not args.keep:
                remove(whitened)
            print(flush=True)
    finally:
        for path in created:
            if not (args.keep and os.path.basename(path).startswith("whitened-") and os.path.exists(path)):
                remove(path)
            else:
                print(f"  kept {os.path.relpath(path, PACKAGE_DIR)} ({size(os.path.getsize(path))})", flush=True)
        for path in created:   # and the tools' temporary outputs (".NAME.tmp-PID-RANDOM"), left if a run was killed
            for temporary in glob.glob(os.path.join(args.workdir, "." + os.path.basename(path) + ".tmp-*")):
                remove(temporary)

    order = ["sk-patches", "sk-whiten", "sk-inspect patches", "sk-inspect whitened"]
    rows.sort(key=lambda r: (next(i for i, o in enumerate(order) if r["stage"].startswith(o)), r["n"]))
    print(f"Results (MiB = 2^20 bytes, GiB = 2^30; input/output = files on disk (gzip-compressed HDF5); raw /data = "
          f"N x {DIMENSION} x 4 bytes;")
    print("peak RSS = GNU time's maximum resident set size of the whole process; peak/raw = peak RSS / raw /data;")
    print("other load = busy cores of the machine beyond the run's own, averaged over the run)")
    print()
    print_table(rows, args.bound_mib)
    print()
    print("Growth of peak RSS with N")
    for line in growth(rows, args.bound_mib):
        print(line)
    print()
    print("Checks (sk-inspect --json on every file; covariance of a random sample of whitened rows)")
    for n, what, ok, text in checks:
        print(f"  [{'ok' if ok else 'FAILED'}] N = {n:,} {what}: {text}")
    print()

    largest = counts[-1]
    print("Targets")
    for stage in ("sk-patches", "sk-whiten"):
        r = next((r for r in rows if r["stage"].startswith(stage) and r["n"] == largest), None)
        run = r and r["run"]
        if run is None:
            print(f"  [NOT RUN] {stage} at N = {largest:,}")
            continue
        met = run["failure"] is None and run["peak_mib"] < args.bound_mib
        print(f"  [{'MET' if met else 'NOT MET'}] {stage} peak RSS under {args.bound_mib} MiB at N = {largest:,} "
              f"({size(raw_bytes(largest))} of raw data): {run['peak_mib']:.1f} MiB"
              + (f" = {100 * run['peak_mib'] * MIB / raw_bytes(largest):.2f}% of the raw data" if not run["failure"]
                 else f" ({run['failure']})"))
    for stage in ("sk-patches", "sk-whiten", "sk-inspect"):
        over = [r for r in rows if r["stage"].startswith(stage) and r["run"] and r["run"]["peak_mib"] >= args.bound_mib]
        if over:
            print(f"  [NOT MET] {stage} over the bound at smaller N: "
                  + ", ".join(f"{r['run']['peak_mib']:.0f} MiB at N = {r['n']:,} ({r['stage']})" for r in over))
    ok = all(c[2] for c in checks)
    print(f"  [{'MET' if ok else 'NOT MET'}] the files are what they claim (kind, rows, values; whitened covariance "
          f"I - eps M^2 within {Z_LIMIT:g} standard errors)")
    busy = [r for r in rows if r["run"] and r["run"]["others"] > 0.3]
    if busy:
        print(f"NOTE: other processes kept the machine busy during {len(busy)} run(s) (other load above 0.3 cores): "
              "wall times and rows/s are pessimistic there; peak RSS is not affected.")
    print()
    print(f"total runtime: {time.perf_counter() - started:.0f} s; workdir {size(free_bytes(args.workdir))} free at the end")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=COUNT,
                        help=f"the largest N (default {COUNT:,}); N/100 and N/10 are measured too")
    parser.add_argument("--no-edge", action="store_true",
                        help="skip the largest N within sk-whiten's 256 MiB in-memory limit and the first N above it "
                             "(262,144 and 262,145)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the whitened files (whitened-N.h5 in the workdir, e.g. for bench/stream_train.py); "
                             "the patches files are deleted as usual")
    parser.add_argument("--bin", default=BIN, help="the SparseKit binaries (default: .build/release of this package)")
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR,
                        help="where the big files go (default bench/out/large-data, git-ignored); they are deleted")
    parser.add_argument("--sample", type=int, default=SAMPLE, help=f"whitened rows sampled (default {SAMPLE:,})")
    parser.add_argument("--bound-mib", type=int, default=BOUND_MIB, help=f"peak RSS bound (default {BOUND_MIB})")
    parser.add_argument("--min-available", type=int, default=MIN_AVAILABLE_MIB,
                        help="kill a tool holding more than the bound when MemAvailable falls below this many MiB "
                             f"(default {MIN_AVAILABLE_MIB})")
    args = parser.parse_args()
    args.bin = os.path.abspath(args.bin)
    args.workdir = os.path.abspath(args.workdir)
    benchmark(args)


if __name__ == "__main__":
    main()
