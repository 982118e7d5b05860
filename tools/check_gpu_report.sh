#!/usr/bin/env bash
# Checks the output of tools/gpu-check.sh: fails (exit 1, one line per problem) unless DIR/gpu-check.md has the
# phase table with test_engine "ok" and a benchmark row for ds-gmd, DIR/summary.json says every phase is ok (or
# skipped on purpose, e.g. configure/build under --no-build) with all_ok true and no failed tests, DIR/logs.tar.gz
# is a readable gzip'd tar, and DIR holds at most 8 files with plain names (what a device run brings back).
# With --train also the training outputs: phases calibrate and train ok, model.pt, model.json (with "net" and
# steps_done > 0), metrics.jsonl or metrics.jsonl.gz with a step record, and summary.json's train section.
#   bash tools/check_gpu_report.sh DIR [--train]
set -euo pipefail
usage() {
  echo "usage: bash tools/check_gpu_report.sh DIR [--train]   (DIR = the --out of tools/gpu-check.sh)" >&2
  exit 2
}
DIR=
TRAIN=0
for a in "$@"; do
  case "$a" in
    -h | --help) usage ;;
    --train) TRAIN=1 ;;
    -*) usage ;;
    *) [ -z "$DIR" ] || usage; DIR=$a ;;
  esac
done
[ -n "$DIR" ] || usage
MD=$DIR/gpu-check.md
JSON=$DIR/summary.json
TGZ=$DIR/logs.tar.gz
problems=0
problem() {
  echo "check_gpu_report: $*" >&2
  problems=$((problems + 1))
}
have_python() { command -v python3 >/dev/null 2>&1 && python3 -c 'import json' >/dev/null 2>&1; }

if [ ! -s "$MD" ]; then
  problem "missing or empty $MD"
else
  grep -q '^| phase | status | seconds |$' "$MD" || problem "no phase table in $MD"
  grep -q '^| test_engine | ok | [0-9.]* |$' "$MD" || problem "phase table does not say test_engine ok"
  grep -q '^| bench | ok | [0-9.]* |$' "$MD" || problem "phase table does not say bench ok"
  grep -q '^| ds-gmd | [0-9]* | [0-9.]* ± [0-9.]* |' "$MD" || problem "no benchmark table row for ds-gmd"
  grep -q '^- test_engine: [1-9][0-9]* passed, 0 failed$' "$MD" || problem "no test count line with 0 failed"
  if [ "$TRAIN" = 1 ]; then
    grep -q '^| calibrate | ok | [0-9.]* |$' "$MD" || problem "phase table does not say calibrate ok"
    grep -q '^| train | ok | [0-9.]* |$' "$MD" || problem "phase table does not say train ok"
    grep -q '^## Training$' "$MD" || problem "no Training section in $MD"
  fi
fi

# What comes back from a device run: at most 8 files, names of [A-Za-z0-9._-], at most 2 folders deep.
if [ -d "$DIR" ]; then
  n_files=$(find "$DIR" -type f | wc -l)
  [ "$n_files" -le 8 ] || problem "$DIR holds $n_files files (a device run brings back at most 8)"
  odd=$(find "$DIR" -mindepth 1 | sed "s,^$DIR/,," | grep -v '^[A-Za-z0-9._/-]*$' | head -3 | paste -sd ' ' - || true)
  [ -z "$odd" ] || problem "names a device run would not bring back: $odd"
fi

if [ ! -s "$TGZ" ]; then
  problem "missing or empty $TGZ"
elif ! gzip -t "$TGZ" 2>/dev/null; then
  problem "$TGZ is not a valid gzip file"
elif ! members=$(tar -tzf "$TGZ" 2>/dev/null); then
  problem "$TGZ is not a readable tar"
else
  grep -q 'test_engine\.log$' <<<"$members" || problem "$TGZ has no test_engine.log"
  grep -q 'bench\.md$' <<<"$members" || problem "$TGZ has no bench.md"
  if [ "$TRAIN" = 1 ]; then
    grep -q 'train\.log$' <<<"$members" || problem "$TGZ has no train.log"
  fi
fi

