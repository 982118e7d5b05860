#!/usr/bin/env python3
"""Collects the study's evaluation reports (gmd evaluate -> table2.csv) into the paper's table layouts (Markdown).
Usage: tools/collect_results.py STUDY_DIR [PREFIX] > tables.md   (STUDY_DIR/eval/<PREFIX><run>/table2.csv)"""
import csv
import os
import sys

REGIONS = ["WT", "TC", "ET"]


def load(study, name):
    path = os.path.join(study, "eval", name, "table2.csv")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        rows = list(csv.reader(f))
    header = rows[0]
    subsets = header[2:]
    out = {}
    for r in rows[1:]:
        out[(r[0], r[1])] = {s: (float(v) if v not in ("n/a", "") else None) for s, v in zip(subsets, r[2:])}
    return {"subsets": subsets, "data": out}


def pct(v):
    return "–" if v is None else f"{100 * v:.1f}"


def mean(vals):
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def n_missing(s):
    return 4 - (s.count("+") + 1)


def main():
    study = sys.argv[1]
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    runs = {n: load(study, prefix + n) for n in ["unimodal", "vanilla", "ds", "ds-gmd", "gmd-missing1", "gmd-missing2",
                                         "gmd-missing3", "gmd-all"]}
    avail = [n for n, r in runs.items() if r]
    if not avail:
        sys.exit("no evaluation reports under " + study)
    subsets = runs[avail[0]]["subsets"][:-1]  # drop Avg
    short = {"FLAIR": "F", "T1": "T1", "T1ce": "T1c", "T2": "T2"}
    names = ["+".join(short[m] for m in s.split("+")) for s in subsets]
    p = print
    p("### Table 2 layout: Dice (%) per subset (F = FLAIR, T1c = T1ce)\n")
    p("| Method | Region | " + " | ".join(names) + " | Avg |")
    p("|---|---|" + "---:|" * (len(names) + 1))
    labels = {"unimodal": "Unimodal (dedicated)", "vanilla": "Vanilla (zero-fill + dropout)", "ds": "DS",
              "ds-gmd": "DS + GMD"}
    for n in ["unimodal", "vanilla", "ds", "ds-gmd"]:
        r = runs.get(n)
        if not r:
            continue
        for reg in REGIONS:
            d = r["data"][("dice", reg)]
            vals = [d[s] if (n != "unimodal" or "+" not in s) else None for s in subsets]
            p(f"| {labels[n]} | {reg} | " + " | ".join(pct(v) for v in vals) + f" | {pct(mean(vals))} |")
    p("\nUnimodal: each dedicated network is evaluated only on its own modality, as in the paper.\n")

    p("### HD95 (mm), same layout\n")
    p("| Method | Region | " + " | ".join(names) + " | Avg |")
    p("|---|---|" + "---:|" * (len(names) + 1))
    for n in ["unimodal", "vanilla", "ds", "ds-gmd"]:
        r = runs.get(n)
        if not r:
            continue
        for reg in REGIONS:
            d = r["data"][("hd95_mm", reg)]
            vals = [d[s] if (n != "unimodal" or "+" not in s) else None for s in subsets]
            p(f"| {labels[n]} | {reg} | " + " | ".join("–" if v is None else f"{v:.1f}" for v in vals) +
              f" | {'–' if mean(vals) is None else f'{mean(vals):.1f}'} |")

    def by_missing(r, reg):
        d = r["data"][("dice", reg)]
        return [mean([d[s] for s in subsets if n_missing(s) == k]) for k in (3, 2, 1, 0)] + [mean([d[s] for s in subsets])]

    p("\n### Table 3 layout: Dice (%) by number of missing modalities (ablation of DS and GMD)\n")
    p("| Method | Region | 3 missing | 2 missing | 1 missing | 0 missing | Avg |")
    p("|---|---|---:|---:|---:|---:|---:|")
    for n in ["vanilla", "ds", "ds-gmd"]:
        r = runs.get(n)
        if not r:
            continue
        for reg in REGIONS:
            p(f"| {labels[n]} | {reg} | " + " | ".join(pct(v) for v in by_missing(r, reg)) + " |")

    p("\n### Table 5 layout: DS + GMD trained with subsets from one policy (Dice %, average over the 15 subsets)\n")
    p("| Training subsets | WT | TC | ET | Avg |")
    p("|---|---:|---:|---:|---:|")
    for n, lab in [("gmd-missing1", "missing-1 only (4)"), ("gmd-missing2", "missing-2 only (6)"),
                   ("gmd-missing3", "missing-3 only (4)"), ("gmd-all", "all 15"), ("ds-gmd", "random k=5 of 15")]:
        r = runs.get(n)
        if not r:
            p(f"| {lab} | not run | | | |")
            continue
        v = [mean([r["data"][("dice", reg)][s] for s in subsets]) for reg in REGIONS]
        p(f"| {lab} | " + " | ".join(pct(x) for x in v) + f" | {pct(mean(v))} |")

    if runs.get("unimodal") and runs.get("ds-gmd"):
        p("\n### Table 1 check: each modality alone, dedicated network vs DS + GMD (Dice %)\n")
        p("| Modality | Region | Unimodal | DS + GMD | Δ |")
        p("|---|---|---:|---:|---:|")
        for s in subsets:
            if "+" in s:
                continue
            for reg in REGIONS:
                u = runs["unimodal"]["data"][("dice", reg)][s]
                g = runs["ds-gmd"]["data"][("dice", reg)][s]
                p(f"| {s} | {reg} | {pct(u)} | {pct(g)} | {100 * (g - u):+.1f} |")
        full = subsets[-1]
        p("\n| Region | best unimodal (its modality) | DS + GMD, all four | multimodal better? |")
        p("|---|---:|---:|---|")
        for reg in REGIONS:
            singles = {s: runs["unimodal"]["data"][("dice", reg)][s] for s in subsets if "+" not in s}
            best = max(singles, key=lambda k: singles[k])
            g = runs["ds-gmd"]["data"][("dice", reg)][full]
            p(f"| {reg} | {pct(singles[best])} ({best}) | {pct(g)} | {'yes' if g > singles[best] else 'no'} |")


if __name__ == "__main__":
    main()
