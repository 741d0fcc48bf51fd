#!/usr/bin/env python3
"""Training from disk: `sk-train sc` and `sk-train sdlgm --stream` read their minibatches by HDF5 hyperslab with
bounded memory, shown by peak memory (GNU time's maximum resident set size) and by address-space limits.

Run from anywhere, after `swift build -c release` (or on a copy of the binaries, with --bin), ideally after
`python3 bench/large_data.py --keep`, whose whitened files it reuses (else it makes them itself):

    python3 bench/stream_train.py | tee bench/results-stream-train.txt      # about 50 minutes on 2 cores
    python3 bench/stream_train.py --large 2000000 --counts 20000,200000 --seconds 20   # smoke test: a few minutes

The issue: training reads minibatches from disk (shuffled block order, shuffled again within a buffer of blocks), so
a file 4x larger than RAM trains with bounded memory. A file 4x larger than this machine's RAM does not fit on its
disk, so the bound is shown two ways:

(a) Bounded: the three streamed trainings on the largest whitened file (--large, default 20,000,000 16x16 patches,
    19.07 GiB as float32, about 0.8x the RAM) under `prlimit --as=LIMIT` (--as-limit, default 1G: an address-space
    limit 19x smaller than the data; prlimit itself is given bytes), each for --seconds T (default 120) and then
    stopped by SIGINT:

      sk-train sc WH.h5 -o m.h5 --latents 100 --stream --epochs 1 --seed 1                    (em, diagonal q)
      sk-train sc WH.h5 -o m.h5 --latents 100 --posterior amortized --scheme adam --stream --epochs 1 --seed 1
      sk-train sdlgm WH.h5 -o m.h5 --mode unsupervised --latents 100 --max-active 10 --stream --epochs 1 --seed 1

    On SIGINT the tools finish the current minibatch, write a resumable model and exit with 130 (expected). The
    script checks that the model exists, that /history holds 1 (partial) epoch with a finite objective, and reads
    /config's `streamed` attribute. The same three runs without --stream, under the same limit: the data exceed
    half of the machine's memory, so the tools stream on their own (the `streamed` attribute says so).
(b) Flat: the same three trainings on --counts whitened patches (default 200,000 and 2,000,000), with --stream and
    without it (in memory, no address-space limit), each for T seconds or until done: the streamed peak stays flat
    in N, the in-memory peak grows with N. Then the in-memory runs at the largest of --counts again under the
    address-space limit, to show that the in-memory path cannot work within it.
(c) Supervised: a synthetic XC file (bench/convert_stage.py's: N = 300,000, F = 100,000, C = 10,000; reused from
    bench/out/synth-xc.txt, or generated with convert_stage.py's generator) converted by `sk-convert --format xc`,
    then `sk-train sdlgm XC.h5 -o m.h5 --split all --hidden 256 --max-active 10 --epochs 1 --seed 1` with and
    without --stream, T seconds or until done: streamed, memory holds the network, Adam's moments and the reader's
    buffer; in memory, the CSR arrays as well.

Every run is one whole process: `/usr/bin/time -v [prlimit --as=LIMIT --] sk-train ...`. Reported per run: N, the
data's in-memory size (float32 N x 256 x 4 bytes; CSR: float32 values + int64 indices + int64 row pointers of
features and labels), the limit, whether it streamed (/config), wall seconds, rows trained (exact when the epoch
finished, or for unsupervised SDLGM from the annealed temperature in /history; else, for streamed whitened data, an
estimate from the bytes the process read, /proc/PID/io rchar, as a share of the file: rows read, at most 16 x 4096
rows ahead of the rows trained; not for the CSR file, whose blocks do not align with its chunks), peak RSS, exit code
and outcome. If a tool does not exit within --grace seconds of the SIGINT, a second
SIGINT ends it (the tools' handler then ends the process at once) and SIGKILL follows.

Safety on a shared machine: one tool at a time, each with oom_score_adj 1000, and killed (by its pid; the row says
so) if MemAvailable falls below --min-available MiB. Before data are made the free disk space is checked. Models,
the converted XC file and whitened files made here go to --workdir (bench/out/stream-train/, git-ignored) and are
deleted at the end unless --keep; with --delete-inputs the reused whitened files are deleted too once all parts
have run.
"""

import argparse
import datetime
import glob
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time

