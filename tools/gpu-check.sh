#!/usr/bin/env bash
# One-call check of the engine on a (rented) GPU machine: configure and build the engine-only tree against the
# LibTorch of the machine's PyTorch, run test_engine, run bench_engine (the docs/performance.md benchmark and
# the default-model training config), optionally train the default model for a fixed time from a sample cache,
# and write a Markdown report plus summary.json into OUT.
# Needs only LibTorch, CMake, Ninja, a compiler, GoogleTest, spdlog, fmt, CLI11, zlib and nlohmann-json (no
# ITK/Qt/VTK); the Debian packages of the latter may be carried along as .deb files (tools/gpu-carry.sh).
#
#   bash tools/gpu-carry.sh                                   # here: .gpu-carry/{debs,train.gmdcache}
#   bash tools/gpu-check.sh --train-minutes 8 --out "$OUT"    # on the GPU machine (carry .gpu-carry)
#   bash tools/gpu-check.sh --device cpu --no-build --build-dir build/test --quick --out /tmp/gc   # CPU dry run
#
# OUT holds at most 6 files: gpu-check.md, summary.json, logs.tar.gz (every log; the logs themselves are written
# to the work folder, outside OUT) and, with training, model.pt, model.json and metrics.jsonl (.gz when large).
# The report and logs.tar.gz are rewritten after every phase, so a run cut short still leaves what it measured.
# Exit code: 0 when every phase succeeded (or was skipped on purpose), 1 when one failed, 2 on bad arguments.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash tools/gpu-check.sh [options]

Builds the engine only (no ITK/Qt/VTK), runs test_engine and bench_engine, optionally trains the
default model for --train-minutes, and writes OUT/gpu-check.md, OUT/summary.json and OUT/logs.tar.gz
(plus OUT/model.pt, model.json, metrics.jsonl with training).

options:
  --device cuda|cpu     device for the benchmark and training (default cuda)
  --out DIR             report directory (default: $OUT if set, else out/gpu-check)
  --build-dir DIR       engine build tree (default build/gpu-check)
  --work-dir DIR        logs, benchmark tables and training runs (default BUILD_DIR/gpu-check-work;
                        packed into OUT/logs.tar.gz after every phase)
  --no-build            do not configure or build; use the build tree as it is
  --configure-only      configure the engine-only tree (deps and CMake against --prefix, as on the GPU
                        machine) but do not compile it; the binaries come from --bin-dir (CI: the test
                        preset's tree, which compiles the same engine sources against the same LibTorch)
  --bin-dir DIR         where test_engine, bench_engine and gmd are taken from (default: the build dir)
  --prefix PATH         CMAKE_PREFIX_PATH for LibTorch (default: torch.utils.cmake_prefix_path of
                        python3's torch if importable, else none: the system LibTorch is used)
  --jobs N              build parallelism (default: number of cores)
  --quick               tiny benchmark and training sizes (CPU dry runs; seconds instead of minutes)
  --phase-timeout S     kill a phase that runs longer than S seconds (default 0: no limit; the train
                        phase has its own guard, see --train-minutes)
  --train-minutes N     train for about N minutes (whole minutes; default 0: no calibrate/train phases):
                        calibrate = 30 steps to measure seconds per step, train = as many steps as fit
                        in 85% of (N*60 - 30) s (at least 10), stopped cleanly (SIGINT) after N*60+90 s
  --cache FILE          sample cache to train on, written by `gmd cache` on a full build
                        (default .gpu-carry/train.gmdcache)
  --train-args "ARGS"   gmd train options (default: the default model's recipe, see tools/retrain_default.sh;
                        with --quick a tiny 2-level net); --data, --out, --steps, --device, --threads and
                        --resume are set by this script
  --deps DIR            folder of .deb files (nlohmann-json, spdlog, fmt, GoogleTest, CLI11, zlib) used when
                        the system lacks one of them (default .gpu-carry/debs if it exists): extracted once
                        into BUILD_DIR/deps-root, added to CMAKE_PREFIX_PATH and LD_LIBRARY_PATH
  --force-deps          use the --deps packages even when the system has them all
  -h, --help            this text

Phases: deps, configure, build, test_engine, bench (patch 64, widths 16..256, volume 128x160x128),
bench_default (the default model's training config: patch 32, widths 16..128, training only),
calibrate, train.
Environment: GMD_COMMIT names the commit when the tree has no .git (e.g. a copied working tree).
EOF
}

die_usage() {
  echo "gpu-check: $*" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------- arguments
DEVICE=cuda
OUT_DIR=${OUT:-}
BUILD_DIR=
WORK=
DO_BUILD=1
CONFIGURE_ONLY=0
BIN_DIR=
QUICK=0
PREFIX=
PREFIX_SET=0
# nproc honours OMP_NUM_THREADS; count the cores this process may use without it.
CORES=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
JOBS=$CORES
PHASE_TIMEOUT=0
TRAIN_MINUTES=0
CACHE=
CACHE_SET=0
TRAIN_ARGS_STR=
TRAIN_ARGS_SET=0
DEPS_DIR=
DEPS_SET=0
FORCE_DEPS=0

need_value() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then die_usage "option $1 needs a value (see --help)"; fi; }
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --device) need_value "$@"; DEVICE=$2; shift 2 ;;
    --out) need_value "$@"; OUT_DIR=$2; shift 2 ;;
    --build-dir) need_value "$@"; BUILD_DIR=$2; shift 2 ;;
    --work-dir) need_value "$@"; WORK=$2; shift 2 ;;
    --prefix) need_value "$@"; PREFIX=$2; PREFIX_SET=1; shift 2 ;;
    --jobs) need_value "$@"; JOBS=$2; shift 2 ;;
    --phase-timeout) need_value "$@"; PHASE_TIMEOUT=$2; shift 2 ;;
    --train-minutes) need_value "$@"; TRAIN_MINUTES=$2; shift 2 ;;
    --cache) need_value "$@"; CACHE=$2; CACHE_SET=1; shift 2 ;;
    --train-args) need_value "$@"; TRAIN_ARGS_STR=$2; TRAIN_ARGS_SET=1; shift 2 ;;
    --deps) need_value "$@"; DEPS_DIR=$2; DEPS_SET=1; shift 2 ;;
    --force-deps) FORCE_DEPS=1; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    --configure-only) CONFIGURE_ONLY=1; shift ;;
    --bin-dir) need_value "$@"; BIN_DIR=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) die_usage "unknown argument '$1' (see --help)" ;;
  esac
