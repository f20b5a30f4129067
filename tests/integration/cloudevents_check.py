#!/usr/bin/env python3
"""Reads webhook requests dumped as NDJSON ({"path", "headers", "body"}) and
checks each with libraries that are not Millrace's:

- the CloudEvents SDK for Python (PyPI `cloudevents`) parses it, in
  structured or binary mode as its headers say, and its attributes are what
  docs/webhooks.md promises: specversion 1.0, id the webhook-id, source,
  type com.millrace.<row|table>.<word>, subject the table and key, time the
  change's commit time, data the change itself;
- the Standard Webhooks library (PyPI `standardwebhooks`) signs the body as
  sent with the path's secret, and that signature is among the request's
  (compared without the library's five-minute freshness window: the
  requests are checked after the run).

Prints one line per path ("<path>: N events") and exits 1 at the first
request that fails, saying why.

  cloudevents_check.py FILE --secret PATH=whsec_... [--secret ...]
                       --source SOURCE --subject-prefix PREFIX
"""
import argparse
import datetime
import json
import sys

from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks.webhooks import Webhook

TYPES = {
    "c": "com.millrace.row.created",
    "u": "com.millrace.row.updated",
    "d": "com.millrace.row.deleted",
    "r": "com.millrace.row.snapshot",
    "t": "com.millrace.table.truncated",
    "e": "com.millrace.table.backfilled",
    "g": "com.millrace.table.gap",
}


def fail(n, path, why):
    print(f"request {n} to {path}: {why}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--secret", action="append", default=[])
    ap.add_argument("--source", required=True)
    ap.add_argument("--subject-prefix", required=True)
    args = ap.parse_args()
    secrets = dict(s.split("=", 1) for s in args.secret)
    counts = {}
    with open(args.file, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            req = json.loads(line)
            path, headers, body = req["path"], req["headers"], req["body"]
            structured = headers["content-type"].startswith("application/cloudevents+json")
            if not structured and "ce-id" not in headers:
                fail(n, path, "neither structured nor binary mode")
            event = from_http(HTTPMessage(headers=headers, body=body.encode("utf-8")), JSONFormat())
            attributes = event.get_attributes()
            change = event.get_data()
            if not isinstance(change, dict):
                fail(n, path, f"data is not the change: {change!r}")
            want = {
                "specversion": "1.0",
                "id": headers["webhook-id"],
                "source": args.source,
                "type": TYPES.get(change.get("op")),
                "time": datetime.datetime.fromisoformat(
                    change["source"]["commit_time"].replace("Z", "+00:00")),
                "dataschema": "urn:millrace:change:1",
                "datacontenttype": "application/json",
            }
            for attr, value in want.items():
                if attributes.get(attr) != value:
                    fail(n, path, f"{attr} is {attributes.get(attr)!r}, not {value!r}")
            if change["id"] != attributes["id"]:
                fail(n, path, f"id {attributes['id']} but the change is {change['id']}")
            key = change.get("key") or {}
            subject = args.subject_prefix + "/".join(str(v) for v in key.values())
            if attributes.get("subject") != subject:
                fail(n, path, f"subject is {attributes.get('subject')!r}, not {subject!r}")
            # The signature over the body exactly as sent.
            ts = datetime.datetime.fromtimestamp(int(headers["webhook-timestamp"]),
                                                 tz=datetime.timezone.utc)
            expected = Webhook(secrets[path]).sign(headers["webhook-id"], ts, body)
            if expected not in headers["webhook-signature"].split(" "):
                fail(n, path, "no signature verifies with the endpoint's secret")
            counts[path] = counts.get(path, 0) + 1
    for path in sorted(counts):
        print(f"{path}: {counts[path]} events")


if __name__ == "__main__":
    main()
