#!/usr/bin/env bash
# Study v2 (issue 12, docs/results.md): every arm of the paper's comparison, several seeds, trained to the plateau on
# the seeded CPU benchmark (synthetic cases at 4 mm, `gmd synth --size tiny`), evaluated on all 15 subsets of a test
# set that no choice ever looked at. Resumable: rerun the same command after an interruption; finished runs are
# kept, interrupted ones continue from their checkpoint (`gmd train --resume`), missing evaluations are made.
#
# Usage: bash bench/study.sh [--out DIR] [--results DIR] [--seeds "1 2 3"] [--arms "ds ds-gmd ..."] [--steps N]
#                            [--jobs J] [--gmd PATH] [--list]
#   --out DIR: data, checkpoints, full logs (default out/study-v2, not kept in git).
#   --results DIR: each finished run's light record (summary.json + table2.csv, a few tens of KB; default
#     docs/study-v2/runs, kept in git). A run whose record exists is done and is not trained again.
#   --jobs J: runs trained at once, each with 1 thread (default 2 = the two cores of our machines).
#   Then: python3 tools/collect_results.py tables docs/study-v2/runs --svg-dir docs/study-v2 > tables.md
#
# Seeds are separate: training data (synth seed 1000), test data (synth seed 2000), and run seed s (network
# initialisation, patch and subset sampling) for s in --seeds. The last VAL cases of the training set are the
# validation split (validation Dice every VAL_EVERY steps: the plateau curves).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=out/study-v2
RESULTS=docs/study-v2/runs
SEEDS="1 2 3"
CORE_ARMS="ds ds-gmd gmd-control unimodal vanilla"              # Tables 2, 3, 1 (run first, every seed)
POLICY_ARMS="gmd-missing3 gmd-missing1 gmd-missing2 gmd-all"    # Table 5 (then, every seed)
ALL_ARMS="$CORE_ARMS $POLICY_ARMS"
ARMS=$ALL_ARMS
STEPS=2000
JOBS=2
GMD=${GMD:-}
LIST=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --arms) ARMS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --gmd) GMD=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "study.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$GMD" ]; then
  for c in build/release/app/gmd/gmd build/test/app/gmd/gmd; do [ -x "$c" ] && { GMD=$c; break; }; done
fi
[ -n "$GMD" ] && [ -x "$GMD" ] || { echo "study.sh: no gmd executable (build one, or pass --gmd PATH)" >&2; exit 2; }
GMD=$(readlink -f "$GMD")

# The protocol (docs/results.md, "Protocol"). Same for every arm: data, steps, patch, widths, k, seeds.
# Sizing (docs/results.md, "Protocol"): the patch must see about 100 mm (16^3 patches at 4 mm, 64 mm, did not learn
# WT in 600 steps; 24^3 = 96 mm did); one DS step (4 modality streams of a 24^3 patch, widths 4-8-16-32) costs about
# 0.25 s on one thread; a seed is about 17 DS runs of compute (GMD ~2x, GMD on all 15 subsets ~5x, vanilla 1/4).
TRAIN_CASES=24   # the last VAL of them are the validation split
VAL=2
TEST_CASES=12
PATCH=24
WIDTHS=4,8,16,32
K=5
LR=5e-3
VAL_EVERY=$((STEPS / 8))
COMMON=(--steps "$STEPS" --patch "$PATCH" --widths "$WIDTHS" --lr "$LR" --device cpu --threads 1
        --val-cases "$VAL" --val-every "$VAL_EVERY" --checkpoint-every 100)