done
case "$DEVICE" in cuda | cpu) ;; *) die_usage "--device must be cuda or cpu, not '$DEVICE'" ;; esac
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die_usage "--jobs must be a positive integer, not '$JOBS'"
[[ "$PHASE_TIMEOUT" =~ ^[0-9]+$ ]] || die_usage "--phase-timeout must be a number of seconds, not '$PHASE_TIMEOUT'"
if ! [[ "$TRAIN_MINUTES" =~ ^[0-9]{1,4}$ ]]; then
  die_usage "--train-minutes must be a whole number of minutes, not '$TRAIN_MINUTES'"
fi
TRAIN_MINUTES=$((10#$TRAIN_MINUTES))

# Absolute paths (relative ones are taken from the caller's directory; the defaults from the repository root),
# then work from the repository root.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "$OUT_DIR" ]; then OUT_DIR=$(abspath "$OUT_DIR"); else OUT_DIR=$ROOT/out/gpu-check; fi
if [ -n "$BUILD_DIR" ]; then BUILD_DIR=$(abspath "$BUILD_DIR"); else BUILD_DIR=$ROOT/build/gpu-check; fi
if [ -n "$WORK" ]; then WORK=$(abspath "$WORK"); else WORK=$BUILD_DIR/gpu-check-work; fi
if [ -n "$BIN_DIR" ]; then
  BIN_DIR=$(abspath "$BIN_DIR")
  [ -d "$BIN_DIR" ] || die_usage "--bin-dir '$BIN_DIR' does not exist"
else
  BIN_DIR=$BUILD_DIR
fi
[ "$CONFIGURE_ONLY" = 1 ] && [ "$DO_BUILD" = 0 ] && die_usage "--configure-only and --no-build exclude each other"
if [ "$CACHE_SET" = 1 ]; then CACHE=$(abspath "$CACHE"); else CACHE=$ROOT/.gpu-carry/train.gmdcache; fi
if [ "$DEPS_SET" = 1 ]; then
  DEPS_DIR=$(abspath "$DEPS_DIR")
  [ -d "$DEPS_DIR" ] || die_usage "--deps folder '$DEPS_DIR' does not exist"
else
  DEPS_DIR=$ROOT/.gpu-carry/debs
fi
DEBS=()
if [ -d "$DEPS_DIR" ]; then
  for f in "$DEPS_DIR"/*.deb; do [ -f "$f" ] && DEBS+=("$f"); done
fi
[ "$FORCE_DEPS" = 1 ] && [ "${#DEBS[@]}" = 0 ] && die_usage "--force-deps given but '$DEPS_DIR' has no .deb files"
if [ "$DO_BUILD" = 0 ] && [ ! -d "$BUILD_DIR" ]; then
  die_usage "--no-build given but build dir '$BUILD_DIR' does not exist"
fi
case "$WORK/" in "$OUT_DIR"/*) die_usage "--work-dir '$WORK' must not be inside --out '$OUT_DIR'" ;; esac

# Training options: the default model's recipe (tools/retrain_default.sh), or a tiny net for --quick.
if [ "$TRAIN_ARGS_SET" = 0 ]; then
  if [ "$QUICK" = 1 ]; then
    TRAIN_ARGS_STR="--method ds-gmd --patch 16 --widths 4,8 --k 3 --val-cases 1 --val-every 0 --checkpoint-every 50 --seed 7"
  else
    TRAIN_ARGS_STR="--method ds-gmd --patch 32 --widths 16,32,64,128 --k 5 --bce 1 --projection sequential --combine sum --fg-prob 0.67 --lr 2e-3 --val-cases 4 --val-every 400 --checkpoint-every 100 --seed 7"
  fi
fi
read -r -a TRAIN_ARGS <<<"$TRAIN_ARGS_STR"
for a in "${TRAIN_ARGS[@]}"; do
  case "$a" in
    --data | --data=* | --out | --out=* | --steps | --steps=* | --device | --device=* | --threads | --threads=* | --resume)
      die_usage "--train-args must not contain ${a%%=*} (this script sets it)" ;;
  esac
done
if [ "$DEVICE" = cuda ]; then TRAIN_DEVICE_ARGS=(--device cuda); else TRAIN_DEVICE_ARGS=(--device cpu --threads 0); fi
if [ "$TRAIN_MINUTES" -gt 0 ] && [ ! -f "$CACHE" ]; then
  die_usage "--train-minutes $TRAIN_MINUTES: sample cache '$CACHE' not found (make it with tools/gpu-carry.sh, or give --cache FILE)"
fi

cd "$ROOT"
mkdir -p "$OUT_DIR" || die_usage "cannot create output directory '$OUT_DIR'"
mkdir -p "$WORK" || die_usage "cannot create work directory '$WORK'"

log() { echo "gpu-check: $*" >&2; }

# ---------------------------------------------------------------------------------------------- helpers
now() {
  if [ -n "${EPOCHREALTIME:-}" ]; then printf '%s\n' "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Runs "$@" with the optional phase timeout.
with_timeout() {
  if [ "$PHASE_TIMEOUT" -gt 0 ] && command -v timeout >/dev/null; then
    timeout -k 10 "$PHASE_TIMEOUT" "$@"
  else
    "$@"
  fi
}

PHASES=(deps configure build test_engine bench bench_default calibrate train)
declare -A STATUS SECONDS_OF
for p in "${PHASES[@]}"; do STATUS[$p]="not run"; SECONDS_OF[$p]=""; done

# run_phase NAME LOGFILE CMD...: runs CMD with stdout+stderr into LOGFILE, records status and seconds.
run_phase() {
  local name=$1 logf=$2
  shift 2
  log "phase $name: $*"
  STATUS[$name]=running
  write_report
  local t0 rc=0
  t0=$(now)
  { echo "\$ $*"; echo; } >"$logf"
  with_timeout "$@" >>"$logf" 2>&1 || rc=$?
  SECONDS_OF[$name]=$(elapsed "$t0" "$(now)")
  set_status "$name" "$rc"
  log "phase $name: ${STATUS[$name]} (${SECONDS_OF[$name]} s, log $logf)"
  write_report
  return 0
}
set_status() {
  local name=$1 rc=$2
  if [ "$rc" = 0 ]; then
    STATUS[$name]=ok
  elif [ "$PHASE_TIMEOUT" -gt 0 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
    STATUS[$name]="timeout (${PHASE_TIMEOUT} s)"
  else
    STATUS[$name]="failed (exit $rc)"
  fi
}
skip_phase() { STATUS[$1]="skipped ($2)"; SECONDS_OF[$1]=0; }
fail_phase() { STATUS[$1]="failed ($2)"; SECONDS_OF[$1]=${SECONDS_OF[$1]:-0}; }

phase_ok() { case "${STATUS[$1]}" in ok | skipped*) return 0 ;; *) return 1 ;; esac; }

have_python() { [ "${GPU_CHECK_NO_PYTHON:-0}" != 1 ] && command -v python3 >/dev/null 2>&1; }

# A JSON number as is, anything else (empty, nan, inf, text) as null.
json_num() {
  if [[ "${1:-}" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then printf '%s' "$1"; else printf 'null'; fi
}

# metrics_stats FILE: one tab-separated line from a gmd train metrics.jsonl: step records, mean time_s of the
# step records after the first 5 (of all when there are fewer), last step's loss, last step number, then the
# last validation record's step and Dice WT, TC, ET ("null" for what is missing).
metrics_stats() {
  local f=$1
  if [ ! -s "$f" ]; then
    printf '0\tnull\tnull\tnull\tnull\tnull\tnull\tnull\n'
    return 0
  fi
  if have_python; then
    python3 - "$f" <<'EOF'
import json, math, sys
steps, val = [], None
with open(sys.argv[1], encoding="utf-8", errors="replace") as fh:
    for line in fh:
        try:
            r = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if not isinstance(r, dict):
            continue
        if r.get("type") == "step":
            steps.append(r)
        elif r.get("type") == "val":
            val = r
def num(x, fmt="%.6g"):
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return "null"
    return fmt % x
times = [s["time_s"] for s in steps if isinstance(s.get("time_s"), (int, float))]
tail = times[5:] if len(times) > 5 else times
mean = sum(tail) / len(tail) if tail else None
last = steps[-1] if steps else {}
dice = val.get("dice") if isinstance(val, dict) and isinstance(val.get("dice"), dict) else {}
print("\t".join([str(len(steps)), num(mean), num(last.get("loss")), num(last.get("step"), "%d"),
                 num(val.get("step") if val else None, "%d"),
                 num(dice.get("WT")), num(dice.get("TC")), num(dice.get("ET"))]))
EOF
  else
    # gmd writes one compact JSON object per line with sorted keys; "time_s" is the step record's own.
    awk '
      function num(s, key) {
        if (match(s, "\"" key "\":-?[0-9][0-9.eE+-]*")) return substr(s, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
        return "null"
      }
      !/}[[:space:]]*$/ { next }  # a line cut short by a kill
      /"type":"step"/ {
        n++
        t = num($0, "time_s")
        if (t != "null") { all += t; na++; if (n > 5) { s += t; ns++ } }
        loss = num($0, "loss"); last = num($0, "step")
      }
      /"type":"val"/ {
        vs = num($0, "step"); wt = tc = et = "null"
        if (match($0, /"dice":\{[^}]*\}/)) { d = substr($0, RSTART, RLENGTH); wt = num(d, "WT"); tc = num(d, "TC"); et = num(d, "ET") }
      }
      END {
        if (ns > 0) mean = sprintf("%.6g", s / ns); else if (na > 0) mean = sprintf("%.6g", all / na); else mean = "null"
        printf "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, mean, (n ? loss : "null"), (n ? last : "null"),
          (vs == "" ? "null" : vs), (wt == "" ? "null" : wt), (tc == "" ? "null" : tc), (et == "" ? "null" : et)
      }' "$f"
  fi
}

# model_steps_done RUN/model.json: its "steps_done" (empty when unreadable).
model_steps_done() {
  local f=$1
  [ -s "$f" ] || return 0
  if have_python; then
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get("steps_done"); print(v if isinstance(v,int) else "")' \
      "$f" 2>/dev/null || true
  else
    grep -o '"steps_done": *[0-9][0-9]*' "$f" | head -1 | sed 's/.*: *//' || true
  fi
}

file_mib() { if [ -f "$1" ]; then awk -v b="$(wc -c <"$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; else echo "?"; fi; }

# ---------------------------------------------------------------------------------------------- facts
DATE_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || true)
if [ -n "$COMMIT" ]; then
  if ! git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then COMMIT="$COMMIT (+ uncommitted changes)"; fi
