#!/usr/bin/env python3
"""Tests of tools/collect_results.py (run by ctest as `collect_results_py`): the light record a run leaves behind
(extract) and the seed statistics and verdicts of the study tables (tables), on hand-made runs whose answers are
known."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collect_results as cr  # noqa: E402

SUBSETS = ["FLAIR", "T1", "T1ce", "T2", "FLAIR+T1", "FLAIR+T1ce", "FLAIR+T2", "T1+T1ce", "T1+T2", "T1ce+T2",
           "FLAIR+T1+T1ce", "FLAIR+T1+T2", "FLAIR+T1ce+T2", "T1+T1ce+T2", "FLAIR+T1+T1ce+T2"]
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "collect_results.py")


def write_table2(path, dice_of):
    """dice_of(region, subset) -> Dice; HD95 = 10 * (1 - Dice)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "region"] + SUBSETS + ["Avg"])
        for metric in ("dice", "hd95_mm"):
            for reg in ("WT", "TC", "ET"):
                v = [dice_of(reg, s) for s in SUBSETS]
                if metric == "hd95_mm":
                    v = [10 * (1 - x) for x in v]
                w.writerow([metric, reg] + [f"{x:.6f}" for x in v] + [f"{sum(v) / len(v):.6f}"])


def make_run(root, name, method, steps, conflicts_of_step, seed):
    run = os.path.join(root, "runs", name)
    ev = os.path.join(root, "eval", name)
    os.makedirs(run)
    os.makedirs(ev)
    subs = ["T1ce", "FLAIR+T2", "FLAIR+T1+T1ce+T2"]
    with open(os.path.join(run, "metrics.jsonl"), "w") as f:
        f.write(json.dumps({"type": "config"}) + "\n")
        for step in range(1, steps + 1):
            r = {"type": "step", "step": step, "loss": 1.0 / step, "subsets": subs, "time_s": 0.5}
            if method == "ds-gmd":
                c = conflicts_of_step(step)
                cos = [[1, -0.5 if c else 0.5, 0.2], [-0.5 if c else 0.5, 1, 0.3], [0.2, 0.3, 1]]
                r["gmd"] = {"cos": cos, "norms": [2.0, 1.0, 0.5], "weights": [1.5 if c else 1.0, 1.0, 1.0],
                            "conflicts": c}
            f.write(json.dumps(r) + "\n")
            if step % 10 == 0:
                f.write(json.dumps({"type": "val", "step": step, "dice": {"WT": step / 100, "TC": 0.5, "ET": 0.4}})
                        + "\n")
        # an interrupted and resumed run repeats its last steps; the second record of a step wins
        f.write(json.dumps({"type": "step", "step": steps, "loss": 0.0, "subsets": subs, "time_s": 0.5,
                            **({"gmd": {"cos": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "norms": [1, 1, 1],
                                        "weights": [1, 1, 1], "conflicts": 0}} if method == "ds-gmd" else {})})
                + "\n")
        f.write('{"type":"step","step":')  # torn record
    with open(os.path.join(run, "model.json"), "w") as f:
        json.dump({"method": method, "complete": True, "steps_done": steps, "parameters": 1234,
                   "train_time_s": 60.0, "val_dice": {"WT": 0.9, "TC": 0.5, "ET": 0.4},
                   "training": {"seed": seed, "steps": steps}}, f)
    return run, ev


def run_tables(results, *extra):
    buf = io.StringIO()
    old = sys.argv
    sys.argv = ["collect_results.py", "tables", results, *extra]
    try:
        with redirect_stdout(buf):
            cr.main()
    finally:
        sys.argv = old
    return buf.getvalue()


