"""The latency stage and the floors it is read against: Kafka's
acknowledgement alone, and hand-offs between idle threads.
"""

import json
import os
import time

from ..common import BIN, run, wait_for
from ..cpu import WakeProbe, cpu_times, steal_share
from ..stack import start_service, stop, stored, wait_assigned, workers_env


# A store_events row's commit time (of `e`), from PostgreSQL's commit timestamps.
COMMITTED = "pg_xact_commit_timestamp(e.xmin)"


def bench_latency(stack, rate, seconds, workdir, topic="bench_latency"):
    schema = topic
    # The broker stamps each record with its append time, so the latency
    # can be split there (see split_at_append).
    stack.create_topic(topic, config=("message.timestamp.type=LogAppendTime",))
    stack.create_topic(topic + ".dlq")
    stack.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    run([os.path.join(BIN, "millrace"), "migrate"], env={"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": schema})
    procs = [start_service("millrace-sink", workers_env(stack, topic, schema, "sink"), f"{workdir}/{topic}-{i}.log")
             for i in (1, 2)]
    wait_assigned([procs], 4, "sinks to join")
    # A member that has just been assigned its partitions holds the first
    # events for a moment, which would dominate the stage's tail: that is
    # start-up, not the steady state this stage measures.
    time.sleep(1)
    count = int(rate * seconds)
    cpu_before = cpu_times()
    with WakeProbe() as probe:
        run([os.path.join(BIN, "millrace"), "produce", "--count", str(count), "--rate", str(rate), "--seed", "3"],
            env={"MILLRACE_BROKERS": stack.brokers, "MILLRACE_TOPIC": topic})
        wait_for(lambda: stored(stack, schema, "sink") >= count, 300, "latency run to commit")
    steal = steal_share(cpu_before, cpu_times())
    stop(procs)
    # Event time is set when the CLI creates the message; the row's commit
    # time is its transaction's, which PostgreSQL records because the stack
    # runs with track_commit_timestamp (ingested_at is when that transaction
    # began, so it would leave the COPY and the commit itself out).
    row = stack.psql(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), "
        f"max(l), count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY c), percentile_cont(0.99) WITHIN GROUP (ORDER BY c) "
        f"FROM (SELECT extract(epoch FROM {COMMITTED} - ts) * 1000 AS l, "
        f"extract(epoch FROM {COMMITTED} - ingested_at) * 1000 AS c FROM {schema}.store_events e) x")
    p50, p99, pmax, rows, c50, c99 = row.split("|")
    return {"rate": rate, "seconds": seconds, "rows": int(rows), "p50_ms": float(p50), "p99_ms": float(p99),
            "max_ms": float(pmax), "transaction_ms": {"p50": float(c50), "p99": float(c99)},
            "cpu_steal_share": steal, "wake_probe": probe.result, **split_at_append(stack, topic, schema, workdir)}


# The producer settings millrace-producer and the CLI use (linger.ms is their
# default), then the broker's floor: every message its own request.
ACK_REFERENCE_LINGERS = (5, 0)


def bare_produce(stack, topic, payloads, rate, seconds, linger):
    """millrace-bench-paced-produce (bench/paced_produce.cpp) on a topic of its
    own, with the service's producer settings but `linger`; rate 0 is flat out.
    Returns its JSON summary."""
    stack.create_topic(topic)
    out = run([os.path.join(BIN, "millrace-bench-paced-produce"), "--brokers", stack.brokers, "--topic", topic,
               "--payloads", payloads, "--rate", str(rate), "--seconds", str(seconds),
               "--warmup-seconds", "2", "-X", "acks=all", "-X", "enable.idempotence=true",
               "-X", f"linger.ms={linger}"]).stdout
    return json.loads(out)


def bench_ack_reference(stack, data, rate, seconds, linger):
    """Kafka's acknowledgement alone at a fixed rate: a bare librdkafka
    producer sends the same payloads on a schedule, on a topic of its own,
    and times each message from its slot to its delivery report."""
    with WakeProbe() as probe:
        result = bare_produce(stack, "bench_ack_ref", data, rate, seconds, linger)
    result["linger_ms"] = linger
    result["wake_probe"] = probe.result
    return result


# Threads between the pacer and the timer in the hand-off floor, with what
# their wake-ups (two more: the pacer's and the timer's) stand for.
HANDOFF_CHAINS = (
    (1, "a request and its answer between two threads"),
    # wrk's timer, the server, the broker's network thread, one of its
    # request threads, its network thread again, the server, wrk.
    (5, "the fewest an HTTP request acknowledged by a Kafka broker can need"),
    # wrk's timer, then the nine hand-offs render_wake_floor lists.
    (8, "what an acknowledged request to `millrace-producer` needs"),
)


def bench_handoff_floor(rate, seconds):
    """Tokens paced at `rate` through chains of ordinary threads that do
    nothing else (millrace-bench-wake-probe --chain): what handing a request
    from thread to thread alone costs on this machine."""
    chains = []
    for n, meaning in HANDOFF_CHAINS:
        chain = json.loads(run([os.path.join(BIN, "millrace-bench-wake-probe"), "--chain", str(n), "--rate", str(rate),
                                "--seconds", str(seconds)]).stdout)
        chain["stands_for"] = meaning
        chains.append(chain)
    return chains


def split_at_append(stack, topic, schema, workdir):
    """The latency's two legs, split at the broker's append time (the topic
    uses LogAppendTime): event creation to the record's append, in the CLI's
    librdkafka and the broker's produce path; append to the committed row, in
    the sinks and PostgreSQL. Both clocks are this machine's."""
    stamps = os.path.join(workdir, topic + "-append-times.tsv")
    with open(stamps, "w") as f:
        run(["kcat", "-b", stack.brokers, "-C", "-t", topic, "-e", "-q", "-f", "%p\t%o\t%T\n"], stdout=f)
    stack.psql(f"CREATE TABLE {schema}.append_times (p int, o bigint, t_ms bigint)")
    run(["psql", stack.pg, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         f"\\copy {schema}.append_times FROM '{stamps}'"])
    legs = {"to_append": "k.t_ms - extract(epoch FROM e.ts) * 1000",
            "append_to_row": f"extract(epoch FROM {COMMITTED}) * 1000 - k.t_ms"}
    out = {}
    for name, expr in legs.items():
        row = stack.psql(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), "
            f"max(l) FROM (SELECT {expr} AS l FROM {schema}.store_events e JOIN {schema}.append_times k "
            "ON k.p = e.kafka_partition AND k.o = e.kafka_offset) x")
        p50, p99, pmax = (float(v) for v in row.split("|"))
        out[name + "_ms"] = {"p50": p50, "p99": p99, "max": pmax}
    return out
