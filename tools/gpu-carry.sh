#!/usr/bin/env bash
# Prepares the folder to carry to a GPU machine (git-ignored, so name it in the device tool's carry list) for
# tools/gpu-check.sh, which has no internet and no package registry there:
#   debs/            the Debian packages the engine-only build needs beyond LibTorch, CMake, Ninja and a compiler
#                    (apt-get download: no root needed); gpu-check.sh extracts them when the system lacks one
#   train.gmdcache   the default model's training set (tools/retrain_default.sh: 40 small synthetic cases, seed
#                    1000) as a sample cache, which the engine-only gmd trains from
# Steps whose output exists are skipped. Fails when the folder exceeds 60 MiB (the carry limit is 64 MiB).
#   bash tools/gpu-carry.sh                     # then, on the GPU machine (carry .gpu-carry):
#   bash tools/gpu-check.sh --train-minutes 8 --out "$OUT"
# Exit code: 0 on success, 1 on failure, 2 on bad arguments.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash tools/gpu-carry.sh [--out DIR] [--gmd PATH] [--no-cache] [--no-debs]

Writes DIR/debs/*.deb and DIR/train.gmdcache for tools/gpu-check.sh on a GPU machine.

options:
  --out DIR     folder to fill (default .gpu-carry in the repository root)
  --gmd PATH    full-build gmd with the synth and cache sub-commands (default: the first of
                build/test/app/gmd/gmd and build/debian/app/gmd/gmd that has them)
  --no-cache    do not make train.gmdcache
  --no-debs     do not download the .deb files
  -h, --help    this text
EOF
}
die_usage() {
  echo "gpu-carry: $*" >&2
  exit 2
}
die() {
  echo "gpu-carry: $*" >&2
  exit 1
}
log() { echo "gpu-carry: $*" >&2; }

OUT_DIR=
GMD=
DO_CACHE=1
DO_DEBS=1
need_value() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then die_usage "option $1 needs a value (see --help)"; fi; }
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --out) need_value "$@"; OUT_DIR=$2; shift 2 ;;
    --gmd) need_value "$@"; GMD=$2; shift 2 ;;
    --no-cache) DO_CACHE=0; shift ;;
    --no-debs) DO_DEBS=0; shift ;;
    *) die_usage "unknown argument '$1' (see --help)" ;;
  esac
done
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "$OUT_DIR" ]; then OUT_DIR=$(abspath "$OUT_DIR"); else OUT_DIR=$ROOT/.gpu-carry; fi
[ -n "$GMD" ] && GMD=$(abspath "$GMD")
mkdir -p "$OUT_DIR" || die "cannot create '$OUT_DIR'"

# Debian 12 names. libspdlog1.10 and libfmt9 hold the shared libraries the -dev packages link to; zlib1g holds the
# libz.so.1.2.13 that zlib1g-dev's libz.so points to (an absolute link, repaired by gpu-check.sh).
PACKAGES=(nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libgtest-dev libgmock-dev libcli11-dev
  zlib1g-dev zlib1g)

# ---------------------------------------------------------------------------------------------- debs
if [ "$DO_DEBS" = 1 ]; then
  DEBS=$OUT_DIR/debs
  mkdir -p "$DEBS"
  missing=()
  for p in "${PACKAGES[@]}"; do
    compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
  done
  if [ "${#missing[@]}" = 0 ]; then
    log "debs: all ${#PACKAGES[@]} packages present in $DEBS"
  else
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found (needed to download ${missing[*]})"
    for p in "${missing[@]}"; do
      cand=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
      if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
        die "package $p has no candidate version here (apt-cache policy $p); run apt-get update, or adjust PACKAGES"
      fi
    done
    log "debs: apt-get download ${missing[*]}"
    tmp=$DEBS/.download
    rm -rf "$tmp"
    mkdir -p "$tmp"
    if ! (cd "$tmp" && apt-get download "${missing[@]}") >"$DEBS/.download.log" 2>&1; then
      tail -n 5 "$DEBS/.download.log" >&2
      rm -rf "$tmp"
      die "apt-get download failed (log $DEBS/.download.log)"
    fi
    # File names as plain characters (the epoch's ':' comes as %3a): name_version_arch.deb.
    for f in "$tmp"/*.deb; do
      b=$(basename "$f")
      mv -f "$f" "$DEBS/$(printf '%s' "$b" | sed 's/%3a/-/g; s/[^A-Za-z0-9._-]/-/g')"
    done
    rm -rf "$tmp" "$DEBS/.download.log"
    for p in "${missing[@]}"; do
      compgen -G "$DEBS/${p}_*.deb" >/dev/null || die "apt-get download did not leave ${p}_*.deb in $DEBS"
    done
  fi
fi

# ---------------------------------------------------------------------------------------------- cache
has_cache_cmd() { [ -x "$1" ] && "$1" --help 2>/dev/null | grep -q '^ *cache '; }
if [ "$DO_CACHE" = 1 ]; then
  CACHE=$OUT_DIR/train.gmdcache
  if [ -s "$CACHE" ]; then
    log "cache: $CACHE exists"
  else
    if [ -z "$GMD" ]; then
      for g in "$ROOT/build/test/app/gmd/gmd" "$ROOT/build/debian/app/gmd/gmd"; do
        if has_cache_cmd "$g"; then GMD=$g; break; fi
      done
      [ -n "$GMD" ] || die "no full-build gmd with the cache sub-command in build/test or build/debian; build one or give --gmd PATH"
    else
      [ -x "$GMD" ] || die_usage "--gmd '$GMD' is not an executable"
      has_cache_cmd "$GMD" || die "$GMD has no cache sub-command (an engine-only or older build?)"
    fi
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/gpu-carry.XXXXXX")
    trap 'rm -rf "$TMP"' EXIT
    log "cache: $GMD synth --out TMP --cases 40 --seed 1000 --size small"
    "$GMD" synth --out "$TMP/train" --cases 40 --seed 1000 --size small >"$TMP/synth.log" 2>&1 ||
      { tail -n 5 "$TMP/synth.log" >&2; die "gmd synth failed"; }
    log "cache: $GMD cache TMP $CACHE"
    "$GMD" cache "$TMP/train" "$CACHE.part" >"$TMP/cache.log" 2>&1 ||
      { tail -n 5 "$TMP/cache.log" >&2; rm -f "$CACHE.part"; die "gmd cache failed"; }
    mv -f "$CACHE.part" "$CACHE"
    tail -n 1 "$TMP/cache.log" >&2
  fi
fi

# ---------------------------------------------------------------------------------------------- size
bytes=$(du -sb "$OUT_DIR" | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
log "$OUT_DIR: $mib MiB in all ($(find "$OUT_DIR" -type f | wc -l) files)"
if [ "$bytes" -gt $((60 * 1048576)) ]; then
  die "$OUT_DIR is $mib MiB, over the 60 MiB allowed (the device tool carries 64 MiB in all)"
fi
log "carry ${OUT_DIR#"$ROOT"/} to the GPU machine and run: bash tools/gpu-check.sh --train-minutes N --out \"\$OUT\""