class Extract(unittest.TestCase):
    def test_light_record(self):
        with tempfile.TemporaryDirectory() as d:
            run, ev = make_run(d, "ds-gmd-s1", "ds-gmd", 120, lambda s: 1 if s > 60 else 0, 1)
            write_table2(os.path.join(ev, "table2.csv"), lambda r, s: 0.5)
            dest = os.path.join(d, "results", "ds-gmd-s1")
            subprocess.run([sys.executable, SCRIPT, "extract", "--run", run, "--eval", ev, "--out", dest], check=True)
            with open(os.path.join(dest, "summary.json")) as f:
                s = json.load(f)
            self.assertEqual(s["steps"], 120)
            self.assertEqual(s["seed"], 1)
            self.assertEqual(len(s["bins"]), 12)
            # steps 1..60 have no conflict, 61..119 one of 3 pairs; step 120 was resumed without a conflict
            self.assertEqual(s["bins"][0]["conflicts"], 0)
            self.assertEqual(s["bins"][0]["pairs"], 30)
            self.assertEqual(s["bins"][6]["conflicts"], 10)
            self.assertEqual(s["bins"][11]["conflicts"], 9)
            self.assertAlmostEqual(s["streams_per_step"], 4.0)  # T1ce, FLAIR+T2 and all four: 4 modalities
            self.assertAlmostEqual(s["backward_per_step"], 3.0)
            self.assertEqual([v["step"] for v in s["val"]], list(range(10, 121, 10)))
            t = s["gmd_subsets"]["T1ce"]
            self.assertEqual(t["steps"], 120)
            self.assertEqual(t["steps_conflicted"], 59)
            self.assertAlmostEqual(t["weight_conflicted"], 1.5)
            self.assertAlmostEqual(t["weight"], (59 * 1.5 + 61) / 120)
            self.assertTrue(os.path.isfile(os.path.join(dest, "table2.csv")))
            # vanilla runs its one 4-channel network once per step, whatever the subset
            run, ev = make_run(d, "vanilla-s1", "vanilla", 20, lambda s: 0, 1)
            write_table2(os.path.join(ev, "table2.csv"), lambda r, s: 0.5)
            dest = os.path.join(d, "results", "vanilla-s1")
            subprocess.run([sys.executable, SCRIPT, "extract", "--run", run, "--eval", ev, "--out", dest], check=True)
            with open(os.path.join(dest, "summary.json")) as f:
                self.assertAlmostEqual(json.load(f)["streams_per_step"], 1.0)

    def test_incomplete_run_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            run, ev = make_run(d, "ds-s1", "ds", 20, lambda s: 0, 1)
            write_table2(os.path.join(ev, "table2.csv"), lambda r, s: 0.5)
            with open(os.path.join(run, "model.json")) as f:
                card = json.load(f)
            card["complete"] = False
            with open(os.path.join(run, "model.json"), "w") as f:
                json.dump(card, f)
            p = subprocess.run([sys.executable, SCRIPT, "extract", "--run", run, "--eval", ev, "--out",
                                os.path.join(d, "x")], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
            self.assertIn("not complete", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "x", "summary.json")))


