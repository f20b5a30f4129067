"""Orders, a declared kind (proto/kinds/order.json): two sinks --kind order
drain orders already in Kafka into `orders` and `order_lines`, as the drain
stage does with store events, against PostgreSQL COPY of the very rows they
stored, loaded into the same empty tables of a fresh schema.
"""

import os
import time

from ..common import BIN, run
from ..stack import fresh_schema
from .throughput import drain_run

ORDER_COLUMNS = ("payment_transaction_id, order_date, total, region, first_name, last_name, address, "
                 "city, state, postal_code, country, phone, sms_opt_in, sms_status, email, receipt_url, "
                 "has_been_shipped, kafka_topic, kafka_partition, kafka_offset")
# A line carries its order's time, on which order_lines is partitioned with
# orders (the declaration's storage).
LINE_COLUMNS = "payment_transaction_id, order_date, line_no, email, product_id, quantity, unit_price"


def bench_orders(stack, n, workdir):
    topic = schema = "bench_orders"
    stack.create_topic(topic)
    stack.create_topic(topic + ".dlq")
    # 1 to 4 lines an order (2.5 on average), an order's identity its key.
    run([os.path.join(BIN, "millrace"), "produce", "--kind", "order", "--count", str(n), "--seed", "11",
         "--time-spread", "86400", "--base-time", "2026-11-25T00:00:00Z"],
        env={"MILLRACE_BROKERS": stack.brokers, "MILLRACE_ORDERS_TOPIC": topic})
    # Personal data kept as sent, so that COPY loads the same bytes.
    extra = {"MILLRACE_KIND": "order", "MILLRACE_ORDERS_TOPIC": topic, "MILLRACE_ORDERS_PII": "keep"}
    drained = drain_run(stack, topic, n, schema, workdir, extra=extra)
    orders = int(stack.psql(f"SELECT count(*) FROM {schema}.orders"))
    lines = int(stack.psql(f"SELECT count(*) FROM {schema}.order_lines"))
    if orders != n:
        raise SystemExit(f"bench: the order sinks stored {orders:,} orders of {n:,}")

    orders_file = os.path.join(workdir, "orders.copy")
    lines_file = os.path.join(workdir, "order_lines.copy")
    run(["psql", stack.pg, "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-c", f"\\copy (SELECT {ORDER_COLUMNS} FROM {schema}.orders) TO '{orders_file}'",
         "-c", f"\\copy (SELECT {LINE_COLUMNS} FROM {schema}.order_lines) TO '{lines_file}'"])
    fresh_schema(stack, "bench_orders_copy")
    # The partitions the rows fall in, made before the clock starts, as the
    # sinks' maintenance made theirs before they stored anything.
    span = stack.psql(f"SELECT min(order_date)::text || '|' || max(order_date)::text FROM {schema}.orders")
    first, last = span.split("|")
    stack.psql(f"SET search_path TO bench_orders_copy; SELECT millrace_partitions_ensure('orders', "
               f"'{first}'::timestamptz, '{last}'::timestamptz + interval '1 day')")
    stack.checkpoint()
    t0 = time.monotonic()
    run(["psql", stack.pg, "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-c", f"\\copy bench_orders_copy.orders ({ORDER_COLUMNS}) FROM '{orders_file}'",
         "-c", f"\\copy bench_orders_copy.order_lines ({LINE_COLUMNS}) FROM '{lines_file}'"])
    copy_seconds = time.monotonic() - t0
    sink_lines_per_s = lines / drained["seconds"]
    copy_lines_per_s = lines / copy_seconds
    return {"orders": n, "lines": lines, "orders_per_s": drained["events_per_s"],
            "millrace_lines_per_s": sink_lines_per_s, "seconds": drained["seconds"],
            "postgres_copy_lines_per_s": copy_lines_per_s, "copy_seconds": copy_seconds,
            "cpu_seconds": drained["cpu_seconds"],
            "ratio": round(sink_lines_per_s / copy_lines_per_s, 2)}
