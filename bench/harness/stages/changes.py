"""The change feed's stages: catching up on committed inserts, and
commit-to-webhook latency.
"""

import datetime
import json
import os
import subprocess
import time

from pysupport import free_port

from ..common import BIN, percentiles_ms, ratio, run, wait_for
from ..stack import served_metric, start_service, stop, wait_assigned


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


class WebhookReceiver:
    """A webhook receiver on 127.0.0.1 that keeps, for every request, the wall
    time it arrived and the commit time its body carries: `arrivals` for
    /hook, `key_arrivals` for /hook-key."""

    def __init__(self):
        import http.server
        import threading
        arrivals = self.arrivals = []
        key_arrivals = self.key_arrivals = []
        self.sample_body = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as libcurl reuses connections

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if self.path in ("/hook", "/hook-key"):
                    stamp = json.loads(body)["timestamp"]
                    kept = arrivals if self.path == "/hook" else key_arrivals
                    kept.append((now, datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()))
                    outer.sample_body = outer.sample_body or body

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def bench_webhooks(stack, rate, seconds, workdir):
    """Commit-to-webhook latency at a fixed rate: single-row commits through
    the change feed and millrace-webhooks to a receiver on this machine,
    from each change's commit time to the request's arrival. The reference
    is the same receiver's own round trip for the same body at the same
    rate (a keep-alive client posting from this host). Two endpoints get
    every change in the same run: one in commit order (the default, the
    figure), one in key order, so their ratio is what commit order costs."""
    import http.client
    schema = pub = "bench_webhooks"
    topic = "bench_webhook_changes"
    slot = "bench_webhooks"
    feed_pg = stack.env["MILLRACE_CHANGEFEED_PG"]
    run(["psql", feed_pg, "-X", "-q", "-At", "-c",
         f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}'"])
    stack.psql(f"DROP PUBLICATION IF EXISTS {pub}")
    stack.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    owner = {"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": schema}
    run([os.path.join(BIN, "millrace"), "migrate"], env=owner)
    stack.psql(f"CREATE TABLE {schema}.items (id bigint PRIMARY KEY, store int, sku bigint, "
               f"price numeric(12,2), note text)")
    stack.psql(f"CREATE PUBLICATION {pub} FOR TABLE {schema}.items")
    stack.create_topic(topic)
    receiver = WebhookReceiver()
    run([os.path.join(BIN, "millrace"), "webhooks", "add", "--url", f"http://127.0.0.1:{receiver.port}/hook",
         "--allow-private"], env=owner)
    run([os.path.join(BIN, "millrace"), "webhooks", "add", "--url",
         f"http://127.0.0.1:{receiver.port}/hook-key", "--ordering", "key", "--allow-private"], env=owner)
    feed = start_service("millrace-changefeed", {
        "MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGEFEED_PG": feed_pg, "MILLRACE_CHANGES_TOPIC": topic,
        "MILLRACE_CHANGEFEED_SLOT": slot, "MILLRACE_CHANGEFEED_PUBLICATION": pub,
        "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP": f"bench_webhooks_{os.getpid()}_{time.time_ns()}",
        "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}, f"{workdir}/webhooks-changefeed.log")
    hooks = start_service("millrace-webhooks", {
        **owner, "MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGES_TOPIC": topic,
        "MILLRACE_WEBHOOKS_GROUP": "bench_webhooks", "MILLRACE_WEBHOOKS_ALLOW_PRIVATE": "true",
        "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}, f"{workdir}/webhooks.log")
    wait_for(lambda: stack.psql(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}' "
                                f"AND active") == "1", 120, "the change feed to stream")
    wait_assigned([[hooks]], 4, "the webhooks service to join")
    time.sleep(1)
    count = int(rate * seconds)
    writer = subprocess.Popen(["psql", stack.pg, "-X", "-q", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              text=True)
    start = time.monotonic()
    for i in range(count):
        writer.stdin.write(f"INSERT INTO {schema}.items VALUES ({i}, {i % 50}, {i * 7}, {(i % 100000) / 100.0}, "
                           f"md5('{i}'));\n")
        writer.stdin.flush()
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    writer.stdin.close()
    writer.wait()
    wait_for(lambda: len(receiver.arrivals) >= count and len(receiver.key_arrivals) >= count, 300,
             "every webhook to arrive")
    stop([hooks, feed])
    latency = percentiles_ms([arrived - committed for arrived, committed in receiver.arrivals[:count]])
    key_latency = percentiles_ms([arrived - committed for arrived, committed in receiver.key_arrivals[:count]])
    # The reference: the receiver's own round trip, same body, same rate.
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    trips = []
    start = time.monotonic()
    for i in range(count):
        t0 = time.monotonic()
        conn.request("POST", "/reference", body=receiver.sample_body,
                     headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        trips.append(time.monotonic() - t0)
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    conn.close()
    receiver.close()
    run(["psql", feed_pg, "-X", "-q", "-At", "-c", f"SELECT pg_drop_replication_slot('{slot}')"])
    stack.psql(f"DROP PUBLICATION {pub}")
    round_trip = percentiles_ms(trips)
    return {"rate": rate, "seconds": seconds, "changes": count, "commit_to_webhook_ms": latency,
            "key_order_commit_to_webhook_ms": key_latency,
            "commit_over_key_order_p50": ratio(latency["p50"], key_latency["p50"]),
            "commit_over_key_order_p99": ratio(latency["p99"], key_latency["p99"]),
            "receiver_round_trip_ms": round_trip,
            "ratio_p50": ratio(latency["p50"], round_trip["p50"]),
            "ratio_p99": ratio(latency["p99"], round_trip["p99"])}
