#!/usr/bin/env python3
"""Does the expected accuracy a model shows match what new held-out cases get?

Compares the evaluation table stored in a model card (model.json "metrics", the numbers the studio and `gmd segment`
show as expected Dice) with a second `gmd evaluate` report on cases that played no part in making that table
(summary.json + per_case.csv), and prints a Markdown calibration table: per subset and region the expected and the
observed mean Dice, their difference, and whether the flag (good >= 0.80, limited >= 0.50, unreliable) is the same.

Usage: tools/trust_calibration.py MODEL_DIR_OR_JSON EVAL_DIR"""
import csv
import json
import os
import sys

GOOD, LIMITED = 0.80, 0.50
REGIONS = ("WT", "TC", "ET")
ORDER = ["FLAIR", "T1", "T1ce", "T2", "FLAIR+T1", "FLAIR+T1ce", "FLAIR+T2", "T1+T1ce", "T1+T2", "T1ce+T2",
         "FLAIR+T1+T1ce", "FLAIR+T1+T2", "FLAIR+T1ce+T2", "T1+T1ce+T2", "FLAIR+T1+T1ce+T2"]


def flag(d):
    return "good" if d >= GOOD else "limited" if d >= LIMITED else "unreliable"


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    card_path = argv[1] if argv[1].endswith(".json") else os.path.join(argv[1], "model.json")
    card = json.load(open(card_path))
    table = card.get("metrics", {}).get("per_subset")
    if not table:
        print(f"{card_path}: no evaluation table (metrics.per_subset)", file=sys.stderr)
        return 2
    summary = json.load(open(os.path.join(argv[2], "summary.json")))
    per_case = {}
    with open(os.path.join(argv[2], "per_case.csv")) as f:
        for row in csv.DictReader(f):
            per_case.setdefault((row["subset"], row["region"]), []).append(float(row["dice"]))
    print(f"Expected: {card_path} ({card['metrics'].get('cases')} cases: {card['metrics'].get('test_set', '?')})  ")
    print(f"Observed: {argv[2]} ({summary.get('cases')} cases)\n")
    print("| Subset | " + " | ".join(f"{r} expected | {r} observed (min–max) | {r} flag" for r in REGIONS) + " |")
    print("|---|" + "---:|---:|---|" * 3)
    diffs = {r: [] for r in REGIONS}
    same = total = 0
    for s in ORDER:
        if s not in table or s not in summary.get("subsets", {}):
            continue
        cells = []
        for r in REGIONS:
            e = table[s]["dice"][r]
            o = summary["subsets"][s]["dice"][r]
            cases = per_case.get((s, r), [o])
            diffs[r].append(o - e)
            ok = flag(e) == flag(o)
            same += ok
            total += 1
            cells.append(f"{e:.2f} | {o:.2f} ({min(cases):.2f}–{max(cases):.2f}) | "
                         f"{flag(e)}{'' if ok else ' → ' + flag(o)}")
        print(f"| {s} | " + " | ".join(cells) + " |")
    print()
    for r in REGIONS:
        d = diffs[r]
        if d:
            print(f"- {r}: observed − expected, mean {sum(d) / len(d):+.3f}, mean |difference| "
                  f"{sum(abs(x) for x in d) / len(d):.3f}, largest {max(d, key=abs):+.3f} (over {len(d)} subsets)")
    print(f"- Same flag for {same} of {total} subset × region cells.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
