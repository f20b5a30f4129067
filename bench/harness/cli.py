"""bench/run's command line, and a run from its arguments to its report.
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import sys

from .common import BIN, COMMANDS, REPO, log, ratio, run, unique_name
from .cpu import cpu_times, machine, steal_share
from .docs import update_docs
from .goals import GOALS
from .report.page import render
from .stack import Stack
from .stages import DATA_STAGES, OPTIONAL_STAGES, STAGES
from .stages.backfill import BACKFILL_CHUNK, BACKFILL_WRITE_RATE, bench_backfill
from .stages.cache_invalidation import CACHE_EDIT_RATE, bench_cache_invalidation
from .stages.cache_reads import bench_cache_reads
from .stages.cache_rig import CacheRig
from .stages.changes import CHANGEFEED_FORMATS, bench_changefeed
from .stages.declared_views import DeclaredViews
from .stages.http_ingest import bench_http
from .stages.orders import bench_orders
from .stages.outbox import LATENCY_RATE as OUTBOX_LATENCY_RATE, Outbox
from .stages.latency import ACK_REFERENCE_LINGERS, bench_ack_reference, bench_handoff_floor, bench_latency
from .stages.soak import bench_soak
from .stages.archive import bench_archive, bench_archive_s3
from .stages.archive_rounds import bench_archive_s3_rounds
from .stages.store import SCALE_PARTITIONS, SCALE_SINKS, SMOKE_SCALE, bench_enrich, bench_growth, bench_scale
from .stages.websocket import (WEBSOCKET_LATENCY_RATE, bench_websocket, library_server_run, prepare,
                               websocket_warmup)
from .stages.webhooks import WEBHOOKS_RATES, WEBHOOKS_WARMUP_SECONDS, bench_webhooks
from .stages.throughput import (bench_cli_produce, bench_consumer_reference, bench_copy_reference, bench_millrace,
                                bench_producer_reference, pipeline_run)


# Events for the warm-up run, which is not measured.
WARMUP_EVENTS = 500_000


def parse_args(description):
    """The arguments, with --smoke's sizes applied, and the stages selected."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--latency-seconds", type=int, default=20)
    ap.add_argument("--webhooks-rates", default=",".join(map(str, WEBHOOKS_RATES)),
                    help="commits/s the webhooks stage runs at, in turn; the first is the page's figure")
    ap.add_argument("--http-seconds", type=int, default=10)
    ap.add_argument("--cache-seconds", type=int, default=60,
                    help=f"length of the cache_invalidation stage's edits ({CACHE_EDIT_RATE}/s)")
    ap.add_argument("--history-rows", type=int, default=50_000_000,
                    help="rows of history the growth stage generates before its second drain")
    ap.add_argument("--backfill-rows", type=int, default=5_000_000,
                    help=f"rows of the table the backfill stage backfills (while {BACKFILL_WRITE_RATE} updates/s "
                    "go on)")
    ap.add_argument("--backfill-chunk-size", type=int, default=BACKFILL_CHUNK,
                    help="rows per chunk of the backfill stage's backfill")
    ap.add_argument("--websocket-frames", type=int, default=300_000,
                    help="frames of the websocket stage's stream, read flat out by each client (1 to 5 trades each)")
    ap.add_argument("--soak-minutes", type=int, default=20, help="length of the soak stage")
    ap.add_argument("--soak-rate", type=int, default=5000, help="events/s the soak stage produces")
    ap.add_argument("--repeats", type=int, default=None,
                    help="how often each stage that decides one of issue 40's goals runs; the goal's figure is "
                         "the median (default 3; with --smoke, 1)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, to check the harness runs")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help="comma-separated stages to run, of: " + ", ".join(STAGES + OPTIONAL_STAGES) +
                    " (default: all but " + ", ".join(OPTIONAL_STAGES) + ")")
    ap.add_argument("--out", default=os.path.join(REPO, "build", "bench"))
    ap.add_argument("--update-docs", action="store_true", help="also write docs/benchmarks.md")
    ap.add_argument("--no-build", action="store_true",
                    help="run the binaries in build/bin as they are, without building first "
                         "(ctest's bench-smoke: other tests run them meanwhile)")
    ap.add_argument("--changefeed-formats", default=",".join(CHANGEFEED_FORMATS),
                    help="the formats the changefeed stage runs the feed in, of: " + ", ".join(CHANGEFEED_FORMATS) +
                    " (millrace among them: the stage's figure)")
    ap.add_argument("--changefeed-baseline", default=None, metavar="BINARY",
                    help="another build's millrace-changefeed, which the changefeed stage also runs in each "
                         "format on the same backlog, in turn before and after build/bin's: a before/after")
    ap.add_argument("--webhooks-baseline", default=None, metavar="BINARY",
                    help="another build's millrace-webhooks, which the webhooks stage also runs at each rate in "
                         "each repeat, in turn before and after build/bin's (report.json: baseline_webhooks*)")
    ap.add_argument("--archive-rtt-ms", default="0,20",
                    help="round trips (ms) archive_s3_rounds puts between the clients and the S3 store, "
                         "each in every round (0: none)")
    ap.add_argument("--archive-baseline", default=None, metavar="BINARY",
                    help="another build's millrace-archiver, which archive_s3_rounds also runs in each round "
                         "over the same topic, in turn before and after build/bin's: a before/after")
    ap.add_argument("--archive-root", default=None,
                    help="directory the archive stage writes to (emptied first; default: under --out)")
    args = ap.parse_args()
    selected = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in selected if s not in STAGES + OPTIONAL_STAGES]
    if unknown or not selected:
        ap.error(f"--stages: unknown stage(s) {', '.join(unknown) or '(none given)'}; "
                 f"they are: {', '.join(STAGES + OPTIONAL_STAGES)}")
    if set(selected) - set(OPTIONAL_STAGES) != set(STAGES) and args.update_docs:
        ap.error("--update-docs needs every stage: docs/benchmarks.md is the whole report")
    args.changefeed_formats = [f.strip() for f in args.changefeed_formats.split(",") if f.strip()]
    wrong = [f for f in args.changefeed_formats if f not in CHANGEFEED_FORMATS]
    if wrong or "millrace" not in args.changefeed_formats:
        ap.error(f"--changefeed-formats: {', '.join(wrong) or 'millrace is missing'}; "
                 f"of: {', '.join(CHANGEFEED_FORMATS)}, millrace among them")
    for service in ("changefeed", "archive", "webhooks"):
        binary = getattr(args, f"{service}_baseline")
        if binary is not None and not os.access(binary, os.X_OK):
            ap.error(f"--{service}-baseline: {binary} is not an executable file")
    if args.smoke:
        args.events, args.latency_seconds, args.http_seconds, args.cache_seconds = 2000, 2, 1, 2
        args.history_rows = 20_000
        args.backfill_rows = 20_000
        args.soak_minutes, args.soak_rate = 1, 200
        args.websocket_frames = 2000
    if args.repeats is None:
        args.repeats = 1 if args.smoke else 3
    if args.repeats < 1:
        ap.error("--repeats: at least 1")
    return args, selected