if [ "$TRAIN" = 1 ]; then
  [ -s "$DIR/model.pt" ] || problem "missing or empty $DIR/model.pt"
  METRICS=
  if [ -s "$DIR/metrics.jsonl" ]; then
    METRICS=$DIR/metrics.jsonl
  elif [ -s "$DIR/metrics.jsonl.gz" ]; then
    METRICS=$DIR/metrics.jsonl.gz
  else
    problem "missing metrics.jsonl or metrics.jsonl.gz in $DIR"
  fi
  if [ -n "$METRICS" ]; then
    n_steps=$( (if [ "${METRICS%.gz}" != "$METRICS" ]; then gzip -dc "$METRICS"; else cat "$METRICS"; fi) |
      grep -c '"type": *"step"' || true)
    [ "${n_steps:-0}" -gt 0 ] || problem "$METRICS has no step record"
  fi
  if [ ! -s "$DIR/model.json" ]; then
    problem "missing or empty $DIR/model.json"
  elif have_python; then
    python3 - "$DIR/model.json" <<'EOF' || problem "model.json check failed"
import json, sys
try:
    m = json.load(open(sys.argv[1]))
except ValueError as e:
    print(f"check_gpu_report: model.json is not valid JSON: {e}", file=sys.stderr)
    sys.exit(1)
bad = []
if not isinstance(m.get("net"), dict):
    bad.append('no "net" object')
if not isinstance(m.get("steps_done"), int) or m["steps_done"] <= 0:
    bad.append(f'steps_done {m.get("steps_done")!r}')
if bad:
    print("check_gpu_report: model.json: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
  else
    grep -q '"net": *{' "$DIR/model.json" || problem 'model.json: no "net" object'
    grep -q '"steps_done": *[1-9][0-9]*' "$DIR/model.json" || problem "model.json: steps_done is not > 0"
  fi
fi

if [ ! -s "$JSON" ]; then
  problem "missing or empty $JSON"
elif have_python; then
  python3 - "$JSON" "$TRAIN" <<'EOF' || problem "summary.json check failed"
import json, sys
s = json.load(open(sys.argv[1]))
train = sys.argv[2] == "1"
bad = [f"{k}: {v['status']}" for k, v in s["phases"].items()
       if not (v["status"] == "ok" or v["status"].startswith("skipped"))]
for k in ("test_engine", "bench", "bench_default") + (("calibrate", "train") if train else ()):
    if s["phases"].get(k, {}).get("status") != "ok":
        bad.append(f"{k} not ok")
if not s.get("all_ok"):
    bad.append("all_ok is not true")
t = s.get("tests", {})
if not isinstance(t.get("passed"), int) or t["passed"] <= 0 or t.get("failed") != 0:
    bad.append(f"tests {t}")
if train:
    tr = s.get("train")
    if not isinstance(tr, dict):
        bad.append("no train section")
    else:
        for k in ("s_per_step", "steps_planned", "steps_done", "wall_s", "final_loss"):
            v = tr.get(k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                bad.append(f"train.{k} {v!r}")
        if tr.get("metrics_file") not in ("metrics.jsonl", "metrics.jsonl.gz"):
            bad.append(f"train.metrics_file {tr.get('metrics_file')!r}")
if bad:
    print("check_gpu_report: summary.json: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
else  # no Python: the script writes one phase per line
  grep -q '"all_ok": true' "$JSON" || problem "summary.json: all_ok is not true"
  if grep '"status": ' "$JSON" | grep -v -e '"status": "ok"' -e '"status": "skipped' >/dev/null; then
    problem "summary.json: a phase is neither ok nor skipped"
  fi
  grep -q '"failed": 0}' "$JSON" || problem "summary.json: failed tests"
  if [ "$TRAIN" = 1 ]; then
    grep -q '"train": {.*"steps_done": [1-9]' "$JSON" || problem "summary.json: no train section with steps_done > 0"
  fi
fi

if [ "$problems" -gt 0 ]; then
  echo "check_gpu_report: $problems problem(s) in $DIR" >&2
  exit 1
fi
echo "check_gpu_report: $DIR ok$([ "$TRAIN" = 1 ] && echo " (with training)")"
