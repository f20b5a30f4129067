"""What the alerting tests share: a mailbox behind a real SMTP server on
loopback (aiosmtpd, Debian's python3-aiosmtpd), the text of a message, and
Prometheus with Alertmanager sending to it."""

import email
import email.policy
import subprocess
import threading
import time

import yaml

from aiosmtpd.controller import Controller


class Mailbox:
    """What the SMTP server received, as (recipients, parsed message)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def take(self):
        with self.lock:
            taken, self.messages = self.messages, []
        return taken


def smtp_server(mailbox, port):
    """An SMTP server on 127.0.0.1:`port` delivering into `mailbox`, started;
    stop() it when done."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def text_of(message):
    parts = [message] if not message.is_multipart() else list(message.walk())
    text = ""
    for part in parts:
        if part.get_content_maintype() == "text":
            text += part.get_content()
    return text


def wait_for_mail(mailbox, words, timeout, fail):
    """The first message whose subject holds every one of `words`; calls
    fail(message) after `timeout` seconds without one."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        for rcpt, message in mailbox.take():
            seen.append(message["Subject"])
            if all(w in message["Subject"] for w in words):
                return rcpt, message
        time.sleep(0.5)
    fail(f"no email with {words} in its subject within {timeout} s (subjects seen: {seen})")


def start_alerting(source, work, env, start, free_port, smtp_port, rules, job, target):
    """Alertmanager with the configuration deploy/alertmanager/render.py
    writes, emailing oncall@millrace.test through the SMTP server on
    `smtp_port` (group waits of a second), and Prometheus evaluating the
    rule file `rules` every second over job `job`, scraped at `target`
    every second. `start(argv, log)` starts a child. Returns Prometheus'
    port."""
    am_port = free_port()
    am_env = dict(env, MILLRACE_ALERT_SMTP_SMARTHOST=f"127.0.0.1:{smtp_port}",
                  MILLRACE_ALERT_SMTP_REQUIRE_TLS="false",
                  MILLRACE_ALERT_EMAIL_TO="oncall@millrace.test",
                  MILLRACE_ALERT_GROUP_WAIT="1s", MILLRACE_ALERT_GROUP_INTERVAL="1s")
    subprocess.run([f"{source}/deploy/alertmanager/render.py", f"{work}/alertmanager.yml"],
                   env=am_env, check=True)
    start(["/usr/bin/prometheus-alertmanager", f"--config.file={work}/alertmanager.yml",
           f"--storage.path={work}/am-data", f"--web.listen-address=127.0.0.1:{am_port}",
           "--cluster.listen-address="], "alertmanager.log")
    prom_port = free_port()
    with open(f"{work}/prometheus.yml", "w") as f:
        yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [rules],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}],
            "alerting": {"alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        }, f)
    start(["/usr/bin/prometheus", f"--config.file={work}/prometheus.yml",
           f"--storage.tsdb.path={work}/prom-data",
           f"--web.listen-address=127.0.0.1:{prom_port}"], "prometheus.log")
    return prom_port