arm_args() {  # the options that make an arm
  case $1 in
    ds) echo "--method ds --policy random --k $K" ;;
    ds-gmd) echo "--method ds-gmd --policy random --k $K" ;;
    gmd-control) echo "--method ds-gmd --projection none --policy random --k $K" ;;
    unimodal) echo "--method unimodal" ;;
    vanilla) echo "--method vanilla" ;;
    gmd-missing1) echo "--method ds-gmd --policy missing1" ;;
    gmd-missing2) echo "--method ds-gmd --policy missing2" ;;
    gmd-missing3) echo "--method ds-gmd --policy missing3" ;;
    gmd-all) echo "--method ds-gmd --policy all" ;;
    *) echo "study.sh: unknown arm '$1' (arms: $ALL_ARMS)" >&2; return 2 ;;
  esac
}
for a in $ARMS; do arm_args "$a" > /dev/null; done

if [ "$LIST" = 1 ]; then
  for s in $SEEDS; do for a in $ARMS; do echo "$a-s$s: gmd train $(arm_args "$a") --seed $s ${COMMON[*]}"; done; done
  exit 0
fi

mkdir -p "$OUT/runs" "$OUT/eval" "$OUT/logs" "$RESULTS"
[ -f "$OUT/train.gmdcache" ] || {
  [ -d "$OUT/data/train" ] || "$GMD" synth --out "$OUT/data/train" --cases "$TRAIN_CASES" --seed 1000 --size tiny
  "$GMD" cache "$OUT/data/train" "$OUT/train.gmdcache" --multiple 16
}
[ -d "$OUT/data/test" ] || "$GMD" synth --out "$OUT/data/test" --cases "$TEST_CASES" --seed 2000 --size tiny

# One run: train (or resume, or skip when complete), then evaluate on the test set once.
run_one() {
  local arm=$1 seed=$2 name=$1-s$2
  local run=$OUT/runs/$name log=$OUT/logs/$name.log
  [ -f "$RESULTS/$name/summary.json" ] && { echo "$name: collected already"; return 0; }
  local done_flag
  done_flag=$(python3 -c 'import json,sys
try: print(int(bool(json.load(open(sys.argv[1])).get("complete"))))
except Exception: print(0)' "$run/model.json")
  if [ "$done_flag" != 1 ]; then
    local resume=()
    [ -f "$run/checkpoint.pt" ] && resume=(--resume)
    # shellcheck disable=SC2046
    if ! /usr/bin/time -f "$name: %e s wall, %M KB peak" -a -o "$OUT/logs/time.log" \
        "$GMD" train --data "$OUT/train.gmdcache" --out "$run" $(arm_args "$arm") --seed "$seed" "${COMMON[@]}" \
        "${resume[@]}" >> "$log" 2>&1; then
      echo "$name: training failed (see $log)"; return 1
    fi
  fi
  if [ ! -f "$OUT/eval/$name/table2.csv" ]; then
    "$GMD" evaluate --model "$run" --data "$OUT/data/test" --device cpu --threads 1 --out "$OUT/eval/$name" \
      >> "$log" 2>&1 || { echo "$name: evaluation failed (see $log)"; return 1; }
  fi
  python3 tools/collect_results.py extract --run "$run" --eval "$OUT/eval/$name" --out "$RESULTS/$name" \
    || { echo "$name: collecting failed"; return 1; }
  echo "$name: done ($(date +%H:%M))"
}
export -f run_one arm_args
export OUT RESULTS GMD K
export COMMON_STR="${COMMON[*]}"

start=$(date +%s)
# Order: the core arms for every seed, then the Table 5 arms for every seed, so that a partial study has whole
# comparisons; two (JOBS) runs at a time, one thread each.
jobs_list=()
for tier in "$CORE_ARMS" "$POLICY_ARMS"; do
  for s in $SEEDS; do for a in $tier; do
    case " $ARMS " in *" $a "*) jobs_list+=("$a $s") ;; esac
  done; done
done
printf '%s\n' "${jobs_list[@]}" | xargs -P "$JOBS" -L 1 bash -c \
  'COMMON=($COMMON_STR); run_one "$0" "$1"' || { echo "study: some runs failed (see $OUT/logs)"; exit 1; }
echo "study: $(( ($(date +%s) - start) / 60 )) min wall for ${#jobs_list[@]} runs in $OUT"