else
  COMMIT=${GMD_COMMIT:-unknown}
fi

GPU_INFO=none
if command -v nvidia-smi >/dev/null 2>&1; then
  GPU_INFO=$(timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 |
    paste -sd ';' -) || GPU_INFO="nvidia-smi failed: $GPU_INFO"
  [ -n "$GPU_INFO" ] || GPU_INFO=none
elif [ "$DEVICE" = cuda ]; then
  log "warning: --device cuda but nvidia-smi is not installed; trying anyway (the benchmark will report the error)"
fi

PY_TORCH=
if command -v python3 >/dev/null 2>&1; then
  PY_TORCH=$(timeout 120 python3 -c 'import torch;print(torch.__version__, torch.utils.cmake_prefix_path,
"yes" if torch.cuda.is_available() else "no", sep="\t")' 2>/dev/null | tail -n 1 || true)
fi
PY_TORCH_VERSION=$(cut -f1 <<<"$PY_TORCH")
if [ "$PREFIX_SET" = 0 ] && [ -n "$PY_TORCH" ]; then PREFIX=$(cut -f2 <<<"$PY_TORCH"); fi
# nvcc is needed by the CUDA LibTorch's CMake config; the usual toolkit location may not be on PATH.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi

TEST_BIN=$BIN_DIR/tests/test_engine
BENCH_BIN=$BIN_DIR/bench/bench_engine
GMD_BIN=$BIN_DIR/app/gmd/gmd
if [ "$QUICK" = 1 ]; then
  BENCH_ARGS=(--patch 16 --widths "4,8" --k 3 --steps 1 --warmup 1 --volume 32x32x32 --skip-separate)
  BENCH_DEFAULT_ARGS=(--patch 16 --widths "4,8" --k 3 --steps 2 --warmup 1 --skip-infer)
