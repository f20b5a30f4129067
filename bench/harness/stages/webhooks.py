"""Commit-to-webhook latency, and where it goes: single-row commits through
the change feed and millrace-webhooks to a receiver on this machine, each
change timed at its commit, at a read_committed consumer of the change topic
beside the service (the feed's own delay, the goal's reference), at its
enqueueing in PostgreSQL, at its arrival, and at its recording as delivered.
"""

import json
import os
import re
import statistics
import time
import urllib.request

from pysupport import free_port, metric_sum, scrape

from ..common import BIN, COMMANDS, percentiles_ms, ratio, run, unique_name, wait_for
from ..cpu import CpuMeter, PgSessionMeter, busy_seconds, cpu_times, steal_share
from ..nginx import nginx_server
from ..pg_statements import StatementTimes
from ..stack import start_service, stop, wait_assigned
from .change_listener import ChangeListener

PGBENCH = "pgbench"
# Issue 40's goal: commit to arrival p99 at most this many times the
# feed's own commit to read_committed consumer p99, in the same run.
WEBHOOKS_GOAL = 1.5
# The rates the stage runs at, in commits/s: the first is the page's figure.
WEBHOOKS_RATES = (200, 2000)
# The unmeasured run before the webhooks stage, when the warm-up runs too.
WEBHOOKS_WARMUP_SECONDS = 10
# The share of the slowest deliveries whose legs the tail breakdown shows.
TAIL_SHARE = 0.01


class NginxReceiver:
    """The webhook receiver: nginx on 127.0.0.1 answering 204 to /hook (the
    commit-order endpoint) and /hook-key (key order), and logging each
    request's path and webhook-id with the time it answered (ms); /reference
    answers the same without a log, for the round trip reference. Entered
    as a context: nginx runs inside it."""

    LOG_FORMAT = "log_format hooks '$msec $uri $http_webhook_id';"

    def __init__(self, workdir, tag):
        self.dir = os.path.join(workdir, f"webhooks-{tag}-nginx")
        self.log = os.path.join(self.dir, "hooks.log")
        logged = f"access_log {self.log} hooks; return 204;"
        self.locations = (f"location = /hook {{ {logged} }} location = /hook-key {{ {logged} }} "
                          "location = /reference { return 204; } location = /ready { return 204; }")
        self.context = None
        self.read_to, self.seen = 0, {}

    def __enter__(self):
        def ready(url):
            try:
                return urllib.request.urlopen(url + "/ready", timeout=2).status == 204
            except OSError:
                return False

        # nginx appends: an earlier run's requests in the same directory
        # would be taken for this one's (and have no change of this run).
        if os.path.exists(self.log):
            os.remove(self.log)

        self.context = nginx_server(self.dir, self.locations, ready, "the webhook receiver",
                                    http_extra=self.LOG_FORMAT)
        self.url, _ = self.context.__enter__()
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)

    def arrivals(self):
        """{path: [(arrival, change id)]} in the order logged; read on from
        where the last call stopped."""
        try:
            with open(self.log) as f:
                f.seek(self.read_to)
                for line in f:
                    if not line.endswith("\n"):
                        break  # written partly: read again next time
                    self.read_to += len(line)
                    at, path, change_id = line.split()
                    self.seen.setdefault(path, []).append((float(at), change_id))
        except FileNotFoundError:
            pass
        return self.seen

    def count(self, path):
        return len(self.arrivals().get(path, []))


