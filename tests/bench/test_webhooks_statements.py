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
from harness.report.stage_sections import statements_sentence  # noqa: E402
from harness.stages.webhooks import webhooks_session, webhooks_statement  # noqa: E402

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


class Sessions(unittest.TestCase):
    def test_the_consumer_is_named_by_any_of_its_statements(self):
        # Its routing read names the endpoints table, as the claims do: it
        # was once taken for a worker, and its first name sticks.
        for query in (ROUTING, ENQUEUE, OFFSETS):
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


if __name__ == "__main__":
    unittest.main()
