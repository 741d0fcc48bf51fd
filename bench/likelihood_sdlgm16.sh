#!/bin/sh
# Issue 13: the 16×16 SDLGM rows of the README's likelihood table (unsupervised, linear Gaussian decoder, K = D = 256
# latent features, L0 = 5, 10, 20; encoder --hidden 512, Adam 1e-3, batch 128, seed 1, the settings of
# bench/likelihood_table.py) trained for EPOCHS epochs (default 60; the table's first run had 20, and its relaxed
# training ELBO still rose by 0.4–0.5 nats/patch per epoch). SDLGM's Gumbel-Softmax temperature schedule spans the
# whole run, so a longer run is a new run, not a resumed one. Each model is then evaluated on all 2,000 held-out
# patches: held-out ELBO (hard samples, 10 per point) and the log-likelihood by importance sampling over supports,
# exact given the support (sk-eval --loglik, its default samples), with the per-patch difference from complete ICA.
# Prints the training ELBO's drift per epoch, (mean of the last 5 epochs − mean of the 5 before) / 5. Needs the
# table's data and ICA model (python3 bench/likelihood_table.py --sizes 16 --stages data,train --only baseline-ica).
# Writes into bench/out/likelihood/p16-sdlgm/; a model whose file exists is not trained again.
#
#   sh bench/likelihood_sdlgm16.sh [BIN_DIR] [EPOCHS]   # BIN_DIR: the sk-* binaries (default .build/release)
set -e
cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
EPOCHS=${2:-60}
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
  [ -f $OUT/$name.loglik.json ] || $BIN/sk-eval $OUT/$name.h5 $P/heldout.h5 --loglik --seed 3 --per-point --json \
    > $OUT/$name.loglik.json
  python3 bench/likelihood_paired.py $P/baseline-ica.h5 $P/heldout.h5 $OUT/$name.loglik.json | tail -1
  python3 - $OUT/$name <<'PY'
import json, sys
import h5py
name = sys.argv[1]
report = json.load(open(f"{name}.loglik.json"))
elbo, loglik = report["held_out_elbo"], report["marginal_log_likelihood"]
with h5py.File(f"{name}.h5", "r") as f:
    objective = f["/history/objective"][:]
drift = (objective[-5:].mean() - objective[-10:-5].mean()) / 5
print(f"{name.split('/')[-1]}: {len(objective)} epochs, training ELBO {objective[-1]:.3f} (drift {drift:+.3f} "
      f"nats/patch/epoch); held-out ELBO {elbo['mean']:.2f} ± {elbo['standard_error']:.2f}; log-likelihood "
      f"{loglik['mean']:.2f} ± {loglik['standard_error']:.2f} (ESS {report.get('mean_effective_sample_size', 0):.1f})")
PY
done
