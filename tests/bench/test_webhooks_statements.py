"""unit.bench-webhooks-statements: how the webhooks stage of bench/run
names PostgreSQL's sessions and statements (stages/webhooks.py) and reports
their time (report/stage_sections.py), without a stack. The statements are
given as pg_stat_activity and pg_stat_statements show the service's
(libs/webhooks/src/routing.cpp, batch_rows.cpp, pg_queue_sql.cpp)."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests")]
from harness.report.stage_sections import batches_sentence, statements_sentence  # noqa: E402
from harness.stages.webhooks import batch_cadence, webhooks_session, webhooks_statement  # noqa: E402

ROUTING = ("SELECT id, array_to_json(tables)::text, array_to_json(ops)::text, filter::text "
           "FROM webhook_endpoints ORDER BY id")
ENQUEUE = ("WITH c AS ( SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS "
           "c(change_id, body, committed_at, ord)), m AS ( SELECT p.ord, p.endpoint_id FROM unnest($11::bigint[], "
           "$12::bigint[]) AS p(ord, endpoint_id) JOIN webhook_endpoints e ON e.id = p.endpoint_id), ins AS ( "
           "INSERT INTO webhook_deliveries (endpoint_id, change_id, body, committed_at) SELECT ...")
CLAIM = ("WITH c AS ( SELECT e.id, h.next_attempt_at FROM webhook_endpoints e CROSS JOIN LATERAL ( (SELECT "
         "d.next_attempt_at, d.change_id, d.enqueued_at FROM webhook_deliveries d WHERE ...")
CONTINUE = ("WITH nxt AS (SELECT id, change_id, body, attempts, extract(epoch FROM committed_at)::float8 AS "
            "committed_s, true AS go FROM webhook_deliveries d WHERE endpoint_id = $1 AND status = $5 ...")
FIRST_READ = ("SELECT id, change_id, body, attempts, extract(epoch FROM committed_at)::float8 AS committed_s, "
              "true AS go FROM webhook_deliveries d WHERE endpoint_id = $1 AND status = $3 ORDER BY id LIMIT $2")
STORE_RELEASE = "WITH held AS (UPDATE webhook_endpoints SET lease_token = NULL, lease_until = NULL, ..."
OFFSETS = "UPDATE consumer_offsets c SET next_offset = u.next, records_consumed = ..."
# The consumer's own sends (direct.cpp): the endpoints held, what was sent
# stored, the marks written after.
HOLD = ("SELECT e.id, e.url, e.secret, CASE WHEN e.previous_secret_until > clock_timestamp() THEN "
        "e.previous_secret END, e.ordering = $1, e.format FROM webhook_endpoints e WHERE e.id = ANY "
        "($2::bigint[]) AND e.active AND e.rate_limit IS NULL ...")
SENT = ("WITH r AS ( SELECT * FROM unnest($1::bigint[], ...) WITH ORDINALITY AS r(...)), t AS (SELECT r.*, "
        "clock_timestamp() - r.age_ms * interval $13 AS at FROM r), ins AS ( INSERT INTO webhook_deliveries ...")
MARKS = ("INSERT INTO webhook_read_marks AS w (group_id, topic, partition, last_id, caught_up_at) SELECT $1, $2, "
         "p, i, CASE WHEN e THEN now() ELSE $3 END FROM unnest($4::integer[], ...")


class Sessions(unittest.TestCase):
    def test_the_consumer_is_named_by_any_of_its_statements(self):
        # Its routing read names the endpoints table, as the claims do: it
        # was once taken for a worker, and its first name sticks.
        for query in (ROUTING, ENQUEUE, OFFSETS, HOLD, SENT, MARKS):
            self.assertEqual(webhooks_session("millrace-webhooks", query), "webhooks consumer", query)

    def test_the_workers_are_named_by_their_claims_and_reads(self):
        for query in (CLAIM, CONTINUE, FIRST_READ, STORE_RELEASE):
            self.assertEqual(webhooks_session("millrace-webhooks", query), "webhooks workers", query)

    def test_other_programs_sessions_keep_their_own_name(self):
        self.assertIsNone(webhooks_session("pgbench", ENQUEUE))


class Statements(unittest.TestCase):
    def test_each_statement_of_a_delivery_has_its_name(self):
        names = {q: webhooks_statement(q) for q in (ROUTING, ENQUEUE, CLAIM, CONTINUE, FIRST_READ,
                                                    STORE_RELEASE, OFFSETS)}
        self.assertEqual(names[ENQUEUE], "the consumer's enqueue")
        self.assertEqual(names[ROUTING], "the consumer's routing read")
        self.assertEqual(names[CLAIM], "a worker's claim")
        self.assertEqual(names[CONTINUE], "a worker's store and next read")
        self.assertEqual(names[FIRST_READ], "a worker's first read")
        self.assertEqual(names[STORE_RELEASE], "a worker's store and release")
        self.assertEqual(names[OFFSETS], "the consumer's offsets and outcomes")
        self.assertEqual(webhooks_statement(HOLD), "the consumer's hold of its endpoints")
        self.assertEqual(webhooks_statement(SENT), "the consumer's sends stored")
        self.assertEqual(webhooks_statement(MARKS), "the consumer's marks after its sends")

    def test_a_statement_on_the_service_s_tables_is_never_left_out(self):
        self.assertEqual(webhooks_statement("SELECT count(*) FROM webhook_filtered WHERE endpoint_id = $1"),
                         "the service's other statements")
        self.assertIsNone(webhooks_statement("SELECT pg_backend_pid()"))

    def test_the_sentence_gives_each_statement_s_time_a_delivery(self):
        sentence = statements_sentence({"the consumer's enqueue": {"calls": 425, "rows": 0, "ms": 3473.0},
                                        "a worker's claim": {"calls": 685, "rows": 0, "ms": 276.0}}, 40000)
        self.assertIn("the consumer's enqueue 3,473 ms in 425 calls (86.8 us)", sentence)
        self.assertIn("a worker's claim 276 ms in 685 calls (6.9 us)", sentence)
        self.assertLess(sentence.index("enqueue"), sentence.index("claim"))
        self.assertEqual(statements_sentence({}, 40000), "")


class Batches(unittest.TestCase):
    # Two batches (enqueued_at 10.0 and 10.030), two changes each, to two
    # endpoints: (committed, enqueued, delivered, attempts) per change id.
    DELIVERIES = {"/hook": {"a": (9.99, 10.0, 10.03, 1), "b": (9.99, 10.0, 10.04, 1),
                            "c": (10.02, 10.03, 10.08, 1), "d": (10.02, 10.03, 10.09, 1)},
                  "/hook-key": {"a": (9.99, 10.0, 10.02, 1), "b": (9.99, 10.0, 10.03, 1),
                                "c": (10.02, 10.03, 10.05, 1), "d": (10.02, 10.03, 10.06, 1)}}
    ARRIVALS = {"/hook": [(10.025, "a"), (10.035, "b"), (10.07, "c"), (10.085, "d")],
                "/hook-key": [(10.015, "a"), (10.025, "b"), (10.045, "c"), (10.055, "d")]}

    def test_a_batch_is_a_distinct_enqueued_at_and_its_deliveries_are_timed_from_its_start(self):
        b = batch_cadence(self.ARRIVALS, self.DELIVERIES)
        self.assertEqual(b["batches"], 2)
        self.assertAlmostEqual(b["spacing_ms"]["p50"], 30.0, places=6)
        co, ko = b["/hook"], b["/hook-key"]
        self.assertEqual(co["per_batch_median"], 2)
        # First arrivals 25 and 40 ms after their batch began, last 35 and 55.
        self.assertAlmostEqual(co["to_first_ms"]["p50"], 40.0, places=6)
        self.assertAlmostEqual(co["to_first_ms"]["max"], 40.0, places=6)
        self.assertEqual(co["to_first_ms"]["count"], 2)
        self.assertAlmostEqual(co["to_last_ms"]["max"], 55.0, places=6)
        self.assertAlmostEqual(ko["to_first_ms"]["max"], 15.0, places=6)
        self.assertAlmostEqual(ko["to_last_ms"]["max"], 25.0, places=6)

    def test_an_arrival_without_a_delivered_row_is_left_out(self):
        arrivals = {"/hook": self.ARRIVALS["/hook"] + [(11.0, "zz")], "/hook-key": self.ARRIVALS["/hook-key"]}
        self.assertEqual(batch_cadence(arrivals, self.DELIVERIES)["/hook"]["to_last_ms"]["max"],
                         batch_cadence(self.ARRIVALS, self.DELIVERIES)["/hook"]["to_last_ms"]["max"])

    def test_the_sentence_names_both_orders(self):
        sentence = batches_sentence(batch_cadence(self.ARRIVALS, self.DELIVERIES))
        self.assertIn("The consumer's 2 batches that enqueued began 30.0 ms apart", sentence)
        self.assertIn("2 deliveries an endpoint each; from", sentence)
        self.assertIn("each, 12.5 ms from a batch's seal to its commit on average; from",
                      batches_sentence(batch_cadence(self.ARRIVALS, self.DELIVERIES), 12.5))
        self.assertIn("in commit order 40.0 / 40.0 ms to its first delivery's arrival and 55.0 / 55.0 ms "
                      "to its last", sentence)
        self.assertIn("in key order 15.0 / 15.0 ms", sentence)
        self.assertEqual(batches_sentence(None), "")
        self.assertEqual(batches_sentence(batch_cadence({}, {})), "")


if __name__ == "__main__":
    unittest.main()
