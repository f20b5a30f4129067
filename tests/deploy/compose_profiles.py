#!/usr/bin/env python3
"""integration.compose-profiles: the other compose files, in containers, each
in a compose project of its own on free ports (after integration.compose,
whose image builds they reuse; each builds what its files add, or what
changed):

- the three-broker cluster (deploy/docker/compose.kafka-cluster.yml), with
  the trades profile: every broker healthy, the topics made with three
  replicas, and the cli container's events and orders stored and summed;
  the websocket container reading a Finnhub-shaped feed served on the
  Docker host (tests/websocket/feed_server.py), and every trade the feed
  sent stored once and summed per symbol in the trades views;
- the secure profile (deploy/docker/compose.secure.yml, with a .env's
  MILLRACE_KAFKA_SASL_PASSWORD as documented) with the monitoring profile:
  the same through SASL_SSL and TLS, the API's views over HTTPS checked
  against the CA the one-shot certs made, a connection to PostgreSQL
  without TLS refused, and Prometheus scraping every Millrace service (over
  HTTPS where they serve it) with every target up, and Alertmanager ready.

In each, every consumer group must account for every record produced, and
`down -v` must leave nothing of the project. Usage:
compose_profiles.py SOURCE_DIR WORK_DIR
"""
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compose_up import (Stack, check, failures, free_port, log, remove, show_state,  # noqa: E402
                        wait_caught_up)

CLUSTER = "deploy/docker/compose.kafka-cluster.yml"
SECURE = "deploy/docker/compose.secure.yml"
# The Millrace services Prometheus must scrape (deploy/docker/prometheus.yml).
SCRAPED = {"millrace-sink", "millrace-aggregator", "millrace-archiver", "millrace-webhooks",
           "millrace-cache", "millrace-changefeed", "millrace-api", "millrace-producer"}


def produce_and_account(stack):
    """The cli container's events and orders, every group caught up, the
    views answering through psql in the postgres container."""
    produced = {"store-events": 0, "store-orders": 0}
    for kind, topic, count in [("store_event", "store-events", 3000), ("order", "store-orders", 300)]:
        args = ["--count", str(count), "--bad-ratio", "0.05"] + (["--kind", kind] if kind == "order" else [])
        produced[topic] += stack.produce(*args)["delivered"]
    ok, consumed = wait_caught_up(stack, produced, query=stack.psql_in_container)
    check(f"{stack.project}: every group consumed every record produced", ok,
          f"produced {produced}, consumed {consumed}")
    out = stack.psql_in_container("SELECT sum(unaccounted), (SELECT count(*) FROM store_events), "
                                  "(SELECT orders FROM web_orders_today), (SELECT orders FROM today_summary) "
                                  "FROM partition_accounting")
    unaccounted, stored, orders, sales = out.strip().split("|")
    check(f"{stack.project}: nothing unaccounted, events stored, the views answer through psql",
          unaccounted == "0" and int(stored) > 0 and int(orders) > 0 and int(sales) > 0,
          f"unaccounted {unaccounted}, store_events {stored}, web_orders_today {orders}, today_summary {sales}")


def start_feed(repo, work):
    """A Finnhub-shaped feed on every address of the host, which the
    websocket container reaches at host.docker.internal; (process, port,
    its log of what it sent)."""
    port, sent = free_port(), os.path.join(work, "trades-sent.jsonl")
    server = subprocess.Popen(
        [sys.executable, os.path.join(repo, "tests", "websocket", "feed_server.py"), "--host", "0.0.0.0",
         "--port", str(port), "--shape", "finnhub", "--rate", "40", "--log", sent],
        stdout=open(os.path.join(work, "trades-server.log"), "w"), stderr=subprocess.STDOUT)
    return server, port, sent


def check_trades(stack, server, sent):
    """The feed falls quiet and the source stops cleanly: every trade the
    feed sent is the run's, stored once, and summed in the views."""
    time.sleep(10)  # trades flow through the three brokers meanwhile
    server.send_signal(signal.SIGUSR1)
    time.sleep(2)
    stack.compose("stop", "websocket", timeout=120)
    trades = sum(len(json.loads(line)["trades"]) for line in open(sent))
    q = stack.psql_in_container
    deadline, got = time.monotonic() + 120, ""
    want = f"{trades}|{trades}|{trades}|0"
    while time.monotonic() < deadline:
        got = q("SELECT (SELECT sum(records) FROM ingestion_runs), (SELECT count(*) FROM trades), "
                "(SELECT sum(trades) FROM trades_daily), (SELECT count(*) FROM trades_hourly WHERE "
                "vwap IS NULL)").strip()
        if got == want:
            break
        time.sleep(2)
    check("cluster: every trade the feed sent is the run's, stored once and summed in trades_daily "
          "(runs' records, trades, trades_daily; no hour without a VWAP)", trades > 0 and got == want,
          f"the feed sent {trades}; got {got}")
    end = q("SELECT end_reason FROM ingestion_runs ORDER BY started_at DESC LIMIT 1").strip()
    check("cluster: stopping the websocket container ends its run as stopped", end == "stopped", end)


