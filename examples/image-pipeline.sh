#!/usr/bin/env bash
# PNG images → patches → whitened patches → ES-SC and SDLGM → held-out evaluation → pictures.
# Training and held-out patches are cut with different seeds; the held-out ones are whitened with the training
# transform. Every stage is one tool reading and writing files in $OUT (default out/images); each prints a one-line
# summary, and the evaluations also land as JSON in $OUT/*.json. About 20 s on 2 cores after `swift build -c release`.
# Usage: bash examples/image-pipeline.sh [IMAGE.png ...]   (default: the bundled fixtures/images/*.png)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(swift build -c release --show-bin-path)}
OUT=${OUT:-out/images}
mkdir -p "$OUT"
if [ $# -gt 0 ]; then IMAGES=("$@"); else IMAGES=(fixtures/images/*.png); fi

"$BIN/sk-patches" "${IMAGES[@]}" -o "$OUT/train-patches.h5" --size 16 --count 10000 --seed 1 --min-std 0.02 --quiet
"$BIN/sk-patches" "${IMAGES[@]}" -o "$OUT/heldout-patches.h5" --size 16 --count 1000 --seed 2 --min-std 0.02 --quiet
"$BIN/sk-whiten" "$OUT/train-patches.h5" -o "$OUT/train.h5" --method zca --epsilon 1e-3 --quiet
"$BIN/sk-whiten" "$OUT/heldout-patches.h5" -o "$OUT/heldout.h5" --transform-from "$OUT/train.h5" --quiet

# ES-SC: H = 64 latents, diagonal posteriors, EM-like, β_prior annealed; SDLGM: K = 64, at most 8 active.
"$BIN/sk-train" sc "$OUT/train.h5" -o "$OUT/essc.h5" --latents 64 --scheme em --epochs 4 --anneal-prior 10:2 --seed 1 --quiet
"$BIN/sk-train" sdlgm "$OUT/train.h5" -o "$OUT/sdlgm.h5" --mode unsupervised --latents 64 --max-active 8 --hidden 256 \
  --epochs 10 --batch-size 32 --learning-rate 0.003 --seed 1 --quiet

"$BIN/sk-train" baseline "$OUT/train.h5" -o "$OUT/gaussian.h5" --model gaussian --quiet

"$BIN/sk-eval" "$OUT/essc.h5" "$OUT/heldout.h5" --loglik --chains 4 --json > "$OUT/essc-eval.json"
"$BIN/sk-eval" "$OUT/sdlgm.h5" "$OUT/heldout.h5" --loglik --samples 200 --json > "$OUT/sdlgm-eval.json"
"$BIN/sk-eval" "$OUT/gaussian.h5" "$OUT/heldout.h5" --json > "$OUT/gaussian-eval.json"
"$BIN/sk-encode" "$OUT/sdlgm.h5" "$OUT/heldout.h5" -o "$OUT/sdlgm-codes.h5" --quiet
"$BIN/sk-inspect" "$OUT/train-patches.h5" --tiles -o "$OUT/patches.png" --count 64 --quiet
"$BIN/sk-inspect" "$OUT/essc.h5" --tiles -o "$OUT/essc-fields.png" --quiet
"$BIN/sk-inspect" "$OUT/sdlgm.h5" --tiles -o "$OUT/sdlgm-dictionary.png" --quiet

# The mean of a JSON object's field ("held_out_elbo", "log_likelihood", "marginal_log_likelihood") in a report (docs/json.md).
mean_of() { tr -d ' \n' < "$1" | sed -n "s/.*\"$2\":{[^}]*\"mean\":\([-0-9.e]*\).*/\1/p"; }
echo "image pipeline, nats per held-out patch: ES-SC ELBO $(mean_of "$OUT/essc-eval.json" held_out_elbo)," \
     "log-likelihood (AIS) $(mean_of "$OUT/essc-eval.json" log_likelihood); SDLGM ELBO $(mean_of "$OUT/sdlgm-eval.json" held_out_elbo)," \
     "log-likelihood (IS) $(mean_of "$OUT/sdlgm-eval.json" marginal_log_likelihood); Gaussian $(mean_of "$OUT/gaussian-eval.json" log_likelihood);" \
     "pictures $OUT/patches.png, $OUT/essc-fields.png, $OUT/sdlgm-dictionary.png"
