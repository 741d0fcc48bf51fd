#!/bin/sh
# Issue 13: the ES-SC model (H = 128) trained by maximum likelihood itself (sk-train sc --objective likelihood), on the
# 8×8 data of the held-out likelihood table, evaluated as the table's models are (README, "Held-out likelihood").
#   python3 bench/likelihood_table.py --sizes 8 --stages data     # bench/out/likelihood/p8/{train,heldout}.h5
#   sh bench/likelihood_ml.sh [BIN]                                # BIN: a private copy of .build/release (default)
set -e
BIN=$(cd "${1:-.build/release}" && pwd)   # absolute: the script works in the data folder
cd bench/out/likelihood/p8
first200() {  # ${4:-200} rows of $1's /data from row ${3:-0}, with its attributes and groups, written to $2
python3 - "$1" "$2" "${3:-0}" "${4:-200}" <<'PY'
import sys, h5py
src, dst, start, count = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "w"), int(sys.argv[3]), int(sys.argv[4])
for k, v in src.attrs.items(): dst.attrs[k] = v
for key in src:
    if key == "data":
        d = dst.create_dataset("data", data=src["data"][start:start + count])
        for k, v in src["data"].attrs.items(): d.attrs[k] = v
    else:
        src.copy(key, dst)
PY
}
first200 heldout.h5 heldout200.h5   # for quick comparisons
$BIN/sk-train baseline train.h5 -o ica.h5 --model ica --quiet
$BIN/sk-eval ica.h5 heldout200.h5
# Free σ²: maximum likelihood drives it towards 0 (interrupt it after a few epochs; the model is written, resumable).
$BIN/sk-train sc train.h5 -o ml-free.h5 --latents 128 --objective likelihood --samples 2 --epochs 30 --seed 1
for floor in 0.006 0.002; do
  $BIN/sk-train sc train.h5 -o ml-f$floor.h5 --latents 128 --objective likelihood --samples 2 --noise-floor $floor --epochs 30 --seed 1
  $BIN/sk-eval ml-f$floor.h5 heldout200.h5 --loglik --seed 3
done
$BIN/sk-train sc train.h5 -o ml-f0.002.h5 --resume ml-f0.002.h5 --latents 128 --objective likelihood --samples 2 --noise-floor 0.002 --epochs 60 --seed 1
$BIN/sk-eval ml-f0.002.h5 heldout200.h5 --loglik --seed 3   # 90 epochs
$BIN/sk-eval ml-f0.006.h5 --bdmc 100 --seed 4
$BIN/sk-eval ml-f0.006.h5 heldout.h5 --loglik --seed 3
cp ml-f0.006.h5 ml-f0.006-long.h5   # 30 -> 60 -> 120 -> 240 epochs, each evaluated on the 200 patches
for more in 30 60 120; do
  $BIN/sk-train sc train.h5 -o ml-f0.006-long.h5 --resume ml-f0.006-long.h5 --latents 128 --objective likelihood --samples 2 --noise-floor 0.006 --epochs $more --seed 1
  $BIN/sk-eval ml-f0.006-long.h5 heldout200.h5 --loglik --seed 3
done
# The ES-SC model of the table (row 2), and the same fine-tuned by maximum likelihood; on held-out and training points.
first200 train.h5 train200.h5
$BIN/sk-train sc train.h5 -o essc-h128-e48.h5 --latents 128 --epochs 48 --batch-size 512 --seed 1
for step in 0.2 0.01; do
  $BIN/sk-train sc train.h5 -o ml-init-$step.h5 --init essc-h128-e48.h5 --latents 128 --objective likelihood --samples 2 --noise-floor 0.006 --statistics-step $step --epochs 30 --seed 1
done
for m in ica essc-h128-e48 ml-init-0.2 ml-init-0.01; do
  $BIN/sk-eval $m.h5 heldout200.h5 --loglik --seed 3
  $BIN/sk-eval $m.h5 train200.h5 --loglik --seed 3