def build():
    log("building")
    run(["cmake", "-S", REPO, "-B", os.path.join(REPO, "build"), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
    targets = ["millrace", "millrace-sink", "millrace-aggregator", "millrace-changefeed", "millrace-webhooks",
               "millrace-api", "millrace-cache", "millrace-archiver", "millrace-websocket",
               "millrace-bench-paced-produce",
               "millrace-bench-paced-transactions",
               "millrace-bench-wake-probe"]
    if os.path.isdir(os.path.join(REPO, "services", "producer")):
        targets.append("millrace-producer")
    run(["cmake", "--build", os.path.join(REPO, "build"), "--target", *targets])


class Run:
    """One run of the selected stages on a started stack: each stage's
    results go into `report` (its "results" the measured ones)."""

    def __init__(self, args, selected, stack, report):
        self.args, self.selected, self.stack, self.report = args, selected, stack, report
        self.results = report["results"]
        self.data = os.path.join(args.out, "events.ndjson")

    def want(self, stage):
        return stage in self.selected

    def repeated(self, once):
        """Runs a stage that decides goals (goals.GOALS) --repeats times,
        `once(results)` writing each run's figures as a single run would.
        Every goal's value in each run goes to the report's "goal_runs",
        and why a run does not measure it to "goal_runs_behind"; the run kept
        in the results is the one whose first goal is the median of the runs
        that measure it (of all, when none does)."""
        runs = []
        for i in range(self.args.repeats):
            if self.args.repeats > 1:
                log(f"  run {i + 1} of {self.args.repeats}")
            r = {}
            once(r)
            runs.append(r)
        decided = [g for g in GOALS if g.of(runs[0]) is not None]
        # Every run's figures, for the record (the report renders the kept one).
        for r in runs:
            for key, figures in r.items():
                self.report.setdefault("repeated_results", {}).setdefault(key, []).append(figures)
        goal_runs = self.report.setdefault("goal_runs", {})
        goal_runs_behind = self.report.setdefault("goal_runs_behind", {})
        for g in decided:
            goal_runs[g.name] = [g.of(r) for r in runs]
            goal_runs_behind[g.name] = [g.behind_in(r) for r in runs]
        kept = runs[0]
        if decided:
            # Of the runs that measure the first goal (report/goals.py), if any.
            measured = [i for i in range(len(runs)) if decided[0].behind_in(runs[i]) is None] or range(len(runs))
            order = sorted(measured, key=lambda i: decided[0].of(runs[i]))
            kept = runs[order[(len(order) - 1) // 2]]
        self.results.update(kept)

    def stages(self):
        if DATA_STAGES & set(self.selected):
            self.generate_data()
        self.bulk_stages()
        self.drain_stages()
        self.latency_stages()
        self.change_stages()
        if self.want("cache_reads") or self.want("cache_invalidation"):
            self.cache_stages()

    def generate_data(self):
        """The data set (events.ndjson) and the same events as rows
        (rows.copy, for the COPY reference)."""
        args, report = self.args, self.report
        report["events"] = args.events
        self.rows_file = os.path.join(args.out, "rows.copy")
        with open(self.data, "w") as f:
            run([os.path.join(BIN, "millrace"), "generate", "--count", str(args.events), "--seed", "7",
                 "--bad-ratio", "0.01", "--time-spread", "86400"], stdout=f)
        with open(self.rows_file, "w") as f:
            run([os.path.join(BIN, "millrace"), "generate", "--count", str(args.events), "--seed", "7",
                 "--format", "copy", "--time-spread", "86400"], stdout=f)
        self.size = os.path.getsize(self.data) / args.events
        report["message_bytes"] = round(self.size, 1)
        self.rows = sum(1 for _ in open(self.rows_file))

    def bulk_stages(self):
        """The warm-ups, and produce and end to end between them."""
        args, stack, report, results, data = self.args, self.stack, self.report, self.results, self.data
        if self.want("warmup"):
            # The broker is a JVM started a minute ago: on a fresh broker the JIT
            # compiler takes a large share of Kafka's CPU in the first bulk stage
            # and holds up its first events (the report shows the JIT's share of
            # the warm-up). A run of the whole pipeline first, so the stages
            # measure the steady state the targets are about ("sustained"), not
            # the JVM's start.
            log("warm-up: the pipeline end to end on a topic of its own, not measured")
            warm = min(args.events, WARMUP_EVENTS)
            warm_data = data
            if warm < args.events:
                warm_data = os.path.join(args.out, "warmup.ndjson")
                with open(data) as src, open(warm_data, "w") as dst:
                    for i, line in enumerate(src):
                        if i == warm:
                            break
                        dst.write(line)
            stack.checkpoint()
            report["warmup"] = pipeline_run(stack, warm_data, warm, "bench_warmup", args.out)
            report["warmup"]["events"] = warm
        if self.want("produce"):
            # Both producers on the warmed broker, back to back, nothing consuming.
            log("millrace produce --file alone")
            cli_produce = bench_cli_produce(stack, data, args.events)
            log("Kafka ProducerPerformance (reference)")
            ref_produce = bench_producer_reference(stack, data, args.events, self.size)
            results["produce"] = {"millrace_events_per_s": cli_produce, "kafka_producer_perf_per_s": ref_produce,
                                  "ratio": ratio(cli_produce, ref_produce)}
        if self.want("warmup"):
            # A paced stream takes other paths through the broker than a bulk one
            # (fetches that wait for data instead of returning full): on a broker
            # warmed by bulk runs only, the first paced run has a far longer tail
            # than the ones after it.
            log("warm-up: the latency stage on a topic of its own, not measured")
            stack.vacuum()
            stack.checkpoint()
            report["warmup"]["latency"] = bench_latency(stack, 1500, args.latency_seconds, args.out,
                                                        topic="bench_warmup_latency")
        if self.want("end_to_end"):
            self.end_to_end()

    def end_to_end(self):
        self.repeated(self.end_to_end_once)
        if "produce" in self.results:
            self.results["produce"]["during_pipeline_events_per_s"] = \
                self.results["end_to_end"]["produce_events_per_s"]

    def end_to_end_once(self, results):
        args, stack = self.args, self.stack
        log("Millrace end to end, then drain")
        stack.vacuum()
        stack.checkpoint()
        mr = bench_millrace(stack, self.data, args.events, args.out)
        log("Kafka ConsumerPerformance (reference)")
        ref_consume = bench_consumer_reference(stack, mr["topic"], args.events)
        log("PostgreSQL COPY (reference)")
        stack.checkpoint()
        ref_copy = bench_copy_reference(stack, self.rows_file, self.rows)
        results["drain"] = {"millrace_sinks_events_per_s": mr["drain_events_per_s"],
                            "kafka_consumer_perf_per_s": ref_consume,
                            "ratio": ratio(mr["drain_events_per_s"], ref_consume)}
        results["end_to_end"] = {"millrace_events_per_s": mr["e2e_events_per_s"], "seconds": mr["e2e_seconds"],
                                 "produce_events_per_s": mr["produce_events_per_s"],
                                 "cpu_seconds": mr["e2e_cpu_seconds"],
                                 "kafka_jit_cpu_seconds": mr["kafka_jit_cpu_seconds"],
                                 "kept_rows": mr["kept_rows"], "postgres_copy_rows_per_s": ref_copy,
                                 "ratio": ratio(mr["e2e_events_per_s"], ref_copy)}

    def drain_stages(self):
        """The stages that drain the data set in other shapes."""
        args, stack, results, data = self.args, self.stack, self.results, self.data
        if self.want("enrich"):
            log("enrichment: the same events drained with it off, then on")
            results["enrich"] = bench_enrich(stack, data, args.events, args.out)
        if self.want("orders"):
            n = max(args.events // 4, 100)
            log(f"orders: {n:,} orders drained by two sinks --kind order, then COPY of the same rows")
            results["orders"] = bench_orders(stack, n, args.out)
        if self.want("growth"):
            log(f"growth: the same events drained into an empty store, then into {args.history_rows:,} rows")
            results["growth"] = bench_growth(stack, data, args.events, args.history_rows, args.out)
        if self.want("scale"):
            shape = SMOKE_SCALE if args.smoke else (SCALE_PARTITIONS, SCALE_SINKS)
            log(f"scale: {', '.join(map(str, shape[1]))} sinks with the aggregator, on topics of "
                f"{', '.join(map(str, shape[0]))} partitions")
            results["scale"] = bench_scale(stack, data, args.events, args.out, shape)

    def latency_stages(self):
        args, stack, results = self.args, self.stack, self.results
        if self.want("latency"):
            def once(r):
                log("latency at 1500 events/s")
                stack.vacuum()
                stack.checkpoint()
                r["latency_1500"] = bench_latency(stack, 1500, args.latency_seconds, args.out,
                                                  topic=unique_name("bench_latency"))
                log("Kafka's acknowledgement alone at 1500 messages/s (reference)")
                r["kafka_ack_1500"] = [bench_ack_reference(stack, self.data, 1500, args.latency_seconds, linger)
                                       for linger in ACK_REFERENCE_LINGERS]
            self.repeated(once)
            log("hand-offs between idle threads alone at 1500/s (reference)")
            results["handoff_1500"] = bench_handoff_floor(1500, args.latency_seconds)
        if self.want("http"):
            log("HTTP ingest")
            results["http"] = bench_http(stack, args.http_seconds, args.out)

    def change_stages(self):
        """The change feed's, the archive's (to a directory, to S3) and the soak, in the run's order."""
        args, stack, results = self.args, self.stack, self.results
        if self.want("changefeed"):
            def once(r):
                log("the change feed and pg_recvlogical (reference) on the same WAL, their order turning from run to run")
                stack.vacuum()
                stack.checkpoint()
                r["changefeed"] = bench_changefeed(stack, args.events, args.out, args.changefeed_formats,
                                                   args.changefeed_baseline)
            self.repeated(once)
        if self.want("backfill"):
            log(f"a backfill of {args.backfill_rows:,} rows while {BACKFILL_WRITE_RATE} updates/s go on, the "
                "updates' delay idle (reference) and during it, and COPY of the same rows (reference)")
            stack.vacuum()
            stack.checkpoint()
            results["backfill"] = bench_backfill(stack, args.backfill_rows, args.latency_seconds, args.out,
                                                 args.backfill_chunk_size)
        if self.want("webhooks"):
            rates = [int(r) for r in args.webhooks_rates.split(",")]
            if self.want("warmup"):
                # The feed's Kafka transactions and the consumers' paced
                # fetches take paths through the broker that the bulk
                # warm-up does not: on a broker that had not met them, its
                # JIT compiler took about 5 of the stage's 40 CPU seconds at
                # 2,000 commits/s (perf), beside the load being measured;
                # after this warm-up, 2.6 and then 1.6 in the two runs after
                # it. A full run has met them in its change feed stage
                # already; a run of the webhooks stage alone had not.
                top, seconds = max(rates), min(WEBHOOKS_WARMUP_SECONDS, args.latency_seconds)
                log(f"warm-up: webhooks at {top:,} changes/s for {seconds} s, not measured")
                stack.vacuum()
                stack.checkpoint()
                warm = bench_webhooks(stack, top, seconds, args.out, tag=f"warmup-{top}")
                self.report.setdefault("warmup", {})["webhooks"] = {
                    "rate": top, "seconds": seconds, "kafka_jit_cpu_seconds": warm["kafka_jit_cpu_seconds"]}
            for rate in rates:
                turn = [0]  # runs so far: with a baseline, it goes first in every other one

                def once(r, rate=rate, turn=turn):
                    key = "webhooks" if rate == rates[0] else f"webhooks_{rate}"
                    sides = [(key, None, f"{rate}")]
                    if args.webhooks_baseline is not None:
                        theirs = (f"baseline_{key}", args.webhooks_baseline, f"baseline-{rate}")
                        sides = [theirs] + sides if turn[0] % 2 == 0 else sides + [theirs]
                    turn[0] += 1
                    for name, binary, tag in sides:
                        log(f"webhooks: commit-to-webhook latency at {rate:,} changes/s beside a read_committed "
                            "consumer (the feed's delay, reference), then the receiver's round trip"
                            + (f" ({binary})" if binary else ""))
                        r[name] = bench_webhooks(stack, rate, args.latency_seconds, args.out, tag=tag,
                                                 binary=binary)
                self.repeated(once)
        if self.want("archive"):
            log("the archiver writing a topic, then ConsumerPerformance on it and dd of as many bytes (references)")
            stack.vacuum()
            results["archive"] = bench_archive(stack, self.data, args.events, args.out,
                                               args.archive_root or os.path.join(args.out, "archive-root"))
        if self.want("archive_s3"):
            log("the archiver writing a topic to the stack's S3 store (SeaweedFS), then ConsumerPerformance on it, "
                "dd of as many bytes and aws s3 cp of as many random bytes to the same bucket (references)")
            stack.vacuum()
            results["archive_s3"] = bench_archive_s3(stack, self.data, args.events, args.out)
        if self.want("archive_s3_rounds"):
            rtts = [int(r) for r in args.archive_rtt_ms.split(",")]
            log(f"the archiver writing a topic to the stack's S3 store and aws s3 cp of as many bytes, "
                f"interleaved, {args.repeats} rounds, at round trips of {rtts} ms")
            stack.vacuum()
            results["archive_s3_rounds"] = bench_archive_s3_rounds(stack, self.data, args.events, args.out,
                                                                   args.repeats, rtts, args.archive_baseline)
        if self.want("websocket"):
            self.websocket()
        if self.want("declared_views"):
            log("declared views: millrace-aggregator --kind sale without and with three declared views, "
                "then Flink SQL computing the same views (reference)")
            self.repeated(DeclaredViews(stack, args.events, args.out).once)
        if self.want("outbox"):
            log(f"outbox: millrace-changefeed --format outbox, then Debezium's connector with the EventRouter "
                f"(reference), each catching up alone on {args.events:,} events; then both at "
                f"{OUTBOX_LATENCY_RATE} commits/s")
            stack.vacuum()
            results["outbox"] = Outbox(stack, args.events, args.latency_seconds, args.out).run(args.repeats)
        if self.want("soak"):
            log(f"soak: {args.soak_rate} events/s for {args.soak_minutes} minutes, with retention dropping "
                "partitions")
            stack.vacuum()
            stack.checkpoint()
            results["soak"] = bench_soak(stack, args.soak_rate, args.soak_minutes, args.out)

    def websocket(self):
        args, stack = self.args, self.stack
        log("websocket: the feed to a null client, millrace-websocket and the reference client "
            f"(websockets + confluent-kafka) on the same stream, then frame to acknowledgement at "
            f"{WEBSOCKET_LATENCY_RATE:,} frames/s against a bare producer's acknowledgement")
        feed, paced, python, versions = prepare(args.websocket_frames, WEBSOCKET_LATENCY_RATE,
                                                args.latency_seconds, args.out)
        # A fresh broker is still loading its transaction coordinator (each
        # idempotent producer's first request waits on it) and compiling its
        # code: both clients once over the stream first, not measured.
        log("warm-up: millrace-websocket and the reference client over the stream, not measured")
        self.report["websocket_warmup"] = websocket_warmup(stack, feed, python, args.out)

        def once(r):
            stack.vacuum()
            stack.checkpoint()
            r["websocket"] = bench_websocket(stack, feed, paced, python, WEBSOCKET_LATENCY_RATE,
                                             args.latency_seconds, args.out)
        self.repeated(once)
        log("websocket: the same stream through PyPI's websockets to the null client (what a library server gives)")
        ws = self.results["websocket"]
        ws["library_server"] = library_server_run(feed, python, args.out)
        ws["stream"] = {k: feed[k] for k in ("frames", "records", "bytes")}
        ws["reference_client"] = versions

    def cache_stages(self):
        args, stack, results = self.args, self.stack, self.results
        log("the catalog cache: a schema with the generated catalog, its change feed and millrace-cache")
        stack.vacuum()
        stack.checkpoint()
        rig = CacheRig(stack, args.out)
        try:
            rig.up()
            if self.want("cache_reads"):
                if shutil.which("wrk"):
                    log("cache reads: GET /v1/categories through the cache, from PostgreSQL, "
                        "and from nginx (reference)")
                    results["cache_reads"] = bench_cache_reads(stack, rig, args.http_seconds, args.out)
                else:
                    results["cache_reads"] = None
            if self.want("cache_invalidation"):
                def once(r):
                    log(f"cache invalidation: {CACHE_EDIT_RATE} single-row edits/s for {args.cache_seconds} s, "
                        "commit to topic (reference) and to cache")
                    r["cache_invalidation"] = bench_cache_invalidation(stack, rig, CACHE_EDIT_RATE,
                                                                       args.cache_seconds, args.out)
                self.repeated(once)
        finally:
            rig.down()


def write_report(report, args):
    """report.json and report.md under --out (and docs/benchmarks.md with
    --update-docs); prints the markdown."""
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    md = render(report)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(md)
    if args.update_docs:
        update_docs(md)
    print(md)


def main(description):
    """bench/run: `description` is its --help text."""
    args, selected = parse_args(description)

    os.makedirs(args.out, exist_ok=True)
    command = "bench/run " + " ".join(shlex.quote(a) for a in sys.argv[1:])

    if not args.no_build:
        build()

    run_cpu_before = cpu_times()
    stack = Stack(os.path.join(REPO, "build", "bench-stack"))
    log("starting the stack")
    stack.up()
    report = {"command": command, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "stages": [s for s in STAGES + OPTIONAL_STAGES if s in selected]}
    report["results"] = {}
    try:
        Run(args, selected, stack, report).stages()
    finally:
        stack.down()
    report["machine"]["cpu_steal_share"] = steal_share(run_cpu_before, cpu_times())
    report["commands"] = COMMANDS
    write_report(report, args)
