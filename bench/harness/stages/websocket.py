"""The websocket stage (issue 78): millrace-websocket reading a Finnhub-shaped
feed into Kafka, against a reference client on the same stream
(bench/websocket/reference_client.py: PyPI's websockets and confluent-kafka),
and the feed's server against a null client first, so that the server is
known not to be the bound. Then the latency at a fixed rate, from a frame's
arrival to Kafka's acknowledgement of its last record (the source's own
millrace_websocket_frame_ack_seconds), against a bare producer's
acknowledgement at the same rate of records (bench/paced_produce.cpp).
"""

import json
import os
import signal
import subprocess
import sys
import time

from pysupport import free_port, metric_samples, scrape

from ..common import COMMANDS, REPO, log, ratio, run, unique_name, wait_for
from ..cpu import CpuMeter, WakeProbe, cpu_seconds, cpu_times, steal_share
from ..stack import fresh_schema, served_metric, start_service, stop
from ..websocket_client import ensure_client
from .latency import bare_produce


HERE = os.path.join(REPO, "bench", "websocket")
# The feed's symbols, as feed_server.py draws them: each is subscribed to.
SYMBOLS = ("BINANCE:BTCUSDT,BINANCE:ETHUSDT,BINANCE:SOLUSDT,BINANCE:XRPUSDT,BINANCE:DOGEUSDT,AAPL,MSFT,NVDA,AMZN,"
           "GOOGL,META,TSLA,AMD,NFLX,INTC,OANDA:EUR_USD,OANDA:GBP_USD,OANDA:USD_JPY,IC MARKETS:1,KRAKEN:XBTUSD")
# Frames/s of the latency run, as issue 78 sets it.
WEBSOCKET_LATENCY_RATE = 1000
# The latency run's first seconds, not measured (the connection's and the
# producer's first batches).
LATENCY_WARMUP_SECONDS = 2


def statuses(path):
    """The JSON lines a feed_server.py or a client appended to `path`."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def status_of(path, key):
    """The first status line of `path` holding `key`, or None."""
    return next((s for s in statuses(path) if key in s), None)


def generate_stream(frames, workdir, tag):
    """A stream of `frames` Finnhub frames (feed_server.py --generate) and
    its trades, one JSON line each: {"stream", "records_file", "frames",
    "records", "bytes"}."""
    stream = os.path.join(workdir, f"websocket-{tag}.frames")
    records = os.path.join(workdir, f"websocket-{tag}-trades.ndjson")
    out = json.loads(run([sys.executable, os.path.join(HERE, "feed_server.py"), "--generate", str(frames),
                          "--stream", stream, "--records", records]).stdout)
    return dict(out, stream=stream, records_file=records)


class Feed:
    """feed_server.py (or library_server.py) serving `stream` to one client
    on a free port, its status lines in `workdir`."""

    def __init__(self, stream, workdir, tag, rate=0, server="feed_server.py", python=sys.executable):
        self.port = free_port()
        self.status = os.path.join(workdir, f"websocket-{tag}-server.jsonl")
        if os.path.exists(self.status):
            os.remove(self.status)
        cmd = [python, os.path.join(HERE, server), "--port", str(self.port), "--stream", stream,
               "--status", self.status]
        if rate:
            cmd += ["--rate", str(rate)]
        COMMANDS.append(" ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=open(os.path.join(workdir, f"websocket-{tag}-server.log"), "w"),
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: status_of(self.status, "listening") or self.proc.poll() is not None, 120,
                 f"the feed ({server}) to listen")
        if self.proc.poll() is not None:
            raise SystemExit(f"bench: {server} exited ({self.proc.returncode}); see websocket-{tag}-server.log")
        self.url = f"ws://127.0.0.1:{self.port}/"

    def wait_subscribed(self, client):
        wait_for(lambda: status_of(self.status, "subscribed") or client.poll() is not None, 60,
                 "the client to subscribe")
        if client.poll() is not None:
            raise SystemExit(f"bench: the websocket stage's client exited ({client.returncode}) before subscribing")

    def start(self):
        """Starts the stream (SIGUSR1): the server stamps its first write itself."""
        self.proc.send_signal(signal.SIGUSR1)

    def sent(self, timeout=600):
        """The server's last status: first_sent and last_sent, once the stream is written."""
        wait_for(lambda: status_of(self.status, "last_sent"), timeout, "the feed to write its stream")
        return status_of(self.status, "last_sent")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def client_status(path, key, proc, timeout, what):
    """Waits for a client's status line holding `key`; fails if it exits first."""
    wait_for(lambda: status_of(path, key) or proc.poll() is not None, timeout, what)
    line = status_of(path, key)
    if line is None:
        raise SystemExit(f"bench: {what}: the client exited ({proc.returncode}) first")
    return line


