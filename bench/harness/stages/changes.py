"""The change feed catching up on committed inserts."""

import os
import time

from pysupport import free_port

from ..common import ratio, run, wait_for
from ..cpu import CpuMeter, cpu_seconds
from ..stack import served_metric, start_service, stop


CHANGEFEED_TX_ROWS = 1000

# The feed's formats, each with the settings that choose it.
CHANGEFEED_FORMATS = {
    "millrace": {},
    "debezium": {"MILLRACE_CHANGEFEED_FORMAT": "debezium"},
    "debezium_schemas": {"MILLRACE_CHANGEFEED_FORMAT": "debezium", "MILLRACE_CHANGEFEED_SCHEMAS": "true"},
}

_runs = 0  # runs of the stage so far: the baseline goes first in every other one


def per_million(seconds, changes):
    return round(seconds / changes * 1e6, 2) if changes else None


def read_with_recvlogical(stack, feed_pg, slot, end_lsn, pub, changes):
    """pg_recvlogical reading the backlog to /dev/null: the reference."""
    meter = CpuMeter(stack, {})
    t0 = time.monotonic()
    run(["pg_recvlogical", "-d", feed_pg, "--slot", slot, "--start", "--endpos", end_lsn,
         "--no-loop", "-o", "proto_version=1", "-o", f"publication_names={pub}", "-f", "/dev/null"])
    recv_s = time.monotonic() - t0
    cpu = meter.stop()
    return {"pg_recvlogical_changes_per_s": changes / recv_s, "pg_recvlogical_seconds": recv_s,
            # CPU seconds per million changes: the client's (a reaped child), the walsender's, Kafka's.
            "pg_recvlogical_cpu_per_million": per_million(cpu["reaped"], changes),
            "pg_recvlogical_postgres_cpu_per_million": per_million(cpu["postgres"], changes),
            "pg_recvlogical_kafka_cpu_per_million": per_million(cpu["kafka"], changes)}


def bench_changefeed(stack, n, workdir, formats=tuple(CHANGEFEED_FORMATS), baseline=None):
    """Commit-to-topic throughput of the change feed, in each of its formats,
    against pg_recvlogical reading the same WAL (pgoutput, protocol 1, to
    /dev/null) from a slot of its own. Every slot exists before the rows are
    written, so each reader catches up on the same backlog: n inserts in
    transactions of CHANGEFEED_TX_ROWS. The formats: Millrace's own, and
    Debezium's (--format debezium) with JsonConverter's schemas off and on.
    Each reader's CPU seconds per million changes are counted with those of
    PostgreSQL (on an otherwise idle stack, the walsender decoding for it)
    and Kafka's. `baseline`, another build's millrace-changefeed, reads the
    same backlog in each format too, before or after this build's in turn:
    a before/after in the same runs, against the same reference."""
    global _runs
    schema = pub = "bench_changefeed"
    # The readers, each (name, settings, binary): pg_recvlogical, then each
    # format's feed, the baseline's beside it.
    readers = [("recv", None, None)]
    for name in formats:
        ours = (name, CHANGEFEED_FORMATS[name], None)
        if baseline is None:
            readers.append(ours)
            continue
        theirs = (f"baseline_{name}", CHANGEFEED_FORMATS[name], baseline)
        readers += [theirs, ours] if _runs % 2 == 0 else [ours, theirs]
    # Their order turns from run to run: what one reader leaves behind (the
    # broker's dirty pages, a warmer cache, a checkpoint or an autovacuum
    # coming due) falls on a different one each time, not always on the one
    # after pg_recvlogical.
    turn = _runs % len(readers)
    readers = readers[turn:] + readers[:turn]
    _runs += 1
    formats = {name: flags for name, flags, _ in readers if flags is not None}
    binaries = {name: binary for name, _, binary in readers}
    # Topics of this run alone: their bytes are what it measures.
    run_id = time.time_ns()
    topics = {name: f"bench_changes_{name}_{run_id}" for name in formats}
    slots = {"recv": "bench_cf_recv", **{name: f"bench_cf_{name}" for name in formats}}
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
    for topic in topics.values():
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
    # The fresh table settled before any reader: its autovacuum (a million
    # inserted rows pass its insert threshold) and the checkpoint its WAL
    # brings due would otherwise land in one reader's window and count as
    # its PostgreSQL CPU (10.1 s a million against about 4.5 in one run).
    # What vacuum writes to the WAL comes after end_lsn and holds no change.
    stack.psql(f"VACUUM ANALYZE {schema}.items")
    out = {"changes": changes, "rows_per_transaction": rows,
           "reader_order": [name for name, _, _ in readers]}
    for name, flags, _ in readers:
        # Each starts from the same place: WAL and Kafka's pages written out.
        stack.checkpoint()
        if flags is None:
            out.update(read_with_recvlogical(stack, feed_pg, slots["recv"], end_lsn, pub, changes))
            continue
        env = {"MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGEFEED_PG": feed_pg,
               "MILLRACE_CHANGES_TOPIC": topics[name], "MILLRACE_CHANGEFEED_SLOT": slots[name],
               "MILLRACE_CHANGEFEED_PUBLICATION": pub,
               # The slot is new: so is the checkpoint (a kept stack still holds the last run's).
               "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP": f"bench_cf_{name}_{os.getpid()}_{time.time_ns()}",
               "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}", **flags}
        meter = CpuMeter(stack, {})
        t0 = time.monotonic()
        feed = start_service("millrace-changefeed", env, f"{workdir}/changefeed-{name}.log", binaries[name])
        end = wait_for(lambda: (served_metric(feed, "millrace_changefeed_changes_published_total") or 0) >= changes,
                       3600, f"the change feed ({name} format) to publish the backlog")
        feed_s = end - t0
        # Read before it stops: once reaped, its CPU is no longer its own.
        feed_cpu, cpu = cpu_seconds(feed.pid), meter.stop()
        batches_published = served_metric(feed, "millrace_changefeed_batches_total")
        stop([feed])
        # The topic's bytes: what the format costs the broker and every reader.
        topic_bytes = stack.topic_bytes(topics[name])
        prefix = "millrace" if name == "millrace" else name
        out.update({f"{prefix}_changes_per_s": changes / feed_s, f"{prefix}_seconds": feed_s,
                    f"{prefix}_kafka_transactions": batches_published,
                    f"{prefix}_bytes_per_change": topic_bytes / changes,
                    f"{prefix}_cpu_per_million": per_million(feed_cpu, changes),
                    f"{prefix}_postgres_cpu_per_million": per_million(cpu["postgres"], changes),
                    f"{prefix}_kafka_cpu_per_million": per_million(cpu["kafka"], changes)})
    for name in formats:
        prefix = "millrace" if name == "millrace" else name
        out[f"{prefix}_ratio"] = ratio(out[f"{prefix}_changes_per_s"], out["pg_recvlogical_changes_per_s"])
    for slot in slots.values():
        as_feed_role(f"SELECT pg_drop_replication_slot('{slot}')")
    stack.psql(f"DROP PUBLICATION {pub}")
    stack.delete_topics(list(topics.values()))
    if "millrace" in formats:
        out["ratio"] = out["millrace_ratio"]
        out["kafka_transactions"] = out["millrace_kafka_transactions"]
    return out
