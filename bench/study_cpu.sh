#!/usr/bin/env bash
# The CPU study protocol of docs/results.md (issue 4): synthetic data at 2 mm (`--size small`), equal budget
# per method, same data and seeds; evaluates every run on all 15 subsets of a separate test set.
# Usage: bash bench/study_cpu.sh [STEPS] [OUT]   (defaults: 300 steps, out/study; PATCH=48)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-300}
OUT=${2:-out/study}
GMD=${GMD:-build/release/app/gmd/gmd}
TRAIN_CASES=${TRAIN_CASES:-20}   # last 4 of them are the validation split
TEST_CASES=${TEST_CASES:-10}
PATCH=${PATCH:-48}
COMMON="--steps $STEPS --patch $PATCH --widths 8,16,32,64 --k 5 --device cpu --seed 1 --val-cases 4 \
  --val-every 0 --checkpoint-every 100 --infer-patch $PATCH"
mkdir -p "$OUT"
[ -d "$OUT/train" ] || "$GMD" synth --out "$OUT/train" --cases "$TRAIN_CASES" --seed 1000 --size small
[ -d "$OUT/test" ]  || "$GMD" synth --out "$OUT/test"  --cases "$TEST_CASES"  --seed 2000 --size small

train_eval() {  # name, extra args
  local name=$1; shift
  if [ ! -f "$OUT/runs/$name/model.pt" ]; then
    /usr/bin/time -f "$name: %e s wall, %M KB peak" "$GMD" train --data "$OUT/train" --out "$OUT/runs/$name" $COMMON "$@"
  fi
  [ -f "$OUT/eval/$name/table2.csv" ] || "$GMD" evaluate --model "$OUT/runs/$name" --data "$OUT/test" \
      --device cpu --out "$OUT/eval/$name"
}
mkdir -p "$OUT/runs"
# LibTorch runs one intra-op thread here by default: two queues keep both cores busy.
(
  train_eval ds-gmd   --method ds-gmd --policy random
  train_eval vanilla  --method vanilla
  train_eval gmd-missing1 --method ds-gmd --policy missing1
  train_eval gmd-missing3 --method ds-gmd --policy missing3
) > "$OUT/queue1.log" 2>&1 &
(
  train_eval ds       --method ds     --policy random
  train_eval unimodal --method unimodal
  train_eval gmd-missing2 --method ds-gmd --policy missing2
  train_eval gmd-all      --method ds-gmd --policy all
) > "$OUT/queue2.log" 2>&1 &
wait
echo "study done: $OUT"