def null_client_run(feed_stream, workdir, tag, server="feed_server.py", python=sys.executable):
    """The server flat out to the null client: frames/s it can give, and its CPU."""
    feed = Feed(feed_stream["stream"], workdir, tag, server=server, python=python)
    status = os.path.join(workdir, f"websocket-{tag}-client.jsonl")
    if os.path.exists(status):
        os.remove(status)
    cmd = [sys.executable, os.path.join(HERE, "null_client.py"), "--port", str(feed.port),
           "--bytes", str(feed_stream["bytes"]), "--status", status]
    COMMANDS.append(" ".join(cmd))
    client = subprocess.Popen(cmd)
    try:
        feed.wait_subscribed(client)
        server_cpu = cpu_seconds(feed.proc.pid)
        feed.start()
        done = client_status(status, "done", client, 600, "the null client to read the stream")
        sent = feed.sent()
        server_cpu = cpu_seconds(feed.proc.pid) - server_cpu
    finally:
        client.wait(timeout=60)
        feed.stop()
    seconds = done["done"] - sent["first_sent"]
    return {"frames": feed_stream["frames"], "seconds": round(seconds, 3),
            "frames_per_s": round(feed_stream["frames"] / seconds, 1),
            "server_cpu_seconds": round(server_cpu, 2)}


