"""unit.bench-repeated: bench/run's repetitions of a stage that decides
goals (cli.Run.repeated) and the report's table of their medians
(report/goals.py), without a stack. integration.bench-smoke runs each stage
once; this checks what more than one run adds: every run's value recorded,
the median run's figures kept, the median judged against the bound, and a
run whose load fell behind its schedule left out of it."""

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


def webhooks_run(ratio, marker, tps=None, lag_ms=1.5):
    """One run's results of the webhooks stage at 2,000 commits/s; with
    `tps`, what its load generator kept of the rate."""
    run = {"rate": 2000, "goal": {"ratio": ratio}, "marker": marker}
    if tps is not None:
        run["writer"] = {"tps": tps, "schedule_lag_avg_ms": lag_ms}
    return {"webhooks": run}


def repeated(ratios):
    """Runs Run.repeated with a stage whose runs give `ratios` in turn."""
    report = {"results": {}}
    run = Run(types.SimpleNamespace(repeats=len(ratios), out="/nonexistent"), [], None, report)
    figures = iter(ratios)
    run.repeated(lambda r: r.update(webhooks_run(*next(figures))))
    return report


def table_cells(report):
    """The cells of the webhooks goal's line in the table of goals."""
    line = next(l for l in render_goals(report) if l.startswith(f"| {WEBHOOKS.text} "))
    return [c.strip() for c in line.strip("|").split("|")]


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


class Behind(unittest.TestCase):
    """A run whose load fell behind its schedule ran on an overloaded
    machine: it does not measure the goal."""

    def test_a_run_behind_is_marked_and_left_out_of_the_median(self):
        report = repeated([(1.3, "a", 1990), (4.9, "b", 1821, 379.0), (1.6, "c", 1995), (1.4, "d", 2000, 60.0)])
        behind = report["goal_runs_behind"]["webhooks_2000"]
        self.assertIsNone(behind[0])
        self.assertIn("1,821 of 2,000 commits/s", behind[1])
        self.assertIn("60 ms behind", behind[3])
        row = next(r for r in goal_values(report) if r["goal"] is WEBHOOKS)
        self.assertAlmostEqual(row["median"], 1.45)  # of 1.3 and 1.6
        self.assertTrue(row["met"])
        # The run shown is the median of those that measure the goal.
        self.assertEqual(report["results"]["webhooks"]["marker"], "a")
        cells = table_cells(report)
        self.assertEqual(cells[2], "1.300, 4.900 *behind*, 1.600, 1.400 *behind*")
        self.assertEqual(cells[3], "1.450")
        self.assertTrue(any("run 2: pgbench kept 1,821" in l for l in render_goals(report)))

    def test_with_every_run_behind_the_goal_is_not_measured(self):
        report = repeated([(2.6, "a", 1821, 379.0), (4.9, "b", 1700, 900.0)])
        row = next(r for r in goal_values(report) if r["goal"] is WEBHOOKS)
        self.assertIsNone(row["median"])
        self.assertIsNone(row["met"])
        self.assertEqual(table_cells(report)[3:], ["none", "not measured"])

    def test_a_run_on_schedule_is_measured(self):
        report = repeated([(1.7, "a", 1996, 1.6)])
        self.assertEqual(report["goal_runs_behind"]["webhooks_2000"], [None])
        self.assertEqual(table_cells(report)[3:], ["1.700", "**no**"])


if __name__ == "__main__":
    unittest.main()
