#!/usr/bin/python3
"""Writes Alertmanager's configuration for Millrace from MILLRACE_ALERT_*
variables (Alertmanager reads no environment itself). Routed by severity:
every alert is emailed; critical ones also go to the webhook receiver when
MILLRACE_ALERT_WEBHOOK_URL is set. Resolved notices are sent too.

    deploy/alertmanager/render.py OUT.yml

| variable | default | |
| --- | --- | --- |
| MILLRACE_ALERT_SMTP_SMARTHOST | 127.0.0.1:25 | host:port of the SMTP server |
| MILLRACE_ALERT_SMTP_REQUIRE_TLS | true | STARTTLS required (false only on loopback) |
| MILLRACE_ALERT_SMTP_USERNAME | (none) | SMTP AUTH user |
| MILLRACE_ALERT_SMTP_PASSWORD_FILE | (none) | a file holding its password |
| MILLRACE_ALERT_EMAIL_FROM | millrace-alerts@localhost | From: |
| MILLRACE_ALERT_EMAIL_TO | (required) | who receives them, comma-separated |
| MILLRACE_ALERT_WEBHOOK_URL | (none) | critical alerts, Alertmanager's JSON format |
| MILLRACE_ALERT_GROUP_WAIT | 30s | first notice of a new group after |
| MILLRACE_ALERT_GROUP_INTERVAL | 5m | changes to a group (resolved) after |
| MILLRACE_ALERT_REPEAT_INTERVAL | 4h | a firing alert again after (1h for critical) |
"""

import json
import os
import re
import sys

DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")


def setting(name, default=None, required=False):
    value = os.environ.get(name, "").strip()
    if not value:
        if required:
            sys.exit(f"render.py: {name} is required (docs/operations.md, \"Routing alerts\")")
        return default
    return value


def duration(name, default):
    value = setting(name, default)
    if not DURATION.match(value):
        sys.exit(f"render.py: {name}: expected a duration such as 30s or 5m, got {value!r}")
    return value


def quoted(value):
    # JSON strings are YAML strings.
    return json.dumps(value)


def render():
    smarthost = setting("MILLRACE_ALERT_SMTP_SMARTHOST", "127.0.0.1:25")
    require_tls = setting("MILLRACE_ALERT_SMTP_REQUIRE_TLS", "true").lower()
    if require_tls not in ("true", "false"):
        sys.exit("render.py: MILLRACE_ALERT_SMTP_REQUIRE_TLS: expected true or false")
    to = setting("MILLRACE_ALERT_EMAIL_TO", required=True)
    sender = setting("MILLRACE_ALERT_EMAIL_FROM", "millrace-alerts@localhost")
    username = setting("MILLRACE_ALERT_SMTP_USERNAME")
    password_file = setting("MILLRACE_ALERT_SMTP_PASSWORD_FILE")
    webhook = setting("MILLRACE_ALERT_WEBHOOK_URL")
    if webhook and not re.match(r"^https?://", webhook):
        sys.exit("render.py: MILLRACE_ALERT_WEBHOOK_URL: expected an http:// or https:// URL")
    lines = [
        "# Written by deploy/alertmanager/render.py from MILLRACE_ALERT_*; edit those, not this.",
        "global:",
        f"  smtp_smarthost: {quoted(smarthost)}",
        f"  smtp_from: {quoted(sender)}",
        f"  smtp_require_tls: {require_tls}",
    ]
    if username:
        lines.append(f"  smtp_auth_username: {quoted(username)}")
    if password_file:
        lines.append(f"  smtp_auth_password_file: {quoted(password_file)}")
    lines += [
        "route:",
        "  receiver: email",
        "  group_by: [alertname, job]",
        f"  group_wait: {duration('MILLRACE_ALERT_GROUP_WAIT', '30s')}",
        f"  group_interval: {duration('MILLRACE_ALERT_GROUP_INTERVAL', '5m')}",
        f"  repeat_interval: {duration('MILLRACE_ALERT_REPEAT_INTERVAL', '4h')}",
        "  routes:",
        "    - matchers: ['severity=\"critical\"']",
        "      receiver: critical",
        "      repeat_interval: 1h",
        "receivers:",
        "  - name: email",
        "    email_configs:",
        f"      - to: {quoted(to)}",
        "        send_resolved: true",
        "  - name: critical",
        "    email_configs:",
        f"      - to: {quoted(to)}",
        "        send_resolved: true",
    ]
    if webhook:
        lines += [
            "    webhook_configs:",
            f"      - url: {quoted(webhook)}",
            "        send_resolved: true",
        ]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    text = render()
    with open(sys.argv[1], "w") as out:
        out.write(text)


if __name__ == "__main__":
    main()
