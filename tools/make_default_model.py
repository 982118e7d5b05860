#!/usr/bin/env python3
"""Packs a training run as the bundled default model: resources/models/default/{model.pt, model.json, MODEL_CARD.md}.
The card gets the recipe, the training budget and machine, Dice and HD95 for all 15 subsets on the held-out test set
(from a `gmd evaluate` report), the learning curve (validation Dice from metrics.jsonl) and, optionally, the demo-case
check (a JSON written by hand or by a script: {"demo_1mm": {...}, "demo_2mm": {...}}).
Usage: tools/make_default_model.py RUN_DIR EVAL_DIR [DEMO_JSON] [--machine TEXT] [--test-set TEXT]"""
import argparse
import json
import os
import shutil
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("run")
ap.add_argument("eval")
ap.add_argument("demo", nargs="?")
ap.add_argument("--machine", default="2-core x86_64 CPU (Debian 12 VM, no GPU), Debian LibTorch 1.13.1 + OpenBLAS + tcmalloc")
ap.add_argument("--test-set", default="gmd synth --size full --seed 4242 --cases 10 (1 mm, 240x240x155; never trained or tuned on)")
a = ap.parse_args()

dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "models", "default")
os.makedirs(dst, exist_ok=True)
card = json.load(open(os.path.join(a.run, "model.json")))
summary = json.load(open(os.path.join(a.eval, "summary.json")))
tr = card.get("training", {})
card["description"] = ("GMD Studio default model: Dynamic Sharing U-Net trained with Gradient-guided Modality "
                       "Decoupling; segments WT/TC/ET from any subset of FLAIR, T1, T1ce, T2.")
card["intended_use"] = "Demonstration and research on synthetic data. NOT FOR CLINICAL USE."
card["limitations"] = ("Trained on synthetic BraTS-like cases (gmd synth, Colin27 anatomy) at 2 mm on a 2-core CPU; "
                       "real MRI differs. Inputs at other spacings are resampled to 2 mm; probabilities are resampled "
                       "back (linear) and thresholded on the input grid.")
card["machine"] = a.machine
card["metrics"] = {"test_set": a.test_set, "cases": summary.get("cases"), "average_dice": summary.get("average_dice"),
                   "per_subset": summary.get("subsets")}
demo = json.load(open(a.demo)) if a.demo else None
if demo:
    card["metrics"]["demo_case"] = demo

curve = []
metrics = os.path.join(a.run, "metrics.jsonl")
if os.path.exists(metrics):
    for line in open(metrics):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("type") == "val":
            curve.append((r["step"], r["dice"]))

tmp = tempfile.mkdtemp(dir=dst)
shutil.copy(os.path.join(a.run, "model.pt"), os.path.join(tmp, "model.pt"))
with open(os.path.join(tmp, "model.json"), "w") as f:
    json.dump(card, f, indent=2)

net = card["net"]
hours = card.get("train_time_s", 0) / 3600.0
L = ["# Default model card", "", card["description"], "", "**" + card["intended_use"] + "**", "",
     "## Model", "",
     f"- Method: {net['method']} (Dynamic Sharing U-Net, logit-mean fusion, modality-specific GroupNorm), "
     f"widths {','.join(map(str, net['widths']))}, block `{net.get('block', 'half')}`, {card.get('parameters')} parameters",
     f"- Recipe: {tr.get('steps')} steps ({card.get('steps_done')} done, learning rate annealed to 0: "
     f"{'yes' if card.get('complete') else 'no'}), {tr.get('patch')}^3 patches at 2 mm, batch {tr.get('batch')}, "
     f"k = {tr.get('k')} random subsets per step, GMD {tr.get('gmd', {}).get('projection')} projection, "
     f"{tr.get('gmd', {}).get('combine')} combination, soft Dice + {tr.get('bce_weight')} x BCE, class-balanced patches "
     f"(p = {tr.get('fg_prob')}), Adam lr {tr.get('lr')} ({tr.get('lr_schedule')} decay), weight decay "
     f"{tr.get('weight_decay')}, seed {tr.get('seed')}",
     f"- Data: {card.get('train_cases')} synthetic training cases (gmd synth --size small --seed 1000), "
     f"{card.get('val_cases')} validation cases (monitoring only: no early stop, no model selection)",
     f"- Training time: {hours:.2f} h on {a.machine}",
     "- Reproduce: `bash tools/retrain_default.sh`",
     "- Limitations: " + card["limitations"], "",
     f"## Held-out test set: {a.test_set}", "",
     "Dice (%) and HD95 (mm) per modality subset, mean over cases (thresholded predictions; both empty = Dice 100, HD95 0).",
     "", "| Subset | WT | TC | ET | HD95 WT | HD95 TC | HD95 ET |", "|---|---:|---:|---:|---:|---:|---:|"]
subs = summary.get("subsets") or {}
for name, m in subs.items():
    d, h = m["dice"], m["hd95"]
    L.append(f"| {name} | {100*d['WT']:.1f} | {100*d['TC']:.1f} | {100*d['ET']:.1f} | {h['WT']:.1f} | {h['TC']:.1f} | {h['ET']:.1f} |")
av = summary.get("average_dice") or {}
if av:
    L.append(f"| **average of the 15** | **{100*av['WT']:.1f}** | **{100*av['TC']:.1f}** | **{100*av['ET']:.1f}** | | | |")
if demo:
    L += ["", "## Demo case (resources/demo, seed 7)", "", "| grid | WT | TC | ET |", "|---|---:|---:|---:|"]
    for k, v in demo.items():
        L.append(f"| {k} | {100*v['WT']:.1f} | {100*v['TC']:.1f} | {100*v['ET']:.1f} |")
if curve:
    L += ["", "## Learning curve (validation cases, full-modality Dice %)", "", "| step | WT | TC | ET |", "|---:|---:|---:|---:|"]
    for s, d in curve:
        L.append(f"| {s} | {100*d['WT']:.1f} | {100*d['TC']:.1f} | {100*d['ET']:.1f} |")
with open(os.path.join(tmp, "MODEL_CARD.md"), "w") as f:
    f.write("\n".join(L) + "\n")
for n in ["model.pt", "model.json", "MODEL_CARD.md"]:
    os.replace(os.path.join(tmp, n), os.path.join(dst, n))
os.rmdir(tmp)
print("packed", a.run, "->", os.path.normpath(dst))
