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


EVENT = {"id": "c11f6531-eb66-49a7-b305-67547a34c162", "request_id": "1e0edcc1-2069-47ce-a454-6c04d9ff7cf6",
         "store_id": 22, "store_fqdn": "store-022.millrace.local", "store_ip": "10.0.0.22", "cust_id": 52429,
         "category": "Calculators", "sku": 522700, "price": 430.17, "qty": 32, "discount": 27.1,
         "gift_wrap": False, "variant": "orange", "priority_shipping": False,
         "ts": "2026-11-29T08:31:56.133309Z", "is_return": False}


class CountedTest(unittest.TestCase):
    """What the views must count of the store events' topic: the event type
    is the header's, judged by the schema as a body's would be."""

    def counted(self, header, body_type="absent"):
        run = FakeRun([])
        run.repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        body = dict(EVENT)
        if body_type != "absent":
            body["event_type"] = body_type
        message = {"partition": 0, "offset": 0, "ts": 1795940000000, "payload": json.dumps(body),
                   "headers": ["event_type", header] if header else []}
        checker = check.Checker(run)
        checker.kcat = lambda topic, committed=False: [message]
        return len(checker.counted("store-events", "store_event.schema.json", "id", "ts",
                                   header="event_type")[0])

    def test_a_known_type_in_the_header_counts(self):
        self.assertEqual(self.counted("sale_event"), 1)

    def test_a_null_body_copy_counts_as_absent(self):
        self.assertEqual(self.counted("sale_event", body_type=None), 1)

    def test_an_unknown_type_in_the_header_does_not_count(self):
        self.assertEqual(self.counted("refund_event"), 0)

    def test_a_body_copy_that_differs_does_not_count(self):
        self.assertEqual(self.counted("sale_event", body_type="inventory_event"), 0)

    def test_no_header_does_not_count(self):
        self.assertEqual(self.counted(None), 0)


if __name__ == "__main__":
    unittest.main()