def round_trip_reference(port, body, rate, count):
    """The receiver's own round trip for `body` at `rate`, from a keep-alive
    client on this host: percentiles in ms."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    trips = []
    start = time.monotonic()
    for i in range(count):
        t0 = time.monotonic()
        conn.request("POST", "/reference", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        trips.append(time.monotonic() - t0)
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    conn.close()
    return percentiles_ms(trips)


def delivery_times(stack, schema):
    """Per endpoint path (/hook, /hook-key), each change id's commit time,
    enqueue time (the consumer's batch transaction began), recording as
    delivered, and attempts: Unix seconds, PostgreSQL's clock (this
    machine's)."""
    rows = stack.psql(
        f"SELECT substring(e.url FROM '/hook[^/]*$'), d.change_id, extract(epoch FROM d.committed_at), "
        f"extract(epoch FROM d.enqueued_at), extract(epoch FROM d.delivered_at), d.attempts "
        f"FROM {schema}.webhook_deliveries d JOIN {schema}.webhook_endpoints e ON e.id = d.endpoint_id "
        f"WHERE d.status = 'delivered'")
    out = {}
    for line in rows.splitlines():
        path, change_id, committed, enqueued, delivered, attempts = line.split("|")
        out.setdefault(path, {})[change_id] = (float(committed), float(enqueued), float(delivered), int(attempts))
    return out


LEGS = ("produced", "visible", "to_enqueue", "enqueue_to_arrival", "arrival_to_recorded")
LEG_NAMES = {
    "produced": "commit to the record's Kafka timestamp (CreateTime: the feed produced it)",
    "visible": "the record's Kafka timestamp to its arrival at a read_committed consumer (the Kafka "
               "transaction's commit, the fetch)",
    "to_enqueue": "the record's arrival to its enqueueing (the webhooks consumer's batch transaction began)",
    "enqueue_to_arrival": "enqueueing to the request's arrival (the batch's commit, the wake-up, the claim, "
                          "the request)",
    "arrival_to_recorded": "arrival to the delivery recorded as delivered",
}


def legs_of(arrivals, read_at, deliveries, name, workdir):
    """Each change's legs in seconds ({leg: [..]}, commit to arrival in
    'total'), and the legs of the slowest TAIL_SHARE of them; every change's
    times also go to webhooks-<name>.tsv in `workdir`."""
    rows, missing = [], 0
    for arrived, change_id in arrivals:
        if change_id not in read_at or change_id not in deliveries:
            missing += 1
            continue
        committed, enqueued, delivered, attempts = deliveries[change_id]
        produced, read = read_at[change_id]
        rows.append((committed, change_id, read, enqueued, arrived, delivered, attempts, produced))
    if missing:
        raise SystemExit(f"bench: webhooks: {missing} of {len(arrivals)} arrivals ({name}) have no record "
                         "on the change topic or no delivered row")
    if not rows:
        raise SystemExit(f"bench: webhooks: no change arrived ({name}): pgbench wrote none")
    legs = {k: [] for k in ("total", "feed") + LEGS}
    for committed, _, read, enqueued, arrived, delivered, _, produced in rows:
        legs["total"].append(arrived - committed)
        legs["feed"].append(read - committed)
        legs["produced"].append(produced - committed)
        legs["visible"].append(read - produced)
        legs["to_enqueue"].append(enqueued - read)
        legs["enqueue_to_arrival"].append(arrived - enqueued)
        legs["arrival_to_recorded"].append(delivered - arrived)
    # The slowest deliveries: the median of each leg among them.
    slow = sorted(rows, key=lambda r: r[4] - r[0])[-max(1, int(len(rows) * TAIL_SHARE)):]
    tail = {"count": len(slow),
            "total_ms": percentiles_ms([r[4] - r[0] for r in slow])["p50"],
            "feed_ms": percentiles_ms([r[2] - r[0] for r in slow])["p50"],
            "produced_ms": percentiles_ms([r[7] - r[0] for r in slow])["p50"],
            "visible_ms": percentiles_ms([r[2] - r[7] for r in slow])["p50"],
            "to_enqueue_ms": percentiles_ms([r[3] - r[2] for r in slow])["p50"],
            "enqueue_to_arrival_ms": percentiles_ms([r[4] - r[3] for r in slow])["p50"],
            "arrival_to_recorded_ms": percentiles_ms([r[5] - r[4] for r in slow])["p50"]}
    with open(os.path.join(workdir, f"webhooks-{name}.tsv"), "w") as f:
        f.write("commit_time\tchange_id\tconsumer_arrival\tenqueued\twebhook_arrival\tdelivered\tattempts\t"
                "kafka_timestamp\n")
        for r in sorted(rows):
            f.write("\t".join(f"{v:.6f}" if isinstance(v, float) else str(v) for v in r) + "\n")
    retried = sum(1 for r in rows if r[6] > 1)
    return legs, tail, retried


def batch_cadence(arrivals_by_path, deliveries):
    """The consumer's batches as the deliveries show them: each batch
    transaction that enqueued stamps its deliveries' enqueued_at with its
    start, so a distinct enqueued_at is one batch. Of the changes that
    arrived (`arrivals_by_path`: per endpoint path, (arrival, change id)),
    the batches' spacing (ms from one's start to the next's), and per path
    the deliveries a batch held and the time from a batch's start to the
    first and to the last of them at the receiver: a wait that is the same
    in both orders is the batch's transaction and the hand-off to a worker,
    not commit order."""
    by_path = {}
    for path, arrivals in arrivals_by_path.items():
        rows = deliveries.get(path, {})
        batches = {}
        for arrived, change_id in arrivals:
            if change_id in rows:
                batches.setdefault(rows[change_id][1], []).append(arrived)
        by_path[path] = batches
    starts = sorted({start for batches in by_path.values() for start in batches})
    out = {"batches": len(starts),
           "spacing_ms": percentiles_ms([b - a for a, b in zip(starts, starts[1:])]) if len(starts) > 1 else None}
    for path, batches in by_path.items():
        out[path] = {"per_batch_median": statistics.median(len(v) for v in batches.values()) if batches else 0,
                     "to_first_ms": percentiles_ms([min(v) - b for b, v in batches.items()]) if batches else None,
                     "to_last_ms": percentiles_ms([max(v) - b for b, v in batches.items()]) if batches else None}
    return out


def write_at(stack, schema, rate, seconds, workdir):
    """rate * seconds single-row INSERT transactions into `schema`.items at
    `rate` a second: pgbench's paced schedule (Poisson arrivals at the rate),
    from as many connections as a commit's flush needs to keep it, each
    running its share (-t, not -T: under load, connecting the clients took
    the whole of a 2 s run, and nothing was written). What pgbench says of
    its schedule, as numbers."""
    script = os.path.join(workdir, "webhooks-insert.sql")
    with open(script, "w") as f:
        f.write(f"INSERT INTO {schema}.items SELECT n, n % 50, n * 7, (n % 100000) / 100.0, md5(n::text) "
                f"FROM nextval('{schema}.ids') AS n;\n")
    clients = max(2, min(16, rate // 100))
    each = -(-rate * seconds // clients)  # rounded up: at least rate * seconds in all
    out = run([PGBENCH, "-n", "-c", str(clients), "-j", "2", "-R", str(rate), "-t", str(each), "-f", script,
               stack.pg]).stdout
    got = {"clients": clients}
    for key, pattern in (("transactions", r"number of transactions actually processed: (\d+)"),
                         ("latency_avg_ms", r"latency average = ([\d.]+) ms"),
                         ("schedule_lag_avg_ms", r"rate limit schedule lag: avg ([\d.]+)"),
                         ("schedule_lag_max_ms", r"rate limit schedule lag: avg [\d.]+ \(max ([\d.]+)"),
                         ("tps", r"tps = ([\d.]+)")):
        m = re.search(pattern, out)
        got[key] = float(m.group(1)) if m else None
    return got


def bench_webhooks(stack, rate, seconds, workdir, tag=None, binary=None):
    """Commit-to-webhook latency at `rate` single-row commits/s for
    `seconds`, broken down by leg. Two endpoints get every change in the same
    run: one in commit order (the default, the figure), one in key order, so
    their ratio is what commit order costs. The goal's reference is the
    feed's own commit to read_committed consumer, timed beside the service
    by kcat; the receiver's own round trip at the same rate is reported too.
    `binary`: another build's millrace-webhooks in place of build/bin's."""
    schema = pub = "bench_webhooks"
    # A topic of this run's own: the webhooks' consumer offsets live in the
    # schema made afresh below, and would start it at the beginning of an
    # older run's changes.
    topic = unique_name(f"bench_webhook_changes_{rate}_{os.getpid()}")
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
    stack.psql(f"CREATE SEQUENCE {schema}.ids")
    stack.psql(f"CREATE PUBLICATION {pub} FOR TABLE {schema}.items")
    stack.create_topic(topic)
    tag = tag or f"{rate}"
    with NginxReceiver(workdir, tag) as receiver:
        out = measure(stack, receiver, schema, topic, slot, owner, rate, seconds, workdir, tag, binary)
    out["goal"] = {"feed_p99_ms": out["feed_ms"]["p99"], "webhooks_p99_ms": out["commit_to_webhook_ms"]["p99"],
                   "ratio": ratio(out["commit_to_webhook_ms"]["p99"], out["feed_ms"]["p99"]),
                   "at_most": WEBHOOKS_GOAL}
    out["goal"]["met"] = out["goal"]["ratio"] <= WEBHOOKS_GOAL
    run(["psql", feed_pg, "-X", "-q", "-At", "-c", f"SELECT pg_drop_replication_slot('{slot}')"])
    stack.psql(f"DROP PUBLICATION {pub}")
    return out


def service_counters(hooks):
    """What the webhooks service counted over the stage (warm-up change
    included): its claims, by whether they found an endpoint, the claims
    kept going by reading a queue's next deliveries as the last were stored,
    its consumer's commit wake-ups, the requests, and a request's mean
    duration as the workers time it (curl's perform: an endpoint's queue is
    posted one request at a time, so this bounds its rate), and a consumer
    batch's mean time from its seal to its commit."""
    samples = scrape(hooks.metrics_addr)
    timed = metric_sum(samples, "millrace_webhooks_request_duration_seconds_count")
    batches = metric_sum(samples, "millrace_batch_commit_duration_seconds_count")
    return {"request_mean_ms": (1000 * metric_sum(samples, "millrace_webhooks_request_duration_seconds_sum") / timed
                                if timed else None),
            # The consumer's batches, from their seal to their commit.
            "batch_commit_mean_ms": (1000 * metric_sum(samples, "millrace_batch_commit_duration_seconds_sum") /
                                     batches if batches else None),
            "claims_found": metric_sum(samples, "millrace_webhooks_claims_total", found="yes"),
            "claims_empty": metric_sum(samples, "millrace_webhooks_claims_total", found="no"),
            "continued": metric_sum(samples, "millrace_webhooks_claims_continued_total"),
            "commit_wakeups": metric_sum(samples, "millrace_webhooks_commit_wakeups_total"),
            "requests": metric_sum(samples, "millrace_webhooks_attempts_total"),
            "batch_requests": metric_sum(samples, "millrace_webhooks_batch_requests_total")}


def webhooks_session(application_name, query):
    """Which of millrace-webhooks' PostgreSQL sessions this is, by what it
    runs: its consumer enqueues, its delivery workers claim and read queues,
    its housekeeping counts and prunes them (the listener and the marker
    keep their application_name)."""
    if application_name not in ("millrace-webhooks", "webhooks"):
        return None
    # The consumer's every statement: it reads the endpoints' routing
    # (routing.cpp: before the claims' test below, which it would pass),
    # enqueues, and stores its offsets and outcomes.
    if any(marker in query for marker in ("INSERT INTO webhook_deliveries", "array_to_json(tables)",
                                           "consumer_offsets", "record_outcomes",
                                           "e.format FROM webhook_endpoints e",
                                           "caught_up_at) SELECT $1,")):
        return "webhooks consumer"
    if "count(d.id) FILTER" in query or "DELETE FROM webhook_deliveries" in query:
        return "webhooks housekeeping"
    # pg_stat_activity keeps a statement's first 1,024 bytes (by default):
    # the claim names the endpoints first, a claim's read its deliveries.
    if "webhook_endpoints" in query or "FROM webhook_deliveries d WHERE endpoint_id" in query:
        return "webhooks workers"
    return None


# pg_stat_statements' names for the stage's statements, by a piece of each
# (its constants normalized to $n): the first that matches names it.
STATEMENT_NAMES = (
    # The consumer's own sends (direct.cpp): before the enqueue, whose
    # INSERT the store of what was sent holds too.
    ("e.format FROM webhook_endpoints e", "the consumer's hold of its endpoints"),
    ("r.age_ms", "the consumer's sends stored"),
    ("caught_up_at) SELECT $1,", "the consumer's marks after its sends"),
    ("INSERT INTO webhook_deliveries", "the consumer's enqueue"),
    ("array_to_json(tables)", "the consumer's routing read"),
    ("consumer_offsets", "the consumer's offsets and outcomes"),
    ("record_outcomes", "the consumer's offsets and outcomes"),
    ("WITH nxt AS", "a worker's store and next read"),
    ("WITH held AS", "a worker's store and release"),
    ("h.next_attempt_at FROM webhook_endpoints", "a worker's claim"),
    ("FROM webhook_deliveries d WHERE endpoint_id", "a worker's first read"),
    ("UPDATE webhook_endpoints SET lease", "a worker's lease held or given up"),
    ("UPDATE webhook_deliveries SET", "a worker's failed attempts"),
    (".items SELECT n,", "the source's commits (pgbench)"),
)


def webhooks_statement(query):
    """The name of a statement of the stage (STATEMENT_NAMES); any other on
    the service's tables is counted too, under a name of its own; None for
    the rest."""
    name = next((name for piece, name in STATEMENT_NAMES if piece in query), None)
    if name is None and "webhook_" in query:
        return "the service's other statements"
    return name


def measure(stack, receiver, schema, topic, slot, owner, rate, seconds, workdir, tag, binary=None):
    """The stage's run with the receiver up: the services, the warm-up, the
    load, and each change's legs; then the receiver's round trip."""
    feed_pg = stack.env["MILLRACE_CHANGEFEED_PG"]
    run([os.path.join(BIN, "millrace"), "webhooks", "add", "--url", f"{receiver.url}/hook",
         "--allow-private"], env=owner)
    run([os.path.join(BIN, "millrace"), "webhooks", "add", "--url", f"{receiver.url}/hook-key",
         "--ordering", "key", "--allow-private"], env=owner)
    feed = start_service("millrace-changefeed", {
        "MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGEFEED_PG": feed_pg, "MILLRACE_CHANGES_TOPIC": topic,
        "MILLRACE_CHANGEFEED_SLOT": slot, "MILLRACE_CHANGEFEED_PUBLICATION": schema,
        "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP": f"bench_webhooks_{os.getpid()}_{time.time_ns()}",
        "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}, f"{workdir}/webhooks-{tag}-changefeed.log")
    hooks = start_service("millrace-webhooks", {
        **owner, "MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGES_TOPIC": topic,
        "MILLRACE_WEBHOOKS_GROUP": "bench_webhooks", "MILLRACE_WEBHOOKS_ALLOW_PRIVATE": "true",
        "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}, f"{workdir}/webhooks-{tag}.log", binary)
    listener = None
    try:
        # A slot being made is active before it is consistent, and a change
        # committed before that is never decoded: wait for its position.
        wait_for(lambda: stack.psql(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}' "
                                    f"AND active AND confirmed_flush_lsn IS NOT NULL", record=False) == "1",
                 120, "the change feed to stream")
        wait_assigned([[hooks]], 4, "the webhooks service to join")
        listener = ChangeListener(stack.brokers, topic, os.path.join(workdir, f"webhooks-{tag}-kcat.log"))
        # One change first, not measured: the feed's first Kafka transaction
        # (its coordinator and partition lookups), the consumers' first
        # fetches and the first requests to the receiver are behind it.
        stack.psql(f"INSERT INTO {schema}.items SELECT n, 0, 0, 0, 'warm-up' FROM nextval('{schema}.ids') AS n")
        wait_for(lambda: receiver.count("/hook") and receiver.count("/hook-key"), 120,
                 "the warm-up change to arrive")
        time.sleep(0.5)
        steal_before = cpu_times()
        meter = CpuMeter(stack, {"changefeed": [feed], "webhooks": [hooks], "kcat": [listener.proc]})
        sessions = PgSessionMeter(stack, webhooks_session)
        statements = StatementTimes(stack, webhooks_statement)
        # The WAL the stage writes: the source's commits, the deliveries'
        # rows and what else the stack's database does meanwhile.
        wal_before = stack.superuser_psql("SELECT pg_current_wal_lsn()", record=False).strip()
        wall_before = time.monotonic()
        writer = write_at(stack, schema, rate, seconds, workdir)
        count = int(stack.psql(f"SELECT count(*) FROM {schema}.items")) - 1
        wait_for(lambda: receiver.count("/hook") > count and receiver.count("/hook-key") > count, 600,
                 "every webhook to arrive")
        steal_after = cpu_times()
        cpu = meter.stop()
        postgres_sessions = sessions.stop()
        postgres_statements = statements.stop()
        cpu["pgbench"] = cpu.pop("reaped")
        jit = meter.jit()
        cpu["machine_busy_share"] = round(busy_seconds(steal_before, steal_after) /
                                          (os.cpu_count() * (time.monotonic() - wall_before)), 3)
        time.sleep(0.5)  # the last deliveries are recorded
        served = service_counters(hooks)
        wal_bytes = int(stack.superuser_psql(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal_before}')",
                                             record=False))
    finally:
        stop([hooks, feed])
        if listener:
            listener.close()
    read_at = {}
    for seen, rec in listener.records:
        read_at.setdefault(json.loads(rec["payload"])["id"], (rec["ts"] / 1000, seen))
    deliveries = delivery_times(stack, schema)
    arrivals = receiver.arrivals()
    out = {"rate": rate, "seconds": seconds, "changes": count, "writer": writer,
           "cpu_steal_share": steal_share(steal_before, steal_after), "cpu_seconds": cpu,
           "kafka_jit_cpu_seconds": jit, "service_counters": served,
           "postgres_sessions_cpu_seconds": postgres_sessions, "postgres_statements": postgres_statements,
           "wal_bytes": wal_bytes}
    for path, name in (("hook", "commit_order"), ("hook-key", "key_order")):
        legs, tail, retried = legs_of(arrivals[f"/{path}"][1:count + 1], read_at, deliveries.get(f"/{path}", {}),
                                      f"{tag}-{path}", workdir)
        out[name] = {"commit_to_webhook_ms": percentiles_ms(legs["total"]),
                     "legs_ms": {k: percentiles_ms(legs[k]) for k in ("feed",) + LEGS},
                     "slowest": tail, "retried": retried}
    out["batches"] = batch_cadence({f"/{p}": arrivals[f"/{p}"][1:count + 1] for p in ("hook", "hook-key")},
                                   {f"/{p}": deliveries.get(f"/{p}", {}) for p in ("hook", "hook-key")})
    out["commit_to_webhook_ms"] = out["commit_order"]["commit_to_webhook_ms"]
    out["key_order_commit_to_webhook_ms"] = out["key_order"]["commit_to_webhook_ms"]
    out["feed_ms"] = out["commit_order"]["legs_ms"]["feed"]
    out["commit_over_key_order_p50"] = ratio(out["commit_to_webhook_ms"]["p50"],
                                             out["key_order_commit_to_webhook_ms"]["p50"])
    out["commit_over_key_order_p99"] = ratio(out["commit_to_webhook_ms"]["p99"],
                                             out["key_order_commit_to_webhook_ms"]["p99"])
    sample = stack.psql(f"SELECT body FROM {schema}.webhook_deliveries ORDER BY id DESC LIMIT 1")
    out["receiver_round_trip_ms"] = round_trip_reference(receiver.port, sample.encode(), rate, count)
    out["ratio_p50"] = ratio(out["commit_to_webhook_ms"]["p50"], out["receiver_round_trip_ms"]["p50"])
    out["ratio_p99"] = ratio(out["commit_to_webhook_ms"]["p99"], out["receiver_round_trip_ms"]["p99"])
    return out
