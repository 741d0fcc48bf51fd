#!/bin/sh
# Issue 15, annealed clause: held-out ELBO after 10 EM-like epochs with the authors' annealing schedule (β_prior 10, 8,
# 6, 4, 2, then 1), SparseKit against the authors' training (bench/essc_epoch.py's reference, 1 thread), over training
# seeds (initial W and minibatch order; the same on both sides for a seed). Same data and evaluator as
# bench/essc_epoch.py: N = 51,200 ZCA-whitened 16×16 patches, H = 100, batch 512; sk-eval on 10,240 held-out patches.
#   sh bench/essc_annealed_seeds.sh [BIN] [SEEDS]    # BIN: release binaries (default .build/release); SEEDS "1 2 3 4 5 6 7 8"
# Each seed: about 15 s for sk-train and 6-8 min for the reference (torch, set PYTHON; OMP_WAIT_POLICY=PASSIVE).
# Files go to bench/out/annealed; a seed whose reference model exists is not trained again. Prints one row per seed
# and the mean paired difference with its standard error.
set -e
BIN=$(cd "${1:-.build/release}" && pwd)
SEEDS=${2:-"1 2 3 4 5 6 7 8"}
PYTHON=${PYTHON:-python3}
SCRIPT=$(pwd)/bench/essc_epoch.py
IMAGES=$(ls "$(pwd)"/../shared/data/images/*.png | sort)
mkdir -p bench/out/annealed && cd bench/out/annealed
if [ ! -f train.h5 ]; then
  $BIN/sk-patches $IMAGES -o train-patches.h5 --size 16 --count 51200 --seed 1 --color gray --quiet
  $BIN/sk-whiten train-patches.h5 -o train.h5 --method zca --epsilon 0.0001 --quiet
  $BIN/sk-patches $IMAGES -o heldout-patches.h5 --size 16 --count 10240 --seed 2 --color gray --quiet
  $BIN/sk-whiten heldout-patches.h5 -o heldout.h5 --transform-from train.h5 --quiet
  rm train-patches.h5 heldout-patches.h5
fi
for s in $SEEDS; do
  [ -f ref$s.h5 ] || OMP_WAIT_POLICY=PASSIVE $PYTHON "$SCRIPT" ref-epoch train.h5 ref$s.json --model ref$s.h5 --epochs 10 \
      --threads 1 --anneal-prior 10:5 --schedule authors --seed $s
  $BIN/sk-train sc train.h5 -o sk$s.h5 --latents 100 --batch-size 512 --seed $s --epochs 10 --anneal-prior 10,8,6,4,2 --quiet
  $BIN/sk-eval sk$s.h5 heldout.h5 --json > sk$s.eval.json
  $BIN/sk-eval ref$s.h5 heldout.h5 --json > ref$s.eval.json
done
$PYTHON - $SEEDS <<'PY'
import json, statistics, sys
rows = []
for s in sys.argv[1:]:
    sk, ref = (json.load(open(f"{side}{s}.eval.json")) for side in ("sk", "ref"))
    rows.append((s, sk["held_out_elbo"]["mean"], ref["held_out_elbo"]["mean"], sk["lambda_mean"], ref["lambda_mean"]))
print("seed  held-out ELBO SK  reference  difference  mean lambda SK  reference")
for s, a, b, la, lb in rows:
    print(f"{s:>4}  {a:16.3f}  {b:9.3f}  {a - b:+10.3f}  {la:14.4f}  {lb:9.4f}")
diffs = [a - b for _, a, b, _, _ in rows]
se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
print(f"mean  {statistics.mean(r[1] for r in rows):16.3f}  {statistics.mean(r[2] for r in rows):9.3f}  "
      f"{statistics.mean(diffs):+10.3f} ± {se:.3f} (standard error over {len(rows)} seeds)")
PY
