"""Every view against a recomputation from the topics' records (Views, a
part of check.Checker; check 7): views, and counted, which picks the
records the aggregator counts.
"""
import csv
import datetime
import decimal
import json
import os
import subprocess
import time

MAX_LATENESS_S = 7 * 86400                      # MILLRACE_MAX_LATENESS_S' default
MAX_FUTURE_S = 3600                             # MILLRACE_MAX_FUTURE_S' default


class Views:
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
