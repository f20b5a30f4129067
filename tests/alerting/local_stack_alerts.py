#!/usr/bin/python3
"""integration.alert-local-stack: the local stack's own alerting path, as an
operator starts it, with the rules as they ship.

In a state directory of its own, `deploy/local/stack up prometheus` with
MILLRACE_ALERT_EMAIL_TO, an SMTP relay (a real SMTP server on loopback,
aiosmtpd) and MILLRACE_ALERT_WEBHOOK_URL (an HTTP server on loopback) must
start Alertmanager beside Prometheus and name it to Prometheus. A scrape
target that does not answer must then fire MillraceServiceDown (critical,
up == 0 for 1 minute) through the shipped rules, and the alert must reach
both the mailbox (with its summary) and the webhook (Alertmanager's JSON).
Once the target answers, both must get the resolved notice. `stack status`
shows Alertmanager running; `stack down prometheus` stops both.

    local_stack_alerts.py SOURCE_DIR
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
from alertmail import Mailbox, smtp_server, text_of, wait_for_mail  # noqa: E402
from pysupport import free_port  # noqa: E402

SRC = sys.argv[1]
ALERT = "MillraceServiceDown"
JOB = "millrace-sink"


def fail(message):
    print(f"local_stack_alerts: {message}", file=sys.stderr)
    sys.exit(1)


class Hooks(http.server.BaseHTTPRequestHandler):
    """The webhook receiver: keeps every POSTed body; GET /metrics answers
    an empty exposition (the target, once it is to come up)."""
    received = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Hooks.lock:
            Hooks.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(port):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_for_hook(status, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with Hooks.lock:
            for body in Hooks.received:
                if body.get("status") == status and any(
                        a["labels"].get("alertname") == ALERT for a in body.get("alerts", [])):
                    return body
        time.sleep(0.5)
    fail(f"no {status} webhook for {ALERT} within {timeout} s (got {Hooks.received})")


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def main():
    state = tempfile.mkdtemp(prefix="alert-local-stack-")
    smtp_port, hook_port, target_port = free_port(), free_port(), free_port()
    prom_port, am_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}
    env.update(MILLRACE_STATE_DIR=state, MILLRACE_PROMETHEUS_PORT=str(prom_port),
               MILLRACE_ALERTMANAGER_PORT=str(am_port),
               MILLRACE_ALERT_EMAIL_TO="oncall@millrace.test",
               MILLRACE_ALERT_SMTP_SMARTHOST=f"127.0.0.1:{smtp_port}",
               MILLRACE_ALERT_SMTP_REQUIRE_TLS="false",
               MILLRACE_ALERT_WEBHOOK_URL=f"http://127.0.0.1:{hook_port}/alerts",
               MILLRACE_ALERT_GROUP_WAIT="1s", MILLRACE_ALERT_GROUP_INTERVAL="1s")
    stack = [f"{SRC}/deploy/local/stack"]
    mailbox = Mailbox()
    controller = smtp_server(mailbox, smtp_port)
    hooks = serve(hook_port)
    target = None
    try:
        r = subprocess.run(stack + ["up", "prometheus"], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"stack up prometheus exited {r.returncode}: {r.stderr[-3000:]}")
        status = subprocess.run(stack + ["status", "prometheus"], env=env, capture_output=True,
                                text=True)
        if "alertmanager" not in status.stdout + status.stderr or \
                "running" not in status.stdout + status.stderr:
            fail(f"stack status does not show Alertmanager running: {status.stdout}{status.stderr}")

        # Only the target of this test: the stack seeds the services'
        # default addresses, which nothing here serves.
        targets = os.path.join(state, "prometheus", "targets")
        for name in os.listdir(targets):
            if name.startswith("millrace-"):
                os.remove(os.path.join(targets, name))
        with open(os.path.join(targets, f"{JOB}-alert-test.json"), "w") as f:
            json.dump([{"targets": [f"127.0.0.1:{target_port}"]}], f)

        deadline = time.time() + 60
        while True:
            active = get_json(f"http://127.0.0.1:{prom_port}/api/v1/alertmanagers")
            urls = [a["url"] for a in active["data"]["activeAlertmanagers"]]
            if any(f"127.0.0.1:{am_port}" in u for u in urls):
                break
            if time.time() > deadline:
                fail(f"Prometheus never named the stack's Alertmanager: {active}")
            time.sleep(1)
        print(f"local_stack_alerts: Prometheus sends to {urls}")

        # The target does not answer: up == 0, and after the rule's minute
        # the alert fires, by email and (critical) by webhook.
        rcpt, firing = wait_for_mail(mailbox, ["FIRING", ALERT], 240, fail)
        if rcpt != ["oncall@millrace.test"]:
            fail(f"the firing email went to {rcpt}")
        body = text_of(firing)
        summary = f"{JOB} on 127.0.0.1:{target_port} is down"
        if summary not in body:
            fail(f"the firing email lacks the alert's summary: {body[:2000]}")
        hook = wait_for_hook("firing", 60)
        print(f"local_stack_alerts: firing email ({firing['Subject']}) and webhook "
              f"({len(hook['alerts'])} alert(s), receiver {hook.get('receiver')})")

        # The target answers: resolved, by both.
        mailbox.take()
        target = serve(target_port)
        wait_for_mail(mailbox, ["RESOLVED", ALERT], 180, fail)
        wait_for_hook("resolved", 60)
        print("local_stack_alerts: resolved email and webhook received")

        r = subprocess.run(stack + ["down", "prometheus"], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"stack down prometheus exited {r.returncode}: {r.stderr[-2000:]}")
        for pid_file in ["prometheus.pid", "alertmanager.pid"]:
            path = os.path.join(state, pid_file)
            if os.path.exists(path):
                pid = int(open(path).read().strip() or 0)
                if pid and os.path.exists(f"/proc/{pid}"):
                    fail(f"{pid_file}: pid {pid} still runs after stack down prometheus")
        print("local_stack_alerts: stack down prometheus stopped Prometheus and Alertmanager")
    finally:
        subprocess.run(stack + ["down", "--purge"], env=env, capture_output=True)
        controller.stop()
        hooks.shutdown()
        if target is not None:
            target.shutdown()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