def source_env(stack, topic, schema, url, name):
    return {"MILLRACE_BROKERS": stack.brokers, "MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": schema,
            "MILLRACE_TRADES_TOPIC": topic, "MILLRACE_TRADES_DLQ_TOPIC": topic + ".dlq",
            "MILLRACE_WEBSOCKET_URL": url, "MILLRACE_WEBSOCKET_FEED": "finnhub",
            "MILLRACE_WEBSOCKET_SYMBOLS": SYMBOLS, "MILLRACE_WEBSOCKET_SOURCE_NAME": name,
            "MILLRACE_CLIENT_ID": name, "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}


def source_counts(proc):
    """The source's frame counts, from its metrics."""
    samples = scrape(proc.metrics_addr, timeout=5)
    return {k: sum(metric_samples(samples, f"millrace_websocket_frames_{k}_total"))
            for k in ("received", "produced", "refused", "control", "lost")}


def millrace_run(stack, feed_stream, schema, workdir, tag):
    """millrace-websocket reading the stream flat out: timed from the
    server's first write to the scrape (every 50 ms) that shows every frame
    produced, i.e. all its records acknowledged."""
    topic = unique_name("bench_websocket")
    stack.create_topic(topic)
    stack.create_topic(topic + ".dlq")
    feed = Feed(feed_stream["stream"], workdir, tag)
    proc = start_service("millrace-websocket", source_env(stack, topic, schema, feed.url, topic),
                         os.path.join(workdir, f"websocket-{tag}-source.log"))
    frames = feed_stream["frames"]
    try:
        feed.wait_subscribed(proc)
        meter = CpuMeter(stack, {"millrace-websocket": [proc], "server": [feed.proc]})
        feed.start()
        produced = lambda: (served_metric(proc, "millrace_websocket_frames_produced_total") or 0) >= frames
        wait_for(lambda: produced() or proc.poll() is not None, 600, "millrace-websocket to produce the stream")
        end = time.time()
        cpu = meter.stop()
        sent = feed.sent()
        counts = source_counts(proc)
    finally:
        if proc.poll() is None:
            stop([proc])
        feed.stop()
    if counts["produced"] != frames or counts["lost"] or counts["refused"]:
        raise SystemExit(f"bench: millrace-websocket did not produce the stream whole: {counts}")
    seconds = end - sent["first_sent"]
    return {"topic": topic, "frames": frames, "records": feed_stream["records"], "seconds": round(seconds, 3),
            "frames_per_s": round(frames / seconds, 1), "cpu_seconds": cpu,
            "client_cpu_seconds": cpu["millrace-websocket"],
            "frames_per_cpu_s": round(frames / cpu["millrace-websocket"], 1) if cpu["millrace-websocket"] else None}


def reference_run(stack, feed_stream, python, workdir, tag):
    """The reference client reading the same stream flat out: timed from the
    server's first write to its flush's return (every record acknowledged)."""
    topic = unique_name("bench_websocket_ref")
    stack.create_topic(topic)
    feed = Feed(feed_stream["stream"], workdir, tag)
    status = os.path.join(workdir, f"websocket-{tag}-client.jsonl")
    if os.path.exists(status):
        os.remove(status)
    frames = feed_stream["frames"]
    cmd = [python, os.path.join(HERE, "reference_client.py"), "--url", feed.url, "--brokers", stack.brokers,
           "--topic", topic, "--frames", str(frames), "--symbols", SYMBOLS, "--status", status]
    COMMANDS.append(" ".join(cmd))
    client = subprocess.Popen(cmd, stdout=open(os.path.join(workdir, f"websocket-{tag}-client.log"), "w"),
                              stderr=subprocess.STDOUT)
    try:
        feed.wait_subscribed(client)
        meter = CpuMeter(stack, {"reference": [client], "server": [feed.proc]})
        feed.start()
        done = client_status(status, "done", client, 600, "the reference client to produce the stream")
        cpu = meter.stop()
        sent = feed.sent()
    finally:
        client.wait(timeout=60)
        feed.stop()
    if done["frames"] != frames or done["records"] != feed_stream["records"] or done["failed"]:
        raise SystemExit(f"bench: the reference client did not produce the stream whole: {done}")
    seconds = done["done"] - sent["first_sent"]
    return {"topic": topic, "frames": frames, "records": done["records"], "seconds": round(seconds, 3),
            "frames_per_s": round(frames / seconds, 1), "cpu_seconds": cpu,
            "client_cpu_seconds": cpu["reference"],
            "frames_per_cpu_s": round(frames / cpu["reference"], 1) if cpu["reference"] else None}


HISTOGRAM = "millrace_websocket_frame_ack_seconds"


def buckets(proc):
    """The frame-to-acknowledgement histogram's cumulative buckets: {le: count}."""
    samples = scrape(proc.metrics_addr, timeout=5)
    out = {}
    for (name, labels), value in samples.items():
        if name == HISTOGRAM + "_bucket":
            le = dict(labels)["le"]
            out[float("inf") if le == "+Inf" else float(le)] = value
    return out


def histogram_quantile(before, after, q):
    """The q-th quantile (0..1) of the observations between two readings of
    a cumulative histogram, as Prometheus's histogram_quantile computes it:
    linear within the bucket it falls in. Returns (value, (lower, upper))
    in seconds: the estimate and its bucket's bounds."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0) for b in bounds]
    total = counts[-1]
    if not total:
        return None, None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts):
        if count >= rank:
            if bound == float("inf"):
                return lower, (lower, bound)
            return lower + (bound - lower) * (rank - below) / (count - below), (lower, bound)
        lower, below = bound, count
    return None, None


def millrace_latency(stack, feed_stream, rate, seconds, schema, workdir, tag):
    """millrace-websocket fed at `rate` frames/s: after LATENCY_WARMUP_SECONDS,
    the frames' time from arrival to their last record's acknowledgement, from
    its histogram's buckets (read before and after the measured frames)."""
    topic = unique_name("bench_websocket_latency")
    stack.create_topic(topic)
    stack.create_topic(topic + ".dlq")
    feed = Feed(feed_stream["stream"], workdir, tag, rate=rate)
    proc = start_service("millrace-websocket", source_env(stack, topic, schema, feed.url, topic),
                         os.path.join(workdir, f"websocket-{tag}-source.log"))
    frames = feed_stream["frames"]
    cpu_before = cpu_times()
    try:
        feed.wait_subscribed(proc)
        with WakeProbe() as probe:
            feed.start()
            started = time.monotonic()
            # The warm-up's frames are acknowledged before the reading: at
            # this rate a frame is answered within milliseconds.
            time.sleep(LATENCY_WARMUP_SECONDS)
            before = buckets(proc)
            sent = feed.sent(timeout=seconds + LATENCY_WARMUP_SECONDS + 120)
            wait_for(lambda: (served_metric(proc, "millrace_websocket_frames_produced_total") or 0) >= frames,
                     120, "millrace-websocket to produce the paced stream")
            after = buckets(proc)
            elapsed = time.monotonic() - started
        counts = source_counts(proc)
    finally:
        if proc.poll() is None:
            stop([proc])
        feed.stop()
    steal = steal_share(cpu_before, cpu_times())
    if counts["produced"] != frames or counts["lost"] or counts["refused"]:
        raise SystemExit(f"bench: millrace-websocket did not produce the paced stream whole: {counts}")
    out = {"rate": rate, "seconds": seconds, "frames": frames, "records": feed_stream["records"],
           "measured_frames": int(after[float("inf")] - before.get(float("inf"), 0)),
           "sent_seconds": round(sent["last_sent"] - sent["first_sent"], 3), "elapsed_s": round(elapsed, 3),
           "cpu_steal_share": steal, "wake_probe": probe.result}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        value, bounds = histogram_quantile(before, after, q)
        out[name + "_ms"] = round(value * 1000, 3)
        out[name + "_bucket_ms"] = [round(b * 1000, 3) if b != float("inf") else None for b in bounds]
    return out


def websocket_warmup(stack, feed_stream, python, workdir):
    """Both clients once over the stream, not measured: their frames/s."""
    schema = "bench_websocket_warmup"
    fresh_schema(stack, schema)
    mr = millrace_run(stack, feed_stream, schema, workdir, "warmup-millrace")
    ref = reference_run(stack, feed_stream, python, workdir, "warmup-reference")
    return {"millrace_frames_per_s": mr["frames_per_s"], "reference_frames_per_s": ref["frames_per_s"],
            "kafka_cpu_seconds": round(mr["cpu_seconds"]["kafka"] + ref["cpu_seconds"]["kafka"], 1)}


def bench_websocket(stack, feed_stream, latency_stream, python, rate, seconds, workdir):
    """One repetition: the server against the null client, millrace-websocket
    and the reference client on the same stream, then the latency at `rate`
    frames/s against a bare producer's acknowledgement at the same rate of
    records."""
    schema = "bench_websocket"
    fresh_schema(stack, schema)
    log("  the feed flat out to a null client (the server's bound)")
    null = null_client_run(feed_stream, workdir, "null")
    log("  millrace-websocket flat out")
    mr = millrace_run(stack, feed_stream, schema, workdir, "millrace")
    log("  the reference client (websockets + confluent-kafka) flat out")
    ref = reference_run(stack, feed_stream, python, workdir, "reference")
    log(f"  millrace-websocket at {rate:,} frames/s: frame to acknowledgement")
    stack.checkpoint()
    lat = millrace_latency(stack, latency_stream, rate, seconds, schema, workdir, "latency")
    records_rate = round(rate * latency_stream["records"] / latency_stream["frames"])
    log(f"  Kafka's acknowledgement alone at {records_rate:,} records/s (reference)")
    with WakeProbe() as probe:
        ack = bare_produce(stack, unique_name("bench_websocket_ack"), latency_stream["records_file"], records_rate,
                           seconds, 5)
    ack.update(linger_ms=5, wake_probe=probe.result)
    lat["ratio_p99"] = ratio(lat["p99_ms"], ack["from_schedule_ms"]["p99"])
    return {"null_client": null, "millrace": mr, "reference": ref,
            "server_headroom": ratio(null["frames_per_s"], max(mr["frames_per_s"], ref["frames_per_s"])),
            "ratio_frames_per_s": ratio(mr["frames_per_s"], ref["frames_per_s"]),
            "ratio_frames_per_cpu_s": ratio(mr["frames_per_cpu_s"], ref["frames_per_cpu_s"]),
            "latency": lat, "ack_reference": ack}


def prepare(frames, rate, seconds, workdir):
    """The streams (flat out, and paced: `rate` x (seconds + the warm-up)
    frames) and the reference client's Python, once per run."""
    python, versions = ensure_client()
    log(f"  generating {frames:,} frames (and {rate * (seconds + LATENCY_WARMUP_SECONDS):,} for the latency run)")
    feed_stream = generate_stream(frames, workdir, "stream")
    latency_stream = generate_stream(rate * (seconds + LATENCY_WARMUP_SECONDS), workdir, "paced")
    return feed_stream, latency_stream, python, versions


def library_server_run(feed_stream, python, workdir):
    """The same stream served through PyPI's websockets (library_server.py)
    to the null client, once: what a server built on a WebSocket library
    would give."""
    return null_client_run(feed_stream, workdir, "library", server="library_server.py", python=python)
