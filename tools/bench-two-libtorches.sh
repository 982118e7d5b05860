#!/usr/bin/env bash
# CPU comparison of the two LibTorches the engine builds against (issue 10): Debian's 1.13 (+ OpenBLAS + tcmalloc,
# preset debian) and the PyPI wheel 2.11 (+ tcmalloc, preset test), same engine sources, same bench_engine arguments, runs
# interleaved (A B A B ...) on an otherwise idle machine so that drift hits both alike. Writes one Markdown table
# (per configuration and method: mean s/step of each round, then the ratio) to stdout; logs to OUT.
#   bash tools/bench-two-libtorches.sh [--rounds N] [--out DIR] [--a BENCH] [--b BENCH]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
A=$ROOT/build/debian/bench/bench_engine
B=$ROOT/build/test/bench/bench_engine
ROUNDS=2
OUT=$ROOT/out/bench-two-libtorches
while [ "$#" -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --a) A=$2; shift 2 ;;
    --b) B=$2; shift 2 ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-two-libtorches: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for x in "$A" "$B"; do [ -x "$x" ] || { echo "bench-two-libtorches: $x not built" >&2; exit 2; }; done
mkdir -p "$OUT"
# name|arguments
CONFIGS=(
  "default|--patch 32 --widths 16,32,64,128 --k 5 --steps 6 --warmup 1 --methods ds,ds-gmd --skip-infer --threads 2"
  "paper|--patch 64 --widths 16,32,64,128,256 --k 5 --steps 3 --warmup 1 --methods ds,ds-gmd --volume 96x128x96 --skip-separate --threads 2"
)
for r in $(seq 1 "$ROUNDS"); do
  for c in "${CONFIGS[@]}"; do
    name=${c%%|*}
    read -r -a args <<<"${c#*|}"
    for which in A B; do
      bin=$A
      [ "$which" = B ] && bin=$B
      log=$OUT/$name-$which-$r.md
      echo "bench-two-libtorches: round $r $name $which: $bin ${args[*]}" >&2
      "$bin" "${args[@]}" >"$log" 2>"$log.err"
    done
  done
done
echo "bench-two-libtorches: logs in $OUT" >&2
# Summary: per configuration and row, the mean of the rounds' wall times for A and B, and A/B (> 1: B faster).
python3 - "$OUT" "$ROUNDS" <<'PY'
import glob, os, re, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rows = {}  # (config, row) -> {"A": [..], "B": [..]}
for f in sorted(glob.glob(os.path.join(out, "*-[AB]-*.md"))):
    config, which, _ = os.path.basename(f)[:-3].rsplit("-", 2)
    for line in open(f):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        m = re.match(r"^([0-9.]+) ± ", cells[2]) if cells[0] in ("ds", "ds-gmd") else None
        if m:
            rows.setdefault((config, f"train step, {cells[0]} (s/step)"), {"A": [], "B": []})[which].append(float(m.group(1)))
        elif cells[0].startswith("1 subset") or cells[0].startswith("all 15 subsets, encode once"):
            rows.setdefault((config, "inference, " + cells[0] + " (s)"), {"A": [], "B": []})[which].append(float(cells[2]))
print(f"| configuration | measurement | A: mean of {rounds} rounds | B: mean of {rounds} rounds | A / B |")
print("|---|---|---:|---:|---:|")
for (config, row), v in rows.items():
    a = sum(v["A"]) / len(v["A"]) if v["A"] else float("nan")
    b = sum(v["B"]) / len(v["B"]) if v["B"] else float("nan")
    runs = lambda xs: ", ".join(f"{x:.3g}" for x in xs)
    print(f"| {config} | {row} | {a:.3f} ({runs(v['A'])}) | {b:.3f} ({runs(v['B'])}) | {a / b:.2f}x |")
PY
