"""The report's rows and paragraph of the outbox stage (issue 81):
millrace-changefeed --format outbox against Debezium's connector with the
EventRouter, on the same WAL.
"""


def median(summary, key, fmt):
    s = summary.get(key)
    return "n/a" if not s else f"{s['median']:{fmt}} (runs {s['min']:{fmt}} to {s['max']:{fmt}})"


def render_outbox_rows(res):
    ob = res.get("outbox")
    if not ob or "summary" not in ob:
        return []
    s = ob["summary"]
    return [
        f"| outbox (`millrace-changefeed --format outbox` catching up alone on {ob['events']:,} outbox events in "
        f"transactions of 1 to 100, to the last event on Kafka; median of {ob['rounds']}) | "
        f"{s['millrace_events_per_s']['median']:,.0f} events/s | Debezium 3.6.1's PostgreSQL connector with the "
        f"EventRouter (Kafka Connect 3.9.1) on the same WAL: {s['debezium_events_per_s']['median']:,.0f} events/s | "
        f"{s['ratio_events_per_s']['median']} |",
        f"| outbox, commit to a read_committed consumer at {ob['latency_rate']} commits/s, both running, p99 | "
        f"{s['millrace_p99_ms']['median']:.1f} ms | Debezium's: {s['debezium_p99_ms']['median']:.1f} ms | "
        f"{s['ratio_p99']['median']} |"]


def render_outbox(r):
    ob = r["results"].get("outbox")
    if not ob:
        return []
    lines = ["### The transactional outbox (issue 81)", ""]
    if "skipped" in ob:
        return lines + [f"Skipped: {ob['skipped']}.", ""]
    s, runs = ob["summary"], ob["runs"]
    loads = ", ".join(f"{x['load_average']:.1f}" for x in runs)
    lines.append(
        f"Each of {ob['rounds']} rounds seeded {ob['events']:,} outbox events (transactions of 1 to 100 events) "
        f"into a table made by `millrace outbox install`, behind two fresh slots; then the feed, then Debezium, "
        f"each alone, read its slot to the last event on Kafka. Events/s, Millrace over Debezium: "
        f"{median(s, 'ratio_events_per_s', '.3f')}; counted from each side's first event on Kafka (its start "
        f"taken off): {median(s, 'ratio_events_per_s_after_first', '.3f')}. CPU seconds, Debezium's Connect JVM "
        f"over the feed's process: "
        f"{median(s, 'ratio_cpu', '.3f')}; with PostgreSQL's CPU (the walsender decoding for each, counted the "
        f"same on both sides): {median(s, 'ratio_cpu_with_walsender', '.3f')}. Then both ran on fresh slots while "
        f"{ob['latency_rate']} single-event transactions a second were committed; commit to a read_committed "
        f"consumer, p99 Millrace over Debezium: {median(s, 'ratio_p99', '.3f')} (Millrace p99 "
        f"{median(s, 'millrace_p99_ms', '.1f')} ms, Debezium {median(s, 'debezium_p99_ms', '.1f')} ms). The "
        f"machine's load average (1 minute) at each round's start: {loads}.")
    return lines + [""]
