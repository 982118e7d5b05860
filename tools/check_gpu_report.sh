#!/usr/bin/env bash
# Checks the output of tools/gpu-check.sh: fails (exit 1, one line per problem) unless DIR/gpu-check.md has the
# phase table with test_engine "ok" and a benchmark row for ds-gmd, and DIR/summary.json says every phase is
# ok (or skipped on purpose, e.g. configure/build under --no-build) with all_ok true and no failed tests.
#   bash tools/check_gpu_report.sh DIR
set -euo pipefail
if [ "$#" -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  echo "usage: bash tools/check_gpu_report.sh DIR   (DIR = the --out of tools/gpu-check.sh)" >&2
  exit 2
fi
DIR=$1
MD=$DIR/gpu-check.md
JSON=$DIR/summary.json
problems=0
problem() {
  echo "check_gpu_report: $*" >&2
  problems=$((problems + 1))
}

if [ ! -s "$MD" ]; then
  problem "missing or empty $MD"
else
  grep -q '^| phase | status | seconds |$' "$MD" || problem "no phase table in $MD"
  grep -q '^| test_engine | ok | [0-9.]* |$' "$MD" || problem "phase table does not say test_engine ok"
  grep -q '^| bench | ok | [0-9.]* |$' "$MD" || problem "phase table does not say bench ok"
  grep -q '^| ds-gmd | [0-9]* | [0-9.]* ± [0-9.]* |' "$MD" || problem "no benchmark table row for ds-gmd"
  grep -q '^- test_engine: [1-9][0-9]* passed, 0 failed$' "$MD" || problem "no test count line with 0 failed"
fi

if [ ! -s "$JSON" ]; then
  problem "missing or empty $JSON"
elif command -v python3 >/dev/null 2>&1 && python3 -c 'import json' >/dev/null 2>&1; then
  python3 - "$JSON" <<'EOF' || problem "summary.json check failed"
import json, sys
s = json.load(open(sys.argv[1]))
bad = [f"{k}: {v['status']}" for k, v in s["phases"].items()
       if not (v["status"] == "ok" or v["status"].startswith("skipped"))]
for k in ("test_engine", "bench", "bench_default"):
    if s["phases"].get(k, {}).get("status") != "ok":
        bad.append(f"{k} not ok")
if not s.get("all_ok"):
    bad.append("all_ok is not true")
t = s.get("tests", {})
if not isinstance(t.get("passed"), int) or t["passed"] <= 0 or t.get("failed") != 0:
    bad.append(f"tests {t}")
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
fi

if [ "$problems" -gt 0 ]; then
  echo "check_gpu_report: $problems problem(s) in $DIR" >&2
  exit 1
fi
echo "check_gpu_report: $DIR ok"
