#!/usr/bin/env python3
"""Study v2 (issue 12): keeps what each run of bench/study.sh must leave behind, and rebuilds the tables of
docs/results.md from it, with error bars over seeds.

  collect_results.py extract --run RUN_DIR --eval EVAL_DIR --out DEST
      Writes DEST/summary.json (model card, validation curve, GMD statistics binned over training, compute) and
      DEST/table2.csv (the evaluation on the test set) from a finished run; a few tens of KB, kept in the repo.
  collect_results.py tables RESULTS_DIR [--svg-dir DIR]
      Reads RESULTS_DIR/<arm>-s<seed>/ and prints Markdown (Table 2, Table 3, paired differences, Table 5,
      Table 1, plateau curves, conflicts over training, GMD weights, compute, one verdict per claim of the paper).
      With --svg-dir, also draws the plateau curves (plateau.svg) and the conflict fraction (conflicts.svg).

Only the Python standard library is used. Exit 2 with one line on bad input.
"""
import argparse
import csv
import json
import math
import os
import re
import sys

REGIONS = ["WT", "TC", "ET"]
MODS = ["FLAIR", "T1", "T1ce", "T2"]
SHORT = {"FLAIR": "F", "T1": "T1", "T1ce": "T1c", "T2": "T2"}
BINS = 12
# The keys of RUN/metrics.jsonl records this script reads. Their names are defined once, for the trainer and every
# reader, in core/common/include/gmd/common/metrics_schema.hpp; test_collect_results.py checks this list against it.
METRICS_KEYS = {"type", "step", "loss", "subsets", "time_s", "gmd", "cos", "norms", "weights", "conflicts", "dice",
                "dice_subsets"}
