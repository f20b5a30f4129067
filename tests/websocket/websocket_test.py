#!/usr/bin/env python3
"""integration.websocket: millrace-websocket against WebSocket feeds Millrace
does not write (feed_server.py, asyncio's websockets), on the test stack.

For each feed shape (Finnhub's, Binance's) the server plays a script of
connections: a clean close, a refused upgrade, an abrupt reset, a stall
(neither frames nor pongs), a slow start, then a steady stream, with
invalid, binary and oversized frames and application pings among the
trades. The source runs in runs of a few seconds. Then, from the server's
own log of what it sent and clients that are not Millrace's (kcat, psql):

- every run's row adds up: received = produced + refused + control + lost,
  with nothing lost, and the runs together received every frame the server
  sent;
- every trade the server sent is in the kind's topic exactly once, with its
  symbol as the key and its price, volume and time exact;
- every frame the kind refuses is in the dead-letter topic with its reason;
- each disconnection is a gap of its run, with the loss's reason;
- the feed's token, in the URL's query, is never in the source's log.

Then millrace-sink and millrace-aggregator --kind trade read both topics,
and the views trades_hourly and trades_daily (per symbol: trades, volume,
notional, VWAP) must equal a recomputation from the servers' logs.

    websocket_test.py SOURCE_DIR BIN_DIR
"""
import collections
import decimal
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pysupport import Checks, free_port, owner_env, psql, wait_until  # noqa: E402

SRC, BIN = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = os.path.join(SRC, ".cache", "venv", "bin", "python")
checks = Checks()
check, failures = checks.check, checks.failures


def consume(env, topic, fmt):
    """Every record of `topic` through kcat, one line each in kcat's format
    `fmt` (a letter's payload may be binary: decoded with replacements)."""
    out = subprocess.run(["kcat", "-C", "-b", env["MILLRACE_BROKERS"], "-t", topic, "-e", "-q",
                          "-f", fmt + "\\n"], capture_output=True, check=True, timeout=120).stdout
    return out.decode("utf-8", "replace").splitlines()


