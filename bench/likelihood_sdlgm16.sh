#!/bin/sh
# Issue 13: the 16×16 SDLGM rows of the README's likelihood table (unsupervised, linear Gaussian decoder, K = D = 256
# latent features, L0 = 5, 10, 20; encoder --hidden 512, Adam 1e-3, batch 128, seed 1, the settings of
# bench/likelihood_table.py) trained for EPOCHS epochs (default 60; the table's first run had 20, and its relaxed
# training ELBO still rose by 0.4–0.5 nats/patch per epoch). SDLGM's Gumbel-Softmax temperature schedule spans the
# whole run, so a longer run is a new run, not a resumed one. Each model is then evaluated on all 2,000 held-out
# patches: held-out ELBO (hard samples, 10 per point) and the log-likelihood by importance sampling over supports,
# exact given the support (sk-eval --loglik --samples SAMPLES, default 20,000), with the per-patch difference from
# complete ICA. Then how far the estimate is from converged: on the first 200 held-out patches at 1,000 (sk-eval's
# default), 5,000, 20,000 and 100,000 samples, the mean, the mean ESS and how many patches have an ESS below 2.
# Prints the training ELBO's drift per epoch, (mean of the last 5 epochs − mean of the 5 before) / 5. Needs the
# table's data and ICA model (python3 bench/likelihood_table.py --sizes 16 --stages data,train --only baseline-ica).
# Writes into bench/out/likelihood/p16-sdlgm/; a model whose file exists is not trained again.
#
#   sh bench/likelihood_sdlgm16.sh [BIN_DIR] [EPOCHS] [SAMPLES]   # BIN_DIR: the sk-* binaries (default .build/release)
set -e
cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
EPOCHS=${2:-60}
SAMPLES=${3:-20000}
P=bench/out/likelihood/p16
OUT=bench/out/likelihood/p16-sdlgm
mkdir -p $OUT
for l0 in 5 10 20; do
  name=sdlgm-l0-$l0-e$EPOCHS
  if [ ! -f $OUT/$name.h5 ]; then
    start=$(date +%s)
    $BIN/sk-train sdlgm $P/train.h5 -o $OUT/$name.h5 --mode unsupervised --latents 256 --max-active $l0 \
      --decoder linear --likelihood gaussian --hidden 512 --epochs $EPOCHS --batch-size 128 --learning-rate 0.001 \
      --seed 1 --quiet
    echo "$name: trained in $(( $(date +%s) - start )) s"
  fi
  [ -f $OUT/$name.k$SAMPLES.json ] || $BIN/sk-eval $OUT/$name.h5 $P/heldout.h5 --loglik --samples $SAMPLES --seed 3 \
    --per-point --json > $OUT/$name.k$SAMPLES.json
  python3 bench/likelihood_paired.py $P/baseline-ica.h5 $P/heldout.h5 $OUT/$name.k$SAMPLES.json | tail -1
  python3 - $OUT/$name $SAMPLES <<'PY'
import json, sys
import h5py
name, samples = sys.argv[1], sys.argv[2]
report = json.load(open(f"{name}.k{samples}.json"))
elbo, loglik = report["held_out_elbo"], report["marginal_log_likelihood"]
with h5py.File(f"{name}.h5", "r") as f:
    objective = f["/history/objective"][:]
drift = (objective[-5:].mean() - objective[-10:-5].mean()) / 5
print(f"{name.split('/')[-1]}: {len(objective)} epochs, training ELBO {objective[-1]:.3f} (drift {drift:+.3f} "
      f"nats/patch/epoch); held-out ELBO {elbo['mean']:.2f} ± {elbo['standard_error']:.2f}; log-likelihood "
      f"{loglik['mean']:.2f} ± {loglik['standard_error']:.2f} (K = {samples}, mean ESS {report['mean_effective_sample_size']:.1f})")
PY
  for k in 1000 5000 20000 100000; do
    [ -f $OUT/$name.k$k-200.json ] || $BIN/sk-eval $OUT/$name.h5 $P/heldout200.h5 --loglik --samples $k --seed 3 \
      --per-point --json > $OUT/$name.k$k-200.json
  done
  python3 - $OUT/$name <<'PY'
import json, sys
import numpy as np
name = sys.argv[1]
for k in (1000, 5000, 20000, 100000):
    report = json.load(open(f"{name}.k{k}-200.json"))
    ess = np.array(report["per_point"]["effective_sample_size"])
    print(f"  first 200 patches, K = {k:>6}: log-likelihood {report['marginal_log_likelihood']['mean']:.3f}, mean ESS "
          f"{ess.mean():.1f}, {np.sum(ess < 2)} patches with ESS < 2")
PY
done
