"""A backfill of a large table while writes go on (issue 41): its rows/s
against PostgreSQL's COPY (SELECT ...) TO of the same table, and the extra
delay it puts on the live changes, against the idle feed's in the same run.
"""

import json
import os
import signal
import subprocess
import time
import urllib.parse

from pysupport import free_port

from ..common import BIN, COMMANDS, percentiles_ms, ratio, run, wait_for
from ..stack import served_metric, start_service, stop
from .change_listener import commit_seconds

# Single-row UPDATEs a second while the feed is idle, then while it backfills.
BACKFILL_WRITE_RATE = 500
BACKFILL_CHUNK = 10_000
PGBENCH = "pgbench"


def _pgbench(stack, schema, rows, rate, workdir, name):
    """pgbench updating random rows of `schema`.items at `rate` a second,
    until stopped (a count it does not reach in an hour)."""
    script = os.path.join(workdir, f"{name}.sql")
    with open(script, "w") as f:
        f.write(f"\\set id random(1, {rows})\n"
                f"UPDATE {schema}.items SET price = price + 0.01 WHERE id = :id;\n")
    clients = max(2, rate // 100)
    cmd = [PGBENCH, "-n", "-c", str(clients), "-j", "2", "-R", str(rate), "-t", str(rate * 3600 // clients),
           "-f", script, stack.pg]
    COMMANDS.append(" ".join(cmd).replace(stack.pg, '"$MILLRACE_PG"') + "  # stopped with SIGTERM")
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def _stop_pgbench(proc):
    # SIGTERM, not SIGINT: a shell starts a background job with SIGINT
    # ignored, and pgbench, which sets no handler of its own, keeps that (CI
    # runs the bench smoke so: each stop waited the 30 s below, 90 s a run).
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Listener:
    """The change topic read as it is written (kcat, read_committed, each
    record's Kafka timestamp and value), each update and end record stamped
    with the wall clock when it arrived. The timestamp (CreateTime: when the
    feed produced the record) splits an update's delay into the feed's part
    and the rest (the Kafka transaction's commit, this reader). The millions
    of `r` records are counted, not parsed: parsing them here would take a
    core from the feed being measured."""

    def __init__(self, brokers, topic, log_path):
        import threading
        cmd = ["kcat", "-b", brokers, "-C", "-t", topic, "-o", "beginning", "-u", "-q", "-f", "%T %s\\n",
               "-X", "isolation.level=read_committed"]
        COMMANDS.append(" ".join(cmd) + "  # beside the stage, stopped at its end")
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self.updates, self.ends, self.reads = [], [], 0
        self.first_read = None
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self):
        for line in self.proc.stdout:
            if '"op":"r"' in line:
                self.reads += 1
                if self.first_read is None:
                    self.first_read = time.time()
            elif '"op":"u"' in line:
                self.updates.append((time.time(), line))
            elif '"op":"e"' in line:
                self.ends.append((time.time(), json.loads(line.split(" ", 1)[1])))

    def ended(self, backfill_id):
        return next((t for t, v in self.ends if v["backfill"]["id"] == backfill_id), None)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.thread.join(timeout=10)
        self.log.close()


def bench_backfill(stack, rows, seconds, workdir, chunk=BACKFILL_CHUNK):
    """Backfills `rows` rows in chunks of `chunk` while BACKFILL_WRITE_RATE
    updates/s go on."""
    schema = pub = "bench_backfill"
    topic = "bench_backfill_changes"
    slot = "bench_bf_feed"
    feed_pg = stack.env["MILLRACE_CHANGEFEED_PG"]
    feed_role = urllib.parse.urlparse(feed_pg).username

    def as_feed_role(sql):
        return run(["psql", feed_pg, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout.strip()

    as_feed_role(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}'")
    stack.psql(f"DROP PUBLICATION IF EXISTS {pub}")
    stack.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    stack.psql(f"CREATE SCHEMA {schema}")
    stack.psql(f"CREATE TABLE {schema}.items (id bigint PRIMARY KEY, store int, sku bigint, "
               f"price numeric(12,2), note text)")
    stack.psql(f"INSERT INTO {schema}.items SELECT g, g % 50, g * 7, (g % 100000) / 100.0, md5(g::text) "
               f"FROM generate_series(1, {rows}) g")
    stack.psql(f"VACUUM ANALYZE {schema}.items")
    owner_env = {"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": schema}
    run([os.path.join(BIN, "millrace"), "changefeed", "publish", "--publication", pub, "--tables", "items",
         "--grant-select", feed_role], env=owner_env)
    stack.create_topic(topic)

    # The reference: the same rows out of PostgreSQL in one COPY, to a
    # client that throws them away, as the feed's role.
    t0 = time.monotonic()
    run(["psql", feed_pg, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         f"\\copy (SELECT * FROM {schema}.items) TO '/dev/null'"])
    copy_s = time.monotonic() - t0

    env = {"MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGEFEED_PG": feed_pg, "MILLRACE_PG_SCHEMA": schema,
           "MILLRACE_CHANGES_TOPIC": topic, "MILLRACE_CHANGEFEED_SLOT": slot,
           "MILLRACE_CHANGEFEED_PUBLICATION": pub, "MILLRACE_CHANGEFEED_BACKFILL_POLL_MS": "100",
           "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP": f"bench_bf_{os.getpid()}_{time.time_ns()}",
           "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}
    feed = start_service("millrace-changefeed", env, f"{workdir}/backfill-changefeed.log")
    listener = _Listener(stack.brokers, topic, f"{workdir}/backfill-listener.log")
    try:
        wait_for(lambda: served_metric(feed, "millrace_changefeed_up") == 1, 120, "the change feed to stream")
        # Not measured: the feed's first Kafka transactions (the producer
        # finding its coordinators) and pgbench's connecting.
        writer = _pgbench(stack, schema, rows, BACKFILL_WRITE_RATE, workdir, "backfill-warmup-writer")
        time.sleep(3)
        _stop_pgbench(writer)
        # The idle feed: the updates alone.
        idle_from = time.time()
        writer = _pgbench(stack, schema, rows, BACKFILL_WRITE_RATE, workdir, "backfill-idle-writer")
        time.sleep(seconds)
        _stop_pgbench(writer)
        idle_to = time.time()

        # The backfill, with the updates going on.
        writer = _pgbench(stack, schema, rows, BACKFILL_WRITE_RATE, workdir, "backfill-writer")
        time.sleep(1)
        asked = time.time()
        backfill_id = int(run([os.path.join(BIN, "millrace"), "changefeed", "backfill", "--table", "items",
                               "--publication", pub, "--chunk-size", str(chunk)],
                              env=owner_env).stdout.strip())

        wait_for(lambda: listener.ended(backfill_id) is not None, 7200, "the backfill's end record")
        done = listener.ended(backfill_id)
        _stop_pgbench(writer)
        superseded = served_metric(feed, "millrace_changefeed_backfill_rows_superseded_total") or 0
        rereads = served_metric(feed, "millrace_changefeed_backfill_rereads_total") or 0
        chunks = int(stack.psql(f"SELECT chunks FROM {schema}.changefeed_backfills WHERE id = {backfill_id}"))
        # The updates committed by then reach the topic.
        time.sleep(3)
    finally:
        listener.close()
        stop([feed])
        as_feed_role(f"SELECT pg_drop_replication_slot('{slot}')")
        stack.psql(f"DROP PUBLICATION {pub}")

    delays = {"idle": [], "backfill": []}
    produced = {"idle": [], "backfill": []}  # commit to the record's Kafka timestamp
    for arrived, line in listener.updates:
        stamp, value = line.split(" ", 1)
        committed = commit_seconds(json.loads(value)["source"]["commit_time"])
        window = ("idle" if idle_from <= committed <= idle_to else
                  "backfill" if asked <= committed <= done else None)
        if window:
            delays[window].append(arrived - committed)
            produced[window].append(int(stamp) / 1000 - committed)
    idle_ms = percentiles_ms(delays["idle"])
    during_ms = percentiles_ms(delays["backfill"])
    backfill_s = done - asked
    return {"rows": rows, "rows_published": listener.reads, "chunk_size": chunk, "chunks": chunks,
            "rows_superseded": superseded, "chunks_reread": rereads, "write_rate": BACKFILL_WRITE_RATE,
            "seconds": backfill_s, "first_row_after_s": listener.first_read - asked,
            "rows_per_s": rows / backfill_s, "copy_seconds": copy_s, "copy_rows_per_s": rows / copy_s,
            "ratio": ratio(rows / backfill_s, rows / copy_s),
            "idle_commit_to_consumer_ms": idle_ms, "backfill_commit_to_consumer_ms": during_ms,
            "idle_commit_to_produced_ms": percentiles_ms(produced["idle"]),
            "backfill_commit_to_produced_ms": percentiles_ms(produced["backfill"]),
            "ratio_p99": ratio(during_ms["p99"], idle_ms["p99"]),
            "ratio_p50": ratio(during_ms["p50"], idle_ms["p50"])}