from sparsekit import (commit as sparsekit_commit, cpu_model, memory_total_bytes, output_of, BENCH_DIR, BIN,
                       PACKAGE_DIR)
from large_data import IMAGE_DIR, children, free_bytes, mem_available_mib, rss_mib, size, timed

PATCH, DIMENSION = 16, 256
COUNTS = (200_000, 2_000_000)
LARGE = 20_000_000
SECONDS = 120
AS_LIMIT = "1G"
GRACE = 300
MIN_AVAILABLE_MIB = 2048
DISK_MARGIN = 4 << 30
FLAT_RATIO = 1.25          # a streamed peak counts as flat when its largest is within this factor of its smallest
BLOCK_ROWS, BUFFER_BLOCKS = 4096, 16   # the readers' defaults (ShuffledBlockReading): rows read ahead of the training
MIB, GIB = 1 << 20, 1 << 30
CONTRACT_EXITS = (64, 65, 66, 70, 73)   # README: usage, bad input data, input missing, internal error, cannot create
DEFAULT_WORKDIR = os.path.join(BENCH_DIR, "out", "stream-train")
DEFAULT_DATA_DIR = os.path.join(BENCH_DIR, "out", "large-data")
DEFAULT_XC = os.path.join(BENCH_DIR, "out", "synth-xc.txt")

# The trainings: (name, sk-train arguments after the input, batch size)
TRAININGS = [
    ("sc em", ["sc", "--latents", "100", "--epochs", "1", "--seed", "1"], 512),
    ("sc adam", ["sc", "--latents", "100", "--posterior", "amortized", "--scheme", "adam", "--epochs", "1",
                 "--seed", "1"], 512),
    ("sdlgm unsup", ["sdlgm", "--mode", "unsupervised", "--latents", "100", "--max-active", "10", "--epochs", "1",
                     "--seed", "1"], 128),
]
SUPERVISED = ("sdlgm sup", ["sdlgm", "--split", "all", "--hidden", "256", "--max-active", "10", "--epochs", "1",
                            "--seed", "1"], 128)