done
# Fine-tuned with σ² allowed lower: 20, 50 and 80 epochs at --noise-floor 0.001, then 40 more at 0.0003; long AIS.
$BIN/sk-train sc train.h5 -o ml-low.h5 --init essc-h128-e48.h5 --latents 128 --objective likelihood --samples 2 --noise-floor 0.001 --statistics-step 0.01 --epochs 20 --seed 1
$BIN/sk-eval ml-low.h5 heldout200.h5 --loglik --seed 3 --temperatures 4000 --chains 8
$BIN/sk-eval ml-low.h5 --bdmc 20 --seed 4 --temperatures 20000 --chains 4
for more in 30 30; do
  $BIN/sk-train sc train.h5 -o ml-low.h5 --resume ml-low.h5 --latents 128 --objective likelihood --samples 2 --noise-floor 0.001 --statistics-step 0.01 --epochs $more --seed 1
  $BIN/sk-eval ml-low.h5 heldout200.h5 --loglik --seed 3 --temperatures 20000 --chains 4
done
$BIN/sk-train sc train.h5 -o ml-low.h5 --resume ml-low.h5 --latents 128 --objective likelihood --samples 2 --noise-floor 0.0003 --statistics-step 0.01 --epochs 40 --seed 1
$BIN/sk-eval ml-low.h5 heldout200.h5 --loglik --seed 3 --temperatures 20000 --chains 4
$BIN/sk-eval ml-low.h5 --bdmc 20 --seed 4 --temperatures 20000 --chains 4
for m in ica essc-h128-e48; do $BIN/sk-eval $m.h5 heldout200.h5 --loglik --seed 3 --temperatures 20000 --chains 4; done
# Session 11. (a) The fine-tuned model above, 120 more epochs with the floor at 0.0001 (σ² 0.00063 → 0.00026).
cp ml-low.h5 ml-low-240.h5
$BIN/sk-train sc train.h5 -o ml-low-240.h5 --resume ml-low-240.h5 --latents 128 --objective likelihood --samples 2 --noise-floor 0.0001 --statistics-step 0.01 --epochs 120 --seed 1
$BIN/sk-eval ml-low-240.h5 heldout200.h5 --loglik --seed 3 --temperatures 20000 --chains 4
# (b) The same model trained on by Adam along the Rao-Blackwellized gradient of log p(x) (--m-step adam), whose steps do
#     not stall as σ² falls: 30 epochs (σ² 0.00012), then 60 more (σ² 2.9e-5).
$BIN/sk-train sc train.h5 -o ml-adam.h5 --init ml-low-240.h5 --latents 128 --objective likelihood --m-step adam --learning-rate 0.0003 --samples 2 --noise-floor 0.00001 --epochs 30 --seed 1
$BIN/sk-eval ml-adam.h5 heldout200.h5 --loglik --seed 3 --temperatures 20000 --chains 4
$BIN/sk-train sc train.h5 -o ml-adam.h5 --resume ml-adam.h5 --latents 128 --objective likelihood --m-step adam --learning-rate 0.0003 --samples 2 --noise-floor 0.00001 --epochs 60 --seed 1
# At σ² = 2.9e-5 AIS needs the collapsed transition and the geometric schedule (BDMC gaps of the alternatives first).
first200 heldout.h5 heldout50.h5 0 50
for t in 2000 6000; do $BIN/sk-eval ml-adam.h5 heldout50.h5 --loglik --seed 3 --temperatures $t --chains 4 --transition blocked; done
$BIN/sk-eval ml-adam.h5 --bdmc 20 --seed 4 --temperatures 1000 --chains 4 --transition collapsed
for t in blocked collapsed; do $BIN/sk-eval ml-adam.h5 --bdmc 20 --seed 4 --temperatures 1000 --chains 4 --transition $t --schedule geometric; done
$BIN/sk-eval ml-adam.h5 --bdmc 20 --seed 4 --temperatures 4000 --chains 4 --schedule geometric   # coordinate sweeps
$BIN/sk-eval ml-adam.h5 --bdmc 20 --seed 4 --temperatures 4000 --chains 4 --transition collapsed --schedule geometric
$BIN/sk-eval ml-adam.h5 heldout200.h5 --loglik --seed 3 --temperatures 4000 --chains 4 --transition collapsed --schedule geometric --per-point --json > ml-adam.eval200.json
first200 heldout.h5 heldout200b.h5 200  # the next 200 held-out patches
$BIN/sk-eval ml-adam.h5 heldout200b.h5 --loglik --seed 3 --temperatures 4000 --chains 4 --transition collapsed --schedule geometric --per-point --json > ml-adam.eval200b.json
first200 heldout.h5 heldout1000c.h5 400 1000   # and the rest of the held-out patches
first200 heldout.h5 heldout600d.h5 1400 600
for d in 1000c 600d; do
  $BIN/sk-eval ml-adam.h5 heldout$d.h5 --loglik --seed 3 --temperatures 4000 --chains 4 --transition collapsed --schedule geometric --per-point --json > ml-adam.eval$d.json
