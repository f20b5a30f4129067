"""The report's rows and paragraph of the declared views stage (issue 80):
the aggregator with three declared views against itself without them, and
against Flink SQL computing the same views.
"""

import statistics


def spread(values):
    """The median of a stage's runs and their range, as the report writes them."""
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return f"{statistics.median(values):.3f} (runs {min(values):.3f} to {max(values):.3f})"


def render_declared_views_rows(res):
    dv = res.get("declared_views")
    if not dv:
        return []
    plain, views = dv["without_views"], dv["with_views"]
    lines = [
        f"| declared views (`millrace-aggregator --kind sale` from the topic's start, {dv['sales']:,} sales over "
        f"{dv['days']} days, its aggregate section and three declared views) | {views['events_per_s']:,.0f} events/s "
        f"({views['seconds']:.1f} s) | the same aggregator without the views: {plain['events_per_s']:,.0f} events/s "
        f"({plain['seconds']:.1f} s) | {dv['ratio_events_per_s']} |"]
    flink, only = dv.get("flink"), dv.get("views_only")
    if flink:
        lines.append(
            f"| declared views, sales per CPU-second of the aggregator and PostgreSQL, the three views alone (no "
            f"aggregate section) | {only['events_per_cpu_s_with_postgres']:,.0f} | Flink SQL 1.20 computing the same three views into "
            f"PostgreSQL (JDBC), per CPU-second of its JVM and PostgreSQL: "
            f"{flink['events_per_cpu_s_with_postgres']:,.0f} | {dv['ratio_flink_per_cpu_s']} |")
    return lines


def render_declared_views(r):
    res = r["results"]
    dv = res.get("declared_views")
    if not dv:
        return []
    runs = r.get("repeated_results", {}).get("declared_views") or [dv]
    plain, views = dv["without_views"], dv["with_views"]
    loads = ", ".join(f"{x['load_average']:.1f}" for x in runs if "load_average" in x)
    lines = ["### Declared views (issue 80)", ""]
    lines.append(
        f"`millrace-aggregator --kind sale` ([bench/declared_views](../bench/declared_views)) read {dv['sales']:,} "
        f"sales, produced once in time order to a topic of 4 partitions, from its start into a fresh schema, timed "
        f"from its start until `partition_accounting` had consumed them all; each repetition ran it with the "
        f"declaration's aggregate section alone, then with three declared views added (per store per New York "
        f"hour; per category every 15 minutes; the top 10 skus of each New York day). Over {len(runs)} runs, "
        f"events/s with the views against without: {spread([x['ratio_events_per_s'] for x in runs])}; sales "
        f"per CPU-second of the aggregator and PostgreSQL, with against without: "
        f"{spread([x['ratio_events_per_cpu_s'] for x in runs])}. In the run shown, the aggregator took "
        f"{plain['cpu_seconds']['aggregator']:.1f} CPU s and PostgreSQL {plain['cpu_seconds']['postgres']:.1f} "
        f"without the views, {views['cpu_seconds']['aggregator']:.1f} and {views['cpu_seconds']['postgres']:.1f} "
        f"with them. The machine's load average (1 minute) at each repetition's start: {loads or 'n/a'}.")
    flink, only = dv.get("flink"), dv.get("views_only")
    if flink:
        lines[-1] += (
            f" Against Flink, the aggregator ran a third time, keeping the three views alone (the declaration "
            f"without its aggregate section): {only['events_per_s']:,.0f} events/s, "
            f"{only['cpu_seconds']['aggregator']:.1f} CPU s and PostgreSQL {only['cpu_seconds']['postgres']:.1f}.")
        lines[-1] += (
            f" Flink SQL 1.20.3 (tests/peers/flink's kit: one local JVM, parallelism 1, the Kafka source bounded at "
            f"the topic's end, `TUMBLE` windows in `table.local-time-zone` America/New_York, the top 10 by "
            f"`ROW_NUMBER()`, the JDBC sink's upserts) computed the same three views from the same topic, timed "
            f"from its JVM's start to its exit ({flink['seconds']:.1f} s, {flink['cpu_seconds']['flink']:.1f} CPU s, "
            f"PostgreSQL {flink['cpu_seconds']['postgres']:.1f}); its tables equalled the aggregator's views row for "
            f"row ({', '.join(f'{t} {n:,}' for t, n in flink['rows'].items())} rows). Sales per CPU-second of the "
            f"process and PostgreSQL, the aggregator with the views alone against Flink: "
            f"{spread([x.get('ratio_flink_per_cpu_s') for x in runs])} (with its aggregate section too: "
            f"{spread([x.get('ratio_flink_per_cpu_s_with_aggregate') for x in runs])}); of the process alone: "
            f"{spread([x.get('ratio_flink_per_cpu_s_process') for x in runs])}.")
        start = flink.get("empty_topic")
        if start:
            lines[-1] += (
                f" Much of Flink's CPU is fixed: on an empty topic the same job took {start['cpu_seconds']['flink']:.1f} "
                f"CPU s ({start['seconds']:.1f} s: the JVM's start, the planning, the job's start and end). Per "
                f"CPU-second of what the records add to that (and of PostgreSQL): "
                f"{spread([x.get('ratio_flink_per_cpu_s_beyond_start') for x in runs])}, about what a much larger "
                f"run would tend to, at most (Flink's cost per record still falls as its JIT compiler warms up).")
    elif dv.get("flink_skipped"):
        lines[-1] += f" Flink SQL did not run: {dv['flink_skipped']}."
    lines.append("")
    return lines