def parse_bytes(text):
    """'1G', '512M', '4096' (bytes) -> bytes."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = {"K": 1 << 10, "M": MIB, "G": GIB}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * factor)


def short(path):
    return os.path.relpath(path, PACKAGE_DIR) if path.startswith(PACKAGE_DIR) else path


def proc_rchar(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ----------------------------------------------------------------------------------------------------------------------
# One training run: GNU time, optional address-space limit, SIGINT after T seconds
# ----------------------------------------------------------------------------------------------------------------------

class Monitor(threading.Thread):
    """Watches the tool that GNU time started: its RSS and bytes read, SIGINT after `seconds` (a second SIGINT and
    then SIGKILL if it does not stop within `grace` seconds), and kills it if the machine runs short of memory."""

    def __init__(self, time_pid, seconds, grace, min_available_mib):
        super().__init__(daemon=True)
        self.time_pid, self.seconds, self.grace, self.min_available_mib = time_pid, seconds, grace, min_available_mib
        self.stop = threading.Event()
        self.pid = None
        self.started = time.perf_counter()
        self.sigint_at = None            # seconds after the start
        self.rchar_at_sigint = None
        self.rchar_last = None
        self.escalated = None            # what was sent beyond the first SIGINT
        self.killed = None               # the memory watchdog's reason
        self.seen_mib = 0.0

    def signal(self, number):
        try:
            os.kill(self.pid, number)
        except OSError:
            pass

    def run(self):
        while not self.stop.wait(0.25):
            if self.pid is None:
                found = children(self.time_pid)
                if not found:
                    continue
                self.pid = found[0]      # prlimit execs the tool, so this is the tool's pid
            elapsed = time.perf_counter() - self.started
            self.seen_mib = max(self.seen_mib, rss_mib(self.pid))
            rchar = proc_rchar(self.pid)
            if rchar is not None:
                self.rchar_last = rchar
            if mem_available_mib() < self.min_available_mib and self.killed is None:
                self.killed = f"killed by the benchmark: MemAvailable under {self.min_available_mib} MiB"
                self.signal(signal.SIGKILL)
            if self.sigint_at is None and self.seconds and elapsed >= self.seconds:
                self.rchar_at_sigint = rchar
                self.sigint_at = elapsed
                self.signal(signal.SIGINT)
            elif self.sigint_at is not None and self.escalated is None and elapsed >= self.sigint_at + self.grace:
                self.escalated = f"no exit {self.grace:.0f} s after SIGINT: second SIGINT"
                self.signal(signal.SIGINT)
            elif self.escalated and "SIGKILL" not in self.escalated and elapsed >= self.sigint_at + self.grace + 15:
                self.escalated += ", then SIGKILL"
                self.signal(signal.SIGKILL)


def run_tool(command, limit, seconds, grace, min_available_mib):
    """Runs `command` under GNU time (and prlimit --as=limit when limit): wall, peak RSS, exit code, stderr and what
    the monitor saw."""
    command = [str(c) for c in command]
    prefix = ["prlimit", f"--as={limit}", "--"] if limit else []

    def monitor_for(pid, start):
        monitor = Monitor(pid, seconds, grace, min_available_mib)
        monitor.started = start
        return monitor

    run = timed(prefix + command, monitor_for)
    monitor = run.pop("monitor")
    lines = run["stderr"].splitlines()
    signalled = next((line.strip() for line in lines if line.startswith("Command terminated by signal")), None)
    stderr = "\n".join(line for line in lines
                       if not line.startswith(("Command exited with non-zero status", "Command terminated by signal")))
    run.update({"command": prefix + command, "seen_mib": monitor.seen_mib, "signalled": signalled,
                "stderr": stderr.strip(), "sigint_at": monitor.sigint_at, "rchar_at_sigint": monitor.rchar_at_sigint,
                "rchar_last": monitor.rchar_last, "escalated": monitor.escalated, "killed": monitor.killed})
    return run


def model_report(path, training, rows, batch):
    """What the model file says: streamed, epochs in /history, the last objective, and the rows trained when the
    file tells (unsupervised SDLGM: the temperature after the last step, τ = τ0 (τ1/τ0)^(step / total steps))."""
    import h5py

    if not os.path.exists(path):
        return None
    with h5py.File(path, "r") as f:
        config = dict(f["config"].attrs) if "config" in f else {}
        history = f["history"]
        objective = [float(v) for v in history["objective"][...]]
        result = {"streamed": int(config["streamed"]) if "streamed" in config else None, "epochs": len(objective),
                  "objective": objective[-1] if objective else float("nan"),
                  "finite": bool(objective) and all(math.isfinite(v) for v in objective), "steps": None}
        if training == "sdlgm unsup" and "temperature" in history and len(objective) == 1:
            start, end = (float(v) for v in str(config.get("tau", "1:0.5")).split(":"))
            tau = float(history["temperature"][-1])
            total = (rows + batch - 1) // batch
            step = round(math.log(tau / start) / math.log(end / start) * total) if end != start else None
            if step is not None:
                result["steps"] = step + 1       # τ is that of the last step taken, numbered from 0
    return result


# ----------------------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------------------

def whitened_rows(path):
    """/data rows of a whitened file, or None if it is not one."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("sparsekit.kind") != "whitened":
                return None
            shape = f["data"].shape
            return shape[0] if len(shape) == 2 and shape[1] == DIMENSION else None
    except (OSError, KeyError):
        return None


def tool_path(args, name):
    return os.path.join(args.bin, name)


def whitened_file(n, args, made):
    """A whitened file of n 16x16 patches: reused from --data-dir (bench/large_data.py --keep leaves them there) or made
    in --workdir with sk-patches and sk-whiten (the commands large_data.py runs)."""
    for folder in (args.data_dir, args.workdir):
        path = os.path.join(folder, f"whitened-{n}.h5")
        if os.path.exists(path) and whitened_rows(path) == n:
            print(f"  data: reusing {short(path)} ({size(os.path.getsize(path))})", flush=True)
            return path, folder == args.data_dir
    images = sorted(glob.glob(os.path.join(IMAGE_DIR, "*.png")))
    if not images:
        sys.exit(f"no PNG images in {IMAGE_DIR}")
    raw = n * DIMENSION * 4
    if free_bytes(args.workdir) < 2 * raw + DISK_MARGIN:
        sys.exit(f"not enough disk for N = {n:,}: {size(free_bytes(args.workdir))} free, needs about "
                 f"{size(2 * raw + DISK_MARGIN)}")
    patches = os.path.join(args.workdir, f"patches-{n}.h5")
    path = os.path.join(args.workdir, f"whitened-{n}.h5")
    made += [patches, path]
    started = time.perf_counter()
    for command in ([tool_path(args, "sk-patches"), *images, "-o", patches, "--count", n, "--size", PATCH, "--seed",
                     1, "--quiet"], [tool_path(args, "sk-whiten"), patches, "-o", path, "--quiet"]):
        command = [str(c) for c in command]
        print("  data: +", " ".join(command).replace(IMAGE_DIR + "/", "IMAGES/").replace(PACKAGE_DIR + "/", ""),
              flush=True)
        subprocess.run(command, check=True)
    os.remove(patches)
    print(f"  data: made {short(path)} ({size(os.path.getsize(path))}) in {time.perf_counter() - started:.0f} s",
          flush=True)
    return path, False


