"""What the result scripts in bench/ share: where the package and its release binaries are, and running a tool."""

import os
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(BENCH_DIR)
BIN = os.path.join(PACKAGE_DIR, ".build", "release")


def read_csr(f, group):
    """The CSR group `group` of the open HDF5 file `f` (data, indices, indptr, its `shape` attribute) as a scipy matrix."""
    import scipy.sparse as sp
    g = f[group]
    return sp.csr_matrix((g["data"][:], g["indices"][:], g["indptr"][:]), shape=tuple(int(n) for n in g.attrs["shape"]))


def tool(name, *args, echo=True, bin_dir=None):
    """Runs a SparseKit tool from the release build, or from `bin_dir` when given (echoing its command line); exits on
    failure; returns stdout."""
    command = [os.path.join(bin_dir or BIN, name)] + [str(a) for a in args]
    if echo:
        print("+", " ".join(command).replace(PACKAGE_DIR + "/", ""), flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"{name} failed with exit code {result.returncode}")
    return result.stdout


def commit():
    """The package's short commit hash, for the provenance line of a results page."""
    return subprocess.run(["git", "-C", PACKAGE_DIR, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def output_of(command):
    """The stripped stdout of a command run in the package folder (git, ldd, ...), or "?" when it cannot start: for the
    provenance lines of a results page."""
    try:
        return subprocess.run(command, capture_output=True, text=True, cwd=PACKAGE_DIR).stdout.strip()
    except OSError:
        return "?"


def cpu_model():
    """The processor's model name from /proc/cpuinfo, or "?"."""
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")


def memory_total_bytes():
    """The machine's memory (MemTotal in /proc/meminfo) in bytes."""
    with open("/proc/meminfo") as f:
        return int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024
