#!/usr/bin/env bash
# Mulan ARFF + XML → train and test HDF5 files (the test file --like the training file) → supervised SDLGM (also with
# --neighbours) and its baselines trained on the training file → metrics on the test file (propensities from the
# model) → top-5 predictions.
# Outputs in $OUT (default out/multilabel); the metrics also land as JSON in $OUT/*-metrics.json.
# Usage: bash examples/multilabel-pipeline.sh [TRAIN.arff TEST.arff LABELS.xml]   (default: the bundled medical data)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(swift build -c release --show-bin-path)}
OUT=${OUT:-out/multilabel}
mkdir -p "$OUT"
if [ $# -eq 3 ]; then SOURCES=("$@"); else SOURCES=(fixtures/multilabel/medical-{train,test}.arff fixtures/multilabel/medical.xml); fi

"$BIN/sk-convert" "${SOURCES[0]}" --format arff --xml "${SOURCES[2]}" -o "$OUT/train.h5" --quiet
"$BIN/sk-convert" "${SOURCES[1]}" --format arff --like "$OUT/train.h5" -o "$OUT/test.h5" --quiet
# Each method takes only the options that apply to it (sk-train refuses the others by name).
for method in sdlgm one-vs-all most-frequent; do
  case $method in
    sdlgm) options=(--max-active 10 --hidden 512 --epochs 20 --learning-rate 0.001 --seed 1) ;;
    one-vs-all) options=(--epochs 20 --learning-rate 0.01 --seed 1) ;;
    most-frequent) options=() ;;
  esac
  "$BIN/sk-train" sdlgm "$OUT/train.h5" -o "$OUT/$method.h5" --method "$method" ${options[@]+"${options[@]}"} --quiet
  "$BIN/sk-eval" "$OUT/$method.h5" "$OUT/test.h5" --json > "$OUT/$method-metrics.json"
done
# The same network keeping its training rows: their labels join the ranking (docs/neighbours.md).
"$BIN/sk-train" sdlgm "$OUT/train.h5" -o "$OUT/sdlgm-neighbours.h5" --max-active 10 --hidden 512 --epochs 20 \
  --learning-rate 0.001 --seed 1 --neighbours 10 --quiet
"$BIN/sk-eval" "$OUT/sdlgm-neighbours.h5" "$OUT/test.h5" --json > "$OUT/sdlgm-neighbours-metrics.json"
"$BIN/sk-eval" "$OUT/sdlgm.h5" "$OUT/test.h5"
"$BIN/sk-encode" "$OUT/sdlgm.h5" "$OUT/test.h5" -o "$OUT/sdlgm-predictions.h5" --top-k 5 --quiet
"$BIN/sk-encode" "$OUT/sdlgm.h5" "$OUT/test.h5" -o "$OUT/sdlgm-top5.txt" --top-k 5 --export xc --quiet

p_at_1() { tr -d ' \n' < "$1" | sed -n 's/.*"ranking":\[{[^}]*"precision":\([0-9.e-]*\).*/\1/p'; }
echo "multilabel pipeline: P@1 on the test file, SDLGM $(p_at_1 "$OUT/sdlgm-metrics.json")," \
     "with --neighbours 10 $(p_at_1 "$OUT/sdlgm-neighbours-metrics.json"), one-vs-all" \
     "$(p_at_1 "$OUT/one-vs-all-metrics.json"), most frequent $(p_at_1 "$OUT/most-frequent-metrics.json")"