else
  BENCH_ARGS=(--patch 64 --widths "16,32,64,128,256" --k 5 --steps 5 --warmup 2 --volume 128x160x128)
  BENCH_DEFAULT_ARGS=(--patch 32 --widths "16,32,64,128" --k 5 --steps 10 --warmup 2 --skip-infer)
fi

TESTS_PASSED=null
TESTS_FAILED=null
FAILED_TESTS=
LIBTORCH_BUILD=unknown
CUDA_AVAILABLE=unknown
DEPS_ROOT=$BUILD_DIR/deps-root
DEPS_INFO="system packages"
DEPS_PREFIX=

# Training facts (filled by the calibrate and train phases; "null" = not measured).
CALIB_STEPS=30
S_PER_STEP=null
STEPS_PLANNED=null
STEPS_DONE=null
TRAIN_WALL=null
FINAL_LOSS=null
FINAL_STEP=null
VAL_STEP=null
DICE_WT=null
DICE_TC=null
DICE_ET=null
GUARD_S=$((TRAIN_MINUTES * 60 + 90))
GUARD_STOPPED=null
METRICS_OUT=
TRAIN_FILES=

# The build's LibTorch: TORCH_VERSION compiled into bench_engine (via a run that measures nothing), which also
# tells whether that LibTorch sees a CUDA device (--device auto picks cuda:0 when it does).
probe_build() {
  local torch_dir=
  if [ -f "$BUILD_DIR/CMakeCache.txt" ]; then
    torch_dir=$(sed -n 's/^Torch_DIR:PATH=//p' "$BUILD_DIR/CMakeCache.txt")
  fi
  local cfg_version=
  if [ -n "$torch_dir" ] && [ -f "$torch_dir/TorchConfigVersion.cmake" ]; then
    cfg_version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")/\1/p' "$torch_dir/TorchConfigVersion.cmake" | head -1)
  fi
  local probe=
  if [ -x "$BENCH_BIN" ]; then
    probe=$(timeout 120 "$BENCH_BIN" --device auto --skip-train --skip-infer 2>&1 | grep -m1 '^- LibTorch' || true)
  fi
  if [ -n "$probe" ]; then
    # "- LibTorch 2.11.0, device cuda:0, intra-op threads 8"
    LIBTORCH_BUILD=$(sed -n 's/^- LibTorch \([^,]*\),.*/\1/p' <<<"$probe")
    case "$probe" in *"device cuda"*) CUDA_AVAILABLE=yes ;; *) CUDA_AVAILABLE=no ;; esac
  elif [ -n "$cfg_version" ]; then
    LIBTORCH_BUILD=$cfg_version
  elif [ -n "$PY_TORCH_VERSION" ]; then
    LIBTORCH_BUILD="$PY_TORCH_VERSION (python3 torch; build not probed)"
  fi
  if [ "$CUDA_AVAILABLE" = unknown ] && [ -n "$PY_TORCH" ]; then
    CUDA_AVAILABLE="$(cut -f3 <<<"$PY_TORCH") (python3 torch)"
  fi
  [ -n "$torch_dir" ] && LIBTORCH_BUILD="$LIBTORCH_BUILD (Torch_DIR $torch_dir)"
  return 0
}

parse_gtest() {
  local logf=$1 n
  n=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) tests\{0,1\}\..*/\1/p' "$logf" | tail -1)
  TESTS_PASSED=${n:-null}
  n=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$logf" | tail -1)
  if [ -n "$n" ]; then
    TESTS_FAILED=$n
  elif [ "$TESTS_PASSED" != null ]; then
    TESTS_FAILED=0
  fi
  FAILED_TESTS=$(sed -n 's/^\[  FAILED  \] \([A-Za-z_][^ ,]*\).*/\1/p' "$logf" | sort -u |
    paste -sd ' ' - || true)
}