def run_shape(shape, env, work, dsn, schema):
    name = f"{schema}_{shape}"
    topic = f"{name}_trades"
    dlq = f"{topic}.dlq"
    env = dict(env, MILLRACE_TRADES_TOPIC=topic, MILLRACE_TRADES_DLQ_TOPIC=dlq,
               MILLRACE_CLIENT_ID=name)
    subprocess.run([f"{BIN}/millrace", "create-topics"], env=env, check=True, capture_output=True)
    port = free_port()
    server_log = f"{work}/{shape}-sent.jsonl"
    script = "close:30,refuse,reset:30,stall:30,slow:1,run:0"
    server = subprocess.Popen(
        [PYTHON, f"{HERE}/feed_server.py", "--port", str(port), "--shape", shape, "--rate", "60",
         "--script", script, "--invalid-every", "17", "--binary-every", "29",
         "--oversize-every", "41", "--oversize", "70000", "--ping-every", "13", "--log", server_log],
        stdout=open(f"{work}/{shape}-server.log", "w"), stderr=subprocess.STDOUT)
    symbols = "AAPL,MSFT,BINANCE:BTCUSDT" if shape == "finnhub" else "bnbbtc,ethbtc"
    path = "/" if shape == "finnhub" else "/ws"
    source_env = dict(env, MILLRACE_WEBSOCKET_URL=f"ws://127.0.0.1:{port}{path}?token=not-logged",
                      MILLRACE_WEBSOCKET_FEED=shape,
                      MILLRACE_WEBSOCKET_SYMBOLS=symbols,
                      MILLRACE_WEBSOCKET_SOURCE_NAME=name,
                      MILLRACE_WEBSOCKET_RUN_FOR="6", MILLRACE_WEBSOCKET_IDLE_TIMEOUT_MS="1500",
                      MILLRACE_WEBSOCKET_MAX_FRAME_BYTES="65536",
                      MILLRACE_RETRY_FIRST_MS="100", MILLRACE_RETRY_MAX_MS="500",
                      MILLRACE_METRICS_ADDR=f"127.0.0.1:{free_port()}")
    time.sleep(0.5)
    source = subprocess.Popen([f"{BIN}/millrace-websocket"], env=source_env,
                              stdout=open(f"{work}/{shape}-source.log", "w"),
                              stderr=subprocess.STDOUT)
    try:
        # Three runs ended: the script's faults fall in the first two.
        if not wait_until(lambda: int(psql(dsn, (
                f"SELECT count(*) FROM {schema}.ingestion_runs WHERE source = '{name}' "
                "AND ended_at IS NOT NULL")) or 0) >= 3, 120):
            raise RuntimeError("three runs did not end within 120 s")
        # The feed falls silent, then the source stops: it must have
        # received everything sent.
        server.send_signal(signal.SIGUSR1)
        time.sleep(2)
        source.send_signal(signal.SIGTERM)
        source.wait(timeout=60)
        check(f"{shape}: the source stops cleanly on SIGTERM", source.returncode == 0,
              f"exit {source.returncode}")
    finally:
        if source.poll() is None:
            source.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    sent = [json.loads(line) for line in open(server_log)]
    frames = [f for f in sent if f["kind"] != "unsent"]
    rows = psql(dsn, (
        "SELECT run_id, received, produced, refused, control, lost, records, reconnections, "
        f"end_reason, unaccounted FROM {schema}.ingestion_run_accounting WHERE source = '{name}' "
        "ORDER BY started_at")).splitlines()
    runs = [r.split("|") for r in rows]
    received = sum(int(r[1]) for r in runs)
    check(f"{shape}: every run adds up (received = produced + refused + control + lost), none lost",
          all(r[9] == "0" and r[5] == "0" for r in runs), "; ".join(rows))
    check(f"{shape}: the runs received every frame the server sent", received == len(frames),
          f"received {received}, sent {len(frames)}")
    check(f"{shape}: the last run was stopped, the others finished",
          runs[-1][8] == "stopped" and all(r[8] == "finished" for r in runs[:-1]),
          ", ".join(r[8] for r in runs))

    # The trades: each once, exact, keyed by its symbol.
    expected = collections.Counter()
    for f in frames:
        for t in f["trades"]:
            expected[(t["s"], decimal.Decimal(str(t["p"])), decimal.Decimal(str(t["v"])), t["t"])] += 1
    got = collections.Counter()
    keys_ok = True
    for line in consume(env, topic, "%k\\t%s"):
        key, value = line.split("\t", 1)
        r = json.loads(value, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
        keys_ok &= key == r["Symbol"]
        ts = r["TradeTime"]
        millis = int(decimal.Decimal(time.mktime(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
                                     - time.timezone) * 1000 + int(ts[20:23]))
        got[(r["Symbol"], r["Price"], r["Volume"], millis)] += 1
    check(f"{shape}: every trade sent is in the topic exactly once, exact, keyed by symbol",
          got == expected and keys_ok,
          f"{sum(expected.values())} sent, {sum(got.values())} in the topic, "
          f"{sum((expected - got).values())} missing, {sum((got - expected).values())} extra")
    produced_records = sum(int(r[6]) for r in runs)
    check(f"{shape}: the runs' records are the topic's", produced_records == sum(got.values()),
          f"{produced_records} vs {sum(got.values())}")

    # The refused frames, each with its reason.
    want = collections.Counter({"invalid": "invalid_json", "binary": "binary_frame",
                                "oversize": "frame_too_large"}[f["kind"]]
                               for f in frames if f["kind"] in ("invalid", "binary", "oversize"))
    letters = collections.Counter(
        dict(kv.split("=", 1) for kv in line.split(",") if "=" in kv).get("millrace.reason")
        for line in consume(env, dlq, "%h"))
    check(f"{shape}: every refused frame is a dead letter with its reason", letters == want,
          f"sent {dict(want)}, letters {dict(letters)}")
    control = sum(1 for f in frames if f["kind"] in ("ping", "ack"))
    check(f"{shape}: control frames counted", sum(int(r[4]) for r in runs) == control,
          f"{sum(int(r[4]) for r in runs)} vs {control}")

    # The gaps: the close, the reset (with the refused upgrade in it) and
    # the stall, each with its reason; the source never logged the token.
    gaps = psql(dsn, (f"SELECT g.reason FROM {schema}.ingestion_gaps g JOIN {schema}.ingestion_runs r "
                      f"USING (run_id) WHERE r.source = '{name}' ORDER BY r.started_at, g.gap_no")
                ).splitlines()
    reasons = " | ".join(gaps)
    check(f"{shape}: each disconnection is a gap with its reason",
          any("closed by the server (code 1001" in g for g in gaps)
          and any("reset" in g or "without a close frame" in g for g in gaps)
          and any("stalled" in g for g in gaps), reasons)
    source_log = open(f"{work}/{shape}-source.log").read()
    check(f"{shape}: the URL's token is never logged", "not-logged" not in source_log)
    return topic, expected


def vwap(notional, volume):
    """notional / volume rounded half away from zero to 6 decimals, as the
    views compute it (None for no volume)."""
    if volume == 0:
        return None
    q = (notional / volume).quantize(decimal.Decimal("0.000001"), rounding=decimal.ROUND_HALF_UP)
    return q


def expected_views(trades):
    """{(grain, window start in ms, symbol): (trades, volume, notional, vwap)}
    recomputed from the trades the servers sent."""
    sums = collections.defaultdict(lambda: [0, decimal.Decimal(0), decimal.Decimal(0)])
    for (symbol, price, volume, millis), n in trades.items():
        for grain, width in (("hourly", 3_600_000), ("daily", 86_400_000)):
            s = sums[(grain, millis - millis % width, symbol)]
            s[0] += n
            s[1] += n * volume
            s[2] += n * price * volume
    return {k: (c, v, x, vwap(x, v)) for k, (c, v, x) in sums.items()}


def check_views(env, work, dsn, schema, topics, trades):
    """The sink and the aggregator of the trade kind over every topic; the
    views against the recomputation."""
    ctx = decimal.getcontext()
    ctx.prec = 60
    procs = []
    try:
        for i, topic in enumerate(topics):
            for binary, group in (("millrace-sink", "MILLRACE_SINK_GROUP"),
                                  ("millrace-aggregator", "MILLRACE_AGGREGATOR_GROUP")):
                penv = dict(env, MILLRACE_KIND="trade", MILLRACE_TRADES_TOPIC=topic,
                            MILLRACE_TRADES_DLQ_TOPIC=f"{topic}.dlq", **{group: f"{schema}-{binary}-{i}"},
                            MILLRACE_METRICS_ADDR=f"127.0.0.1:{free_port()}")
                procs.append(subprocess.Popen([f"{BIN}/{binary}"], env=penv,
                                              stdout=open(f"{work}/{binary}-{i}.log", "w"),
                                              stderr=subprocess.STDOUT))
        total = sum(trades.values())
        done = wait_until(lambda: psql(dsn, (
            f"SELECT (SELECT count(*) FROM {schema}.trades) || ',' || "
            f"(SELECT coalesce(sum(trades), 0) FROM {schema}.trades_daily)")) == f"{total},{total}",
            120)
        check("views: the sink stored every trade and the aggregator folded each", done,
              psql(dsn, f"SELECT (SELECT count(*) FROM {schema}.trades), (SELECT sum(trades) "
                        f"FROM {schema}.trades_daily)") + f" of {total}")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    want = expected_views(trades)
    got = {}
    for grain in ("hourly", "daily"):
        for line in psql(dsn, (
                "SELECT (extract(epoch FROM window_start) * 1000)::bigint, symbol, trades, volume, "
                f"notional, coalesce(vwap::text, 'null') FROM {schema}.trades_{grain}")).splitlines():
            ms, symbol, n, volume, notional, v = line.split("|")
            got[(grain, int(ms), symbol)] = (int(n), decimal.Decimal(volume), decimal.Decimal(notional),
                                             None if v == "null" else decimal.Decimal(v))
    wrong = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
    check("views: trades_hourly and trades_daily (per symbol: trades, volume, notional, VWAP) "
          "equal a recomputation from the servers' logs", not wrong and len(got) == len(want),
          f"{len(got)} rows, {len(want)} expected; differ: "
          + "; ".join(f"{k}: {got.get(k)} vs {want.get(k)}" for k in sorted(wrong)[:5]))
    check("views: a VWAP's scale is six decimals",
          all(v[3] is None or v[3].as_tuple().exponent == -6 for v in got.values()))


def main():
    env = owner_env(SRC)
    schema = f"ws_{os.getpid()}_{random.randrange(1 << 20)}"
    env.update(MILLRACE_PG_SCHEMA=schema)
    dsn = env["MILLRACE_PG"]
    work = tempfile.mkdtemp(prefix="websocket-test-")
    subprocess.run([f"{BIN}/millrace", "migrate"], env=env, check=True, capture_output=True)
    topics, trades = [], collections.Counter()
    for shape in ("finnhub", "binance"):
        try:
            topic, sent = run_shape(shape, env, work, dsn, schema)
            topics.append(topic)
            trades.update(sent)
        except Exception as e:  # noqa: BLE001
            check(f"{shape}: the run went through", False, repr(e))
    try:
        check_views(env, work, dsn, schema, topics, trades)
    except Exception as e:  # noqa: BLE001
        check("views: the check went through", False, repr(e))
    if failures:
        print(f"websocket_test: {len(failures)} check(s) failed (logs in {work}): "
              + "; ".join(failures), flush=True)
        return 1
    print("websocket_test: every check passed", flush=True)
    shutil.rmtree(work)  # the logs are kept where a check failed
    return 0


if __name__ == "__main__":
    sys.exit(main())