done
for d in heldout200 heldout200b; do $BIN/sk-eval ica.h5 $d.h5; done
python3 ../../likelihood_paired.py ica.h5 heldout200.h5 ml-adam.eval200.json heldout200b.h5 ml-adam.eval200b.json \
  heldout1000c.h5 ml-adam.eval1000c.json heldout600d.h5 ml-adam.eval600d.json   # paired with ICA
# Session 12. (c) The same run at a third of the learning rate for 30 more epochs (σ² held at ≥ 2.5e-5).
cp ml-adam.h5 ml-adam-d.h5
$BIN/sk-train sc train.h5 -o ml-adam-d.h5 --resume ml-adam-d.h5 --latents 128 --objective likelihood --m-step adam --learning-rate 0.0001 --samples 2 --noise-floor 0.000025 --epochs 30 --seed 1
# (d) Started at complete ICA: its 64 columns A_h/‖A_h‖ with λ_h = b_h‖A_h‖ beside the 64 columns of the ES-SC model
#     least like any of ICA's (smallest max |cosine|) at a quarter of their λ, σ² = 3e-5 (session 11's start, with σ²
#     0.001 there); and (e) H = 192: the Adam model above plus ICA's 64 columns at a quarter of their λ.
python3 - <<'PY'
import h5py, numpy as np
ica = h5py.File("ica.h5", "r"); a, b = ica["model/mixing"][:], ica["model/scale"][:]
norms = np.linalg.norm(a, axis=0)
def write(path, template, w, lam, sigma2):  # an ES-SC model file for --init: the template's attributes and groups
    with h5py.File(template, "r") as src, h5py.File(path, "w") as dst:
        for k, v in src.attrs.items(): dst.attrs[k] = v
        for key in ("whitening", "config"): src.copy(key, dst)
        dst["config"].attrs["latents"] = w.shape[1]
        dst["model/W"], dst["model/lambda"] = w.astype(np.float32), lam.astype(np.float32)
        dst["model/sigma2"] = np.float32(sigma2)
essc, adam = h5py.File("essc-h128-e48.h5", "r"), h5py.File("ml-adam.h5", "r")
unlike = np.argsort(np.abs((a / norms).T @ essc["model/W"][:]).max(axis=0))[:64]
write("ica-start.h5", "essc-h128-e48.h5", np.hstack([a / norms, essc["model/W"][:][:, unlike]]),
      np.concatenate([b * norms, essc["model/lambda"][:][unlike] / 4]), 3e-5)
write("h192-start.h5", "ml-adam.h5", np.hstack([adam["model/W"][:], a / norms]),
      np.concatenate([adam["model/lambda"][:], b * norms / 4]), adam["model/sigma2"][()])
PY
$BIN/sk-train sc train.h5 -o ml-ica-adam.h5 --init ica-start.h5 --latents 128 --objective likelihood --m-step adam --learning-rate 0.0003 --samples 2 --noise-floor 0.00001 --epochs 40 --seed 1
cp ml-ica-adam.h5 ml-ica-adam2.h5
$BIN/sk-train sc train.h5 -o ml-ica-adam2.h5 --resume ml-ica-adam2.h5 --latents 128 --objective likelihood --m-step adam --learning-rate 0.0003 --samples 2 --noise-floor 0.00001 --epochs 60 --seed 1
$BIN/sk-train sc train.h5 -o ml-h192.h5 --init h192-start.h5 --latents 192 --objective likelihood --m-step adam --learning-rate 0.0003 --samples 2 --noise-floor 0.00001 --epochs 40 --seed 1
for m in ml-adam-d ica-start ml-ica-adam ml-ica-adam2 ml-h192; do for d in heldout200 heldout200b; do
  $BIN/sk-eval $m.h5 $d.h5 --loglik --seed 3 --temperatures 4000 --chains 4 --transition collapsed --schedule geometric --per-point --json > $m.eval-$d.json
done; done
python3 ../../likelihood_paired.py ica.h5 heldout200.h5 ml-ica-adam2.eval-heldout200.json heldout200b.h5 ml-ica-adam2.eval-heldout200b.json
# (f) What limits every Laplace model here: ICA's basis with fitted generalized-normal sources instead.
python3 ../../ica_source_shapes.py ica.h5 train.h5 heldout.h5