# ---------------------------------------------------------------------------------------------- report
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
na() { if [ "$1" = null ] || [ -z "$1" ]; then echo "-"; else echo "$1"; fi; }

# Packs the work folder's logs and tables (not the training runs' weights, nor the run's metrics, which are in
# OUT already) into OUT/logs.tar.gz.
pack_logs() {
  local tgz=$OUT_DIR/logs.tar.gz
  if tar -czf "$tgz.part" -C "$WORK" --exclude='*.pt' --exclude='./run/metrics.jsonl' . 2>/dev/null; then
    mv -f "$tgz.part" "$tgz"
  else
    rm -f "$tgz.part"
    log "warning: could not pack $WORK into $tgz"
  fi
}

write_training_md() {
  echo "## Training"
  echo
  if [ "$TRAIN_MINUTES" = 0 ]; then
    echo "skipped (no --train-minutes)"
    return 0
  fi
  local dice="none recorded"
  [ "$DICE_WT" != null ] && dice="$DICE_WT / $DICE_TC / $DICE_ET (step $VAL_STEP)"
  local guard=$GUARD_STOPPED
  case "$guard" in true) guard="yes (SIGINT after $GUARD_S s)" ;; false) guard=no ;; *) guard="-" ;; esac
  echo "| item | value |"
  echo "|---|---|"
  echo "| cache | $CACHE ($(file_mib "$CACHE") MiB) |"
  echo "| command | gmd train --data CACHE --out RUN --steps $(na "$STEPS_PLANNED") ${TRAIN_DEVICE_ARGS[*]} ${TRAIN_ARGS[*]} |"
  echo "| time budget | $TRAIN_MINUTES min (guard: SIGINT after $GUARD_S s) |"
  echo "| s/step (calibrate: $CALIB_STEPS steps, mean after the first 5) | $(na "$S_PER_STEP") |"
  echo "| steps planned | $(na "$STEPS_PLANNED") |"
  echo "| steps done (model.json) | $(na "$STEPS_DONE") |"
  echo "| wall seconds (train phase) | $(na "$TRAIN_WALL") |"
  echo "| stopped by the time guard | $guard |"
  echo "| final step loss | $(na "$FINAL_LOSS")$([ "$FINAL_STEP" != null ] && echo " (step $FINAL_STEP)") |"
  echo "| last validation Dice WT / TC / ET | $dice |"
  echo "| files (in this directory) | ${TRAIN_FILES:-none} |"
}

write_report() {
  local md=$OUT_DIR/gpu-check.md tmp
  tmp=$md.tmp
  {
    echo "# GMD Studio GPU check"
    echo
    echo "| item | value |"
    echo "|---|---|"
    echo "| date (UTC) | $DATE_UTC |"
    echo "| git commit | $COMMIT |"
    echo "| device | $DEVICE$([ "$QUICK" = 1 ] && echo " (quick mode: tiny sizes)") |"
    echo "| GPU (nvidia-smi) | $GPU_INFO |"
    echo "| LibTorch (build) | $LIBTORCH_BUILD |"
    echo "| python3 torch | ${PY_TORCH_VERSION:-not importable} |"
    echo "| CUDA available | $CUDA_AVAILABLE |"
    echo "| host | $(uname -m), $CORES cores$([ -n "${OMP_NUM_THREADS:-}" ] && echo ", OMP_NUM_THREADS=$OMP_NUM_THREADS") |"
    echo "| build dir | $BUILD_DIR$([ "$DO_BUILD" = 0 ] && echo " (used as is)")$([ "$CONFIGURE_ONLY" = 1 ] && echo " (configured only; binaries from $BIN_DIR)") |"
    echo "| dependencies | $DEPS_INFO |"
    echo
    echo "## Phases"
    echo
    echo "| phase | status | seconds |"
    echo "|---|---|---|"
    for p in "${PHASES[@]}"; do echo "| $p | ${STATUS[$p]} | ${SECONDS_OF[$p]} |"; done
    echo
    echo "Logs: logs.tar.gz (deps.log, configure.log, build.log, test_engine.log, bench.log, bench_default.log,"
    echo "calibrate.log, train.log, calib/; written to $WORK)."
    echo
    echo "## Tests"
    echo
    if [ "$TESTS_PASSED" = null ] && [ "$TESTS_FAILED" = null ]; then
      echo "- test_engine: no gtest summary (status ${STATUS[test_engine]}; see test_engine.log)"
    else
      echo "- test_engine: $TESTS_PASSED passed, $TESTS_FAILED failed"
      [ -n "$FAILED_TESTS" ] && echo "- failed: $FAILED_TESTS"
    fi
    echo
    echo "## Benchmark: bench_engine --device $DEVICE ${BENCH_ARGS[*]}"
    echo
    if [ -s "$WORK/bench.md" ]; then
      cat "$WORK/bench.md"
    else
      echo "(no output; status ${STATUS[bench]}, see bench.log)"
    fi
    echo
    echo "## Benchmark, default-model training config: bench_engine --device $DEVICE ${BENCH_DEFAULT_ARGS[*]}"
    echo
    if [ -s "$WORK/bench_default.md" ]; then
      cat "$WORK/bench_default.md"
    else
      echo "(no output; status ${STATUS[bench_default]}, see bench_default.log)"
    fi
    echo
    write_training_md
    local p f
    for p in "${PHASES[@]}"; do
      case "${STATUS[$p]}" in failed* | timeout*) ;; *) continue ;; esac
      f=$WORK/$p.log
      echo
      echo "## Failure: $p (${STATUS[$p]}), last lines of $p.log"
      echo
      echo '```'
      if [ -f "$f" ]; then tail -n 20 "$f"; else echo "(no log)"; fi
      echo '```'
    done
  } >"$tmp"
  mv -f "$tmp" "$md"

  local all_ok=true sep='' train_json=null
  for p in "${PHASES[@]}"; do phase_ok "$p" || all_ok=false; done
  if [ "$TRAIN_MINUTES" -gt 0 ]; then
    train_json="{\"cache\": $(json_str "$CACHE"), \"minutes\": $TRAIN_MINUTES, \"args\": $(json_str "${TRAIN_ARGS[*]}"),"
    train_json+=" \"s_per_step\": $(json_num "$S_PER_STEP"), \"steps_planned\": $(json_num "$STEPS_PLANNED"),"
    train_json+=" \"steps_done\": $(json_num "$STEPS_DONE"), \"wall_s\": $(json_num "$TRAIN_WALL"),"
    train_json+=" \"guard_s\": $GUARD_S, \"guard_stopped\": $GUARD_STOPPED,"
    train_json+=" \"final_loss\": $(json_num "$FINAL_LOSS"), \"final_step\": $(json_num "$FINAL_STEP"),"
    if [ "$DICE_WT" != null ]; then
      train_json+=" \"val_step\": $(json_num "$VAL_STEP"), \"val_dice\": {\"WT\": $(json_num "$DICE_WT"),"
      train_json+=" \"TC\": $(json_num "$DICE_TC"), \"ET\": $(json_num "$DICE_ET")},"
    else
      train_json+=" \"val_step\": null, \"val_dice\": null,"
    fi
    train_json+=" \"metrics_file\": $([ -n "$METRICS_OUT" ] && json_str "$METRICS_OUT" || echo null)}"
  fi
  {
    echo "{"
    echo "  \"date_utc\": $(json_str "$DATE_UTC"),"
    echo "  \"commit\": $(json_str "$COMMIT"),"
    echo "  \"device\": $(json_str "$DEVICE"),"
    echo "  \"quick\": $([ "$QUICK" = 1 ] && echo true || echo false),"
    echo "  \"gpu\": $(json_str "$GPU_INFO"),"
    echo "  \"libtorch\": $(json_str "$LIBTORCH_BUILD"),"
    echo "  \"cuda_available\": $(json_str "$CUDA_AVAILABLE"),"
    echo "  \"deps\": $(json_str "$DEPS_INFO"),"
    echo "  \"phases\": {"
    for p in "${PHASES[@]}"; do
      printf '%s    "%s": {"status": %s, "seconds": %s}' "$sep" "$p" "$(json_str "${STATUS[$p]}")" \
        "${SECONDS_OF[$p]:-null}"
      sep=$',\n'
    done
    echo
    echo "  },"
    echo "  \"tests\": {\"passed\": $TESTS_PASSED, \"failed\": $TESTS_FAILED},"
    echo "  \"train\": $train_json,"
    echo "  \"all_ok\": $all_ok"
    echo "}"
  } >"$OUT_DIR/summary.json.tmp"
  mv -f "$OUT_DIR/summary.json.tmp" "$OUT_DIR/summary.json"
  pack_logs
}

