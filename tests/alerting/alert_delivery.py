#!/usr/bin/python3
"""integration.alert-delivery: an alert reaches a person by email.

Against the test stack (MILLRACE_STATE_DIR): a millrace-sink stores events
produced at a steady rate; Prometheus scrapes it and evaluates
MillraceIngestionBelowThreshold as deploy/prometheus/rules/millrace.yml
writes it, its windows scaled from an hour to seconds; Alertmanager, with
the configuration deploy/alertmanager/render.py writes, sends to a real SMTP
server on loopback (aiosmtpd, Debian's python3-aiosmtpd). Stopping the
producer must bring an email with the alert's summary; resuming it, the
resolved notice.

    alert_delivery.py SOURCE_DIR BIN_DIR
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

sys.dont_write_bytecode = True
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
from alertmail import Mailbox, smtp_server, start_alerting, text_of, wait_for_mail  # noqa: E402
from pysupport import free_port, owner_env, stop_children  # noqa: E402

SRC, BIN = sys.argv[1], sys.argv[2]
ALERT = "MillraceIngestionBelowThreshold"


def fail(message):
    print(f"alert_delivery: {message}", file=sys.stderr)
    sys.exit(1)


def scaled_rule():
    """MillraceIngestionBelowThreshold as shipped, its hour scaled to 15 s,
    its threshold to 100 records and its 15 minutes to 10 s."""
    with open(f"{SRC}/deploy/prometheus/rules/millrace.yml") as f:
        groups = yaml.safe_load(f)["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == ALERT)
    expr = rule["expr"]
    if "[1h]" not in expr or "< 1000" not in expr:
        fail(f"{ALERT}'s expression changed; update this test's scaling: {expr}")
    rule = dict(rule, expr=expr.replace("[1h]", "[15s]").replace("< 1000", "< 100"))
    rule["for"] = "10s"
    return {"groups": [{"name": "alert-delivery", "rules": [rule]}]}


def main():
    env = owner_env(SRC)
    name = f"alerts_{os.getpid()}_{random.randrange(1 << 30)}"
    env.update(MILLRACE_PG_SCHEMA=name, MILLRACE_TOPIC=name, MILLRACE_DLQ_TOPIC=f"{name}.dlq",
               MILLRACE_SINK_GROUP=f"{name}_sink", MILLRACE_CLIENT_ID=name)
    work = tempfile.mkdtemp(prefix="alert-delivery-")
    children = []
    producer = None
    controller = None

    def start(args, log, extra=None):
        child = subprocess.Popen(args, env=dict(env, **(extra or {})),
                                 stdout=open(f"{work}/{log}", "w"), stderr=subprocess.STDOUT)
        children.append(child)
        return child

    def produce():
        # Steady, well above the scaled threshold (100 records in 15 s).
        return start([f"{BIN}/millrace", "produce", "--count", "1000000", "--rate", "100",
                      "--bad-ratio", "0"], "produce.log")

    try:
        subprocess.run([f"{BIN}/millrace", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([f"{BIN}/millrace", "create-topics"], env=env, check=True,
                       capture_output=True)
        sink_port = free_port()
        start([f"{BIN}/millrace-sink"], "sink.log",
              {"MILLRACE_METRICS_ADDR": f"127.0.0.1:{sink_port}", "MILLRACE_MIGRATE": "false"})
        producer = produce()

        mailbox = Mailbox()
        smtp_port = free_port()
        controller = smtp_server(mailbox, smtp_port)

        with open(f"{work}/rules.yml", "w") as f:
            yaml.safe_dump(scaled_rule(), f)
        prom_port = start_alerting(SRC, work, env, start, free_port, smtp_port,
                                   f"{work}/rules.yml", "millrace-sink", f"127.0.0.1:{sink_port}")

        # Ingesting: wait until the sink has persisted more than the scaled
        # threshold in one window, as Prometheus sees it.
        deadline = time.time() + 180
        query = urllib.parse.quote(
            'sum(increase(millrace_records_outcome_total{outcome="persisted"}[15s]))')
        while True:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}",
                        timeout=5) as r:
                    result = json.load(r)["data"]["result"]
                if result and float(result[0]["value"][1]) > 300:
                    break
            except (OSError, ValueError, KeyError):
                pass
            if time.time() > deadline:
                fail(f"the sink never persisted 300 events in 15 s; see {work}")
            time.sleep(1)
        print("alert_delivery: ingesting; stopping the producer")

        # Ingestion stops: the alert fires and reaches the mailbox.
        producer.terminate()
        producer.wait(30)
        mailbox.take()  # any notice from the start-up is not this one
        rcpt, firing = wait_for_mail(mailbox, ["FIRING", ALERT], 180, fail)
        body = text_of(firing)
        if rcpt != ["oncall@millrace.test"]:
            fail(f"the firing email went to {rcpt}")
        if "millrace-sink persisted only" not in body:
            fail(f"the firing email lacks the alert's summary: {body[:2000]}")
        print(f"alert_delivery: firing email received: {firing['Subject']}")

        # Ingestion resumes: the resolved notice follows.
        producer = produce()
        rcpt, resolved = wait_for_mail(mailbox, ["RESOLVED", ALERT], 180, fail)
        print(f"alert_delivery: resolved email received: {resolved['Subject']}")
    finally:
        if controller is not None:
            controller.stop()
        stop_children(children)
        subprocess.run(["psql", "-X", "-q", env.get("MILLRACE_PG", ""), "-c",
                        f"DROP SCHEMA IF EXISTS {name} CASCADE"], capture_output=True)
        if os.environ.get("KEEP_WORK") is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
