#!/usr/bin/env python3
"""Checks that a change topic holds each change once: no two records with
the same key, op and source.lsn among the creates, updates and deletes
(a key change's delete and create share an LSN, not a key). Reads kcat -J
lines (a read_committed consumer's view) on standard input; exits 1
naming the first repeats.

Rows of a backfill or of the initial snapshot (op r) are not changes:
docs/backfills.md says when one repeats a state the stream carried.

  kcat -C -J ... | changes_once.py"""
import collections
import json
import sys


def main():
    seen = collections.Counter()
    where = {}
    changes = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        record = json.loads(line)
        if record.get("payload") is None:
            continue  # a tombstone
        value = json.loads(record["payload"])
        if "schema" in value and "payload" in value:
            value = value["payload"]  # JsonConverter with schemas
        op = value.get("op")
        if op not in ("c", "u", "d"):
            continue
        changes += 1
        change = (record.get("key"), op, value["source"]["lsn"])
        seen[change] += 1
        where.setdefault(change, []).append((record["partition"], record["offset"]))
    repeated = [c for c, n in seen.items() if n > 1]
    if repeated:
        for key, op, lsn in repeated[:5]:
            print(f"changes_once: op {op} of key {key} at LSN {lsn} is in the topic "
                  f"{seen[(key, op, lsn)]} times (partition, offset: {where[(key, op, lsn)]})",
                  file=sys.stderr)
        print(f"changes_once: {len(repeated)} of {changes} change(s) repeated", file=sys.stderr)
        return 1
    print(f"each of the topic's {changes} change(s) is in it once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
