"""The checker's verdicts on made-up evidence: it must say broken when a
change is missing, out of order, repeated or different, and held when not.

  python3 tests/nemesis/test_check.py
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402


class FakeRun:
    def __init__(self, rows):
        self.env = {}
        self.rows = rows

    def psql(self, sql, timeout=60, url=None):
        return "\n".join(json.dumps(r) for r in self.rows)


class FakeReceiver:
    def __init__(self, ids, bad=0):
        self.secrets = {"a": "whsec_x"}
        self.ids = {"a": ids}
        self.bad_signatures = {"a": bad} if bad else {}


def change(n, op, key, after=None, p=0):
    return {"id": f"{n:016X}-00000000", "op": op, "table": "public.nemesis_items", "key": {"id": key},
            "after": after, "_p": p, "_o": n}


CHANGES = [change(1, "c", 1, {"id": 1, "v": 0, "note": "n1"}),
           change(2, "c", 2, {"id": 2, "v": 0, "note": "n2"}),
           change(3, "u", 1, {"id": 1, "v": 1, "note": "u"}),
           change(4, "d", 2)]


class ChangeTopicTest(unittest.TestCase):
    def verdict(self, changes, rows):
        return check.Checker(FakeRun(rows)).change_topic(changes)

    def test_held_when_the_topic_replays_to_the_table(self):
        self.assertFalse(self.verdict(CHANGES, [{"id": 1, "v": 1, "note": "u"}])[1])

    def test_broken_when_a_change_is_missing(self):
        self.assertTrue(self.verdict(CHANGES[:3], [{"id": 1, "v": 1, "note": "u"}])[1])

    def test_broken_when_a_value_differs(self):
        self.assertTrue(self.verdict(CHANGES, [{"id": 1, "v": 2, "note": "u"}])[1])

    def test_broken_when_a_change_repeats(self):
        self.assertTrue(self.verdict(CHANGES + [CHANGES[3]], [{"id": 1, "v": 1, "note": "u"}])[1])


class WebhooksTest(unittest.TestCase):
    def verdict(self, ids, bad=0):
        run = FakeRun([])
        run.receiver = FakeReceiver(ids, bad)
        return check.Checker(run).webhooks(CHANGES)[0]

    def test_held_in_commit_order_with_resends(self):
        ids = [c["id"] for c in CHANGES]
        self.assertFalse(self.verdict(ids[:2] + ids[:1] + ids[2:])[1])

    def test_broken_out_of_commit_order(self):
        ids = [c["id"] for c in CHANGES]
        self.assertTrue(self.verdict([ids[1], ids[0]] + ids[2:])[1])

    def test_broken_when_one_is_missing(self):
        self.assertTrue(self.verdict([c["id"] for c in CHANGES][1:])[1])

    def test_broken_on_a_bad_signature(self):
        self.assertTrue(self.verdict([c["id"] for c in CHANGES], bad=1)[1])


class CatalogEditsTest(unittest.TestCase):
    def verdict(self, log, held, api=None):
        run = FakeRun([])
        run.psql = lambda sql, timeout=60, url=None: "\n".join(f"{k}|{v}" for k, v in held.items())
        run.load = type("Load", (), {"catalog_log": log})()
        checker = check.Checker(run)
        api = held if api is None else api
        checker._api_reads = lambda table: [n for n in table if api.get(n) != table[n]]
        return checker.catalog_edits(converge_s=0)

    def test_held_with_the_last_acknowledged_edit(self):
        self.assertFalse(self.verdict({"a": [("a1", True), ("a2", True)]}, {"a": "a2"})[1])

    def test_held_with_a_later_edit_of_unknown_outcome(self):
        self.assertFalse(self.verdict({"a": [("a1", True), ("a2", False)]}, {"a": "a2"})[1])

    def test_broken_when_an_acknowledged_edit_is_lost(self):
        self.assertTrue(self.verdict({"a": [("a1", True), ("a2", True)]}, {"a": "a1"})[1])

    def test_broken_when_the_api_reads_back_something_else(self):
        self.assertTrue(self.verdict({"a": [("a1", True)]}, {"a": "a1"}, api={"a": "stale"})[1])


if __name__ == "__main__":
    unittest.main()
