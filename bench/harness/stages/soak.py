"""The soak: a fixed rate for many minutes, with retention dropping
partitions as it goes.
"""

import os
import subprocess
import time

from ..common import BIN, COMMANDS, dir_bytes, histogram_percentile, log, ratio
from ..cpu import CpuMeter, cpu_times, steal_share
from ..stack import fresh_schema, metric_from_log, start_service, stop, stored, wait_assigned, workers_env


# The soak's layout: partitions this many minutes wide, kept this many
# minutes, so that retention drops a partition every few minutes of a run.
SOAK_PARTITION_MINUTES = 2
SOAK_RETENTION_MINUTES = 6


def bench_soak(stack, rate, minutes, workdir):
    """A fixed rate for `minutes`, through two sinks and the aggregator, with
    retention dropping partitions as it goes: the store's partitions are
    SOAK_PARTITION_MINUTES wide and kept SOAK_RETENTION_MINUTES, and the
    aggregator's dedup horizon and the topic's retention are as short, so
    every table and log should stop growing once retention starts.

    Every 30 s it records the sizes (the store's partitions, the whole
    database, PostgreSQL's data directory with its WAL, Kafka's data) and
    the event-to-row latency of every row whose event time fell in the
    window since the last sample (ending 15 s back, so its rows are
    committed), as a histogram at 0.1 ms: the rows themselves are dropped a
    few minutes later."""
    topic = schema = "bench_soak"
    keep_s = SOAK_RETENTION_MINUTES * 60
    sinks, aggregator = start_workers(stack, topic, schema, keep_s, workdir)
    procs = sinks + [aggregator]
    count = rate * minutes * 60
    db_now = lambda: float(stack.psql("SELECT extract(epoch FROM clock_timestamp())", record=False))
    start = db_now()
    cmd = [os.path.join(BIN, "millrace"), "produce", "--count", str(count), "--rate", str(rate), "--seed", "5"]
    COMMANDS.append(f"MILLRACE_TOPIC={topic} " + " ".join(cmd))
    producer = subprocess.Popen(cmd, env=dict(os.environ, MILLRACE_BROKERS=stack.brokers, MILLRACE_TOPIC=topic),
                                stdout=subprocess.DEVNULL, stderr=open(f"{workdir}/{topic}-produce.log", "w"))
    meter = CpuMeter(stack, {"sinks": sinks, "aggregator": [aggregator]})
    samples, windows = [], []
    lo = start
    cpu_before = cpu_times()
    while True:
        time.sleep(30)
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"bench: a soak worker exited ({p.returncode}); see {workdir}/{topic}-*.log")
        now = db_now()
        finished = producer.poll() is not None
        done = finished and stored(stack, schema, "sink") >= count and stored(stack, schema, "agg") >= count
        hi = now if done else now - 15
        windows.append(latency_window(stack, schema, lo, hi, start))
        lo = hi
        samples.append(size_sample(stack, schema, now - start))
        log(f"soak: {samples[-1]['at_s']:.0f} s, {samples[-1]['stored_offsets']:,} of {count:,} stored, "
            f"{samples[-1]['partitions']} partitions, store {samples[-1]['store_bytes'] / 1e6:.0f} MB")
        if done:
            break
        if now - start > minutes * 60 + 600:
            raise SystemExit("bench: the soak's workers fell more than 10 minutes behind")
    steal = steal_share(cpu_before, cpu_times())
    cpu = meter.stop()
    if producer.returncode != 0:
        raise SystemExit(f"bench: the soak's producer failed ({producer.returncode})")
    stop(procs)
    accounting = stack.psql(
        "SELECT coalesce(sum(persisted), 0), coalesce(sum(expired), 0), coalesce(sum(unaccounted), 0) "
        f"FROM {schema}.partition_accounting WHERE group_id = 'sink'").split("|")
    dropped = sum(metric_from_log(f"{workdir}/{topic}-sink-{i}.log") for i in (1, 2))
    first, last, histogrammed = summarize_windows(windows, minutes * 60)
    return {"rate": rate, "minutes": minutes, "events": count, "partition_minutes": SOAK_PARTITION_MINUTES,
            "retention_minutes": SOAK_RETENTION_MINUTES, "first_5_min": first, "last_5_min": last,
            "p99_last_over_first": ratio(last["p99_ms"], first["p99_ms"]), "windows": windows,
            "samples": samples, "persisted": int(accounting[0]), "expired": int(accounting[1]),
            "unaccounted": int(accounting[2]), "rows_measured": histogrammed, "partitions_dropped": dropped,
            "cpu_seconds": cpu, "cpu_steal_share": steal}


