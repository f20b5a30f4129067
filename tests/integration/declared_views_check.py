#!/usr/bin/env python3
"""Declared views against DuckDB (issue 80).

  declared_views_check.py generate DIR
      writes DIR/first.ndjson (sales of two weeks, shuffled, across both of
      2026's daylight-saving changes in New York, with ties),
      DIR/second.ndjson (late sales of the first days, and resends),
      DIR/third.ndjson (sales of November, and resends) and the catalog,
      DIR/categories.csv and DIR/products.csv (for `millrace catalog load`),
      which knows some of the sales' skus and not others
  declared_views_check.py store-events DIR
      writes DIR/store.ndjson: the sales of DIR/first.ndjson and
      DIR/second.ndjson as the built-in store event (sale and inventory
      events, returns), with resends (the same id and time) and ids reused
      by events of another time, which the store event counts as events
  declared_views_check.py orders NDJSON HOURLY PER_PRODUCT TOP
      the views tests/integration/declared_views/order.views.json adds to
      the built-in orders, recomputed from the generated orders in NDJSON
      (per UTC hour: orders and the sum of Total; per UTC hour and product:
      units and lines; the 3 products with the most units of each UTC day,
      ties by product): exits 1 unless HOURLY, PER_PRODUCT and TOP, the
      bodies millrace-api served for them, are equal
  declared_views_check.py check DECLARATION MILLRACE NDJSON...
      computes every view DECLARATION declares from the sales in the NDJSON
      files with DuckDB (SQL, its own time zone database, window functions;
      a group from the catalog joins the products.csv beside the first NDJSON
      file), reads each with `MILLRACE views NAME --format json`, and exits 1
      unless they are equal row for row. A declaration whose resends are
      told by its table's key ("resends": "table_key", the store event's)
      counts a record per id and time, not per id

The catalog does not change while the sales are folded, so the fact each
sale is folded with is the one products.csv gives; a sku it does not list
groups under ''.

The recomputation reads the declaration, not Millrace's SQL: a window is
the local hour, day or week (ISO, from Monday) of the view's time zone, or
a multiple of the hop on the Unix epoch's grid in UTC; a sale resent with
its id counts once; amounts are DuckDB's exact DECIMAL; an average is
rounded half away from zero by Python's decimal module.
"""
import csv
import datetime
import decimal
import json
import os
import random
import subprocess
import sys
import uuid

import duckdb

STORES = range(5)
SKUS = range(1, 16)
CATEGORIES = ["toys", "garden", "food", "tools"]
# The catalog's products: skus 1 to 11 of three categories (a brand for
# some); 12 to 15 and the tie day's 100 to 103 are unknown to it.
CATALOG_CATEGORIES = ["kitchen", "lighting", "outdoor"]
PRODUCTS = {sku: (f"Product {sku}", f"Brand {sku % 2}" if sku % 3 else "",
                  CATALOG_CATEGORIES[sku % 3]) for sku in range(1, 12)}


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sale(rng, ts, **fixed):
    price_digits = rng.choice([0, 2, 6])
    price = decimal.Decimal(rng.randint(1, 500_000_000)).scaleb(-6).quantize(
        decimal.Decimal(1).scaleb(-price_digits), rounding=decimal.ROUND_DOWN)
    discount = rng.choice([decimal.Decimal(0), decimal.Decimal(100), decimal.Decimal("12.5"),
                           decimal.Decimal(rng.randint(0, 40_000_000)).scaleb(-6)])
    row = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "ts": iso(ts),
           "store_id": rng.choice(STORES), "sku": rng.choice(SKUS),
           "category": rng.choice(CATEGORIES), "price": price, "qty": rng.randint(1, 9),
           "discount": discount}
    row.update(fixed)
    return row


def encode(row):
    # Decimals as JSON numbers with exactly their digits.
    parts = []
    for k, v in row.items():
        text = str(v) if isinstance(v, decimal.Decimal) else json.dumps(v)
        parts.append(json.dumps(k) + ":" + text)
    return "{" + ",".join(parts) + "}"


