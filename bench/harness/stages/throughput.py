"""The bulk stages: produce, end to end and drain, with their references
(Kafka's ProducerPerformance and ConsumerPerformance, PostgreSQL COPY).
"""

import json
import os
import re
import time

from ..common import BIN, run, unique_name, wait_for
from ..cpu import CpuMeter
from ..stack import copy_columns, fresh_schema, start_service, stop, stored, wait_assigned, workers_env


def bench_producer_reference(stack, data, n, size):
    topic = "bench_ref_produce"
    stack.create_topic(topic)
    # ProducerPerformance holds every payload in memory and sends random ones:
    # the first 100,000 messages give it the same size mix in a modest heap.
    sample = data + ".sample"
    with open(data) as src, open(sample, "w") as dst:
        for i, line in enumerate(src):
            if i == 100_000:
                break
            dst.write(line)
    out = stack.kafka_tool("org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                           "--num-records", str(n), "--payload-file", sample, "--throughput", "-1",
                           "--producer-props", f"bootstrap.servers={stack.brokers}", "acks=all",
                           "enable.idempotence=true", "linger.ms=5").stdout
    m = re.findall(r"(\d+) records sent, ([\d.]+) records/sec", out)
    return float(m[-1][1])


def cli_produce_seconds(stack, data, topic):
    """Runs `millrace produce --file` and returns the duration its summary
    line reports."""
    out = run([os.path.join(BIN, "millrace"), "produce", "--file", data],
              env={"MILLRACE_BROKERS": stack.brokers, "MILLRACE_TOPIC": topic}).stdout
    return json.loads(out.strip().splitlines()[-1])["duration_seconds"]


def bench_cli_produce(stack, data, n):
    """`millrace produce --file` alone, on a topic of its own with nothing
    consuming it: the same conditions as ProducerPerformance, run next to
    it. (The end-to-end stage produces while the workers consume, which is
    a different machine load.)"""
    topic = "bench_produce"
    stack.create_topic(topic)
    return n / cli_produce_seconds(stack, data, topic)


def bench_consumer_reference(stack, topic, n):
    return consumer_perf(stack, topic, n)["records_per_s"]


def consumer_perf(stack, topic, n):
    """Kafka's ConsumerPerformance reading `n` records of `topic`: records/s
    and MB/s (10^6 bytes of payload)."""
    out = stack.kafka_tool("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server",
                           stack.brokers, "--topic", topic, "--messages", str(n),
                           "--timeout", "60000").stdout
    # CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 6 and re.match(r"^\d{4}-", parts[0]):
            # MB.sec is in MiB (2^20) per second.
            return {"records_per_s": float(parts[5]), "mb_per_s": float(parts[3]) * (1 << 20) / 1e6}
    raise SystemExit("bench: could not parse ConsumerPerformance output:\n" + out)


def bench_copy_reference(stack, rows_file, rows):
    fresh_schema(stack, "bench_copy")
    columns = copy_columns(stack, "bench_copy")
    t0 = time.monotonic()
    run(["psql", stack.pg, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         f"\\copy bench_copy.store_events ({columns}) FROM '{rows_file}'"])
    return rows / (time.monotonic() - t0)


def pipeline_run(stack, data, n, topic, workdir):
    """Produces `data` with the CLI while two sinks and an aggregator run, on a
    fresh topic and schema; the clock stops when both groups have committed
    every offset."""
    results = {}
    schema = topic
    # The broker stamps each record with its append time, so the latency
    # can be split there (see split_at_append).
    stack.create_topic(topic, config=("message.timestamp.type=LogAppendTime",))
    stack.create_topic(topic + ".dlq")
    fresh_schema(stack, schema)
    sinks = [start_service("millrace-sink", workers_env(stack, topic, schema, "sink"), f"{workdir}/{topic}-sink-{i}.log")
             for i in (1, 2)]
    aggregator = start_service("millrace-aggregator", workers_env(stack, topic, schema, "agg"),
                               f"{workdir}/{topic}-agg.log")
    procs = sinks + [aggregator]
    wait_assigned([sinks, [aggregator]], 4, "workers to join")
    meter = CpuMeter(stack, {"sinks": sinks, "aggregator": [aggregator]})
    t0 = time.monotonic()
    results["produce_events_per_s"] = n / cli_produce_seconds(stack, data, topic)
    end = wait_for(lambda: stored(stack, schema, "sink") >= n and stored(stack, schema, "agg") >= n,
                   3600, "the pipeline to commit everything")
    results["e2e_events_per_s"] = n / (end - t0)
    results["e2e_seconds"] = end - t0
    # Only the CLI producer is reaped (and so counted there) during the stage.
    cpu = meter.stop()
    cpu["producer"] = cpu.pop("reaped")
    results["e2e_cpu_seconds"] = cpu
    results["kafka_jit_cpu_seconds"] = meter.jit()
    results["kept_rows"] = int(stack.psql(f"SELECT count(*) FROM {schema}.store_events"))
    stop(procs)
    return results


def bench_millrace(stack, data, n, workdir):
    """End to end on a fresh topic, then drain that topic with a new group."""
    topic = unique_name("bench_e2e")
    results = pipeline_run(stack, data, n, topic, workdir)
    results["topic"] = topic

    # Drain: the data is already in Kafka (that topic); a new group reads it all.
    results["drain_events_per_s"] = drain_run(stack, topic, n, unique_name("bench_drain"),
                                              workdir)["events_per_s"]
    return results


def drain_run(stack, topic, n, schema, workdir, extra=None, prepare=None, fresh=True):
    """Two sinks in a new group (named as the schema) read the first `n`
    events of `topic`, already in Kafka, into `schema`, migrated afresh (then
    `prepare(schema)`, when given); `extra` adds to the sinks' environment.
    The clock runs from their start until the stored offsets reach `n`.
    Returns the rate and the CPU seconds spent meanwhile (the sinks',
    PostgreSQL's, Kafka's). With `fresh` false the schema is used as it is."""
    if fresh:
        fresh_schema(stack, schema)
    if prepare:
        prepare(schema)
    sinks = []  # started after the meter's first sample: all their CPU is the stage's
    meter = CpuMeter(stack, {"sinks": sinks})
    t0 = time.monotonic()
    sinks += [start_service("millrace-sink", workers_env(stack, topic, schema, schema, extra),
                            f"{workdir}/{schema}-sink-{i}.log") for i in (1, 2)]

    first = []  # when the first offsets were stored: the start's fixed costs (joining, loading) end there

    def drained():
        for i, p in enumerate(sinks, 1):
            if p.poll() is not None:
                raise SystemExit(f"bench: a sink exited ({p.returncode}); see {workdir}/{schema}-sink-{i}.log")
        done = stored(stack, schema, schema)
        if done and not first:
            first.extend((time.monotonic(), done))
        return done >= n

    end = wait_for(drained, 3600, f"the sinks to drain {topic} into {schema}")
    cpu = meter.stop()
    cpu.pop("reaped")
    stop(sinks)
    # After the first stored offsets: the rate without the start's fixed costs
    # (None when the first poll that saw any saw them all).
    after_first = (n - first[1]) / (end - first[0]) if end > first[0] and n > first[1] else None
    return {"events_per_s": n / (end - t0), "seconds": end - t0, "first_commit_seconds": first[0] - t0,
            "after_first_commit_events_per_s": after_first, "cpu_seconds": cpu}
