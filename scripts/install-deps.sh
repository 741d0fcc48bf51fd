#!/usr/bin/env bash
# Installs what SparseKit needs on a fresh Debian machine (run as root): the C libraries it links (Open MPI among
# them: every build links it; MPI starts only under mpirun), and the Python
# packages its cross-check tests and benchmarks use (never needed at run time).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq libpng-dev libhdf5-dev libopenblas-dev liblapacke-dev libdeflate-dev libopenmpi-dev openmpi-bin pkg-config time >/dev/null
if command -v pip >/dev/null 2>&1 || command -v pip3 >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check numpy scipy h5py scikit-learn pillow 2>&1 | grep -v -i "warning" || true
fi
echo "install-deps: done"
