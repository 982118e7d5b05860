#!/usr/bin/env python3
"""Packs a training run as the bundled default model: resources/models/default/{model.pt, model.json, MODEL_CARD.md}.
The card gets data, budget, metrics per subset (from a `gmd evaluate` report) and limitations.
Usage: tools/make_default_model.py RUN_DIR EVAL_DIR [DEMO_DICE_JSON]"""
import json
import os
import shutil
import sys
import tempfile

run, ev = sys.argv[1], sys.argv[2]
dst = os.path.join(os.path.dirname(__file__), "..", "resources", "models", "default")
os.makedirs(dst, exist_ok=True)
card = json.load(open(os.path.join(run, "model.json")))
summary = json.load(open(os.path.join(ev, "summary.json")))
card["description"] = ("GMD Studio default model: Dynamic Sharing U-Net trained with Gradient-guided Modality "
                       "Decoupling; segments WT/TC/ET from any subset of FLAIR, T1, T1ce, T2.")
card["intended_use"] = "Demonstration and research on synthetic data. NOT FOR CLINICAL USE."
card["limitations"] = ("Trained on synthetic BraTS-like cases (gmd synth, Colin27 anatomy) at 2 mm on a 2-core CPU; "
                       "real MRI differs. Inputs at other spacings are resampled to 2 mm and back.")
card["metrics"] = {"test_set": summary.get("cases"), "average_dice": summary.get("average_dice"),
                   "per_subset": summary.get("subsets")}
if len(sys.argv) > 3:
    card["metrics"]["demo_case"] = json.load(open(sys.argv[3]))
tmp = tempfile.mkdtemp(dir=dst)
shutil.copy(os.path.join(run, "model.pt"), os.path.join(tmp, "model.pt"))
with open(os.path.join(tmp, "model.json"), "w") as f:
    json.dump(card, f, indent=2)
lines = ["# Default model card", "", card["description"], "", "**" + card["intended_use"] + "**", "",
         "- Method: " + card["net"]["method"] + ", widths " + ",".join(map(str, card["net"]["widths"])),
         "- Limitations: " + card["limitations"], "", "## Dice on the held-out synthetic test set (%)", "",
         "| Subset | WT | TC | ET |", "|---|---:|---:|---:|"]
for name, m in (summary.get("subsets") or {}).items():
    d = m["dice"]
    lines.append(f"| {name} | {100*d['WT']:.1f} | {100*d['TC']:.1f} | {100*d['ET']:.1f} |")
with open(os.path.join(tmp, "MODEL_CARD.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
for n in ["model.pt", "model.json", "MODEL_CARD.md"]:
    os.replace(os.path.join(tmp, n), os.path.join(dst, n))
os.rmdir(tmp)
print("default model written to", os.path.abspath(dst))
