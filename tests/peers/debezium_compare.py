#!/usr/bin/env python3
"""Compares two Kafka topics record by record: what Debezium's PostgreSQL
connector wrote and what millrace-changefeed --format debezium wrote for the
same changes. Each input is kcat's JSON lines (kcat -J). Every field must be
equal except those that cannot be: the processing time (the envelope's
ts_ms, ts_us, ts_ns), source.version, source.name and the names made from
the prefix, source.sequence, Debezium's own context headers, and the LSN
in a transaction's id ("<xid>:<LSN>"), where Debezium puts the position it
had reached, which differs from one event of a transaction to the next;
Millrace's is the transaction's commit LSN throughout.

  debezium_compare.py DEBEZIUM.jsonl DEBEZIUM_PREFIX MILLRACE.jsonl MILLRACE_PREFIX

Prints one line per record compared and exits 1 at the first difference,
showing both records."""
import json
import sys

EXEMPT_ENVELOPE = {"ts_ms", "ts_us", "ts_ns"}
EXEMPT_SOURCE = {"version", "name", "sequence"}


def load(path):
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def headers(record):
    raw = record.get("headers") or []
    pairs = list(zip(raw[0::2], raw[1::2]))
    return {k: v for k, v in pairs if k.startswith("__debezium.") and
            not k.startswith("__debezium.context.")}


def rename(value, prefix):
    """Replaces the prefix in schema names with a fixed word."""
    if isinstance(value, dict):
        return {k: rename(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [rename(v, prefix) for v in value]
    if isinstance(value, str) and value.startswith(prefix + "."):
        return "PREFIX" + value[len(prefix):]
    return value


def xid_only(value):
    """"<xid>:<lsn>" -> "<xid>"."""
    return value.split(":")[0] if isinstance(value, str) else value


def normalise_value(text, prefix):
    if text is None:
        return None
    doc = json.loads(text)
    payload = doc["payload"] if "schema" in doc and "payload" in doc else doc
    if isinstance(payload, dict) and "status" in payload:
        payload["id"] = xid_only(payload.get("id"))
    if isinstance(payload, dict) and isinstance(payload.get("transaction"), dict):
        payload["transaction"]["id"] = xid_only(payload["transaction"].get("id"))
    if payload is not None and "status" not in payload:
        for k in EXEMPT_ENVELOPE:
            payload.pop(k, None)
        source = payload.get("source")
        if isinstance(source, dict):
            for k in EXEMPT_SOURCE:
                source.pop(k, None)
    return rename(doc, prefix)


def normalise_key(text, prefix):
    if text is None:
        return None
    doc = json.loads(text)
    payload = doc["payload"] if isinstance(doc, dict) and "payload" in doc else doc
    if isinstance(payload, dict) and set(payload) == {"id"}:
        payload["id"] = xid_only(payload["id"])
    return rename(doc, prefix)


def payload_of(record):
    text = record.get("payload")
    if text is None:
        return None
    doc = json.loads(text)
    return doc["payload"] if isinstance(doc, dict) and "payload" in doc and "schema" in doc else doc


def without_message_transactions(records):
    """Debezium's transaction topic also holds the transactions of logical
    decoding messages that any session of the database emitted (another
    feed's backfill watermarks: they are not filtered by publication), with
    a data collection named after its message monitor. They change no row;
    Millrace writes no transaction for them. Drops their BEGIN and END."""
    messages = set()
    for r in records:
        p = payload_of(r)
        if (isinstance(p, dict) and p.get("status") == "END" and p.get("data_collections")
                and all("LogicalDecodingMessage" in c.get("data_collection", "")
                        for c in p["data_collections"])):
            messages.add(xid_only(p["id"]))
    return [r for r in records
            if not (isinstance(payload_of(r), dict) and payload_of(r).get("status")
                    and xid_only(payload_of(r)["id"]) in messages)]


def main():
    dbz_path, dbz_prefix, mr_path, mr_prefix = sys.argv[1:5]
    dbz = without_message_transactions(load(dbz_path))
    mr = load(mr_path)
    failed = False
    for i in range(max(len(dbz), len(mr))):
        a = dbz[i] if i < len(dbz) else None
        b = mr[i] if i < len(mr) else None
        if a is None or b is None:
            print(f"record {i}: only {'Millrace' if a is None else 'Debezium'} has it:")
            print(json.dumps(a if a is not None else b)[:4000])
            failed = True
            break
        left = {"key": normalise_key(a.get("key"), dbz_prefix),
                "value": normalise_value(a.get("payload"), dbz_prefix),
                "headers": headers(a)}
        right = {"key": normalise_key(b.get("key"), mr_prefix),
                 "value": normalise_value(b.get("payload"), mr_prefix),
                 "headers": headers(b)}
        if left != right:
            print(f"record {i} of {a.get('topic')} differs:")
            for part in ("key", "headers", "value"):
                if left[part] == right[part]:
                    continue
                print(f"  {part}:")
                show_diff(left[part], right[part], "    ")
            failed = True
            break
        op = (left["value"] or {}).get("payload", left["value"] or {}) if left["value"] else None
        print(f"record {i}: equal ({(op or {}).get('op', 'tombstone')})")
    if not failed:
        print(f"{len(dbz)} record(s) equal")
    return 1 if failed else 0


def show_diff(a, b, indent, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<missing>") != b.get(k, "<missing>"):
                show_diff(a.get(k, "<missing>"), b.get(k, "<missing>"), indent, f"{path}.{k}")
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for k, (x, y) in enumerate(zip(a, b)):
            if x != y:
                show_diff(x, y, indent, f"{path}[{k}]")
        return
    print(f"{indent}{path or '.'}: Debezium {json.dumps(a)[:300]}")
    print(f"{indent}{' ' * len(path or '.')}  Millrace {json.dumps(b)[:300]}")


if __name__ == "__main__":
    sys.exit(main())
