#!/usr/bin/env bash
# The main job on the bundled fixtures: PNG images → patches → ZCA-whitened patches → report and tile pictures,
# and a Mulan dataset → multilabel HDF5.
# Outputs go to out/ (or $OUT). Uses the release build (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(swift build -c release --show-bin-path)}
OUT=${OUT:-out}
mkdir -p "$OUT"

"$BIN/sk-patches" fixtures/images/*.png -o "$OUT/patches.h5" --size 16 --count 20000 --seed 1 --min-std 0.02
"$BIN/sk-whiten" "$OUT/patches.h5" -o "$OUT/whitened.h5" --method zca --epsilon 1e-4
"$BIN/sk-inspect" "$OUT/whitened.h5"
"$BIN/sk-inspect" "$OUT/patches.h5" --tiles -o "$OUT/patches.png" --count 100
"$BIN/sk-inspect" "$OUT/whitened.h5" --tiles -o "$OUT/whitened.png" --count 100
# Multi-label text → HDF5, with the train/test splits, then the dataset's summary.
ML=fixtures/multilabel
"$BIN/sk-convert" $ML/emotions-train.arff $ML/emotions-test.arff --format arff --xml $ML/emotions.xml -o "$OUT/emotions.h5"
"$BIN/sk-inspect" "$OUT/emotions.h5" | sed -n '/^multilabel:/,/most frequent/p'
# Sparse coding on the bars test: synthetic data → ES-SC (full-batch L-BFGS) → evaluation → the learned fields.
"$BIN/sk-synth" bars -o "$OUT/bars.h5" --count 1000 --seed 1
"$BIN/sk-train" sc "$OUT/bars.h5" -o "$OUT/bars-model.h5" --latents 10 --posterior full --scheme full-batch --epochs 10 --iterations 200 --seed 6
"$BIN/sk-eval" "$OUT/bars-model.h5" "$OUT/bars.h5" --loglik --samples 200
"$BIN/sk-inspect" "$OUT/bars-model.h5" --tiles -o "$OUT/bars-fields.png"

echo "quickstart: tiles in $OUT/patches.png and $OUT/whitened.png, multi-label data in $OUT/emotions.h5, bars fields in $OUT/bars-fields.png"
