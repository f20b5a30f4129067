"""Issue 40's goals (and issue 78's, of the websocket source), each a ratio to a reference measured in the same run,
read out of a run's results. bench/run records every goal's value in each
repetition of a short stage (cli.Run.repeated); the report's table of goals
(report/goals.py) takes each one's median.
"""

import statistics
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Goal:
    name: str
    text: str  # what is compared with what, as the report's table says it
    value: Callable[[dict], float]  # the ratio, from a run's results
    at_most: bool  # met when the ratio is at most `bound` (else: at least)
    bound: float
    # Why a run does not measure the goal (its load fell behind its schedule:
    # the machine was overloaded), or None when it does.
    behind: Optional[Callable[[dict], Optional[str]]] = None

    def of(self, results):
        """The goal's ratio in these results, or None when its stage did not run."""
        try:
            v = self.value(results)
        except (KeyError, TypeError, IndexError, StopIteration, ZeroDivisionError):
            return None
        return None if v is None else float(v)

    def behind_in(self, results):
        """Why the run of these results does not measure the goal, or None."""
        if self.behind is None:
            return None
        try:
            return self.behind(results)
        except (KeyError, TypeError, IndexError, StopIteration):
            return None

    def met(self, v):
        return v <= self.bound if self.at_most else v >= self.bound


def _webhooks_run(res, rate):
    """The webhooks stage's run at `rate`: the first rate a run measures is
    stored as "webhooks", the others as "webhooks_<rate>" (cli.py)."""
    return next(res[key] for key in ("webhooks", f"webhooks_{rate}") if key in res and res[key]["rate"] == rate)


def _webhooks_at(rate):
    """The webhooks goal at `rate`."""
    return lambda res: _webhooks_run(res, rate)["goal"]["ratio"]


# A paced load generator keeps within a few milliseconds of its schedule on
# average (1.6 ms at 1,000 commits/s with the machine 97 % busy): one that
# fell this far behind, or kept less of the rate, ran on an overloaded
# machine, where every step of a change's way waits for a core.
BEHIND_LAG_MS = 50
BEHIND_SHARE = 0.95


def _webhooks_behind(rate):
    """Why the webhooks stage's run at `rate` does not measure its goal."""
    def behind(res):
        w = _webhooks_run(res, rate)["writer"]
        if w["tps"] >= BEHIND_SHARE * rate and w["schedule_lag_avg_ms"] <= BEHIND_LAG_MS:
            return None
        return (f"pgbench kept {w['tps']:,.0f} of {rate:,} commits/s, {w['schedule_lag_avg_ms']:,.0f} ms behind "
                "its schedule on average")
    return behind


def _event_to_row(res):
    refs = res["kafka_ack_1500"]
    ref = next(a for a in refs if a["linger_ms"] == 5)
    return res["latency_1500"]["p99_ms"] / ref["from_schedule_ms"]["p99"]


GOALS = (
    Goal("feed", "change feed at 20 commits/s: commit to a `read_committed` consumer, p99 against "
         "`pg_recvlogical`'s p99 plus a bare Kafka transaction's",
         lambda r: r["cache_invalidation"]["feed_goal"]["ratio_p99"], True, 2.0),
    # The feed's p99 is the feed goal's: commit to the record's visibility
    # for a read_committed consumer, as the webhooks' goal takes it too. The
    # record's Kafka timestamp is set when the feed produces it, before its
    # transaction commits, so no reader can see the record by then.
    Goal("cache", "cache: commit to the Redis entry's change, p99 against the feed's (commit to a "
         "`read_committed` consumer)",
         lambda r: (r["cache_invalidation"]["commit_to_cache_ms"]["p99"]
                    / r["cache_invalidation"]["commit_to_consumer_ms"]["p99"]), True, 1.2),
    Goal("webhooks_200", "webhooks at 200 commits/s: commit to arrival, p99 against the feed's",
         _webhooks_at(200), True, 1.5, _webhooks_behind(200)),
    Goal("webhooks_2000", "webhooks at 2,000 commits/s: commit to arrival, p99 against the feed's",
         _webhooks_at(2000), True, 1.5, _webhooks_behind(2000)),
    Goal("end_to_end", "end to end (produce, 2 sinks and the aggregator) against PostgreSQL COPY",
         lambda r: r["end_to_end"]["ratio"], False, 0.8),
    Goal("drain", "drain (2 sinks) against Kafka ConsumerPerformance",
         lambda r: r["drain"]["ratio"], False, 0.85),
    Goal("event_to_row", "event creation to committed row at 1,500 events/s, p99 against Kafka's "
         "acknowledgement p99 (`linger.ms=5`)", _event_to_row, True, 2.0),
    Goal("cached_reads", "cached catalog reads against nginx answering the same bytes",
         lambda r: r["cache_reads"]["ratio_cached_nginx"], False, 0.5),
    Goal("catch_up", "the change feed catching up on the run's backlog of changes against `pg_recvlogical`",
         lambda r: r["changefeed"]["ratio"], False, 0.8),
    # Issue 78's: the first decides which repetition of the stage the
    # report shows (cli.Run.repeated).
    Goal("websocket_rate", "issue 78: `millrace-websocket` reading a feed flat out, frames/s against a reference "
         "client (`websockets` + `confluent-kafka`) on the same stream",
         lambda r: r["websocket"]["ratio_frames_per_s"], False, 1.0),
    Goal("websocket_cpu", "issue 78: the same, frames per CPU-second of the client",
         lambda r: r["websocket"]["ratio_frames_per_cpu_s"], False, 2.0),
    Goal("websocket_latency", "issue 78: frame arrival to Kafka's acknowledgement at 1,000 frames/s, p99 against "
         "a bare producer's acknowledgement p99 at the same rate of records",
         lambda r: r["websocket"]["latency"]["ratio_p99"], True, 1.5),
    # Issue 80's: the first decides which repetition the report shows.
    Goal("declared_views", "issue 80: `millrace-aggregator --kind sale` with three declared views, events/s against "
         "the same aggregator without them, same sales",
         lambda r: r["declared_views"]["ratio_events_per_s"], False, 0.7),
    Goal("declared_views_flink", "issue 80: the aggregator keeping the three views alone, sales per CPU-second (the "
         "process and PostgreSQL) against Flink SQL computing the same views into PostgreSQL",
         lambda r: r["declared_views"]["ratio_flink_per_cpu_s"], False, 3.0),
)


def goal_values(report):
    """Each goal measured in the run: its values (one per repetition of its
    stage), why each run does not measure it (None where it does), the
    median of the runs that do and whether that median meets it (both None
    when no run does)."""
    out = []
    runs = report.get("goal_runs", {})
    for g in GOALS:
        values = runs.get(g.name)
        if values:
            behind = report.get("goal_runs_behind", {}).get(g.name) or [None] * len(values)
        else:
            v = g.of(report["results"])
            values = [] if v is None else [v]
            behind = [g.behind_in(report["results"])]
        pairs = [(v, b) for v, b in zip(values, behind) if v is not None]
        if not pairs:
            continue
        measured = [v for v, b in pairs if b is None]
        median = statistics.median(measured) if measured else None
        out.append({"goal": g, "values": [v for v, _ in pairs], "behind": [b for _, b in pairs],
                    "median": median, "met": None if median is None else g.met(median)})
    return out
