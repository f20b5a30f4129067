"""unit.bench-repeated: bench/run's repetitions of a stage that decides
goals (cli.Run.repeated) and the report's table of their medians
(report/goals.py), without a stack. integration.bench-smoke runs each stage
once; this checks what more than one run adds: every run's value recorded,
the median run's figures kept, the median judged against the bound."""

import os
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests")]
from harness.cli import Run  # noqa: E402
from harness.goals import GOALS, goal_values  # noqa: E402
from harness.report.goals import render_goals  # noqa: E402

# The webhooks goal at 2,000 commits/s: met at a ratio of at most its bound.
WEBHOOKS = next(g for g in GOALS if g.name == "webhooks_2000")


def webhooks_run(ratio, marker):
    """One run's results of the webhooks stage at 2,000 commits/s."""
    return {"webhooks": {"rate": 2000, "goal": {"ratio": ratio}, "marker": marker}}


def repeated(ratios):
    """Runs Run.repeated with a stage whose runs give `ratios` in turn."""
    report = {"results": {}}
    run = Run(types.SimpleNamespace(repeats=len(ratios), out="/nonexistent"), [], None, report)
    figures = iter(ratios)
    run.repeated(lambda r: r.update(webhooks_run(*next(figures))))
    return report


class Repeated(unittest.TestCase):
    def test_every_run_is_recorded_and_the_median_run_is_kept(self):
        report = repeated([(2.8, "first"), (1.4, "second"), (2.0, "third")])
        self.assertEqual(report["goal_runs"]["webhooks_2000"], [2.8, 1.4, 2.0])
        self.assertEqual(report["results"]["webhooks"]["marker"], "third")
        kept = [r["marker"] for r in report["repeated_results"]["webhooks"]]
        self.assertEqual(kept, ["first", "second", "third"])

    def test_of_an_even_number_of_runs_the_lower_middle_run_is_kept(self):
        report = repeated([(1.6, "a"), (1.2, "b"), (1.8, "c"), (1.4, "d")])
        self.assertEqual(report["results"]["webhooks"]["marker"], "d")

    def test_one_run_is_its_own_median(self):
        report = repeated([(1.7, "only")])
        self.assertEqual(report["goal_runs"]["webhooks_2000"], [1.7])
        self.assertEqual(report["results"]["webhooks"]["marker"], "only")

    def test_the_table_judges_the_median_of_the_runs(self):
        for ratios, met in (([1.4, 1.6, 1.45], True), ([1.4, 1.6, 1.7], False)):
            report = repeated([(v, str(i)) for i, v in enumerate(ratios)])
            row = next(r for r in goal_values(report) if r["goal"] is WEBHOOKS)
            self.assertEqual(row["values"], ratios)
            self.assertEqual(row["met"], met)
            line = next(l for l in render_goals(report) if l.startswith(f"| {WEBHOOKS.text} "))
            cells = [c.strip() for c in line.strip("|").split("|")]
            self.assertEqual(cells[2], ", ".join(f"{v:.3f}" for v in ratios))
            self.assertEqual(float(cells[3]), sorted(ratios)[1])
            self.assertEqual(cells[4], "yes" if met else "**no**")


if __name__ == "__main__":
    unittest.main()
