"""The nemesis' checker: every promise at once, from what the harness itself
recorded (acknowledgements, receiver arrivals) and what it reads with its
own clients (kcat, psql, redis-cli, fastavro through
tests/archive/check_archive.py). It shares no code with the pipeline.

Each check returns (promise, broken, detail); on a break the detail starts
with the counts and ends with the first counterexample.
"""
import csv
import datetime
import decimal
import json
import os
import subprocess
import time

KEEP_TYPES = {"sale_event", "inventory_event"}  # MILLRACE_KEEP_TYPES' default
MIN_DISCOUNT = 20                               # MILLRACE_MIN_DISCOUNT's default
MAX_LATENESS_S = 7 * 86400                      # MILLRACE_MAX_LATENESS_S' default
MAX_FUTURE_S = 3600                             # MILLRACE_MAX_FUTURE_S' default


class Checker:
    def __init__(self, run):
        self.run = run
        self.env = run.env

    def kcat(self, topic, committed=False):
        args = ["kcat", "-b", self.env["MILLRACE_BROKERS"], "-C", "-t", topic, "-e", "-q", "-J",
                "-o", "beginning"]
        if committed:
            args += ["-X", "isolation.level=read_committed"]
        out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"kcat {topic}: {out.stderr[-500:]}")
        return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]

    def read_changes(self):
        changes = []
        for m in self.kcat(self.env.get("MILLRACE_CHANGES_TOPIC", "millrace.changes"), committed=True):
            c = json.loads(m["payload"])
            c["_p"], c["_o"] = m["partition"], m["offset"]
            changes.append(c)
        return changes

    def check_all(self, load, changes):
        results = []
        checks = [("acknowledged events", self.events), ("partition_accounting", self.accounting),
                  ("acknowledged orders", self.orders),
                  ("the change topic", lambda: self.change_topic(changes)),
                  ("webhooks", lambda: self.webhooks(changes)), ("the cache", self.cache),
                  ("catalog edits", self.catalog_edits),
                  ("the views", self.views), ("the archive", self.archive)]
        for name, check in checks:
            try:
                out = check()
                results += out if isinstance(out, list) else [out]
            except Exception as e:  # a check that could not run is not a pass
                results.append((name, True, f"could not check: {e!r}"))
        return results

    # 1. acknowledged events: in Kafka where acknowledged, kept ones stored once
    def events(self):
        load = self.run.load
        topic = {(m["partition"], m["offset"]): m["payload"] for m in self.kcat("store-events")}
        missing = [i for i, (p, o, line) in load.acked_events.items() if topic.get((p, o)) != line]
        r1 = ("acknowledged events are in Kafka (at their partition and offset, byte for byte)",
              bool(missing), f"{len(load.acked_events) - len(missing)} of {len(load.acked_events)}"
              f" found ({load.unacked_events} unacknowledged not counted)"
              + (f"; first missing: id {missing[0]} at {load.acked_events[missing[0]][:2]}" if missing else ""))
        rows = self.run.psql("SELECT id, count(*) FROM store_events GROUP BY id", timeout=300)
        stored = {}
        for line in (rows or "").splitlines():
            i, _, n = line.partition("|")
            stored[i] = int(n)
        kept = []
        for i, (_, _, line) in load.acked_events.items():
            e = json.loads(line)
            if e.get("event_type") in KEEP_TYPES and float(e.get("discount", 0)) > MIN_DISCOUNT:
                kept.append(i)
        lost = [i for i in kept if stored.get(i, 0) == 0]
        dup = [i for i, n in stored.items() if n > 1]
        sent_ids = {json.loads(v).get("id") for v in topic.values() if v and v.startswith("{")}
        stray = [i for i in stored if i not in sent_ids]
        r2 = ("kept acknowledged events are in store_events exactly once",
              bool(lost or dup or stray),
              f"{len(kept)} kept of {len(load.acked_events)} acknowledged; lost {len(lost)},"
              f" duplicated {len(dup)}, rows not in the topic {len(stray)}"
              + (f"; first lost: {lost[0]}" if lost else "")
              + (f"; first duplicated: {dup[0]}" if dup else "")
              + (f"; first stray: {stray[0]}" if stray else ""))
        return [r1, r2]

    # 2. every consumed record accounted for
    def accounting(self):
        out = self.run.psql("SELECT group_id, sum(consumed), sum(unaccounted) FROM partition_accounting "
                            "GROUP BY group_id ORDER BY group_id")
        if out is None:
            return ("partition_accounting: unaccounted is 0", True, "could not read partition_accounting")
        bad, groups = [], []
        for line in out.splitlines():
            g, consumed, unacc = line.split("|")
            groups.append(f"{g} {consumed}")
            if int(unacc or 0) != 0:
                bad.append(f"{g}: {unacc} unaccounted")
        return ("partition_accounting: unaccounted is 0 in every group", bool(bad),
                f"{len(groups)} group(s) (consumed: {', '.join(groups)})" + (f"; {bad[0]}" if bad else ""))

    # 3. acknowledged orders stored once, with their lines
    def orders(self):
        load = self.run.load
        out = self.run.psql('SELECT o.payment_transaction_id, count(*), '
                            '(SELECT count(*) FROM order_lines l WHERE l.payment_transaction_id = o.payment_transaction_id) '
                            'FROM orders o GROUP BY o.payment_transaction_id', timeout=300)
        if out is None:
            return ("acknowledged orders are in orders/order_lines once", True, "could not read orders")
        stored = {}
        for line in out.splitlines():
            i, n, lines = line.split("|")
            stored[i] = (int(n), int(lines))
        lost, dup, badlines = [], [], []
        for i, (_, _, line) in load.acked_orders.items():
            want = len(json.loads(line).get("Details", []))
            got = stored.get(i)
            if got is None:
                lost.append(i)
            elif got[0] > 1:
                dup.append(i)
            elif got[1] != want:
                badlines.append(f"{i}: {got[1]} line(s), sent {want}")
        return ("acknowledged orders are in orders/order_lines once", bool(lost or dup or badlines),
                f"{len(load.acked_orders)} acknowledged ({load.unacked_orders} not); lost {len(lost)},"
                f" duplicated {len(dup)}, wrong lines {len(badlines)}"
                + (f"; first lost: {lost[0]}" if lost else "") + (f"; first duplicated: {dup[0]}" if dup else "")
                + (f"; first: {badlines[0]}" if badlines else ""))

    # 4. the change topic, applied in order, equals the table
    def change_topic(self, changes):
        mine = sorted((c for c in changes if c["table"] == "public.nemesis_items"),
                      key=lambda c: (c["_p"], c["_o"]))
        ids = [c["id"] for c in mine]
        repeats = len(ids) - len(set(ids))
        state = {}
        for c in mine:
            key = json.dumps(c.get("key"), sort_keys=True)
            if c["op"] in ("c", "u", "r"):
                state[key] = c["after"]
            elif c["op"] == "d":
                state.pop(key, None)
            elif c["op"] == "t":
                state.clear()
        out = self.run.psql("SELECT json_build_object('id', id, 'v', v, 'note', note) FROM nemesis_items")
        table = {}
        for line in (out or "").splitlines():
            row = json.loads(line)
            table[json.dumps({"id": row["id"]}, sort_keys=True)] = row
        diff = []
        for k in sorted(set(state) | set(table)):
            a, b = state.get(k), table.get(k)
            if (a is None) != (b is None) or (a and (int(a["v"]) != int(b["v"]) or a["note"] != b["note"])):
                diff.append(f"key {k}: topic {a}, table {b}")
        return ("change topic (read_committed, applied in order) equals nemesis_items, each change once",
                bool(diff or repeats or out is None),
                f"{len(mine)} change(s) applied, {len(table)} row(s); {len(diff)} differing, {repeats} repeated"
                + (f"; first: {diff[0]}" if diff else ""))

    # 5. every webhook endpoint got every change, in commit order
    def webhooks(self, changes):
        expected = [c["id"] for c in changes if c["table"] == "public.nemesis_items"]
        want = set(expected)
        results = []
        rec = self.run.receiver
        for endpoint in sorted(rec.secrets):
            arrivals = list(rec.ids.get(endpoint, []))
            seen, firsts = set(), []
            for i in arrivals:
                if i not in seen:
                    seen.add(i)
                    firsts.append(i)
            missing = [i for i in expected if i not in seen]
            unknown = [i for i in firsts if i not in want]
            inversions, first_inv, top = 0, "", ""
            for i in firsts:  # change ids sort in commit order
                if i < top:
                    inversions += 1
                    first_inv = first_inv or f"{i} after {top}"
                top = max(top, i)
            bad_sig = rec.bad_signatures.get(endpoint, 0)
            results.append((f"webhook endpoint {endpoint}: every change, in commit order, signed",
                            bool(missing or unknown or inversions or bad_sig),
                            f"{len(firsts)} of {len(expected)} change(s) received ({len(arrivals) - len(firsts)}"
                            f" resent), missing {len(missing)}, unknown {len(unknown)}, out of commit order"
                            f" {inversions}, bad signatures {bad_sig}"
                            + (f"; first missing: {missing[0]}" if missing else "")
                            + (f"; first inversion: {first_inv}" if first_inv else "")))
        return results

    # 6. the cache equals the catalog, once the invalidator has caught up: it
    # converges, so a difference counts only if it outlives a minute
    def cache(self):
        deadline = time.time() + 60
        while True:
            result = self._cache_once()
            if not result[1] or time.time() > deadline:
                return result
            time.sleep(3)

    def _cache_once(self):
        schema = self.env.get("MILLRACE_PG_SCHEMA", "public")
        prefix = f"millrace:{schema}"
        url = self.env["MILLRACE_REDIS_URL"]

        def redis(*args):
            return subprocess.run(["redis-cli", "-u", url, "--raw", *args], stdout=subprocess.PIPE,
                                  text=True, timeout=120).stdout
        live = redis("GET", f"{prefix}:live").strip()
        if not live:
            return ("the Redis cache equals the catalog", True, "no live generation in Redis")
        keys = [k for k in redis("--scan", "--pattern", f"{prefix}:g{live}:*").splitlines() if k]
        rows = {}
        for table, col in (("categories", "name"), ("products", "sku")):
            out = self.run.psql(f"SELECT {col}, row_to_json(t) FROM {table} t", timeout=120) or ""
            for line in out.splitlines():
                k, _, js = line.partition("|")
                rows[(table, k)] = json.loads(js)
        compared, wrong = 0, []
        for key in keys:
            rest = key[len(f"{prefix}:g{live}:"):]
            kind, _, name = rest.partition(":")
            table = {"category": "categories", "product": "products"}.get(kind)
            if table is None:
                continue
            body = redis("HGET", key, "b")
            row = rows.get((table, name))
            compared += 1
            if not body.strip():
                if row is not None:
                    wrong.append(f"{key}: a tombstone, but the row exists")
                continue
            cached = json.loads(body)
            if row is None:
                wrong.append(f"{key}: cached, but no such row")
                continue
            for field, value in row.items():
                if field in cached and str(cached[field]) != str(value) and not _same_number(cached[field], value):
                    wrong.append(f"{key}: {field} cached {cached[field]!r}, catalog {value!r}")
                    break
        return ("the Redis cache equals the catalog", bool(wrong) or compared == 0,
                f"generation {live}: {compared} entr(ies) compared with {len(rows)} catalog row(s), {len(wrong)} wrong"
                + (f"; first: {wrong[0]}" if wrong else ""))

    # 6b. catalog edits (psql and the API's PUT): each category holds its
    # last acknowledged edit, or an edit sent after it whose outcome is
    # unknown; and the API reads back what the catalog holds (it may serve
    # from the cache, which converges: retried for up to a minute)
    def catalog_edits(self, converge_s=60):
        promise = "catalog edits: each category holds its last acknowledged edit, and the API reads it back"
        out = self.run.psql("SELECT name, display_name FROM categories", timeout=120)
        if out is None:
            return (promise, True, "could not read categories")
        table = {}
        for line in out.splitlines():
            name, _, shown = line.partition("|")
            table[name] = shown
        lost, checked = [], 0
        for name, log in sorted(self.run.load.catalog_log.items()):
            acked = [i for i, (_, ok) in enumerate(log) if ok]
            if not acked:
                continue  # every edit's outcome unknown: any of them, or none, may hold
            checked += 1
            allowed = {shown for shown, _ in log[acked[-1]:]}
            if table.get(name) not in allowed:
                lost.append(f"{name}: holds {table.get(name)!r}, last acknowledged {log[acked[-1]][0]!r}")
        deadline = time.time() + converge_s
        while True:
            unread = self._api_reads(table)
            if not unread or time.time() > deadline:
                break
            time.sleep(3)
        return (promise, bool(lost or unread),
                f"{checked} categories with an acknowledged edit, {len(lost)} not holding it; {len(table)} read"
                f" through the API, {len(unread)} differing" + (f"; first lost: {lost[0]}" if lost else "")
                + (f"; first differing: {unread[0]}" if unread else ""))

    def _api_reads(self, table):
        import http.client
        import urllib.parse
        wrong = []
        for name, shown in sorted(table.items()):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.run.api_port, timeout=20)
                c.request("GET", "/v1/categories/" + urllib.parse.quote(name, safe=""),
                          headers={"Accept": "application/json"})
                r = c.getresponse()
                body = r.read()
                c.close()
            except (OSError, http.client.HTTPException) as e:
                wrong.append(f"{name}: {e!r}")
                continue
            if r.status != 200:
                wrong.append(f"{name}: status {r.status}")
                continue
            got = json.loads(body).get("display_name")
            if (got or "") != shown:
                wrong.append(f"{name}: the API reads {got!r}, the catalog holds {shown!r}")
        return wrong

    # 7. every view equals a recomputation from the topic's records: the
    # events (and orders) that must count, decided here (the seeds' JSON
    # Schemas, the first copy of each identity, the lateness rule), loaded
    # raw into scratch tables, and the views' documented definitions
    # (docs/views.md) as plain SQL over them
    def views(self):
        events, event_note = self.counted("store-events", "store_event.schema.json", "id", "ts", header="event_type")
        orders, order_note = self.counted("store-orders", "order.schema.json", "PaymentTransactionId", "OrderDate")
        events_csv = os.path.join(self.run.work, "oracle_events.csv")
        with open(events_csv, "w", newline="") as f:
            w = csv.writer(f)
            for e in events:
                w.writerow([e["event_type"], e["ts"], e["category"], e["sku"], e["price"], e["qty"],
                            e["discount"], "t" if e["is_return"] else "f"])
        orders_csv = os.path.join(self.run.work, "oracle_orders.csv")
        lines_csv = os.path.join(self.run.work, "oracle_order_lines.csv")
        with open(orders_csv, "w", newline="") as fo, open(lines_csv, "w", newline="") as fl:
            wo, wl = csv.writer(fo), csv.writer(fl)
            for o in orders:
                wo.writerow([o["PaymentTransactionId"], o["OrderDate"], o["Total"]])
                for line in o.get("Details") or []:
                    wl.writerow([o["PaymentTransactionId"], line["ProductId"], line["Quantity"], line["UnitPrice"]])
        # Each comparison counts the rows in one result and not the other,
        # both ways (EXCEPT ALL), and the view's rows.
        compare = {
            "hourly_sales": ("SELECT date_trunc('hour', ts, 'UTC'), event_type, count(*), sum(sign * qty), "
                             "sum(sign * gross_revenue), sum(sign * gross_discount), count(*) FILTER (WHERE is_return) "
                             "FROM oracle_rows GROUP BY 1, 2",
                             "SELECT window_start, event_type, events, units, revenue, discount_total, returns "
                             "FROM hourly_sales"),
            "daily_sales": ("SELECT date_trunc('day', ts, 'UTC'), event_type, count(*), sum(sign * qty), "
                            "sum(sign * gross_revenue), sum(sign * gross_discount), count(*) FILTER (WHERE is_return) "
                            "FROM oracle_rows GROUP BY 1, 2",
                            "SELECT window_start, event_type, events, units, revenue, discount_total, returns "
                            "FROM daily_sales"),
            "top_products": ("SELECT (row_number() OVER (ORDER BY units DESC, sku))::int, sku, units, revenue FROM "
                             "(SELECT sku, sum(sign * qty)::bigint AS units, sum(sign * gross_revenue) AS revenue "
                             "FROM oracle_rows WHERE event_type = 'sale_event' GROUP BY sku "
                             "ORDER BY units DESC, sku LIMIT 10) t",
                             "SELECT rank, sku, units, revenue FROM top_products"),
            "popular_categories": ("SELECT category, count(*), sum(sign * qty), sum(sign * gross_revenue) "
                                   "FROM oracle_rows WHERE event_type = 'sale_event' GROUP BY category",
                                   "SELECT category, events, units, revenue FROM popular_categories"),
            "web_orders_hourly": ("SELECT date_trunc('hour', order_date, 'UTC'), count(*), sum(total), "
                                  "sum(units) FROM oracle_order_units GROUP BY 1",
                                  "SELECT window_start, orders, revenue, units FROM web_orders_hourly"),
            "web_orders_daily": ("SELECT date_trunc('day', order_date, 'UTC'), count(*), sum(total), "
                                 "sum(units) FROM oracle_order_units GROUP BY 1",
                                 "SELECT window_start, orders, revenue, units FROM web_orders_daily"),
            "web_orders_top_products": ("SELECT (row_number() OVER (ORDER BY units DESC, product_id))::int, "
                                        "product_id, units, revenue, orders FROM (SELECT product_id, "
                                        "sum(quantity)::bigint AS units, sum(quantity * unit_price) AS revenue, "
                                        "count(DISTINCT order_id)::bigint AS orders FROM oracle_order_lines "
                                        "GROUP BY product_id ORDER BY units DESC, product_id LIMIT 10) t",
                                        "SELECT rank, product_id, units, revenue, orders FROM web_orders_top_products"),
            "orders_this_hour": ("SELECT date_trunc('hour', now(), 'UTC'), (count(*) FILTER (WHERE NOT is_return)), "
                                 "coalesce(sum(sign * gross_revenue), 0) FROM oracle_rows WHERE event_type = 'sale_event' "
                                 "AND ts >= date_trunc('hour', now(), 'UTC') "
                                 "AND ts < date_trunc('hour', now(), 'UTC') + interval '1 hour'",
                                 "SELECT window_start, orders, revenue FROM orders_this_hour"),
            "today_summary": ("SELECT date_trunc('day', now(), 'UTC'), (count(*) FILTER (WHERE NOT is_return)), "
                              "coalesce(sum(sign * gross_revenue), 0), coalesce(sum(sign * qty), 0), "
                              "(count(*) FILTER (WHERE is_return)) FROM oracle_rows WHERE event_type = 'sale_event' "
                              "AND ts >= date_trunc('day', now(), 'UTC') "
                              "AND ts < date_trunc('day', now(), 'UTC') + interval '1 day'",
                              "SELECT day, orders, revenue, units, returns FROM today_summary"),
            "web_orders_this_hour": ("SELECT date_trunc('hour', now(), 'UTC'), count(*), coalesce(sum(total), 0), "
                                     "coalesce(sum(units), 0) FROM oracle_order_units "
                                     "WHERE order_date >= date_trunc('hour', now(), 'UTC') "
                                     "AND order_date < date_trunc('hour', now(), 'UTC') + interval '1 hour'",
                                     "SELECT window_start, orders, revenue, units FROM web_orders_this_hour"),
            "web_orders_today": ("SELECT date_trunc('day', now(), 'UTC'), count(*), coalesce(sum(total), 0), "
                                 "coalesce(sum(units), 0) FROM oracle_order_units "
                                 "WHERE order_date >= date_trunc('day', now(), 'UTC') "
                                 "AND order_date < date_trunc('day', now(), 'UTC') + interval '1 day'",
                                 "SELECT day, orders, revenue, units FROM web_orders_today"),
            # A declared view (order.json's "views"): the top 10 products of
            # each New York day, by units, ties by product.
            "web_orders_top_products_per_local_day": (
                "SELECT window_start, window_end, product_id, units, revenue, lines, rank FROM ("
                "SELECT w AS window_start, ((w AT TIME ZONE 'America/New_York') + interval '1 day') "
                "AT TIME ZONE 'America/New_York' AS window_end, product_id, sum(quantity) AS units, "
                "sum(quantity * unit_price) AS revenue, count(*) AS lines, (row_number() OVER "
                "(PARTITION BY w ORDER BY sum(quantity) DESC, product_id))::int AS rank FROM ("
                "SELECT date_trunc('day', o.order_date, 'America/New_York') AS w, l.product_id, "
                "l.quantity, l.unit_price FROM oracle_order_lines l JOIN oracle_orders o USING (order_id)) x "
                "GROUP BY w, product_id) t WHERE rank <= 10",
                "SELECT window_start, window_end, product_id, units, revenue, lines, rank "
                "FROM web_orders_top_products_per_local_day"),
            # Per category of the catalog as it is when read.
            "web_orders_categories": ("SELECT p.category, sum(l.quantity), sum(l.quantity * l.unit_price) "
                                      "FROM oracle_order_lines l JOIN products p ON p.sku = l.product_id "
                                      "GROUP BY p.category",
                                      "SELECT category, units, revenue FROM web_orders_categories"),
        }
        script = [
            "CREATE TEMP TABLE oracle_events (event_type text, ts timestamptz, category text, sku bigint, "
            "price numeric, qty integer, discount numeric, is_return boolean);",
            f"\\copy oracle_events FROM '{events_csv}' WITH (FORMAT csv)",
            "CREATE TEMP VIEW oracle_rows AS SELECT event_type, ts, category, sku, "
            "CASE WHEN is_return THEN -1 ELSE 1 END AS sign, qty, is_return, "
            "CASE WHEN event_type = 'sale_event' THEN price * qty * (1 - discount / 100) ELSE 0 END AS gross_revenue, "
            "CASE WHEN event_type = 'sale_event' THEN price * qty * discount / 100 ELSE 0 END AS gross_discount "
            "FROM oracle_events;",
            "CREATE TEMP TABLE oracle_orders (order_id text, order_date timestamptz, total numeric);",
            f"\\copy oracle_orders FROM '{orders_csv}' WITH (FORMAT csv)",
            "CREATE TEMP TABLE oracle_order_lines (order_id text, product_id bigint, quantity bigint, unit_price numeric);",
            f"\\copy oracle_order_lines FROM '{lines_csv}' WITH (FORMAT csv)",
            "CREATE TEMP VIEW oracle_order_units AS SELECT o.order_date, o.total, coalesce((SELECT sum(quantity) "
            "FROM oracle_order_lines l WHERE l.order_id = o.order_id), 0)::bigint AS units FROM oracle_orders o;",
        ]
        for view, (expected, actual) in compare.items():
            script.append(f"SELECT '{view}', (SELECT count(*) FROM (({expected}) EXCEPT ALL ({actual})) x), "
                          f"(SELECT count(*) FROM (({actual}) EXCEPT ALL ({expected})) x), "
                          f"(SELECT count(*) FROM {view});")
        path = os.path.join(self.run.work, "oracle.sql")
        with open(path, "w") as f:
            f.write("\n".join(script) + "\n")
        r = subprocess.run(["psql", self.env["MILLRACE_PG"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
        if r.returncode != 0:
            return ("every view equals a recomputation from the topic's records", True,
                    f"psql failed: {r.stderr.strip()[-300:]}")
        wrong, rows = [], 0
        for line in r.stdout.splitlines():
            view, missing, extra, n = line.split("|")
            rows += int(n)
            if int(missing) or int(extra):
                wrong.append(f"{view}: {missing} row(s) expected but not there, {extra} there but not expected")
        return ("every view equals a recomputation from the topic's records (store events and orders)",
                bool(wrong) or not events or not orders,
                f"events: {event_note}; orders: {order_note}; {len(compare)} views, {rows} row(s),"
                f" {len(wrong)} differing" + (f"; first: {wrong[0]}" if wrong else ""))

    def counted(self, topic, schema_file, identity, time_field, header=None):
        """The records of a topic the views count, as the aggregator folds them:
        valid by the kind's JSON Schema (proto/), neither late nor ahead, and
        the first of their identity; and a note of how many were not."""
        import jsonschema  # the test venv's
        schema = json.load(open(os.path.join(self.run.repo, "proto", schema_file)))
        validator = jsonschema.Draft202012Validator(schema)
        records = sorted(self.kcat(topic), key=lambda m: (m["partition"], m["offset"]))
        seen, newest, out = set(), {}, []
        invalid = late = duplicates = 0
        for m in records:
            try:
                r = json.loads(m["payload"] or "", parse_float=decimal.Decimal)
            except ValueError:
                invalid += 1
                continue
            if not isinstance(r, dict):
                invalid += 1
                continue
            if header:
                # The store event's type travels in a header; a body's
                # copy, when not null, must equal it (proto/README.md). The
                # header's value is then judged by the schema as the body's
                # would be: an unknown type is invalid wherever it is.
                h = m.get("headers") or []
                kind = dict(zip(h[0::2], h[1::2])).get(header)
                if kind is None or r.get(header) not in (None, kind):
                    invalid += 1
                    continue
                r[header] = kind
            if not validator.is_valid(r):
                invalid += 1
                continue
            # As the aggregator folds a record: ahead of its record's
            # timestamp (the producer's clock at send time; docs/views.md),
            # late (older than its partition's newest on-time time by
            # more than the lateness), else it moves that time on, and
            # counts if its identity is new.
            t = datetime.datetime.fromisoformat(r[time_field].replace("Z", "+00:00")).timestamp()
            stamped = m["ts"] / 1000.0 if m.get("ts", -1) >= 0 else time.time()
            top = newest.get(m["partition"])
            if t > stamped + MAX_FUTURE_S or (top is not None and t < top - MAX_LATENESS_S):
                late += 1
                continue
            newest[m["partition"]] = t if top is None else max(top, t)
            if r[identity] in seen:
                duplicates += 1
                continue
            seen.add(r[identity])
            out.append(r)
        return out, f"{len(out)} counted, {invalid} invalid, {duplicates} repeated, {late} late or ahead"

    # 7. the archive holds every record of the topic once
    def archive(self):
        archiver = self.run.services["archiver"]
        archiver.stopped = True
        archiver.signal(15)
        try:
            archiver.proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        verify = self.run.millrace("archive", "verify", check=False,
                                   env={"MILLRACE_ARCHIVE_URL": "file://" + self.run.archive_dir,
                                        "MILLRACE_PG": self.env["MILLRACE_PG"]})
        dump = os.path.join(self.run.work, "topic.dump")
        with open(dump, "w") as f:
            subprocess.run(["kcat", "-C", "-b", self.env["MILLRACE_BROKERS"], "-t", "store-events", "-e",
                            "-q", "-f", "%p %o %K %S %h\n%k%s\n"], stdout=f, timeout=600)
        python = os.path.join(self.run.repo, ".cache/venv/bin/python")
        check = subprocess.run([python, os.path.join(self.run.repo, "tests/archive/check_archive.py"),
                                self.run.archive_dir, "millrace", "store-events", dump],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        last = (verify.stdout.strip().splitlines() or [""])[-1]
        return ("the archive holds every record of the topic once (archive verify; fastavro vs kcat)",
                verify.returncode != 0 or check.returncode != 0,
                f"archive verify exit {verify.returncode} ({last}); fastavro check exit {check.returncode}"
                + (f": {check.stdout.strip().splitlines()[-1] if check.stdout.strip() else ''}"))


def _same_number(a, b):
    """Equal as numbers, or as instants (the API writes UTC with Z,
    PostgreSQL's JSON with +00:00)."""
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        pass
    try:
        return datetime.datetime.fromisoformat(str(a)) == datetime.datetime.fromisoformat(str(b))
    except ValueError:
        return False