def generate(out_dir):
    rng = random.Random(80)
    sales = []
    # Two weeks each side of a daylight-saving change in New York (8 March
    # and 1 November 2026): local days of 23 and 25 hours.
    for start in (datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc),
                  datetime.datetime(2026, 10, 26, tzinfo=datetime.timezone.utc)):
        for _ in range(1500):
            ts = start + datetime.timedelta(microseconds=rng.randint(0, 14 * 86400 * 10**6))
            sales.append(sale(rng, ts))
    # A local day of exact ties: three categories of 3 sales, one of 1; and
    # skus of equal units.
    tie_day = datetime.datetime(2026, 3, 20, 14, tzinfo=datetime.timezone.utc)
    for i, category in enumerate(["toys"] * 3 + ["garden"] * 3 + ["food"] * 3 + ["tools"]):
        sales.append(sale(rng, tie_day + datetime.timedelta(minutes=i), category=category,
                          sku=100 + i % 4, qty=2))
    # Sales just either side of local midnight and of the changes' hours.
    for t in ["2026-03-08T06:59:59.999999Z", "2026-03-08T07:00:00Z", "2026-03-09T03:59:59Z",
              "2026-03-09T04:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z",
              "2026-11-02T04:59:59Z", "2026-11-02T05:00:00Z"]:
        sales.append(sale(rng, datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))))
    rng.shuffle(sales)
    # The second batch comes after the first is folded: sales of the first
    # days (late: their windows hold rows already) and resends of first ones.
    late = [sale(rng, datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc) +
                 datetime.timedelta(seconds=rng.randint(0, 3 * 86400))) for _ in range(200)]
    resent = rng.sample(sales, 150)
    with open(f"{out_dir}/categories.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "display_name"])
        w.writerows([c, c.title()] for c in CATALOG_CATEGORIES)
    with open(f"{out_dir}/products.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "name", "brand", "category", "list_price"])
        w.writerows([sku, n, b, c, "9.99"] for sku, (n, b, c) in PRODUCTS.items())
    with open(f"{out_dir}/first.ndjson", "w") as f:
        f.writelines(encode(s) + "\n" for s in sales)
    with open(f"{out_dir}/second.ndjson", "w") as f:
        second = late + resent
        rng.shuffle(second)
        f.writelines(encode(s) + "\n" for s in second)
    # The third comes while views added later are filled: new sales of
    # November and resends of the first.
    third = [sale(rng, datetime.datetime(2026, 11, 3, tzinfo=datetime.timezone.utc) +
                  datetime.timedelta(seconds=rng.randint(0, 5 * 86400))) for _ in range(400)]
    third += rng.sample(sales, 100)
    rng.shuffle(third)
    with open(f"{out_dir}/third.ndjson", "w") as f:
        f.writelines(encode(s) + "\n" for s in third)


def store_events(out_dir):
    rng = random.Random(79)
    events = []
    for name in ("first", "second"):
        for text in open(f"{out_dir}/{name}.ndjson"):
            s = json.loads(text, parse_float=decimal.Decimal)
            store = int(s["store_id"]) + 1
            events.append({
                "id": s["id"], "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "store_id": store, "store_fqdn": f"store-{store:03}.millrace.local",
                "store_ip": f"10.0.{store}.1", "cust_id": rng.randint(1, 1000),
                "category": s["category"], "sku": s["sku"], "price": s["price"],
                "qty": s["qty"], "discount": s["discount"],
                "gift_wrap": rng.random() < 0.25, "variant": "red",
                "priority_shipping": rng.random() < 0.3, "ts": s["ts"],
                "is_return": rng.random() < 0.1,
                "event_type": "sale_event" if rng.random() < 0.8 else "inventory_event"})
    # Resends (the same id and time) count once; an id reused at another
    # time is another event.
    events += [dict(e) for e in rng.sample(events, 100)]
    for e in rng.sample(events, 60):
        reused = dict(e)
        reused["ts"] = iso(datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) +
                           datetime.timedelta(minutes=rng.randint(1, 3000)))
        events.append(reused)
    rng.shuffle(events)
    with open(f"{out_dir}/store.ndjson", "w") as f:
        f.writelines(encode(e) + "\n" for e in events)


def load(con, files, by_time):
    seen = set()
    rows = []
    for path in files:
        for text in open(path):
            r = json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
            identity = (r["id"], r["ts"]) if by_time else r["id"]
            if identity in seen:
                continue  # a resend: the same id (and time) counts once
            seen.add(identity)
            rows.append((r["id"], r["ts"], int(r["store_id"]), int(r["sku"]), r["category"],
                         r["price"], int(r["qty"]), r["discount"]))
    con.execute("CREATE TABLE raw (id VARCHAR, ts TIMESTAMPTZ, store_id BIGINT, sku BIGINT, "
                "category VARCHAR, price DECIMAL(13,6), qty DECIMAL(10,0), discount DECIMAL(9,6))")
    con.executemany("INSERT INTO raw VALUES (?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, ?)", rows)
    # The catalog Millrace was given, read back from its file: each sale
    # with its product's facts, '' for a sku it does not know (or no brand).
    products = f"{os.path.dirname(os.path.abspath(files[0]))}/products.csv"
    con.execute("CREATE TABLE products (sku BIGINT, name VARCHAR, brand VARCHAR, "
                "category VARCHAR)")
    with open(products, newline="") as f:
        con.executemany("INSERT INTO products VALUES (?, ?, ?, ?)",
                        [(int(p["sku"]), p["name"], p["brand"], p["category"])
                         for p in csv.DictReader(f)])
    con.execute("CREATE TABLE sales AS SELECT raw.*, coalesce(p.name, '') AS product_name, "
                "coalesce(nullif(p.brand, ''), '') AS product_brand, "
                "coalesce(p.category, '') AS product_category "
                "FROM raw LEFT JOIN products p USING (sku)")
    return len(rows)


def minutes(text):
    units = {"m": 1, "h": 60, "d": 1440}
    return int(text[:-1]) * units[text[-1]]


def column(decl, group):
    """A group's column: its field's, or product_<fact> for one from the catalog."""
    if isinstance(group, dict):
        return "product_" + group["catalog"]
    return {f["name"]: f["column"] for f in decl["fields"]}[group]


def factor_sql(factor):
    if isinstance(factor, dict):
        return f"(1 - {factor['percent_off']} * 0.01)"
    return factor


def expected(con, decl, view):
    window = view["window"]
    zone = window.get("time_zone", "UTC")
    size = minutes(window["size"])
    hop = minutes(window.get("hop", window["size"]))
    if hop == 60 and zone != "UTC":
        # The instant less its minutes past the local hour: the hour
        # repeated when clocks go back is two hours, not one.
        local = f"timezone('{zone}', ts)"
        bucket = f"ts - ({local} - date_trunc('hour', {local}))"
    elif hop in (1440, 10080) and (zone != "UTC" or hop == 10080):
        unit = {1440: "day", 10080: "week"}[hop]
        bucket = f"timezone('{zone}', date_trunc('{unit}', timezone('{zone}', ts)))"
    else:
        bucket = f"time_bucket(INTERVAL {hop} MINUTE, ts, TIMESTAMPTZ '1970-01-01 00:00:00+00')"
    if hop >= 1440:
        start = f"timezone('{zone}', timezone('{zone}', b) - k * INTERVAL {hop // 1440} DAY)"
    else:
        start = f"b - k * INTERVAL {hop} MINUTE"
    if size % 1440 == 0:
        end = f"timezone('{zone}', timezone('{zone}', window_start) + INTERVAL {size // 1440} DAY)"
    else:
        end = f"window_start + INTERVAL {size} MINUTE"
    groups = [column(decl, g) for g in view.get("group_by", [])]
    select = []
    for m in view["measures"]:
        product = " * ".join(factor_sql(f) for f in m.get("of", []))
        op = m["op"]
        if op == "count":
            select.append(f"count(*) AS {m['as']}")
        elif op == "avg":
            select.append(f"sum({product}) AS {m['as']}__sum")
            select.append(f"count(*) AS {m['as']}__n")
        else:
            select.append(f"{op}({product}) AS {m['as']}")
    g = "".join(", " + c for c in groups)
    sql = (f"WITH b AS (SELECT *, {bucket} AS b FROM sales), "
           f"w AS (SELECT *, {start} AS window_start FROM b, range({size // hop}) AS r(k)) "
           f"SELECT window_start, {end} AS window_end{g}, {', '.join(select)} FROM w "
           f"GROUP BY window_start{g}")
    top = view.get("top")
    if top:
        direction = "ASC" if top.get("order") == "asc" else "DESC"
        order = f"{top['by']} {direction}"
        ranker = "rank()"
        if top.get("then"):
            ranker = "row_number()"
            named = [column(decl, t) for t in top["then"]] + [
                c for c in groups if c not in [column(decl, p) for p in top.get("per", [])]
                and c not in [column(decl, t) for t in top["then"]]]
            order += "".join(", " + c for c in named)
        per = "".join(", " + column(decl, p) for p in top.get("per", []))
        sql = (f"SELECT *, {ranker} OVER (PARTITION BY window_start{per} ORDER BY {order}) AS rank "
               f"FROM ({sql}) QUALIFY rank <= {top['n']}")
    # Timestamps as text: Python's datetime would need pytz.
    cursor = con.execute(f"SELECT * REPLACE (window_start::VARCHAR AS window_start, "
                         f"window_end::VARCHAR AS window_end) FROM ({sql})")
    names = [d[0] for d in cursor.description]
    out = []
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        for m in view["measures"]:
            if m["op"] == "avg":
                total, n = row.pop(m["as"] + "__sum"), row.pop(m["as"] + "__n")
                row[m["as"]] = (decimal.Decimal(total) / n).quantize(
                    decimal.Decimal(1).scaleb(-m.get("scale", 6)), rounding=decimal.ROUND_HALF_UP)
        out.append(row)
    return out


def normal(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        t = value.replace(" ", "T")
        if t.endswith("+00"):
            t += ":00"
        return datetime.datetime.fromisoformat(t).astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return decimal.Decimal(value).normalize()
    return value


def key(row):
    return tuple(str(normal(v)) for v in row.values())


def check(declaration, millrace, files):
    decl = json.load(open(declaration))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    n = load(con, files, decl.get("resends") == "table_key")
    failures = 0
    for view in decl["views"]:
        want = [{k: normal(v) for k, v in r.items()} for r in expected(con, decl, view)]
        text = subprocess.run([millrace, "views", view["name"], "--format", "json"], check=True,
                              capture_output=True, text=True).stdout
        got = [{k: normal(v) for k, v in r.items()}
               for r in json.loads(text, parse_float=decimal.Decimal)]
        want_set = sorted(want, key=key)
        got_set = sorted(got, key=key)
        if want_set == got_set:
            print(f"{view['name']}: {len(got)} rows equal to DuckDB's")
            continue
        failures += 1
        print(f"{view['name']}: Millrace has {len(got)} rows, DuckDB {len(want)}", file=sys.stderr)
        missing = [r for r in want_set if r not in got_set][:5]
        extra = [r for r in got_set if r not in want_set][:5]
        for r in missing:
            print(f"  only in DuckDB:   {r}", file=sys.stderr)
        for r in extra:
            print(f"  only in Millrace: {r}", file=sys.stderr)
    print(f"{n} distinct sales, {len(decl['views'])} views, {failures} differing")
    return 1 if failures else 0


def utc(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(
        datetime.timezone.utc)


def orders(ndjson, hourly_body, per_product_body, top_body):
    D = decimal.Decimal
    hours, days, products, seen = {}, {}, {}, set()
    for text in open(ndjson):
        o = json.loads(text, parse_float=D)
        if o["PaymentTransactionId"] in seen:
            continue  # a resend counts once
        seen.add(o["PaymentTransactionId"])
        hour = utc(o["OrderDate"]).replace(minute=0, second=0, microsecond=0)
        n, total = hours.get(hour, (0, D(0)))
        hours[hour] = (n + 1, total + D(o["Total"]))
        units = days.setdefault(hour.replace(hour=0), {})
        for line in o.get("Details", []):
            units[line["ProductId"]] = units.get(line["ProductId"], 0) + line["Quantity"]
            u, n = products.get((hour, line["ProductId"]), (0, 0))
            products[(hour, line["ProductId"])] = (u + line["Quantity"], n + 1)
    served = json.load(open(hourly_body), parse_float=D)["rows"]
    got = {utc(r["window_start"]): (r["orders"], D(r["revenue"])) for r in served}
    failures = [(h, got.get(h), hours.get(h)) for h in sorted(set(got) | set(hours))
                if got.get(h) != hours.get(h)]
    got = {(utc(r["window_start"]), r["product_id"]): (r["units"], r["lines"])
           for r in json.load(open(per_product_body))["rows"]}
    failures += [(k[0], (k[1], got.get(k)), (k[1], products.get(k)))
                 for k in sorted(set(got) | set(products)) if got.get(k) != products.get(k)]
    want_top = {}
    for day, units in days.items():
        ranked = sorted(units.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        want_top[day] = [(i + 1, p, u) for i, (p, u) in enumerate(ranked)]
    got_top = {}
    for r in json.load(open(top_body))["rows"]:
        got_top.setdefault(utc(r["window_start"]), []).append(
            (r["rank"], r["product_id"], r["units"]))
    got_top = {d: sorted(rows) for d, rows in got_top.items()}
    failures += [(d, got_top.get(d), want_top.get(d)) for d in sorted(set(got_top) | set(want_top))
                 if got_top.get(d) != want_top.get(d)]
    for f in failures[:5]:
        print(f"  window {f[0].isoformat()}: served {f[1]}, recomputed {f[2]}", file=sys.stderr)
    print(f"{len(seen)} orders: {len(hours)} hours and {len(days)} days recomputed, "
          f"{len(failures)} differing")
    return 1 if failures or not hours else 0


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2])
    elif sys.argv[1] == "store-events":
        store_events(sys.argv[2])
    elif sys.argv[1] == "orders":
        sys.exit(orders(*sys.argv[2:6]))
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
    else:
        sys.exit(__doc__)