METRICS_RECORD_TYPES = {"config", "step", "val"}
# Arms in the order of the tables; label, and whether it belongs to Table 2.
ARMS = [
    ("unimodal", "Baseline (4 unimodal nets, logit-mean ensemble)"),
    ("vanilla", "Vanilla (4-channel, zero-fill + dropout)*"),
    ("ds", "DS"),
    ("gmd-control", "GMD control (k backward passes, no projection)"),
    ("ds-gmd", "DS + GMD"),
]
POLICY_ARMS = [
    ("gmd-missing1", "missing-1 only (4 subsets)"),
    ("gmd-missing2", "missing-2 only (6)"),
    ("gmd-missing3", "missing-3 only (4, single modalities)"),
    ("gmd-all", "all 15 every step"),
    ("ds-gmd", "random k = 5 of 15 (default)"),
]
# two-sided 95 % t quantiles by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def die(msg):
    print(f"collect_results.py: {msg}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------------------------
# extract

def read_jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a torn last record of an interrupted run
    return out


def n_mods(subset):
    return subset.count("+") + 1


def extract(args):
    card_path = os.path.join(args.run, "model.json")
    metrics_path = os.path.join(args.run, "metrics.jsonl")
    table_path = os.path.join(args.eval, "table2.csv")
    for p in (card_path, metrics_path, table_path):
        if not os.path.isfile(p):
            die(f"{p}: missing")
    try:
        with open(card_path) as f:
            card = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        die(f"{card_path}: not a model card ({e})")
    if not card.get("complete"):
        die(f"{card_path}: the run is not complete (steps_done {card.get('steps_done')})")
    recs = read_jsonl(metrics_path)
    steps = [r for r in recs if r.get("type") == "step"]
    # a resumed run may repeat steps after its last checkpoint: keep the last record of each step
    by_step = {}
    for r in steps:
        by_step[r["step"]] = r
    steps = [by_step[k] for k in sorted(by_step)]
    vals = {}
    for r in recs:
        if r.get("type") == "val":
            vals[r["step"]] = {"step": r["step"], "dice": r["dice"], "dice_subsets": r.get("dice_subsets", {})}
    total = card.get("steps_done", len(steps))
    if not steps:
        die(f"{metrics_path}: no step records")

    bins = []
    width = max(1, math.ceil(total / BINS))
    for b in range(0, total, width):
        chunk = [r for r in steps if b < r["step"] <= b + width]
        if not chunk:
            continue
        e = {"from": b + 1, "to": min(b + width, total), "loss": sum(r["loss"] for r in chunk) / len(chunk),
             "time_s": sum(r.get("time_s", 0.0) for r in chunk) / len(chunk)}
        g = [r["gmd"] for r in chunk if "gmd" in r]
        if g:
            pairs = conflicts = 0
            cos_sum = 0.0
            for x in g:
                k = len(x["cos"])
                pairs += k * (k - 1) // 2
                conflicts += x["conflicts"]
                cos_sum += sum(x["cos"][i][j] for i in range(k) for j in range(i + 1, k))
            e.update({"pairs": pairs, "conflicts": conflicts, "mean_cos": cos_sum / pairs if pairs else None})
        bins.append(e)

    # GMD weights and norms per subset, over the whole run and over steps with a conflict
    per_subset = {}
    for r in steps:
        g = r.get("gmd")
        if not g:
            continue
        conflicted = g["conflicts"] > 0
        for i, s in enumerate(r["subsets"]):
            d = per_subset.setdefault(s, {"n": 0, "w": 0.0, "norm": 0.0, "n_conf": 0, "w_conf": 0.0})
            d["n"] += 1
            d["w"] += g["weights"][i]
            d["norm"] += g["norms"][i]
            if conflicted:
                d["n_conf"] += 1
                d["w_conf"] += g["weights"][i]
    gmd_subsets = {s: {"steps": d["n"], "weight": d["w"] / d["n"], "norm": d["norm"] / d["n"],
                       "steps_conflicted": d["n_conf"],
                       "weight_conflicted": d["w_conf"] / d["n_conf"] if d["n_conf"] else None}
                   for s, d in per_subset.items()}

    # network passes per step: DS runs the shared network once per modality used by the step's subsets, the
    # baseline its four networks once each, vanilla its one network once (absent channels zero-filled)
    method = card.get("method")
    streams = []
    for r in steps:
        used = set()
        for s in r["subsets"]:
            used.update(s.split("+"))
        streams.append(1 if method == "vanilla" else len(used))
    backward = [len(r["subsets"]) if "gmd" in r else 1 for r in steps]
    training = card.get("training", {})
    summary = {
        "name": os.path.basename(os.path.normpath(args.out)),
        "method": method,
        "steps": total,
        "seed": training.get("seed"),
        "training": training,
        "parameters": card.get("parameters"),
        "train_time_s": card.get("train_time_s"),
        "step_time_s": sum(r.get("time_s", 0.0) for r in steps) / len(steps),
        "streams_per_step": sum(streams) / len(streams),
        "subsets_per_step": sum(len(r["subsets"]) for r in steps) / len(steps),
        "backward_per_step": sum(backward) / len(backward),
        "val": [vals[k] for k in sorted(vals)],
        "final_val_dice": card.get("val_dice"),
        "bins": bins,
        "gmd_subsets": gmd_subsets,
    }
    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, "summary.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1)
    with open(table_path) as src, open(os.path.join(args.out, "table2.csv.tmp"), "w") as dst:
        dst.write(src.read())
    os.replace(os.path.join(args.out, "table2.csv.tmp"), os.path.join(args.out, "table2.csv"))
    os.replace(tmp, os.path.join(args.out, "summary.json"))  # last: its presence marks the run as collected


# ---------------------------------------------------------------------------------------------------------------
# tables

def load_table2(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    if len(rows) < 2 or len(rows[0]) < 4:
        die(f"{path}: not a gmd evaluate table2.csv")
    subsets = rows[0][2:]
    data = {}
    for r in rows[1:]:
        data[(r[0], r[1])] = {s: (float(v) if v not in ("n/a", "", "nan") else None) for s, v in zip(subsets, r[2:])}
    return [s for s in subsets if s != "Avg"], data


def load_results(root):
    runs = {}
    if not os.path.isdir(root):
        die(f"{root}: no such folder")
    for name in sorted(os.listdir(root)):
        m = re.fullmatch(r"(.+)-s(\d+)", name)
        d = os.path.join(root, name)
        if not m or not os.path.isfile(os.path.join(d, "summary.json")):
            continue
        with open(os.path.join(d, "summary.json")) as f:
            summ = json.load(f)
        subsets, table = load_table2(os.path.join(d, "table2.csv"))
        runs.setdefault(m.group(1), {})[int(m.group(2))] = {"summary": summ, "subsets": subsets, "table": table}
    if not runs:
        die(f"{root}: no collected runs (<arm>-s<seed>/summary.json)")
    return runs


def mean(v):
    v = [x for x in v if x is not None]
    return sum(v) / len(v) if v else None


def sd(v):
    v = [x for x in v if x is not None]
    if len(v) < 2:
        return None
    m = sum(v) / len(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def fmt_ms(v, scale=100.0, digits=1):
    """mean ± sd of a list (sd omitted for one value)."""
    m, s = mean(v), sd(v)
    if m is None:
        return "–"
    if s is None:
        return f"{scale * m:.{digits}f}"
    return f"{scale * m:.{digits}f} ± {scale * s:.{digits}f}"


def ci95(v):
    v = [x for x in v if x is not None]
    if len(v) < 2:
        return None
    h = T95.get(len(v) - 1, 1.96) * sd(v) / math.sqrt(len(v))
    return (mean(v) - h, mean(v) + h)


def subset_label(s):
    return "+".join(SHORT[m] for m in s.split("+"))


class Study:
    def __init__(self, runs):
        self.runs = runs
        any_run = next(iter(next(iter(runs.values())).values()))
        self.subsets = any_run["subsets"]

    def seeds(self, arm):
        return sorted(self.runs.get(arm, {}))

    def value(self, arm, seed, metric, region, subsets):
        t = self.runs[arm][seed]["table"][(metric, region)]
        return mean([t.get(s) for s in subsets])

    def per_seed(self, arm, metric, region, subsets):
        return [self.value(arm, s, metric, region, subsets) for s in self.seeds(arm)]

    def group(self, missing):
        return [s for s in self.subsets if 4 - n_mods(s) == missing]

    def avg_all(self, arm, seed, subsets=None):
        subsets = subsets or self.subsets
        return mean([self.value(arm, seed, "dice", r, subsets) for r in REGIONS])

    def paired(self, a, b, region=None, subsets=None):
        """per-seed a - b over the seeds both arms have (region None = mean of the three)."""
        subsets = subsets or self.subsets
        out = []
        for s in sorted(set(self.seeds(a)) & set(self.seeds(b))):
            if region is None:
                out.append(self.avg_all(a, s, subsets) - self.avg_all(b, s, subsets))
            else:
                out.append(self.value(a, s, "dice", region, subsets) - self.value(b, s, "dice", region, subsets))
        return out


def verdict_better(diffs, margin=0.0):
    """'a beats b' from paired per-seed differences (Dice fractions)."""
    if len(diffs) < 2:
        return "inconclusive (fewer than 2 seeds)"
    lo, hi = ci95(diffs)
    m = mean(diffs)
    txt = f"{100 * m:+.1f} points, 95 % CI [{100 * lo:+.1f}, {100 * hi:+.1f}], n = {len(diffs)} seeds"
    if lo > margin:
        return "**confirmed** (" + txt + ")"
    if hi < 0:
        return "**refuted** (" + txt + ", the other way round)"
    if -0.01 < lo and hi < 0.01:
        return "**refuted** (" + txt + ": equal within 1 point)"
    return "**inconclusive** (" + txt + ")"


def tables(args):
    st = Study(load_results(args.results))
    p = print
    names = [subset_label(s) for s in st.subsets]
    seeds_all = sorted({s for a in st.runs.values() for s in a})
    p(f"Runs collected: {sum(len(v) for v in st.runs.values())} "
      f"({', '.join(f'{a} ×{len(v)}' for a, v in st.runs.items())}); seeds {seeds_all}.\n")
    p("Values are mean ± sd over seeds (sample sd); each seed's value is the mean over the test cases.\n")

    # Table 2 -------------------------------------------------------------------------------------------
    for metric, title, scale, dg in (("dice", "Dice (%)", 100.0, 1), ("hd95_mm", "HD95 (mm)", 1.0, 1)):
        p(f"### Table 2 layout: {title} on each of the 15 subsets (F = FLAIR, T1c = T1ce)\n")
        p("| Method | Region | " + " | ".join(names) + " | Avg |")
        p("|---|---|" + "---:|" * (len(names) + 1))
        for arm, label in ARMS:
            if arm not in st.runs:
                continue
            for reg in REGIONS:
                cells = [fmt_ms(st.per_seed(arm, metric, reg, [s]), scale, dg) for s in st.subsets]
                cells.append(fmt_ms(st.per_seed(arm, metric, reg, st.subsets), scale, dg))
                p(f"| {label} | {reg} | " + " | ".join(cells) + " |")
        p("")
    p("\\* Vanilla is an extra baseline the paper does not have.\n")

    # Table 3 -------------------------------------------------------------------------------------------
    p("### Table 3 layout: Dice (%) by number of missing modalities\n")
    p("| Region | Method | 3 missing | 2 missing | 1 missing | 0 missing | Avg |")
    p("|---|---|---:|---:|---:|---:|---:|")
    for reg in ["ET", "WT", "TC"]:
        for arm, label in ARMS:
            if arm not in st.runs:
                continue
            cells = [fmt_ms(st.per_seed(arm, "dice", reg, st.group(k))) for k in (3, 2, 1, 0)]
            cells.append(fmt_ms(st.per_seed(arm, "dice", reg, st.subsets)))
            p(f"| {reg} | {label} | " + " | ".join(cells) + " |")
    p("")

    # Paired differences ------------------------------------------------------------------------------
    def paired_table(a, b, title):
        if a not in st.runs or b not in st.runs:
            return
        common = sorted(set(st.seeds(a)) & set(st.seeds(b)))
        p(f"### Paired difference {title} (Dice points; per seed, then mean ± sd)\n")
        p("| Region | Missing | " + " | ".join(f"seed {s}" for s in common) + " | mean ± sd |")
        p("|---|---|" + "---:|" * (len(common) + 1))
        for reg in REGIONS + [None]:
            for k in (3, 2, 1, 0, None):
                subs = st.group(k) if k is not None else st.subsets
                d = st.paired(a, b, reg, subs)
                p(f"| {reg or 'mean'} | {k if k is not None else 'all 15'} | " +
                  " | ".join(f"{100 * x:+.1f}" for x in d) + f" | {fmt_ms(d)} |")
        p("")

    paired_table("ds-gmd", "ds", "DS + GMD − DS")
    paired_table("ds-gmd", "gmd-control", "DS + GMD − GMD control")
    paired_table("gmd-control", "ds", "GMD control − DS (bookkeeping alone)")

    # Table 5 -------------------------------------------------------------------------------------------
    p("### Table 5 layout: DS + GMD trained on subsets of one policy (Dice %, mean over the 15 test subsets)\n")
    p("| Training subsets | WT | TC | ET | Avg | single-modality subsets, Avg |")
    p("|---|---:|---:|---:|---:|---:|")
    for arm, label in POLICY_ARMS:
        if arm not in st.runs:
            p(f"| {label} | not run | | | | |")
            continue
        cells = [fmt_ms(st.per_seed(arm, "dice", reg, st.subsets)) for reg in REGIONS]
        cells.append(fmt_ms([st.avg_all(arm, s) for s in st.seeds(arm)]))
        cells.append(fmt_ms([st.avg_all(arm, s, st.group(3)) for s in st.seeds(arm)]))
        p(f"| {label} | " + " | ".join(cells) + " |")
    p("")

    # Table 1 -------------------------------------------------------------------------------------------
    if "unimodal" in st.runs and "ds-gmd" in st.runs:
        p("### Table 1 check: each modality alone, dedicated network vs DS + GMD (Dice %)\n")
        p("| Modality | Region | Dedicated unimodal | DS + GMD | paired Δ |")
        p("|---|---|---:|---:|---:|")
        for s in st.group(3):
            for reg in REGIONS:
                d = st.paired("ds-gmd", "unimodal", reg, [s])
                p(f"| {s} | {reg} | {fmt_ms(st.per_seed('unimodal', 'dice', reg, [s]))} | "
                  f"{fmt_ms(st.per_seed('ds-gmd', 'dice', reg, [s]))} | {fmt_ms(d)} |")
        p("")
        p("Dominance: for each region, the best single modality and the spread between the best and the worst "
          "single modality (a smaller spread = less dominance).\n")
        p("| Region | Dedicated: best (modality) | Dedicated: best − worst | DS + GMD: best (modality) | "
          "DS + GMD: best − worst |")
        p("|---|---:|---:|---:|---:|")
        for reg in REGIONS:
            cells = []
            for arm in ("unimodal", "ds-gmd"):
                v = {s: mean(st.per_seed(arm, "dice", reg, [s])) for s in st.group(3)}
                best = max(v, key=lambda x: v[x])
                worst = min(v, key=lambda x: v[x])
                cells += [f"{100 * v[best]:.1f} ({best})", f"{100 * (v[best] - v[worst]):.1f}"]
            p(f"| {reg} | " + " | ".join(cells) + " |")
        p("")

    # Plateau curves ------------------------------------------------------------------------------------
    p("### Plateau: validation Dice (%, mean of WT/TC/ET on the validation cases, all four modalities) vs step "
      "(mean over seeds)\n")
    curves = {}
    for arm in st.runs:
        per_seed = []
        for s in st.seeds(arm):
            per_seed.append({v["step"]: mean([v["dice"][r] for r in REGIONS]) for v in st.runs[arm][s]["summary"]["val"]})
            fv = st.runs[arm][s]["summary"].get("final_val_dice")
            steps = st.runs[arm][s]["summary"]["steps"]
            if fv:
                per_seed[-1][steps] = mean([fv[r] for r in REGIONS])
        all_steps = sorted(set().union(*[set(d) for d in per_seed]))
        curves[arm] = [(k, [d.get(k) for d in per_seed]) for k in all_steps]
    steps_hdr = sorted(set(k for c in curves.values() for k, _ in c))
    p("| Arm | " + " | ".join(str(k) for k in steps_hdr) + " | last quarter gain |")
    p("|---|" + "---:|" * (len(steps_hdr) + 1))
    for arm, c in curves.items():
        d = dict(c)
        cells = [("–" if mean(d.get(k, [])) is None else f"{100 * mean(d[k]):.1f}") for k in steps_hdr]
        last = c[-1][0] if c else 0
        q = [k for k, _ in c if k <= 0.75 * last]
        gain = (mean(d[last]) - mean(d[q[-1]])) if q and mean(d[last]) is not None else None
        cells.append("–" if gain is None else f"{100 * gain:+.1f}")
        p(f"| {arm} | " + " | ".join(cells) + " |")
    p("\nLast quarter gain: validation Dice at the end minus at 75 % of the steps (a run on its plateau gains "
      "about nothing; the learning rate has annealed by then).\n")

    # Conflicts over training -------------------------------------------------------------------------
    gmd_arms = [a for a in ("ds-gmd", "gmd-control", "gmd-all", "gmd-missing1", "gmd-missing2", "gmd-missing3")
                if a in st.runs]
    if gmd_arms:
        p("### Gradient conflicts over training: fraction (%) of subset pairs with a negative cosine, per twelfth "
          "of the run (mean ± sd over seeds)\n")
        nb = max(len(st.runs[a][s]["summary"]["bins"]) for a in gmd_arms for s in st.seeds(a))
        p("| Arm | " + " | ".join(f"{i + 1}" for i in range(nb)) + " |")
        p("|---|" + "---:|" * nb)
        conflict_curves = {}
        for a in gmd_arms:
            cols = []
            for i in range(nb):
                v = []
                for s in st.seeds(a):
                    b = st.runs[a][s]["summary"]["bins"]
                    if i < len(b) and b[i].get("pairs"):
                        v.append(b[i]["conflicts"] / b[i]["pairs"])
                cols.append(v)
            conflict_curves[a] = [mean(v) for v in cols]
            p(f"| {a} | " + " | ".join(fmt_ms(v) for v in cols) + " |")
        p("")
        p("### GMD weights by subset size (DS + GMD; mean effective weight over all steps, and over steps with at "
          "least one conflict)\n")
        p("| Arm | Modalities in subset | weight, all steps | weight, conflicted steps | gradient norm |")
        p("|---|---:|---:|---:|---:|")
        for a in [x for x in ("ds-gmd", "gmd-all") if x in st.runs]:
            for nm in (1, 2, 3, 4):
                w, wc, nrm = [], [], []
                for s in st.seeds(a):
                    gs = st.runs[a][s]["summary"]["gmd_subsets"]
                    sel = [v for k, v in gs.items() if n_mods(k) == nm]
                    if not sel:
                        continue
                    tot = sum(v["steps"] for v in sel)
                    w.append(sum(v["weight"] * v["steps"] for v in sel) / tot)
                    nrm.append(sum(v["norm"] * v["steps"] for v in sel) / tot)
                    tc = sum(v["steps_conflicted"] for v in sel)
                    if tc:
                        wc.append(sum(v["weight_conflicted"] * v["steps_conflicted"] for v in sel
                                      if v["weight_conflicted"] is not None) / tc)
                p(f"| {a} | {nm} | {fmt_ms(w, 1, 3)} | {fmt_ms(wc, 1, 3)} | {fmt_ms(nrm, 1, 3)} |")
        p("")
    else:
        conflict_curves = {}

    # Compute ---------------------------------------------------------------------------------------------
    p("### Compute per arm\n")
    p("| Arm | Runs | Steps | Parameters | Network passes / step | Subsets / step | Backward passes / step | "
      "Wall time per run, fastest seed (min) |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    for arm in st.runs:
        ss = [st.runs[arm][s]["summary"] for s in st.seeds(arm)]
        p(f"| {arm} | {len(ss)} | {ss[0]['steps']} | {ss[0]['parameters']:,} | "
          f"{mean([x['streams_per_step'] for x in ss]):.2f} | {mean([x['subsets_per_step'] for x in ss]):.2f} | "
          f"{mean([x['backward_per_step'] for x in ss]):.2f} | "
          f"{min(x['train_time_s'] for x in ss) / 60:.1f} |")
    p("\nWall times: training only, two runs at a time on the 2-core machine, one thread each; the fastest seed is the "
      "least disturbed by other work on the machine (builds, CI). Ratios between arms are meaningful, absolute times "
      "are not benchmarks.\n")

    # Verdicts ------------------------------------------------------------------------------------------
    p("### Verdicts (paired over seeds; confirmed = the 95 % t-interval of the mean paired difference is above 0)\n")
    if "ds" in st.runs and "unimodal" in st.runs:
        p(f"- DS beats the baseline (mean Dice over 15 subsets × 3 regions): {verdict_better(st.paired('ds', 'unimodal'))}")
    if "ds-gmd" in st.runs and "ds" in st.runs:
        p(f"- GMD beats DS (all 15 subsets): {verdict_better(st.paired('ds-gmd', 'ds'))}")
        for reg in REGIONS:  # three tests: a lone 'confirmed' among them deserves that caveat
            p(f"  - {reg} alone (one of three per-region tests): {verdict_better(st.paired('ds-gmd', 'ds', reg))}")
        p(f"- GMD beats DS on single-modality subsets: "
          f"{verdict_better(st.paired('ds-gmd', 'ds', None, st.group(3)))}")
        d1 = st.paired('ds-gmd', 'ds', None, st.group(3))
        d4 = st.paired('ds-gmd', 'ds', None, st.group(0) + st.group(1))
        if d1 and d4:
            p(f"  - gain on single modalities minus gain on 3–4 modalities: "
              f"{verdict_better([a - b for a, b in zip(d1, d4)])}")
    if "ds-gmd" in st.runs and "gmd-control" in st.runs:
        p(f"- GMD's gain comes from the projection, not the bookkeeping (DS + GMD − control): "
          f"{verdict_better(st.paired('ds-gmd', 'gmd-control'))}")
    if "ds-gmd" in conflict_curves:
        fr = []
        for s in st.seeds("ds-gmd"):
            b = st.runs["ds-gmd"][s]["summary"]["bins"]
            q = max(1, len(b) // 4)
            first = sum(x["conflicts"] for x in b[:q]) / max(1, sum(x["pairs"] for x in b[:q]))
            lastq = sum(x["conflicts"] for x in b[-q:]) / max(1, sum(x["pairs"] for x in b[-q:]))
            fr.append(lastq - first)
        p(f"- Conflicts grow during training (conflict fraction, last quarter − first quarter of DS + GMD runs): "
          f"{verdict_better(fr)}")
    if "ds-gmd" in st.runs:
        dw = []
        for s in st.seeds("ds-gmd"):
            gs = st.runs["ds-gmd"][s]["summary"]["gmd_subsets"]
            one = [v for k, v in gs.items() if n_mods(k) == 1 and v["weight_conflicted"] is not None]
            many = [v for k, v in gs.items() if n_mods(k) >= 3 and v["weight_conflicted"] is not None]
            if one and many:
                dw.append(sum(v["weight_conflicted"] * v["steps_conflicted"] for v in one) /
                          sum(v["steps_conflicted"] for v in one) -
                          sum(v["weight_conflicted"] * v["steps_conflicted"] for v in many) /
                          sum(v["steps_conflicted"] for v in many))
        if dw:
            lo_hi = ci95(dw)
            txt = f"{mean(dw):+.3f}" + (f", 95 % CI [{lo_hi[0]:+.3f}, {lo_hi[1]:+.3f}]" if lo_hi else "")
            ok = lo_hi and lo_hi[0] > 0
            p(f"- GMD weights favour weak subsets (weight of single-modality minus 3–4-modality subsets on "
              f"conflicted steps): {'**confirmed**' if ok else '**inconclusive**'} ({txt})")
    if "unimodal" in st.runs and "ds-gmd" in st.runs:
        p(f"- Each modality alone, DS + GMD at least as good as its dedicated network (Table 1; mean over the four "
          f"single-modality subsets and three regions): {verdict_better(st.paired('ds-gmd', 'unimodal', None, st.group(3)))}")
        for reg in REGIONS:
            spread = {}
            for arm in ("unimodal", "ds-gmd"):
                v = {s: st.per_seed(arm, "dice", reg, [s]) for s in st.group(3)}
                spread[arm] = [max(v[m][i] for m in v) - min(v[m][i] for m in v)
                               for i in range(len(next(iter(v.values()))))]
            d = [a - b for a, b in zip(spread["unimodal"], spread["ds-gmd"])]
            p(f"- Less dominance after DS + GMD, {reg} (best − worst single modality, dedicated minus DS + GMD): "
              f"{verdict_better(d)}")
    pol = [a for a, _ in POLICY_ARMS if a in st.runs]
    if len(pol) >= 2:
        avgs = {a: [st.avg_all(a, s) for s in st.seeds(a)] for a in pol}
        best = max(pol, key=lambda a: mean(avgs[a]))
        worst = min(pol, key=lambda a: mean(avgs[a]))
        d = st.paired(best, worst)
        p(f"- The choice of training subsets matters (best policy {best} − worst {worst}): {verdict_better(d)}")
    p("")

    if args.svg_dir:
        os.makedirs(args.svg_dir, exist_ok=True)
        write_svg(os.path.join(args.svg_dir, "plateau.svg"), "Validation Dice (%) vs step, mean over seeds",
                  {a: [(k, None if mean(v) is None else 100 * mean(v)) for k, v in c] for a, c in curves.items()},
                  "step", "Dice (%)")
        if conflict_curves:
            steps = max(st.runs[a][s]["summary"]["steps"] for a in conflict_curves for s in st.seeds(a))
            write_svg(os.path.join(args.svg_dir, "conflicts.svg"),
                      "Conflicting subset pairs (%) over training, mean over seeds",
                      {a: [((i + 0.5) * steps / len(v), None if x is None else 100 * x) for i, x in enumerate(v)]
                       for a, v in conflict_curves.items()}, "step", "conflicting pairs (%)", x_max=steps)


COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]


def nice_step(span, max_ticks):
    for step in sorted(b * 10 ** m for b in (1, 2, 2.5, 5) for m in range(-2, 7)):
        if span / step <= max_ticks:
            return step
    return span


def write_svg(path, title, series, xlabel, ylabel, x_max=None):
    W, H, L, R, T, B = 760, 420, 60, 210, 36, 46
    pts = [(x, y) for s in series.values() for x, y in s if y is not None]
    if not pts:
        return
    x0, x1 = 0, x_max or max(x for x, _ in pts)
    ys = nice_step(max(y for _, y in pts) - min(y for _, y in pts) or 1, 6)
    y0 = math.floor(min(y for _, y in pts) / ys) * ys
    y1 = math.ceil(max(y for _, y in pts) / ys) * ys
    if y1 <= y0:
        y1 = y0 + ys
    xs = nice_step(x1 - x0 or 1, 8)
    sx = lambda x: L + (W - L - R) * (x - x0) / ((x1 - x0) or 1)
    sy = lambda y: H - B - (H - T - B) * (y - y0) / (y1 - y0)
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2 - R / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    y = y0
    while y <= y1 + 1e-9:
        o.append(f'<line x1="{L}" x2="{W - R}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
        y += ys
    x = x0
    while x <= x1 + 1e-9:
        o.append(f'<text x="{sx(x):.1f}" y="{H - B + 16}" text-anchor="middle">{x:g}</text>')
        x += xs
    o.append(f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">{xlabel}</text>')
    o.append(f'<text x="14" y="{(T + H - B) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 14 {(T + H - B) / 2})">{ylabel}</text>')
    o.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#444"/>')
    for i, (name, s) in enumerate(series.items()):
        c = COLOURS[i % len(COLOURS)]
        xy = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s if y is not None)
        o.append(f'<polyline points="{xy}" fill="none" stroke="{c}" stroke-width="2"/>')
        ly = T + 14 + 18 * i
        o.append(f'<line x1="{W - R + 12}" x2="{W - R + 36}" y1="{ly - 4}" y2="{ly - 4}" stroke="{c}" stroke-width="3"/>')
        o.append(f'<text x="{W - R + 42}" y="{ly}">{name}</text>')
    o.append("</svg>")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(o) + "\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract", help="keep a finished run's light record")
    e.add_argument("--run", required=True)
    e.add_argument("--eval", required=True)
    e.add_argument("--out", required=True)
    t = sub.add_parser("tables", help="print the tables of docs/results.md")
    t.add_argument("results")
    t.add_argument("--svg-dir")
    args = ap.parse_args()
    (extract if args.cmd == "extract" else tables)(args)


if __name__ == "__main__":
    main()
