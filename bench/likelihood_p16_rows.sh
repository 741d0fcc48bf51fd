#!/bin/sh
# Issue 13: the 16×16 ES-SC rows H = 128 (D/2) and 256 (D) of the README's likelihood table, annealed and not, trained
# 100 epochs with today's coordinate E-step, then evaluated on all 2,000 held-out patches: held-out ELBO and AIS
# (K = 16; T = 1000, sk-eval's default, at H = 128, and T = 10,000 at H = 256, whose σ² ≈ 0.002 needs it: BDMC gap
# 2.5 nats at T = 1000, 0.45 at 4000, 0.17 at 10,000 on 20 points), BDMC on 40 points simulated from each model at
# the same T, and the per-patch difference from complete ICA. Needs the table's data and ICA model (python3 bench/likelihood_table.py --sizes 16 --stages data,train
# --only baseline-ica). Writes into bench/out/likelihood/p16-rows/; each model is skipped once its file exists.
#
#   sh bench/likelihood_p16_rows.sh [BIN_DIR]        # BIN_DIR: the sk-* binaries (default .build/release)
set -e
cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
P=bench/out/likelihood/p16
OUT=bench/out/likelihood/p16-rows
mkdir -p $OUT
for spec in "h128 128 1000" "h128-annealed 128 1000 --anneal-prior 10:5" "h256 256 10000" "h256-annealed 256 10000 --anneal-prior 10:5"; do
  set -- $spec; name=$1; latents=$2; temperatures=$3; shift 3
  if [ ! -f $OUT/$name.h5 ]; then
    start=$(date +%s)
    $BIN/sk-train sc $P/train.h5 -o $OUT/$name.h5 --latents $latents --epochs 100 --batch-size 512 --seed 1 --quiet "$@"
    echo "$name: trained in $(( $(date +%s) - start )) s"
  fi
  $BIN/sk-eval $OUT/$name.h5 $P/heldout.h5 --loglik --seed 3 --temperatures $temperatures --per-point --json > $OUT/$name.ais.json
  $BIN/sk-eval $OUT/$name.h5 --bdmc 40 --seed 4 --temperatures $temperatures --json > $OUT/$name.bdmc.json
  python3 bench/likelihood_paired.py $P/baseline-ica.h5 $P/heldout.h5 $OUT/$name.ais.json | tail -1
  python3 - $OUT/$name <<'PY'
import json, sys
import h5py
name = sys.argv[1]
ais, bdmc = json.load(open(f"{name}.ais.json")), json.load(open(f"{name}.bdmc.json"))
loglik, elbo = ais["log_likelihood"], ais["held_out_elbo"]
with h5py.File(f"{name}.h5", "r") as f:
    objective, sigma2 = f["/history/objective"][:], float(f["/model/sigma2"][()])
drift = (objective[-5:].mean() - objective[-10:-5].mean()) / 5
print(f"{name}: {len(objective)} epochs, L {objective[-1]:.3f} (drift {drift:+.4f} nats/patch/epoch), σ² {sigma2:.5f}; "
      f"held-out ELBO {elbo['mean']:.2f} ± {elbo['standard_error']:.2f}; AIS {loglik['mean']:.2f} ± {loglik['standard_error']:.2f} "
      f"(log-weight variance {loglik['mean_log_weight_variance']:.2f}, max {loglik['max_log_weight_variance']:.1f}, "
      f"{loglik['seconds_per_point']:.3f} s/point); BDMC gap {bdmc['gap']['mean']:.3f} ± {bdmc['gap']['standard_error']:.3f}")
PY
done
