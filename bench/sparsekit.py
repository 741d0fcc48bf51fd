"""What the result scripts in bench/ share: where the package and its release binaries are, and running a tool."""

import os
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(BENCH_DIR)
BIN = os.path.join(PACKAGE_DIR, ".build", "release")


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