def cluster(repo, work):
    server, port, sent = start_feed(repo, work)
    stack = Stack(repo, work, name="cluster", files=["docker-compose.yml", CLUSTER], profiles=["trades"],
                  ports=["MILLRACE_KAFKA_2_PORT", "MILLRACE_KAFKA_3_PORT"],
                  env={"MILLRACE_WEBSOCKET_URL": f"ws://host.docker.internal:{port}/?token=compose-test",
                       "MILLRACE_WEBSOCKET_SYMBOLS": "AAPL,MSFT,BINANCE:BTCUSDT"})
    try:
        # Cached after integration.compose: what this file set adds, or
        # what changed since.
        stack.timed("cluster: build", "build", timeout=3600)
        stack.timed("cluster: up --wait (three brokers)", "up", "-d", "--wait", timeout=900)
        out = stack.exec_out("kafka", "kafka-topics.sh", "--bootstrap-server", "kafka:19092", "--describe",
                             "--topic", "store-events")
        check("cluster: store-events has three replicas and three in sync",
              "ReplicationFactor: 3" in out and all(len(line.split("Isr: ")[1].split(",")) == 3
                                                     for line in out.splitlines() if "Isr: " in line),
              out.splitlines()[0] if out else "no answer")
        produce_and_account(stack)
        check_trades(stack, server, sent)
    except Exception as e:
        check("cluster: the run went through", False, repr(e))
        show_state(stack)
    finally:
        server.terminate()
        server.wait(timeout=30)
        remove(stack)


def secure(repo, work):
    stack = Stack(repo, work, name="secure", files=["docker-compose.yml", SECURE], profiles=["monitoring"],
                  ports=["MILLRACE_PROMETHEUS_PORT", "MILLRACE_ALERTMANAGER_PORT"],
                  # As docs/operations.md asks of the monitoring profile: a
                  # receiver for the alerts (none is sent here).
                  env={"MILLRACE_KAFKA_SASL_PASSWORD": secrets.token_hex(24),
                       "MILLRACE_ALERT_EMAIL_TO": "oncall@example.com",
                       "MILLRACE_ALERT_SMTP_SMARTHOST": "smtp.example.com:587"})
    try:
        stack.timed("secure + monitoring: build (Prometheus' and Alertmanager's images)", "build",
                    timeout=3600)
        stack.timed("secure + monitoring: up --wait", "up", "-d", "--wait", timeout=900)
        produce_and_account(stack)
        ca = os.path.join(work, "secure-ca.crt")
        with open(ca, "w") as f:
            f.write(stack.exec_out("api", "cat", "/etc/millrace/ca/ca.crt"))
        token = stack.exec_out("api", "cat", "/run/secrets/millrace/MILLRACE_API_READ_TOKEN").strip()
        context = ssl.create_default_context(cafile=ca)
        req = urllib.request.Request(f"https://localhost:{stack.ports['MILLRACE_API_PORT']}/v1/views/today_summary",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30, context=context) as r:
            rows = json.loads(r.read())["rows"]
        check("secure: the API serves the views over HTTPS, its certificate signed by the certs' CA",
              bool(rows) and rows[0]["orders"] > 0, f"{len(rows)} row(s)")
        plain = subprocess.run(["psql", f"postgresql://millrace@127.0.0.1:{stack.ports['MILLRACE_PG_PORT']}/millrace"
                                        "?sslmode=disable&connect_timeout=5", "-c", "SELECT 1"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30,
                               env={**os.environ, "PGPASSWORD": "not-the-password"})
        check("secure: PostgreSQL refuses a connection without TLS",
              plain.returncode != 0 and "no encryption" in plain.stdout, plain.stdout.strip()[-200:])
        check_prometheus(stack)
    except Exception as e:
        check("secure: the run went through", False, repr(e))
        show_state(stack)
    finally:
        remove(stack)


def check_prometheus(stack):
    """Every Millrace service a target of its job, every target up (within a
    minute: a scrape every 5 s), and Alertmanager ready."""
    base = f"http://127.0.0.1:{stack.ports['MILLRACE_PROMETHEUS_PORT']}"
    deadline, jobs, down = time.monotonic() + 60, {}, ["none yet"]
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/v1/targets?state=active", timeout=10) as r:
            targets = json.loads(r.read())["data"]["activeTargets"]
        jobs = {}
        for t in targets:
            jobs.setdefault(t["labels"]["job"], []).append(t)
        down = [f"{t['labels']['job']} {t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}"
                for t in targets if t["health"] != "up"]
        if SCRAPED <= jobs.keys() and not down:
            break
        time.sleep(2)
    counts = ", ".join(f"{j} {len(ts)}" for j, ts in sorted(jobs.items()))
    check("monitoring: Prometheus scrapes every Millrace service, every target up",
          SCRAPED <= jobs.keys() and not down,
          f"targets per job: {counts}; missing jobs {sorted(SCRAPED - jobs.keys())}"
          + (f"; first down: {down[0]}" if down else ""))
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.ports['MILLRACE_ALERTMANAGER_PORT']}/-/ready",
                                timeout=10) as r:
        check("monitoring: Alertmanager is ready", r.status == 200, f"HTTP {r.status}")


def main():
    repo, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    for run in (cluster, secure):
        started = time.monotonic()
        run(repo, work)
        log(f"{run.__name__}: {time.monotonic() - started:.0f} s in all")
    if failures:
        print(f"compose_profiles: {len(failures)} check(s) failed: {'; '.join(failures)}", flush=True)
        return 1
    print("compose_profiles: every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