# ---------------------------------------------------------------------------------------------- phases
log "device $DEVICE, build dir $BUILD_DIR, out $OUT_DIR, work $WORK$([ "$QUICK" = 1 ] && echo ', quick')"
# OUT: this script's files (and those of the layout before logs.tar.gz); WORK: this script's logs and runs.
for f in gpu-check.md summary.json logs.tar.gz model.pt model.json metrics.jsonl metrics.jsonl.gz \
  configure.log build.log test_engine.log bench.log bench_default.log bench.md bench_default.md; do
  rm -f "${OUT_DIR:?}/$f"
done
for f in deps.log configure.log build.log test_engine.log bench.log bench_default.log bench.md bench_default.md \
  calibrate.log train.log; do
  rm -f "${WORK:?}/$f"
done
rm -rf "${WORK:?}/calib" "${WORK:?}/run"

# deps: the carried .deb files, when the system lacks a package (or --force-deps).
sys_missing_deps() {
  local h d found missing=()
  for h in nlohmann/json.hpp spdlog/spdlog.h fmt/format.h gtest/gtest.h gmock/gmock.h CLI/CLI.hpp zlib.h; do
    found=0
    for d in /usr/include /usr/local/include; do [ -f "$d/$h" ] && found=1; done
    [ "$found" = 1 ] || missing+=("$h")
  done
  echo "${missing[*]}"
}
# Extracts every .deb into DEPS_ROOT, once per set of files (stamp file); repairs absolute symbolic links
# (zlib1g-dev's libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) to point inside DEPS_ROOT. Called with || (no
# set -e inside), hence the explicit returns.
extract_debs() {
  local stamp=$DEPS_ROOT/.gpu-check-debs want f l t tmp
  want=$(for f in "${DEBS[@]}"; do printf '%s %s\n' "$(basename "$f")" "$(wc -c <"$f")"; done)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "already extracted into $DEPS_ROOT:"
    echo "$want"
    return 0
  fi
  rm -rf "${DEPS_ROOT:?}" && mkdir -p "$DEPS_ROOT" || return 1
  for f in "${DEBS[@]}"; do
    echo "extract $f"
    if command -v dpkg-deb >/dev/null 2>&1; then
      dpkg-deb -x "$f" "$DEPS_ROOT" || { echo "dpkg-deb -x $f failed"; return 1; }
    else  # a .deb is an ar archive holding data.tar.{xz,zst,gz}
      tmp=$(mktemp -d) || return 1
      if ! { (cd "$tmp" && ar x "$f") && tar -xf "$tmp"/data.tar.* -C "$DEPS_ROOT"; }; then
        rm -rf "$tmp"
        echo "ar x / tar -x of $f failed"
        return 1
      fi
      rm -rf "$tmp"
    fi
  done
  while IFS= read -r -d '' l; do
    t=$(readlink "$l")
    case "$t" in /*) ;; *) continue ;; esac
    if [ -e "$DEPS_ROOT$t" ]; then
      ln -sfn "$DEPS_ROOT$t" "$l" || return 1
      echo "relinked ${l#"$DEPS_ROOT"} -> $DEPS_ROOT$t"
    fi
  done < <(find "$DEPS_ROOT" -type l -print0)
  printf '%s\n' "$want" >"$stamp" || return 1
}
setup_deps() {
  local missing
  missing=$(sys_missing_deps)
  if [ "${#DEBS[@]}" = 0 ]; then
    if [ -n "$missing" ]; then
      DEPS_INFO="system packages (missing: $missing; no .deb files in $DEPS_DIR)"
      skip_phase deps "no .deb files; the system lacks $missing"
    else
      skip_phase deps "system packages"
    fi
    return 0
  fi
  if [ "$FORCE_DEPS" = 0 ] && [ -z "$missing" ]; then
    skip_phase deps "system packages; ${#DEBS[@]} .deb files not needed"
    return 0
  fi
  log "phase deps: extract ${#DEBS[@]} .deb files from $DEPS_DIR into $DEPS_ROOT"
  STATUS[deps]=running
  write_report
  local t0 rc=0
  t0=$(now)
  extract_debs >"$WORK/deps.log" 2>&1 || rc=$?
  SECONDS_OF[deps]=$(elapsed "$t0" "$(now)")
  set_status deps "$rc"
  if [ "$rc" = 0 ]; then
    DEPS_PREFIX=$DEPS_ROOT/usr
    local why="--force-deps"
    [ -n "$missing" ] && why="the system lacks $missing"
    DEPS_INFO="$(cd "$DEPS_DIR" && printf '%s\n' ./*.deb | sed 's,^\./,,; s/_.*//' | sort -u | paste -sd ' ' -)"
    DEPS_INFO=".deb files from $DEPS_DIR ($DEPS_INFO), extracted into $DEPS_ROOT ($why); system packages for the rest"
  fi
  log "phase deps: ${STATUS[deps]} (${SECONDS_OF[deps]} s, log $WORK/deps.log)"
  write_report
}
setup_deps
# The shared libraries of the carried packages (libspdlog.so.1.10, libfmt.so.9) for every program run from here
# on: the linker (libspdlog.so's own libfmt.so.9), test discovery after the build, test, bench and train. Only
# usr/lib/ARCH: the zlib1g copy stays in lib/ARCH, so the system's libz.so.1 keeps serving cmake and the compiler.
if [ -n "$DEPS_PREFIX" ]; then
  export LD_LIBRARY_PATH=$DEPS_ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

