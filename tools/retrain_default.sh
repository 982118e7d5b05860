#!/usr/bin/env bash
# Retrains the bundled default model (resources/models/default) from scratch with the issue-9 recipe, on
# CPU or GPU (--device auto), then evaluates it on held-out synthetic cases at 1 mm and packs it.
#   bash tools/retrain_default.sh [OUT]          (OUT defaults to out/default)
# A stopped run continues where it left off: the script resumes from OUT/run/checkpoint.pt.
# Recipe: ds-gmd (sequential projection, sum), k = 5 random subsets, Dice + BCE, class-balanced patches
# (p = 0.67), widths 16,32,64,128 (paper block), 32^3 patches at 2 mm, Adam lr 2e-3 with poly decay to 0,
# 2400 steps, seed 7, all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
GMD=${GMD:-build/release/app/gmd/gmd}
OUT=${1:-out/default}
STEPS=${STEPS:-2400}
[ -d "$OUT/train" ] || "$GMD" synth --out "$OUT/train" --cases 40 --seed 1000 --size small
# Held-out test cases at 1 mm (the size of the demo case and of BraTS); seed 4242 is never trained or tuned on.
[ -d "$OUT/test_full" ] || "$GMD" synth --out "$OUT/test_full" --cases 10 --seed 4242 --size full
RESUME=()
[ -f "$OUT/run/checkpoint.pt" ] && RESUME=(--resume)
"$GMD" train --data "$OUT/train" --method ds-gmd --out "$OUT/run" --steps "$STEPS" --patch 32 --widths 16,32,64,128 \
  --k 5 --bce 1 --projection sequential --combine sum --fg-prob 0.67 --lr 2e-3 --val-cases 4 --val-every 400 \
  --checkpoint-every 100 --device auto --seed 7 "${RESUME[@]}"
"$GMD" evaluate --model "$OUT/run" --data "$OUT/test_full" --out "$OUT/eval_full"
python3 tools/make_default_model.py "$OUT/run" "$OUT/eval_full"