def multilabel_file(args, made):
    """bench/convert_stage.py's synthetic XC file (reused, or generated by its generator) converted by sk-convert."""
    source = args.xc
    if not os.path.exists(source):
        import convert_stage
        print(f"  data: generating {short(source)} with convert_stage.generate (N = {convert_stage.N:,}, "
              f"F = {convert_stage.F:,}, C = {convert_stage.C:,})", flush=True)
        os.makedirs(os.path.dirname(source), exist_ok=True)
        convert_stage.generate(source)
    else:
        print(f"  data: reusing {short(source)} ({size(os.path.getsize(source))})", flush=True)
    path = os.path.join(args.workdir, "xc.h5")
    made.append(path)
    command = [tool_path(args, "sk-convert"), source, "--format", "xc", "-o", path, "--quiet"]
    print("  data: +", " ".join(command).replace(PACKAGE_DIR + "/", ""), flush=True)
    run = run_tool(command, None, 0, GRACE, args.min_available)
    if run["code"] != 0:
        sys.exit(f"sk-convert failed ({run['code']}): {run['stderr']}")
    print(f"  data: {short(path)} ({size(os.path.getsize(path))}) in {run['wall']:.0f} s, sk-convert peak "
          f"{run['peak_mib']:.0f} MiB", flush=True)
    return path


def network_parameters(path, hidden, max_active):
    """(parameters, F, C) of supervised SDLGM with one hidden layer: F x H + H, the label head H x C + C, the level
    head H x L0 + L0."""
    import h5py

    with h5py.File(path, "r") as f:
        features, labels = int(f["features"].attrs["shape"][1]), int(f["labels"].attrs["shape"][1])
    return (features * hidden + hidden + hidden * labels + labels + hidden * max_active + max_active, features, labels)


def csr_bytes(path):
    """(rows, in-memory bytes of the CSR features and labels: float32 values, int64 indices and row pointers)."""
    import h5py

    with h5py.File(path, "r") as f:
        rows = int(f["features"].attrs["shape"][0])
        total = 0
        for group in ("features", "labels"):
            total += f[group]["data"].shape[0] * (4 + 8) + f[group]["indptr"].shape[0] * 8
    return rows, total


# ----------------------------------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------------------------------

