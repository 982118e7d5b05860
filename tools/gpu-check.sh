#!/usr/bin/env bash
# One-call check of the engine on a (rented) GPU machine: configure and build the engine-only tree against the
# LibTorch of the machine's PyTorch, run test_engine, run bench_engine (the docs/performance.md benchmark and
# the default-model training config), and write a Markdown report plus summary.json into OUT.
# Needs only LibTorch, CMake, Ninja, a compiler, GoogleTest, spdlog, fmt and nlohmann-json (no ITK/Qt/VTK).
#
#   bash tools/gpu-check.sh --out "$OUT"                       # on the GPU machine
#   bash tools/gpu-check.sh --device cpu --no-build --build-dir build/test --quick --out /tmp/gc   # CPU dry run
#
# The report is rewritten after every phase, so a run cut short still leaves what it measured so far.
# Exit code: 0 when every phase succeeded (or was skipped on purpose), 1 when one failed, 2 on bad arguments.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash tools/gpu-check.sh [options]

Builds the engine only (no ITK/Qt/VTK), runs test_engine and bench_engine, and writes
OUT/gpu-check.md and OUT/summary.json (plus one log per phase).

options:
  --device cuda|cpu     device for the benchmark (default cuda)
  --out DIR             report directory (default: $OUT if set, else out/gpu-check)
  --build-dir DIR       engine build tree (default build/gpu-check)
  --no-build            do not configure or build; use the build tree as it is
  --prefix PATH         CMAKE_PREFIX_PATH for LibTorch (default: torch.utils.cmake_prefix_path of
                        python3's torch if importable, else none: the system LibTorch is used)
  --jobs N              build parallelism (default: number of cores)
  --quick               tiny benchmark sizes (CPU dry runs; seconds instead of minutes)
  --phase-timeout S     kill a phase that runs longer than S seconds (default 0: no limit)
  -h, --help            this text

Phases: configure, build, test_engine, bench (patch 64, widths 16..256, volume 128x160x128),
bench_default (the default model's training config: patch 32, widths 16..128, training only).
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
DO_BUILD=1
QUICK=0
PREFIX=
PREFIX_SET=0
# nproc honours OMP_NUM_THREADS; count the cores this process may use without it.
CORES=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
JOBS=$CORES
PHASE_TIMEOUT=0

need_value() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then die_usage "option $1 needs a value (see --help)"; fi; }
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --device) need_value "$@"; DEVICE=$2; shift 2 ;;
    --out) need_value "$@"; OUT_DIR=$2; shift 2 ;;
    --build-dir) need_value "$@"; BUILD_DIR=$2; shift 2 ;;
    --prefix) need_value "$@"; PREFIX=$2; PREFIX_SET=1; shift 2 ;;
    --jobs) need_value "$@"; JOBS=$2; shift 2 ;;
    --phase-timeout) need_value "$@"; PHASE_TIMEOUT=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --quick) QUICK=1; shift ;;
    *) die_usage "unknown argument '$1' (see --help)" ;;
  esac
done
case "$DEVICE" in cuda | cpu) ;; *) die_usage "--device must be cuda or cpu, not '$DEVICE'" ;; esac
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die_usage "--jobs must be a positive integer, not '$JOBS'"
[[ "$PHASE_TIMEOUT" =~ ^[0-9]+$ ]] || die_usage "--phase-timeout must be a number of seconds, not '$PHASE_TIMEOUT'"

# Absolute paths (relative ones are taken from the caller's directory; the defaults from the repository root),
# then work from the repository root.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "$OUT_DIR" ]; then OUT_DIR=$(abspath "$OUT_DIR"); else OUT_DIR=$ROOT/out/gpu-check; fi
if [ -n "$BUILD_DIR" ]; then BUILD_DIR=$(abspath "$BUILD_DIR"); else BUILD_DIR=$ROOT/build/gpu-check; fi
if [ "$DO_BUILD" = 0 ] && [ ! -d "$BUILD_DIR" ]; then
  die_usage "--no-build given but build dir '$BUILD_DIR' does not exist"
fi
cd "$ROOT"
mkdir -p "$OUT_DIR" || die_usage "cannot create output directory '$OUT_DIR'"

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

PHASES=(configure build test_engine bench bench_default)
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

phase_ok() { case "${STATUS[$1]}" in ok | skipped*) return 0 ;; *) return 1 ;; esac; }

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