if [ "$DO_BUILD" = 1 ]; then
  CMAKE_ARGS=(-S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGMD_WITH_ITK=OFF -DGMD_BUILD_GUI=OFF
    -DGMD_BUILD_TESTS=ON -DGMD_BUILD_BENCH=ON)
  PREFIX_LIST=$PREFIX
  [ -n "$DEPS_PREFIX" ] && PREFIX_LIST=${PREFIX:+$PREFIX;}$DEPS_PREFIX
  [ -n "$PREFIX_LIST" ] && CMAKE_ARGS+=("-DCMAKE_PREFIX_PATH=$PREFIX_LIST")
  if phase_ok deps; then
    run_phase configure "$WORK/configure.log" cmake "${CMAKE_ARGS[@]}"
  else
    skip_phase configure "deps failed"
  fi
  if [ "$CONFIGURE_ONLY" = 1 ]; then
    skip_phase build "--configure-only: binaries from $BIN_DIR"
  elif [ "${STATUS[configure]}" = ok ]; then
    run_phase build "$WORK/build.log" cmake --build "$BUILD_DIR" -j "$JOBS" --target test_engine bench_engine gmd
  else
    skip_phase build "configure not ok"
  fi
else
  skip_phase configure "--no-build"
  skip_phase build "--no-build"
fi

probe_build
write_report

if [ -x "$TEST_BIN" ]; then
  GTEST_ARGS=()
  if "$TEST_BIN" --help 2>&1 | grep -q -- '--gtest_brief'; then GTEST_ARGS+=(--gtest_brief=1); fi
  run_phase test_engine "$WORK/test_engine.log" "$TEST_BIN" "${GTEST_ARGS[@]}"
  parse_gtest "$WORK/test_engine.log"
else
  echo "missing executable $TEST_BIN" >"$WORK/test_engine.log"
  fail_phase test_engine "no $TEST_BIN"
fi
write_report

# bench_NAME: stdout (the Markdown tables) goes to WORK/NAME.md, everything to WORK/NAME.log.
run_bench() {
  local name=$1
  shift
  local md=$WORK/$name.md logf=$WORK/$name.log
  if [ ! -x "$BENCH_BIN" ]; then
    echo "missing executable $BENCH_BIN" >"$logf"
    fail_phase "$name" "no $BENCH_BIN"
    write_report
    return 0
  fi
  log "phase $name: $BENCH_BIN $*"
  STATUS[$name]=running
  write_report
  local t0 rc=0
  t0=$(now)
  with_timeout "$BENCH_BIN" "$@" >"$md" 2>"$logf.err" || rc=$?
  SECONDS_OF[$name]=$(elapsed "$t0" "$(now)")
  set_status "$name" "$rc"
  { echo "\$ $BENCH_BIN $*"; echo; cat "$md"; echo; echo "--- stderr ---"; cat "$logf.err"; echo "--- exit $rc"; } >"$logf"
  rm -f "$logf.err"
  log "phase $name: ${STATUS[$name]} (${SECONDS_OF[$name]} s, log $logf)"
  write_report
}
run_bench bench --device "$DEVICE" "${BENCH_ARGS[@]}"
run_bench bench_default --device "$DEVICE" "${BENCH_DEFAULT_ARGS[@]}"