class Tables(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.results = os.path.join(d, "results")
        # DS: 0.60 on single modalities, 0.80 otherwise, plus a per-seed offset. DS + GMD: +0.04 on single
        # modalities (+0.01 elsewhere), with seed noise of ±0.005: a clear, consistent gain.
        noise = {1: 0.0, 2: 0.005, 3: -0.005}
        for seed in (1, 2, 3):
            for arm in ("ds", "ds-gmd", "unimodal"):
                run, ev = make_run(d, f"{arm}-s{seed}", "ds-gmd" if arm == "ds-gmd" else "ds", 60,
                                   lambda s: 1 if s > 30 else 0, seed)

                def dice(reg, s, arm=arm, seed=seed):
                    single = "+" not in s
                    base = (0.6 if single else 0.8) + 0.01 * seed
                    if arm == "ds-gmd":
                        base += (0.04 if single else 0.01) + noise[seed]
                    if arm == "unimodal":  # ET only from T1ce: strong dominance
                        base = 0.7 if (reg != "ET" or "T1ce" in s) else 0.1
                    return base
                write_table2(os.path.join(ev, "table2.csv"), dice)
                subprocess.run([sys.executable, SCRIPT, "extract", "--run", run, "--eval", ev, "--out",
                                os.path.join(self.results, f"{arm}-s{seed}")], check=True)

    def tearDown(self):
        self.tmp.cleanup()

    def test_seed_statistics_and_verdicts(self):
        svg = os.path.join(self.tmp.name, "svg")
        out = run_tables(self.results, "--svg-dir", svg)
        # Table 2: DS on FLAIR alone is 0.61, 0.62, 0.63 over seeds: 62.0 ± 1.0
        ds_wt = [line for line in out.splitlines() if line.startswith("| DS | WT |")][0]
        self.assertIn("| 62.0 ± 1.0 |", ds_wt)
        # Paired DS + GMD - DS on single modalities: +4.0, +4.5, +3.5 points
        self.assertIn("| mean | 3 | +4.0 | +4.5 | +3.5 | 4.0 ± 0.5 |", out)
        self.assertRegex(out, r"GMD beats DS on single-modality subsets: \*\*confirmed\*\* \(\+4\.0 points")
        # per region over the 15 subsets: (4 x 4 + 11 x 1) / 15 = +1.8 points, the same in every region here
        for reg in ("WT", "TC", "ET"):
            self.assertRegex(out, reg + r" alone \(one of three per-region tests\): \*\*confirmed\*\* \(\+1\.8 points")
        # gain on single modalities (+4.0) minus on 3-4 modalities (+1.0): +3.0
        self.assertRegex(out, r"minus gain on 3–4 modalities: \*\*confirmed\*\* \(\+3\.0 points")
        # conflicts: none in the first quarter; in the last quarter (steps 46..60) one of three pairs, except the
        # resumed last step: 14 of 45 pairs = 31.1 %
        self.assertRegex(out, r"Conflicts grow during training .*: \*\*confirmed\*\* \(\+31\.1 points")
        self.assertRegex(out, r"GMD weights favour weak subsets .*: \*\*confirmed\*\* \(\+0\.500")
        # the dedicated ET spread is 60 points, DS + GMD's is 0: less dominance
        self.assertRegex(out, r"Less dominance after DS \+ GMD, ET .*: \*\*confirmed\*\*")
        self.assertIn("not run", out)  # Table 5 arms without runs are listed as such
        self.assertTrue(os.path.getsize(os.path.join(svg, "plateau.svg")) > 500)
        self.assertTrue(os.path.getsize(os.path.join(svg, "conflicts.svg")) > 500)

    def test_verdict_rules(self):
        self.assertTrue(cr.verdict_better([0.02, 0.03, 0.025]).startswith("**confirmed**"))
        self.assertTrue(cr.verdict_better([-0.02, -0.03, -0.025]).startswith("**refuted**"))
        self.assertTrue(cr.verdict_better([0.001, -0.001, 0.0005]).startswith("**refuted**"))  # equal within 1 pt
        self.assertTrue(cr.verdict_better([0.05, -0.04, 0.01]).startswith("**inconclusive**"))
        self.assertTrue(cr.verdict_better([0.05]).startswith("inconclusive"))

    def test_empty_folder_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([sys.executable, SCRIPT, "tables", d], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
            self.assertIn("no collected runs", p.stderr)



class MetricsSchema(unittest.TestCase):
    def test_keys_read_are_the_schemas(self):
        """collect_results.py reads metrics.jsonl with the names the trainer writes (metrics_schema.hpp)."""
        header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "common", "include", "gmd",
                              "common", "metrics_schema.hpp")
        with open(header) as f:
            text = f.read()
        import re
        names = set(re.findall(r'inline constexpr const char\* k\w+ = "([a-z_]+)";', text))
        self.assertGreater(len(names), 20)
        self.assertEqual(cr.METRICS_KEYS - names, set())
        self.assertEqual(cr.METRICS_RECORD_TYPES - names, set())
        # And the script itself uses each listed key (a renamed key must be renamed here too).
        with open(SCRIPT) as f:
            src = f.read()
        for k in cr.METRICS_KEYS:
            self.assertGreaterEqual(src.count('"' + k + '"'), 2, k)

if __name__ == "__main__":
    unittest.main()
