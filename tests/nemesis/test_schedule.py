"""The schedule's promises: one seed, one schedule; faults end in time; one
fault per target group at a time; and faults of different groups overlap.

  python3 tests/nemesis/test_schedule.py
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schedule  # noqa: E402


class ScheduleTest(unittest.TestCase):
    def test_same_seed_same_schedule(self):
        for seed in (1, 7, 20261128):
            a = schedule.to_json([seed], 3, schedule.draw(seed, 3))
            b = schedule.to_json([seed], 3, schedule.draw(seed, 3))
            self.assertEqual(a, b)

    def test_other_seed_other_schedule(self):
        self.assertNotEqual(schedule.draw(1, 3), schedule.draw(2, 3))

    def test_every_fault_ends_before_the_quiet_tail(self):
        for seed in range(50):
            for f in schedule.draw(seed, 3):
                self.assertIn(f["kind"], schedule.MENU)
                self.assertIn(f["target"], schedule.MENU[f["kind"]][1])
                self.assertLessEqual(f["at"] + f["duration"], 3 * 60 - 20 + 0.1)

    def test_one_fault_per_group_at_a_time(self):
        for seed in range(50):
            faults = schedule.draw(seed, 5)
            for a in faults:
                for b in faults:
                    if a["n"] < b["n"] and schedule._group(a["kind"], a["target"]) == \
                            schedule._group(b["kind"], b["target"]):
                        self.assertGreaterEqual(b["at"], a["at"] + a["duration"])

    def test_faults_overlap(self):
        overlapping = 0
        for seed in range(20):
            faults = schedule.draw(seed, 3)
            for a, b in zip(faults, faults[1:]):
                if b["at"] < a["at"] + a["duration"]:
                    overlapping += 1
        self.assertGreater(overlapping, 20)

    def test_seeds_back_to_back_are_each_seeds_schedule(self):
        faults = schedule.draw_seeds([5, 1, 2], 1)
        self.assertEqual([f["n"] for f in faults], list(range(1, len(faults) + 1)))
        for i, seed in enumerate([5, 1, 2]):
            mine = [f for f in faults if f["seed"] == seed]
            alone = schedule.draw_all(seed, 1)
            self.assertEqual(len(mine), len(alone))
            for a, b in zip(mine, alone):
                self.assertAlmostEqual(a["at"], b["at"] + i * 60, places=1)
                self.assertEqual((a["kind"], a["target"], a["duration"]),
                                 (b["kind"], b["target"], b["duration"]))
                # Within its own minute: a seed's faults end before the next begins.
                self.assertLessEqual(a["at"] + a["duration"], (i + 1) * 60 - 20 + 0.1)

    def test_slow_links_leave_every_seeds_other_faults_as_they_were(self):
        for seed in range(50):
            base = [{k: v for k, v in f.items() if k != "n"} for f in schedule.draw(seed, 3)]
            whole = schedule.draw_all(seed, 3)
            self.assertEqual([{k: v for k, v in f.items() if k != "n"} for f in whole
                              if f["kind"] in schedule.MENU], base)
            for f in whole:
                if f["kind"].endswith("-slow"):
                    self.assertIn(f["target"], schedule.SLOW_MENU[f["kind"]][0])
                    self.assertIn(f["rate_kbit"], schedule.SLOW_RATES_KBIT)
                    self.assertLessEqual(f["at"] + f["duration"], 3 * 60 - 20 + 0.1)
        self.assertTrue(any(f["kind"] == "pg-slow" for seed in range(10) for f in schedule.draw_all(seed, 3)))
        self.assertTrue(any(f["kind"] == "broker-slow" for seed in range(10) for f in schedule.draw_all(seed, 3)))

    def test_isolations_leave_the_rest_and_keep_one_kafka_node_away(self):
        for seed in range(50):
            base = schedule.draw(seed, 5)
            whole = schedule.draw_all(seed, 5)
            strip = lambda fs: [{k: v for k, v in f.items() if k != "n"} for f in fs]  # noqa: E731
            self.assertEqual(strip(f for f in whole if f["kind"] in schedule.MENU), strip(base))
            self.assertEqual(strip(f for f in whole if f["kind"].endswith("-slow")),
                             strip(schedule.draw_slow(seed, 5)))
            self.assertEqual(strip(f for f in whole if f["kind"] in schedule.SLOW_DISK_MENU),
                             strip(schedule.draw_slow_disk(seed, 5)))
            away = [f for f in whole if f["kind"] in schedule.MENU and f["target"] in schedule.BROKERS
                    or f["kind"] == "broker-isolate"]
            for a in away:
                for b in away:
                    if a is not b and a["at"] <= b["at"]:
                        self.assertGreaterEqual(b["at"], a["at"] + a["duration"], (seed, a, b))
        isolated = [f for seed in range(10) for f in schedule.draw_all(seed, 5) if f["kind"] == "broker-isolate"]
        self.assertGreater(len(isolated), 5)
        for f in isolated:
            self.assertIn(f["target"], schedule.BROKERS)
            self.assertLessEqual(f["at"] + f["duration"], 5 * 60 - 20 + 0.1)

    def test_slow_disks_one_at_a_time_and_in_time(self):
        drawn = 0
        for seed in range(20):
            disks = [f for f in schedule.draw_all(seed, 5) if f["kind"] == "pg-slow-disk"]
            drawn += len(disks)
            for a, b in zip(disks, disks[1:]):
                self.assertGreaterEqual(b["at"], a["at"] + a["duration"])
            for f in disks:
                self.assertIn(f["write_iops"], schedule.SLOW_DISK_IOPS)
                self.assertLessEqual(f["at"] + f["duration"], 5 * 60 - 20 + 0.1)
        self.assertGreater(drawn, 20)


if __name__ == "__main__":
    unittest.main()
