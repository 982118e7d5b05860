#!/usr/bin/env bash
# CPU dry run of tools/gpu-check.sh on an existing build tree (the CTest gpu_check_cpu_dry_run), then a check of
# its report with tools/check_gpu_report.sh. With --train (a full build: its gmd has synth and cache) it also makes
# a 3-case sample cache and runs the timed training phases (calibrate + 1 minute of training) from it.
# When .gpu-carry/debs holds .deb files (tools/gpu-carry.sh), they are used with --force-deps, to exercise the
# fallback a GPU machine without those packages takes.
#   bash tools/gpu-check-dry-run.sh BUILD_DIR OUT_DIR [--train]
# Exit code: gpu-check.sh's when the report checks out, else 1; 2 on bad arguments.
set -euo pipefail
usage() {
  echo "usage: bash tools/gpu-check-dry-run.sh BUILD_DIR OUT_DIR [--train]" >&2
  exit 2
}
TRAIN=0
POS=()
for a in "$@"; do
  case "$a" in
    --train) TRAIN=1 ;;
    -h | --help | -*) usage ;;
    *) POS+=("$a") ;;
  esac
done
[ "${#POS[@]}" = 2 ] || usage
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(abspath "${POS[0]}")
OUT=$(abspath "${POS[1]}")
WORK=$OUT-work
[ -d "$BUILD" ] || { echo "gpu-check-dry-run: build dir '$BUILD' does not exist" >&2; exit 2; }

rm -rf "${OUT:?}" "${WORK:?}"
mkdir -p "$WORK"
ARGS=(--device cpu --no-build --build-dir "$BUILD" --quick --out "$OUT" --work-dir "$WORK/gpu-check")
CHECK=()
if [ "$TRAIN" = 1 ]; then
  GMD=$BUILD/app/gmd/gmd
  CACHE=$WORK/dry-run.gmdcache
  echo "gpu-check-dry-run: making a 3-case sample cache with $GMD" >&2
  "$GMD" synth --out "$WORK/synth" --cases 3 --seed 11 --size small
  "$GMD" cache "$WORK/synth" "$CACHE"
  rm -rf "${WORK:?}/synth"
  ARGS+=(--cache "$CACHE" --train-minutes 1)
  CHECK+=(--train)
fi
if compgen -G "$ROOT/.gpu-carry/debs/*.deb" >/dev/null; then ARGS+=(--force-deps); fi

echo "gpu-check-dry-run: bash tools/gpu-check.sh ${ARGS[*]}" >&2
rc=0
bash "$ROOT/tools/gpu-check.sh" "${ARGS[@]}" || rc=$?
bash "$ROOT/tools/check_gpu_report.sh" "$OUT" "${CHECK[@]}" || exit 1
exit "$rc"
