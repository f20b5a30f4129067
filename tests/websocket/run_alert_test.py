#!/usr/bin/python3
"""integration.websocket-alert: seed 002's ingestion-delta alert reaches a
person by email, with the run's figures.

Against the test stack (MILLRACE_STATE_DIR): millrace-websocket reads a
Finnhub-shaped feed (feed_server.py, PyPI's websockets) in runs of a few
seconds; Prometheus scrapes it and evaluates the shipped rules
(deploy/prometheus/rules/millrace.yml, unchanged); Alertmanager, with the
configuration deploy/alertmanager/render.py writes, sends to a real SMTP
server on loopback (aiosmtpd). The feed falls silent after the first run:
the next run is short, and MillraceIngestionRunShort must arrive by email
with that run's id, its records, the previous run's and the delta, as
ingestion_runs holds them.

    run_alert_test.py SOURCE_DIR BIN_DIR
"""
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
sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "alerting"))
from alertmail import Mailbox, smtp_server, start_alerting, text_of, wait_for_mail  # noqa: E402
from pysupport import free_port, owner_env, psql, stop_children, wait_until  # noqa: E402

SRC, BIN = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
ALERT = "MillraceIngestionRunShort"


def fail(message):
    print(f"run_alert_test: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def main():
    env = owner_env(SRC)
    name = f"wsalert_{os.getpid()}_{random.randrange(1 << 20)}"
    topic = f"{name}_trades"
    env.update(MILLRACE_PG_SCHEMA=name, MILLRACE_TRADES_TOPIC=topic,
               MILLRACE_TRADES_DLQ_TOPIC=f"{topic}.dlq", MILLRACE_CLIENT_ID=name)
    dsn = env["MILLRACE_PG"]
    work = tempfile.mkdtemp(prefix="websocket-alert-")
    children = []
    controller = None

    def start(args, log, extra=None):
        child = subprocess.Popen(args, env=dict(env, **(extra or {})),
                                 stdout=open(f"{work}/{log}", "w"), stderr=subprocess.STDOUT)
        children.append(child)
        return child

    try:
        subprocess.run([f"{BIN}/millrace", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([f"{BIN}/millrace", "create-topics"], env=env, check=True,
                       capture_output=True)
        feed_port = free_port()
        server = start([os.path.join(SRC, ".cache", "venv", "bin", "python"),
                        f"{HERE}/feed_server.py", "--port", str(feed_port), "--shape", "finnhub",
                        "--rate", "40", "--log", f"{work}/sent.jsonl"], "feed.log")

        mailbox = Mailbox()
        smtp_port = free_port()
        controller = smtp_server(mailbox, smtp_port)
        source_port = free_port()
        start_alerting(SRC, work, env, start, free_port, smtp_port,
                       f"{SRC}/deploy/prometheus/rules/millrace.yml", "millrace-websocket",
                       f"127.0.0.1:{source_port}")

        time.sleep(0.5)
        start([f"{BIN}/millrace-websocket"], "source.log", {
            "MILLRACE_WEBSOCKET_URL": f"ws://127.0.0.1:{feed_port}/",
            "MILLRACE_WEBSOCKET_FEED": "finnhub", "MILLRACE_WEBSOCKET_SYMBOLS": "AAPL,MSFT",
            "MILLRACE_WEBSOCKET_SOURCE_NAME": name, "MILLRACE_WEBSOCKET_RUN_FOR": "5",
            "MILLRACE_METRICS_ADDR": f"127.0.0.1:{source_port}"})

        def ended_runs():
            rows = psql(dsn, f"SELECT run_id, started_at, ended_at, records FROM {name}.ingestion_runs "
                             "WHERE ended_at IS NOT NULL ORDER BY started_at").splitlines()
            return [r.split("|") for r in rows]

        first = wait_until(lambda: ended_runs(), 120)
        if not first:
            fail("the first run did not end within 120 s")
        first = first[0]
        if int(first[3]) < 50:
            fail(f"the first run produced only {first[3]} records; the feed did not run")
        # The feed falls silent: the next run is short.
        server.send_signal(signal.SIGUSR1)
        mailbox.take()
        rcpt, firing = wait_for_mail(mailbox, ["FIRING", ALERT], 120, fail)
        body = text_of(firing)
        short = next((r for r in ended_runs() if r[0] in body), None)
        if short is None or short[0] == first[0]:
            fail(f"the email names no short run of ingestion_runs: {body[:1500]}")
        if rcpt != ["oncall@millrace.test"]:
            fail(f"the email went to {rcpt}")
        previous = [r for r in ended_runs() if r[1] < short[1]][-1]
        delta = int(short[3]) - int(previous[3])
        text = " ".join(body.split())
        for part in [f"produced {short[3]} records", f"the run before produced {previous[3]}",
                     f"(delta {delta})"]:
            if part not in text:
                fail(f"the email lacks {part!r}: {body[:1500]}")
        print(f"run_alert_test: firing email for {short[0]} ({short[3]} records, delta {delta}): "
              f"{firing['Subject']}", flush=True)
        print("run_alert_test: every check passed", flush=True)
    finally:
        if controller is not None:
            controller.stop()
        stop_children(children)
        subprocess.run(["psql", "-X", "-q", dsn, "-c", f"DROP SCHEMA IF EXISTS {name} CASCADE"],
                       capture_output=True)
        if os.environ.get("KEEP_WORK") is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
