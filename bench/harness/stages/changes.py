"""The change feed catching up on committed inserts."""

import os
import time

from pysupport import free_port

from ..common import ratio, run, wait_for
from ..stack import served_metric, start_service, stop


CHANGEFEED_TX_ROWS = 1000


def bench_changefeed(stack, n, workdir):
    """Commit-to-topic throughput of the change feed, against pg_recvlogical
    reading the same WAL (pgoutput, protocol 1, to /dev/null) from a slot of
    its own. Both slots exist before the rows are written, so each catches up
    on the same backlog: n inserts in transactions of CHANGEFEED_TX_ROWS."""
    schema = pub = "bench_changefeed"
    topic = "bench_changes"
    slots = {"feed": "bench_cf_feed", "recv": "bench_cf_recv"}
    feed_pg = stack.env["MILLRACE_CHANGEFEED_PG"]

    def as_feed_role(sql):
        return run(["psql", feed_pg, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout.strip()

    for slot in slots.values():
        as_feed_role(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     f"WHERE slot_name = '{slot}'")
    stack.psql(f"DROP PUBLICATION IF EXISTS {pub}")
    stack.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    stack.psql(f"CREATE SCHEMA {schema}")
    stack.psql(f"CREATE TABLE {schema}.items (id bigint PRIMARY KEY, store int, sku bigint, "
               f"price numeric(12,2), note text)")
    stack.psql(f"CREATE PUBLICATION {pub} FOR TABLE {schema}.items")
    stack.create_topic(topic)
    for slot in slots.values():
        as_feed_role(f"SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')")
    batches = max(1, n // CHANGEFEED_TX_ROWS)
    changes = batches * CHANGEFEED_TX_ROWS if n >= CHANGEFEED_TX_ROWS else n
    rows = min(n, CHANGEFEED_TX_ROWS)
    stack.psql(f"DO $$ BEGIN FOR b IN 0..{batches - 1} LOOP "
               f"INSERT INTO {schema}.items SELECT g, g % 50, g * 7, (g % 100000) / 100.0, md5(g::text) "
               f"FROM generate_series(b * {rows} + 1, (b + 1) * {rows}) g; COMMIT; END LOOP; END $$")
    end_lsn = stack.psql("SELECT pg_current_wal_lsn()")

    t0 = time.monotonic()
    run(["pg_recvlogical", "-d", feed_pg, "--slot", slots["recv"], "--start", "--endpos", end_lsn,
         "--no-loop", "-o", "proto_version=1", "-o", f"publication_names={pub}", "-f", "/dev/null"])
    recv_s = time.monotonic() - t0

    env = {"MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGEFEED_PG": feed_pg,
           "MILLRACE_CHANGES_TOPIC": topic, "MILLRACE_CHANGEFEED_SLOT": slots["feed"],
           "MILLRACE_CHANGEFEED_PUBLICATION": pub,
           # The slot is new: so is the checkpoint (a kept stack still holds the last run's).
           "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP": f"bench_cf_{os.getpid()}_{time.time_ns()}",
           "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}
    t0 = time.monotonic()
    feed = start_service("millrace-changefeed", env, f"{workdir}/changefeed.log")
    end = wait_for(lambda: (served_metric(feed, "millrace_changefeed_changes_published_total") or 0) >= changes,
                   3600, "the change feed to publish the backlog")
    feed_s = end - t0
    batches_published = served_metric(feed, "millrace_changefeed_batches_total")
    stop([feed])
    for slot in slots.values():
        as_feed_role(f"SELECT pg_drop_replication_slot('{slot}')")
    stack.psql(f"DROP PUBLICATION {pub}")
    return {"changes": changes, "rows_per_transaction": rows,
            "millrace_changes_per_s": changes / feed_s, "millrace_seconds": feed_s,
            "kafka_transactions": batches_published,
            "pg_recvlogical_changes_per_s": changes / recv_s, "pg_recvlogical_seconds": recv_s,
            "ratio": ratio(changes / feed_s, changes / recv_s)}
