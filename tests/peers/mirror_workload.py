#!/usr/bin/env python3
"""Prints the SQL of a mirror test's workload on `items` (mirror_test.sh):
transactions of one to five inserts, updates, updates of the primary key and
deletes, drawn from a seeded generator so a failure replays. Every
statement is valid against the rows the earlier ones left.

  mirror_workload.py SEED FIRST_TRANSACTION COUNT [flink]

With `flink`, rows have a note instead of the columns Flink SQL's
debezium-json cannot read natively (date, timestamp, jsonb, uuid)."""
import random
import sys


def main():
    seed, first, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    flink = len(sys.argv) > 4 and sys.argv[4] == "flink"
    rng = random.Random(seed)
    rows = set()
    next_id = 1
    out = []
    # The rows before `first` are replayed without printing, so each part of
    # the workload knows which rows exist.
    for t in range(first + count):
        statements = []
        for _ in range(rng.randint(1, 5)):
            op = rng.random()
            if not rows or op < 0.4:
                rid = next_id
                next_id += 1
                rows.add(rid)
                statements.append(insert(rng, rid, flink))
            elif op < 0.75:
                rid = rng.choice(sorted(rows))
                statements.append(update(rng, rid, flink))
            elif op < 0.85:
                rid = rng.choice(sorted(rows))
                new = next_id
                next_id += 1
                rows.discard(rid)
                rows.add(new)
                statements.append(f"UPDATE items SET id = {new} WHERE id = {rid};")
            else:
                rid = rng.choice(sorted(rows))
                rows.discard(rid)
                statements.append(f"DELETE FROM items WHERE id = {rid};")
        if t >= first:
            out.append("BEGIN;\n" + "\n".join(statements) + "\nCOMMIT;")
    print("\n".join(out))


def text(rng):
    words = ["pen", "kite", "ruler", "ink", "paper", "clip", "é", "o'brien", "tab\there", ""]
    return "'" + " ".join(rng.choice(words) for _ in range(rng.randint(1, 3))).replace("'", "''") + "'"


def values(rng, flink):
    qty = "NULL" if rng.random() < 0.1 else str(rng.randint(-5, 500))
    price = "NULL" if rng.random() < 0.1 else f"{rng.randint(-10000, 1000000) / 100:.2f}"
    flag = rng.choice(["true", "false", "NULL"])
    updated = (f"'2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
               f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
               f".{rng.randint(0, 999999):06d}+0{rng.randint(0, 9)}'")
    cols = {"name": text(rng), "qty": qty, "price": price, "flag": flag, "updated": updated}
    if flink:
        cols["note"] = "NULL" if rng.random() < 0.3 else text(rng)
    else:
        cols["day"] = f"'{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}'"
        cols["at"] = f"'2026-11-28 {rng.randint(0, 23):02d}:00:00.{rng.randint(0, 999999):06d}'"
        cols["doc"] = f"'{{\"n\": {rng.randint(0, 99)}, \"tags\": [\"a\", \"b\"]}}'"
        cols["ref"] = f"'{rng.getrandbits(128):032x}'"
    return cols


def insert(rng, rid, flink):
    cols = values(rng, flink)
    return (f"INSERT INTO items (id, {', '.join(cols)}) "
            f"VALUES ({rid}, {', '.join(cols.values())});")


def update(rng, rid, flink):
    cols = values(rng, flink)
    chosen = rng.sample(sorted(cols), rng.randint(1, len(cols)))
    return f"UPDATE items SET {', '.join(f'{c} = {cols[c]}' for c in chosen)} WHERE id = {rid};"


if __name__ == "__main__":
    main()