def start_workers(stack, topic, schema, keep_s, workdir):
    """The soak's topic and schema, its store in narrow partitions, and its
    two sinks and aggregator, once they hold their partitions."""
    stack.create_topic(topic, config=(f"retention.ms={2 * keep_s * 1000}", "segment.ms=60000"))
    stack.create_topic(topic + ".dlq")
    fresh_schema(stack, schema)
    # migrate made day-wide partitions around now; they go, and the sinks
    # make the narrow ones.
    stack.psql(f"SET search_path TO {schema}; DO $$ DECLARE p record; BEGIN "
               "FOR p IN SELECT name FROM store_partitions WHERE table_name = 'store_events' LOOP "
               "EXECUTE format('DROP TABLE %I', p.name); END LOOP; "
               f"DELETE FROM store_partitions WHERE table_name = 'store_events'; UPDATE store_layout SET partition_minutes = {SOAK_PARTITION_MINUTES}; "
               "END $$")
    sink_env = {"MILLRACE_BATCH_MS": "10", "MILLRACE_STORE_RETENTION_DAYS": repr(keep_s / 86400),
                "MILLRACE_STORE_AHEAD_DAYS": repr(10 / 1440), "MILLRACE_STORE_MAINTAIN_S": "15"}
    sinks = [start_service("millrace-sink", workers_env(stack, topic, schema, "sink", sink_env),
                           f"{workdir}/{topic}-sink-{i}.log") for i in (1, 2)]
    aggregator = start_service("millrace-aggregator",
                               workers_env(stack, topic, schema, "agg", {"MILLRACE_MAX_LATENESS_S": str(keep_s)}),
                               f"{workdir}/{topic}-agg.log")
    wait_assigned([sinks, [aggregator]], 4, "the soak's workers to join")
    time.sleep(1)
    return sinks, aggregator


def latency_window(stack, schema, lo, hi, start):
    """The event-to-row latency of the rows whose event time is in [lo, hi),
    as a histogram at 0.1 ms."""
    rows = stack.psql(
        "SELECT round((extract(epoch FROM pg_xact_commit_timestamp(e.xmin) - e.ts) * 1000)::numeric, 1), count(*) "
        f"FROM {schema}.store_events e WHERE e.ts >= to_timestamp({lo}) AND e.ts < to_timestamp({hi}) GROUP BY 1",
        record=False)
    hist = {}
    for line in rows.splitlines():
        value, n = line.split("|")
        hist[float(value)] = int(n)
    return {"from_s": round(lo - start, 1), "to_s": round(hi - start, 1), "histogram": hist}


def size_sample(stack, schema, at_s):
    """The store's, the database's, PostgreSQL's and Kafka's sizes now."""
    pgdata = os.path.join(stack.state, "pgdata")
    kafka_data = os.path.join(stack.state, "kafka-data")
    sizes = stack.psql(
        f"SELECT coalesce(sum(pg_total_relation_size(format('{schema}.%I', name)::regclass)), 0), count(*), "
        f"(SELECT count(*) FROM {schema}.store_events), pg_database_size(current_database()), "
        f"(SELECT pg_total_relation_size('{schema}.aggregator_seen_ids')) FROM {schema}.store_partitions "
        "WHERE table_name = 'store_events'",
        record=False).split("|")
    return {"at_s": round(at_s, 1), "store_bytes": int(sizes[0]), "partitions": int(sizes[1]),
            "store_rows": int(sizes[2]), "database_bytes": int(sizes[3]),
            "seen_ids_bytes": int(sizes[4]), "pgdata_bytes": dir_bytes(pgdata),
            "kafka_bytes": dir_bytes(kafka_data), "stored_offsets": stored(stack, schema, "sink")}


def summarize_windows(windows, span):
    """The first and last 5 minutes' latency, from the windows' histograms,
    which it then replaces with each window's rows and p99 (the report keeps
    the figures, not the histograms); and the rows measured."""

    def window_stats(lo_s, hi_s):
        hist = {}
        for w in windows:
            if w["from_s"] >= lo_s - 1e-6 and w["to_s"] <= hi_s + 1e-6:
                for v, n in w["histogram"].items():
                    hist[v] = hist.get(v, 0) + n
        return {"rows": sum(hist.values()), "p50_ms": histogram_percentile(hist, 0.5),
                "p99_ms": histogram_percentile(hist, 0.99), "max_ms": max(hist) if hist else None}

    first = window_stats(0, 300)
    last = window_stats(span - 300, float("inf"))
    for w in windows:
        w["rows"] = sum(w["histogram"].values())
        w["p99_ms"] = histogram_percentile(w["histogram"], 0.99)
        del w["histogram"]
    return first, last, sum(w["rows"] for w in windows)
