#!/usr/bin/env bash
# Retrains the bundled default model (resources/models/default) from scratch, on CPU or GPU (--device auto).
# The shipped model is this run stopped (SIGTERM: checkpoint + model written) at the step recorded in its
# model.json ("steps_done"), because the session's CPU time ran out; let it finish for a better model.
set -euo pipefail
cd "$(dirname "$0")/.."
GMD=${GMD:-build/release/app/gmd/gmd}
OUT=${1:-out/default}
[ -d "$OUT/train" ] || "$GMD" synth --out "$OUT/train" --cases 20 --seed 1000 --size small
[ -d "$OUT/test" ]  || "$GMD" synth --out "$OUT/test"  --cases 10 --seed 2000 --size small
"$GMD" train --data "$OUT/train" --method ds-gmd --out "$OUT/run" --steps 2500 --patch 32 --widths 8,16,32,64 \
  --k 5 --bce 1 --lr 2e-3 --val-cases 4 --val-every 500 --checkpoint-every 250 --device auto --seed 7
"$GMD" evaluate --model "$OUT/run" --data "$OUT/test" --out "$OUT/eval"
python3 tools/make_default_model.py "$OUT/run" "$OUT/eval"