# calibrate + train: seconds per step from a short run, then a run of as many steps as fit in the budget,
# under a guard that stops it cleanly (SIGINT: gmd writes checkpoint and model, exit 0) when it runs long.
collect_run() {
  local run=$WORK/run f limit=$((15 * 1048576))
  STEPS_DONE=$(json_num "$(model_steps_done "$run/model.json")")
  IFS=$'\t' read -r _ _ FINAL_LOSS FINAL_STEP VAL_STEP DICE_WT DICE_TC DICE_ET <<<"$(metrics_stats "$run/metrics.jsonl")"
  [ -f "$run/model.pt" ] && cp -f "$run/model.pt" "$OUT_DIR/model.pt"
  [ -f "$run/model.json" ] && cp -f "$run/model.json" "$OUT_DIR/model.json"
  if [ -f "$run/metrics.jsonl" ]; then
    rm -f "$OUT_DIR/metrics.jsonl" "$OUT_DIR/metrics.jsonl.gz"
    if [ "$(wc -c <"$run/metrics.jsonl")" -gt "$limit" ]; then
      gzip -c "$run/metrics.jsonl" >"$OUT_DIR/metrics.jsonl.gz"
      METRICS_OUT=metrics.jsonl.gz
    else
      cp -f "$run/metrics.jsonl" "$OUT_DIR/metrics.jsonl"
      METRICS_OUT=metrics.jsonl
    fi
  fi
  TRAIN_FILES=$(for f in model.pt model.json "$METRICS_OUT"; do [ -n "$f" ] && [ -f "$OUT_DIR/$f" ] && echo "$f"; done |
    paste -sd ' ' -)
  return 0
}
run_training() {
  if [ "$TRAIN_MINUTES" = 0 ]; then
    skip_phase calibrate "no --train-minutes"
    skip_phase train "no --train-minutes"
    return 0
  fi
  if [ ! -x "$GMD_BIN" ]; then
    echo "missing executable $GMD_BIN" >"$WORK/calibrate.log"
    fail_phase calibrate "no $GMD_BIN"
    skip_phase train "calibrate failed"
    return 0
  fi
  run_phase calibrate "$WORK/calibrate.log" "$GMD_BIN" train --data "$CACHE" --out "$WORK/calib" \
    --steps "$CALIB_STEPS" "${TRAIN_DEVICE_ARGS[@]}" "${TRAIN_ARGS[@]}"
  local n
  IFS=$'\t' read -r n S_PER_STEP _ <<<"$(metrics_stats "$WORK/calib/metrics.jsonl")"
  if phase_ok calibrate && { [ "$n" = 0 ] || [ "$S_PER_STEP" = null ]; }; then
    fail_phase calibrate "no step times in calib/metrics.jsonl"
  fi
  if ! phase_ok calibrate; then
    skip_phase train "calibrate failed"
    write_report
    return 0
  fi
  STEPS_PLANNED=$(awk -v n="$TRAIN_MINUTES" -v s="$S_PER_STEP" \
    'BEGIN { x = (s > 0) ? int(0.85 * (n * 60 - 30) / s) : 10; if (x < 10) x = 10; print x }')

  local cmd=("$GMD_BIN" train --data "$CACHE" --out "$WORK/run" --steps "$STEPS_PLANNED" "${TRAIN_DEVICE_ARGS[@]}"
    "${TRAIN_ARGS[@]}")
  if command -v timeout >/dev/null 2>&1; then
    cmd=(timeout -s INT -k 60 "$GUARD_S" "${cmd[@]}")
  else
    log "warning: no timeout command; the train phase runs without its time guard"
  fi
  local logf=$WORK/train.log t0 rc=0
  log "phase train: ${cmd[*]}"
  STATUS[train]=running
  write_report
  t0=$(now)
  { echo "\$ ${cmd[*]}"; echo; } >"$logf"
  "${cmd[@]}" >>"$logf" 2>&1 || rc=$?
  SECONDS_OF[train]=$(elapsed "$t0" "$(now)")
  TRAIN_WALL=${SECONDS_OF[train]}
  GUARD_STOPPED=false
  case "$rc" in
    0) STATUS[train]=ok ;;
    124)  # the guard's SIGINT: fine when gmd stopped cleanly ("stopped; checkpoint and model written to ...")
      GUARD_STOPPED=true
      if grep -q '^stopped; ' "$logf" && [ -s "$WORK/run/model.json" ]; then
        STATUS[train]=ok
      else
        STATUS[train]="failed (stopped by the time guard after $GUARD_S s without writing its model)"
      fi ;;
    137) GUARD_STOPPED=true; STATUS[train]="failed (killed 60 s after the time guard's SIGINT)" ;;
    *) STATUS[train]="failed (exit $rc)" ;;
  esac
  collect_run
  if [ "${STATUS[train]}" = ok ] && { [ "$STEPS_DONE" = null ] || [ "$STEPS_DONE" = 0 ]; }; then
    fail_phase train "no steps done in run/model.json"
  fi
  log "phase train: ${STATUS[train]} (${SECONDS_OF[train]} s, $STEPS_DONE of $STEPS_PLANNED steps, log $logf)"
  write_report
}
run_training

write_report
log "report: $OUT_DIR/gpu-check.md"
for p in "${PHASES[@]}"; do phase_ok "$p" || exit 1; done
exit 0