TEST_BIN=$BUILD_DIR/tests/test_engine
BENCH_BIN=$BUILD_DIR/bench/bench_engine
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
    echo "| build dir | $BUILD_DIR$([ "$DO_BUILD" = 0 ] && echo " (used as is)") |"
    echo
    echo "## Phases"
    echo
    echo "| phase | status | seconds |"
    echo "|---|---|---|"
    for p in "${PHASES[@]}"; do echo "| $p | ${STATUS[$p]} | ${SECONDS_OF[$p]} |"; done
    echo
    echo "Logs: configure.log, build.log, test_engine.log, bench.log, bench_default.log (in this directory)."
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
    if [ -s "$OUT_DIR/bench.md" ]; then
      cat "$OUT_DIR/bench.md"
    else
      echo "(no output; status ${STATUS[bench]}, see bench.log)"
    fi
    echo
    echo "## Benchmark, default-model training config: bench_engine --device $DEVICE ${BENCH_DEFAULT_ARGS[*]}"
    echo
    if [ -s "$OUT_DIR/bench_default.md" ]; then
      cat "$OUT_DIR/bench_default.md"
    else
      echo "(no output; status ${STATUS[bench_default]}, see bench_default.log)"
    fi
    local p f
    for p in "${PHASES[@]}"; do
      case "${STATUS[$p]}" in failed* | timeout*) ;; *) continue ;; esac
      f=$OUT_DIR/$p.log
      echo
      echo "## Failure: $p (${STATUS[$p]}), last lines of $p.log"
      echo
      echo '```'
      if [ -f "$f" ]; then tail -n 20 "$f"; else echo "(no log)"; fi
      echo '```'
    done
  } >"$tmp"
  mv -f "$tmp" "$md"

  local all_ok=true sep=
  for p in "${PHASES[@]}"; do phase_ok "$p" || all_ok=false; done
  {
    echo "{"
    echo "  \"date_utc\": $(json_str "$DATE_UTC"),"
    echo "  \"commit\": $(json_str "$COMMIT"),"
    echo "  \"device\": $(json_str "$DEVICE"),"
    echo "  \"quick\": $([ "$QUICK" = 1 ] && echo true || echo false),"
    echo "  \"gpu\": $(json_str "$GPU_INFO"),"
    echo "  \"libtorch\": $(json_str "$LIBTORCH_BUILD"),"
    echo "  \"cuda_available\": $(json_str "$CUDA_AVAILABLE"),"
    echo "  \"phases\": {"
    for p in "${PHASES[@]}"; do
      printf '%s    "%s": {"status": %s, "seconds": %s}' "$sep" "$p" "$(json_str "${STATUS[$p]}")" \
        "${SECONDS_OF[$p]:-null}"
      sep=$',\n'
    done
    echo
    echo "  },"
    echo "  \"tests\": {\"passed\": $TESTS_PASSED, \"failed\": $TESTS_FAILED},"
    echo "  \"all_ok\": $all_ok"
    echo "}"
  } >"$OUT_DIR/summary.json.tmp"
  mv -f "$OUT_DIR/summary.json.tmp" "$OUT_DIR/summary.json"
}

# ---------------------------------------------------------------------------------------------- phases
log "device $DEVICE, build dir $BUILD_DIR, out $OUT_DIR$([ "$QUICK" = 1 ] && echo ', quick')"
for f in configure.log build.log test_engine.log bench.log bench_default.log bench.md bench_default.md; do
  rm -f "${OUT_DIR:?}/$f"
done

if [ "$DO_BUILD" = 1 ]; then
  CMAKE_ARGS=(-S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGMD_WITH_ITK=OFF -DGMD_BUILD_GUI=OFF
    -DGMD_BUILD_TESTS=ON -DGMD_BUILD_BENCH=ON)
  [ -n "$PREFIX" ] && CMAKE_ARGS+=("-DCMAKE_PREFIX_PATH=$PREFIX")
  run_phase configure "$OUT_DIR/configure.log" cmake "${CMAKE_ARGS[@]}"
  if phase_ok configure; then
    run_phase build "$OUT_DIR/build.log" cmake --build "$BUILD_DIR" -j "$JOBS" --target test_engine bench_engine
  else
    skip_phase build "configure failed"
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
  run_phase test_engine "$OUT_DIR/test_engine.log" "$TEST_BIN" "${GTEST_ARGS[@]}"
  parse_gtest "$OUT_DIR/test_engine.log"
else
  echo "missing executable $TEST_BIN" >"$OUT_DIR/test_engine.log"
  STATUS[test_engine]="failed (no $TEST_BIN)"
  SECONDS_OF[test_engine]=0
fi
write_report

# bench_NAME: stdout (the Markdown tables) goes to NAME.md, everything to NAME.log.
run_bench() {
  local name=$1
  shift
  local md=$OUT_DIR/$name.md logf=$OUT_DIR/$name.log
  if [ ! -x "$BENCH_BIN" ]; then
    echo "missing executable $BENCH_BIN" >"$logf"
    STATUS[$name]="failed (no $BENCH_BIN)"
    SECONDS_OF[$name]=0
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

write_report
log "report: $OUT_DIR/gpu-check.md"
for p in "${PHASES[@]}"; do phase_ok "$p" || exit 1; done
exit 0