def first_message(stderr):
    """The line of a tool's stderr that says what went wrong: its one-line error ('sk-train: FILE: problem'), or the
    Swift runtime's 'Fatal error: ...' before a crash backtrace, else the first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for prefix in ("Fatal error", "sk-", "Error"):
        found = next((line for line in lines if line.startswith(prefix) and not line.startswith("sk-train sc:")), None)
        if found:
            return found
    return lines[0] if lines else ""


def signal_name(code):
    """GNU time exits with 128 + the signal number when the command was killed by a signal."""
    if code is not None and code > 128:
        try:
            return f"{signal.Signals(code - 128).name} (exit {code})"
        except ValueError:
            pass
    return f"exit {code}"


def outcome(run, model, seconds):
    """A short verdict for the table, and whether the run did what it should."""
    if run["killed"]:
        return run["killed"], False
    if run["code"] == 0:
        if model and model["finite"]:
            return f"finished {model['epochs']} epoch, objective {model['objective']:.2f}", True
        return "exit 0 but no valid model", False
    if run["code"] == 130 and run["sigint_at"] is not None and not run["escalated"]:
        if model is None:
            return "exit 130 but no model file", False
        if model["epochs"] != 1 or not model["finite"]:
            return f"exit 130, /history {model['epochs']} epochs, objective {model['objective']}", False
        return f"SIGINT at {run['sigint_at']:.0f} s: 1 partial epoch, objective {model['objective']:.2f}", True
    message = first_message(run["stderr"])
    if run["escalated"]:
        return f"hung: {run['escalated']}; {message}".strip("; "), False
    return (f"failed: {run['signalled'] or signal_name(run['code'])}" + (f": {message}" if message else "")), False


def train(args, part, training, data, n, data_bytes, limit, stream, results, batch):
    name, arguments, _ = training
    model = os.path.join(args.workdir, f"model-{part}-{name.replace(' ', '-')}-{n}-{'stream' if stream else 'memory'}"
                                       f"{'-as' if limit else ''}.h5")
    if os.path.exists(model):
        os.remove(model)
    command = [tool_path(args, "sk-train"), arguments[0], data, "-o", model, *arguments[1:]] + (["--stream"] if stream
                                                                                                 else [])
    print("  +", " ".join((["prlimit", f"--as={limit}", "--"] if limit else []) + command)
          .replace(PACKAGE_DIR + "/", ""), flush=True)
    run = run_tool(command, limit, args.seconds, args.grace, args.min_available)
    report = model_report(model, name, n, batch)
    verdict, ok = outcome(run, report, args.seconds)
    expected = ok != (part == "b" and limit is not None)   # the in-memory runs under the limit should fail
    file_bytes = os.path.getsize(data)
    if run["code"] == 0 and report:
        rows = f"{n:,}"
    elif report and report["steps"] is not None:
        rows = f"{min(n, report['steps'] * batch):,} (τ)"
    elif report and report["streamed"] == 1 and run["rchar_at_sigint"] and part != "c":
        rows = f"≤{min(n, round(run['rchar_at_sigint'] / file_bytes * n)):,} (read)"
    else:
        rows = "-"
    row = {"part": part, "run": name, "n": n, "data_bytes": data_bytes, "file_bytes": file_bytes, "limit": limit,
           "stream": stream, "streamed": None if report is None else report["streamed"], "rows": rows, "model": report,
           "ok": ok, "expected": expected, "verdict": verdict, **run}
    results.append(row)
    print(f"    exit {run['code']}  {run['wall']:.1f} s wall  {run['peak_mib']:.1f} MiB peak  streamed "
          f"{row['streamed']}  rows {rows}  other load {run['others']:.2f}: {verdict}", flush=True)
    if run["stderr"]:
        lines = [line for line in run["stderr"].splitlines() if line.strip()]
        if run["code"] in (0, 130):
            shown = lines[-2:]
        else:        # the error line (a crash prints a backtrace after it), then how many lines followed
            shown = [first_message(run["stderr"])] + ([f"... ({len(lines) - 1} more lines)"] if len(lines) > 1 else [])
        for line in shown:
            print(f"    stderr: {line[:300]}", flush=True)
    if not args.keep and os.path.exists(model):
        os.remove(model)
    for temporary in glob.glob(os.path.join(args.workdir, "." + os.path.basename(model) + ".tmp-*")):
        os.remove(temporary)
    return row


def header(args):
    import h5py
    import numpy as np

    run = output_of
    cpu = cpu_model()
    total = memory_total_bytes()
    dirty = run(["git", "status", "--porcelain", "--", "Sources"]).splitlines()
    binary = tool_path(args, "sk-train")
    built = datetime.datetime.fromtimestamp(os.path.getmtime(binary)).isoformat(timespec="seconds")
    version = run([binary, "--version"])
    ignored = run(["git", "check-ignore", "-v", os.path.join(args.workdir, "x.h5")])
    return [
        f"date:            {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"machine:         {cpu}, nproc = {os.cpu_count()}, {total / GIB:.1f} GiB RAM (half: {size(total // 2)}, "
        f"the tools' automatic streaming threshold), {platform.platform()}",
        f"SparseKit:       package at commit {sparsekit_commit()}"
        + (f" ({len(dirty)} uncommitted changes under Sources/)" if dirty else "")
        + f"; sk-train {version}; binaries in {args.bin} (sk-train dated {built}"
        + (f", built from commit {args.binaries_commit})" if args.binaries_commit else
           "; pass --binaries-commit when they were built from another commit)"),
        f"Python:          {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__}; peak RSS from "
        "/usr/bin/time -v (maximum resident set size), address-space limits by prlimit --as",
        f"runs:            T = {args.seconds:g} s each, then SIGINT (exit 130 expected); address-space limit "
        f"prlimit --as={args.as_limit} ({size(args.as_limit)}); grace after SIGINT {args.grace:g} s",
        f"workdir:         {short(args.workdir)} "
        + (f"(git-ignored: {ignored.split(chr(9))[0]})" if ignored else "(NOT git-ignored)")
        + f", {size(free_bytes(args.workdir))} free at the start",
    ]


def print_table(rows):
    head = ["part", "run", "N", "data in memory", "file", "AS limit", "--stream", "streamed", "wall s", "rows trained",
            "peak RSS MiB", "exit", "outcome"]
    cells = [head]
    for r in rows:
        cells.append([r["part"], r["run"], f"{r['n']:,}", size(r["data_bytes"]), size(r["file_bytes"]),
                      size(r["limit"]) if r["limit"] else "none", "yes" if r["stream"] else "no",
                      "-" if r["streamed"] is None else str(r["streamed"]), f"{r['wall']:.1f}", r["rows"],
                      f"{r['peak_mib']:.1f}", str(r["code"]), ("" if r["expected"] else "[!] ") + r["verdict"]])
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i in (0, 1, len(head) - 1) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def flatness(rows):
    """Per training: streamed peaks over N (flat?), in-memory peaks over N (slope in bytes per row)."""
    lines, verdicts = [], []
    for name in dict.fromkeys(r["run"] for r in rows):
        streamed = sorted((r for r in rows if r["run"] == name and r["stream"] and r["code"] in (0, 130)
                           and not r["killed"]), key=lambda r: r["n"])
        memory = sorted((r for r in rows if r["run"] == name and not r["stream"] and not r["limit"]
                         and r["streamed"] == 0 and r["code"] in (0, 130)), key=lambda r: r["n"])
        if len(streamed) >= 2:
            peaks = [r["peak_mib"] for r in streamed]
            ratio = max(peaks) / min(peaks)
            small, large = streamed[0], streamed[-1]
            slope = (large["peak_mib"] - small["peak_mib"]) * MIB / (large["n"] - small["n"])
            flat = ratio <= FLAT_RATIO
            lines.append(f"  {name:<12} streamed:  " + ", ".join(f"{r['peak_mib']:.0f} MiB at N = {r['n']:,}"
                                                                 for r in streamed)
                         + f"  (largest/smallest {ratio:.2f}; {slope:+.2f} bytes/row from N = {small['n']:,} to "
                           f"{large['n']:,}) -> {'flat' if flat else 'NOT flat'}")
            verdicts.append((flat, f"{name}: streamed peak RSS flat in N (largest within {FLAT_RATIO}x of smallest "
                                   f"over {small['n']:,} .. {large['n']:,} rows): {ratio:.2f}x"))
        if len(memory) >= 2:
            small, large = memory[0], memory[-1]
            slope = (large["peak_mib"] - small["peak_mib"]) * MIB / (large["n"] - small["n"])
            lines.append(f"  {name:<12} in memory: " + ", ".join(f"{r['peak_mib']:.0f} MiB at N = {r['n']:,}"
                                                                 for r in memory)
                         + f"  ({slope:.0f} bytes/row; the data take {DIMENSION * 4} bytes/row as float32)")
            verdicts.append((slope > 0.5 * DIMENSION * 4, f"{name}: in-memory peak RSS grows with N: "
                                                          f"{slope:.0f} bytes/row"))
    return lines, verdicts


def benchmark(args):
    started = time.perf_counter()
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("GNU time is needed for peak memory: apt-get install -y time")
    if not shutil_which("prlimit"):
        sys.exit("prlimit (util-linux) is needed for the address-space limits")
    for name in ("sk-train", "sk-patches", "sk-whiten", "sk-convert"):
        if not os.access(tool_path(args, name), os.X_OK):
            sys.exit(f"{tool_path(args, name)} is missing: run `swift build -c release` in {PACKAGE_DIR}, or pass --bin")
    os.makedirs(args.workdir, exist_ok=True)

    print("Training from disk: sk-train sc / sdlgm --stream, bounded memory (peak RSS, address-space limits)")
    print("=" * 100)
    for line in header(args):
        print(line)
    print()

    rows, made, reused = [], [], []
    args.network = None
    try:
        if "b" in args.parts:
            for n in args.counts:
                print(f"(b) N = {n:,} whitened patches ({size(n * DIMENSION * 4)} as float32): streamed and in memory, "
                      f"no address-space limit", flush=True)
                data, was_reused = whitened_file(n, args, made)
                if was_reused:
                    reused.append(data)
                for training in TRAININGS:
                    for stream in (True, False):
                        train(args, "b", training, data, n, n * DIMENSION * 4, None, stream, rows, training[2])
                print(flush=True)
            n = max(args.counts)
            data, _ = whitened_file(n, args, made)
            print(f"(b) N = {n:,} in memory (no --stream) under prlimit --as={args.as_limit} ({size(args.as_limit)}): the in-memory path "
                  "within the limit", flush=True)
            for training in TRAININGS:
                train(args, "b", training, data, n, n * DIMENSION * 4, args.as_limit, False, rows, training[2])
            print(flush=True)
        if "a" in args.parts:
            n = args.large
            print(f"(a) N = {n:,} whitened patches ({size(n * DIMENSION * 4)} as float32) under prlimit "
                  f"--as={args.as_limit} ({size(args.as_limit)}), with and without --stream", flush=True)
            data, was_reused = whitened_file(n, args, made)
            if was_reused:
                reused.append(data)
            for stream in (True, False):
                for training in TRAININGS:
                    train(args, "a", training, data, n, n * DIMENSION * 4, args.as_limit, stream, rows, training[2])
            print(flush=True)
        if "c" in args.parts:
            print("(c) supervised SDLGM on a synthetic XC file, streamed and in memory, no address-space limit",
                  flush=True)
            data = multilabel_file(args, made)
            n, nbytes = csr_bytes(data)
            args.network = network_parameters(data, 256, 10)
            for stream in (True, False):
                train(args, "c", SUPERVISED, data, n, nbytes, None, stream, rows, SUPERVISED[2])
            print(flush=True)
    finally:
        if not args.keep:
            for path in made:
                if os.path.exists(path):
                    os.remove(path)
                    print(f"  deleted {short(path)}", flush=True)
    if args.delete_inputs:    # only after a complete run, so that an interrupted one can be rerun on them
        for path in dict.fromkeys(reused):
            if os.path.exists(path):
                os.remove(path)
                print(f"  deleted {short(path)} (--delete-inputs)", flush=True)

    print()
    print("Results (MiB = 2^20 bytes, GiB = 2^30; data in memory = what the in-memory path holds: N x 256 x 4 bytes "
          "of float32,")
    print("or the CSR features and labels as float32 values + int64 indices and row pointers; file = on disk, gzip; "
          "AS limit = prlimit --as;")
    print("streamed = /config 'streamed' of the model written; rows trained: exact when the epoch finished, '(τ)' "
          "from the annealed temperature,")
    print("[!] marks an unexpected outcome; the in-memory runs under the address-space limit are expected to fail")
    print(f"'≤ ... (read)' rows read by the time of the SIGINT (bytes read / file size x N; up to {BUFFER_BLOCKS} x "
          f"{BLOCK_ROWS} rows ahead of training);")
    print("peak RSS = GNU time's maximum resident set size; exit 130 = stopped by SIGINT after writing a resumable "
          "model, as expected)")
    print()
    print_table(rows)
    print()
    print("Peak RSS against N")
    lines, verdicts = flatness([r for r in rows if r["part"] in ("a", "b")])
    for line in lines:
        print(line)
    print()

    print("Targets")
    for r in rows:
        if r["part"] == "a" and r["stream"]:
            bounded = r["ok"] and r["peak_mib"] * MIB < r["limit"]
            print(f"  [{'MET' if bounded else 'NOT MET'}] {r['run']} --stream on {r['n']:,} rows "
                  f"({size(r['data_bytes'])} of float32, {r['data_bytes'] / r['limit']:.1f}x the "
                  f"limit) under prlimit --as={r['limit']}: {r['verdict']}; peak RSS {r['peak_mib']:.0f} MiB")
    for r in rows:
        if r["part"] == "a" and not r["stream"]:
            print(f"  [{'INFO'}] {r['run']} without --stream on {r['n']:,} rows under prlimit --as={r['limit']}: "
                  + ("streamed on its own (/config streamed = 1; the data exceed half of the machine's memory)"
                     if r["streamed"] == 1 else f"streamed = {r['streamed']}")
                  + f"; exit {r['code']}, {r['verdict']}")
    for r in rows:
        if r["part"] == "b" and r["limit"]:
            print(f"  [{'MET' if not r['ok'] else 'NOT MET'}] {r['run']} in memory on {r['n']:,} rows "
                  f"({size(r['data_bytes'])}) cannot run under prlimit --as={r['limit']}: {r['verdict']}")
            clean = r["code"] in CONTRACT_EXITS
            print(f"  [{'MET' if clean else 'NOT MET'}]   ... and fails as the tools' contract says (one line, exit "
                  f"65 or 70): {'yes' if clean else 'no: ' + signal_name(r['code']) + ', a crash with a backtrace'}")
    for ok, text in verdicts:
        print(f"  [{'MET' if ok else 'NOT MET'}] {text}")
    sup = {r["stream"]: r for r in rows if r["part"] == "c"}
    if True in sup and False in sup:
        s, m = sup[True], sup[False]
        print(f"  [{'MET' if s['ok'] and s['peak_mib'] < m['peak_mib'] else 'NOT MET'}] supervised SDLGM on "
              f"{s['n']:,} rows ({size(s['data_bytes'])} of CSR in memory): streamed peak {s['peak_mib']:.0f} MiB, "
              f"in memory {m['peak_mib']:.0f} MiB (difference {m['peak_mib'] - s['peak_mib']:.0f} MiB)")
        if args.network:
            p, f, c = args.network
            print(f"         the network: {p:,} parameters (F = {f:,} x 256 first layer, the label head over C = {c:,} "
                  f"and the level head) = {size(4 * p)} as float32; with its gradient and Adam's two moments "
                  f"{size(16 * p)}")
    busy = [r for r in rows if r["others"] > 0.3]
    if busy:
        print(f"NOTE: other processes kept the machine busy during {len(busy)} run(s) (other load above 0.3 cores): "
              "wall times and rows trained are pessimistic there; peak RSS is not affected.")
    print()
    print(f"total runtime: {time.perf_counter() - started:.0f} s; {size(free_bytes(args.workdir))} free at the end")


def shutil_which(name):
    import shutil
    return shutil.which(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=BIN, help="the SparseKit binaries (default: .build/release of this package)")
    parser.add_argument("--seconds", type=float, default=SECONDS,
                        help=f"T: seconds before each training gets SIGINT (default {SECONDS}; 0: never)")
    parser.add_argument("--as-limit", default=AS_LIMIT,
                        help=f"address-space limit for prlimit --as (default {AS_LIMIT}; e.g. 512M, 2G, 4G)")
    parser.add_argument("--large", type=int, default=LARGE, help=f"N of part (a) (default {LARGE:,})")
    parser.add_argument("--counts", default=",".join(str(n) for n in COUNTS),
                        help="the N of part (b), comma-separated (default 200000,2000000)")
    parser.add_argument("--parts", default="abc", help="which parts to run: any of a, b, c (default abc)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="where whitened-N.h5 files are reused from (default bench/out/large-data, where "
                             "bench/large_data.py --keep leaves them)")
    parser.add_argument("--xc", default=DEFAULT_XC,
                        help="the synthetic XC text file (default bench/out/synth-xc.txt, convert_stage.py's; "
                             "generated with its generator if missing)")
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR,
                        help="models and data made here (default bench/out/stream-train, git-ignored)")
    parser.add_argument("--grace", type=float, default=GRACE,
                        help=f"seconds after the SIGINT before a second SIGINT, then SIGKILL (default {GRACE})")
    parser.add_argument("--min-available", type=int, default=MIN_AVAILABLE_MIB,
                        help=f"kill a tool when MemAvailable falls below this many MiB (default {MIN_AVAILABLE_MIB})")
    parser.add_argument("--binaries-commit", default=None,
                        help="the commit the binaries were built from, for the header (e.g. for a copy in /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the models and the data made in --workdir")
    parser.add_argument("--delete-inputs", action="store_true",
                        help="also delete the whitened files reused from --data-dir once all parts have run")
    args = parser.parse_args()
    args.bin = os.path.abspath(args.bin)
    args.workdir = os.path.abspath(args.workdir)
    args.data_dir = os.path.abspath(args.data_dir)
    args.xc = os.path.abspath(args.xc)
    args.counts = sorted(int(n) for n in args.counts.split(","))
    args.as_limit = parse_bytes(args.as_limit)   # prlimit takes bytes (it misreads '1G')
    benchmark(args)


if __name__ == "__main__":
    main()
