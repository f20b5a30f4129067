#!/usr/bin/env python3
"""Compares the events of an outbox topic as Debezium's outbox event router
wrote them and as millrace-changefeed --format outbox wrote them for the
same rows: kcat's JSON lines (kcat -J) of each. Topic, key, value and
headers must be equal record for record, in order, but for what
docs/outbox.md names: Debezium writes a header of a null column with a null
value, Millrace writes no header; Debezium's own context headers
(__debezium.context.*) are not Millrace's; and the record's timestamp
(Debezium's processing time, Millrace's produce time) is not compared,
unless SINCE_MS is given: both sides then took it from the timestamp column
(table.field.event.timestamp), whose values are all before SINCE_MS, the
test's start, and must be equal; a record stamped at or after SINCE_MS on
either side had a null there, and both must be.

  outbox_compare.py DEBEZIUM.jsonl DEBEZIUM_TOPIC MILLRACE.jsonl MILLRACE_TOPIC [SINCE_MS]

Prints one line per record compared and exits 1 at the first difference."""
import json
import sys


def load(path, topic, other):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            raw = r.get("headers") or []
            headers = [(k, v) for k, v in zip(raw[0::2], raw[1::2]) 
                       if v is not None and not k.startswith("__debezium.context.")]
            out.append({"topic": r["topic"].replace(topic, other), "key": r.get("key"),
                        "value": r.get("payload"), "headers": headers, "ts": r.get("ts")})
    return out


def main():
    dbz_path, dbz_topic, mr_path, mr_topic = sys.argv[1:5]
    dbz = load(dbz_path, dbz_topic, "<topic>")
    mr = load(mr_path, mr_topic, "<topic>")
    since = int(sys.argv[5]) if len(sys.argv) > 5 else None
    for r in dbz + mr:
        ts = r.pop("ts")
        if since is not None:
            # The column's value, or "produced" for a null one on either side.
            r["ts"] = ts if ts is not None and ts < since else "produced"
    if not dbz:
        print(f"{dbz_path}: no records")
        return 1
    if len(dbz) != len(mr):
        print(f"{len(dbz)} Debezium records, {len(mr)} Millrace records")
        for side, records in (("debezium", dbz), ("millrace", mr)):
            for r in records:
                print(side, json.dumps(r, ensure_ascii=False))
        return 1
    for i, (d, m) in enumerate(zip(dbz, mr)):
        if d != m:
            print(f"record {i} differs:\n  debezium {json.dumps(d, ensure_ascii=False)}\n"
                  f"  millrace {json.dumps(m, ensure_ascii=False)}")
            return 1
        stamp = f" ts {d['ts']}" if since is not None else ""
        print(f"record {i} equal: {d['topic']} key {d['key']}{stamp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
