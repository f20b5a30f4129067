"""Issue 80's declared views: `millrace-aggregator --kind sale` folding the
same sales with its aggregate section alone, then with three declared views
added (bench/declared_views), and Flink SQL 1.20 computing the same three
views from the same topic into PostgreSQL with its JDBC connector
(tests/peers/flink's kit).

The sales are produced once, in time order (as a till sends them; Flink's
windows need a watermark, and the aggregator's lateness horizon counts from
the newest record of a partition), to a topic nothing else reads. Each run
reads it from the start: the aggregator into a fresh schema (its offsets are
its schema's), Flink in a new group into fresh tables.
"""

import datetime
import json
import os
import shutil
import subprocess
import time
import urllib.parse

from ..common import BIN, COMMANDS, REPO, log, ratio, run, wait_for
from ..cpu import CpuMeter
from ..stack import start_service, stop, workers_env

DECLARATIONS = os.path.join(REPO, "bench", "declared_views")
FLINK_KIT = os.path.join(REPO, "tests", "peers", "flink")
# Three days of event time, up to the run's start (`millrace generate` has no
# --base-time): a few days' windows, none far in the past.
SPREAD_SECONDS = 3 * 86400
GROUP = "sale"  # MILLRACE_KIND


def kinds_dirs(workdir):
    """Three kinds directories holding the sale: its declaration as it is (an
    aggregate section, no views), the same with the three views of
    views.json added, and the views without the aggregate section (what
    Flink computes: the like-for-like reference)."""
    with open(os.path.join(DECLARATIONS, "sale.json")) as f:
        sale = json.load(f)
    with open(os.path.join(DECLARATIONS, "views.json")) as f:
        views = json.load(f)
    dirs = {}
    only = {k: v for k, v in sale.items() if k != "aggregate"}
    for name, declaration in (("plain", sale), ("views", dict(sale, views=views)),
                              ("views_only", dict(only, views=views))):
        d = dirs[name] = os.path.join(workdir, "declared-views-kinds", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "sale.json"), "w") as f:
            json.dump(declaration, f, indent=1)
    return dirs


def generate(n, kinds_dir, path):
    """`n` sales from the declaration's generator, sorted by their time."""
    raw = path + ".unsorted"
    with open(raw, "w") as f:
        run([os.path.join(BIN, "millrace"), "generate", "--kind", "sale", "--count", str(n), "--seed", "13",
             "--time-spread", str(SPREAD_SECONDS)],
            env={"MILLRACE_KINDS_DIR": kinds_dir}, stdout=f)
    with open(raw) as f:
        lines = f.readlines()
    lines.sort(key=lambda line: datetime.datetime.fromisoformat(json.loads(line)["ts"]))
    with open(path, "w") as f:
        f.writelines(lines)
    os.remove(raw)


def accounting(stack, schema, group):
    row = stack.psql(f"SELECT coalesce(sum(consumed), 0), coalesce(sum(persisted), 0), coalesce(sum(late), 0), "
                     f"coalesce(sum(duplicate), 0), coalesce(sum(rejected), 0), coalesce(sum(unaccounted), 0) "
                     f"FROM {schema}.partition_accounting WHERE group_id = '{group}'", record=False)
    return dict(zip(("consumed", "persisted", "late", "duplicate", "rejected", "unaccounted"),
                    (int(v) for v in row.split("|"))))


def aggregator_run(stack, topic, n, kinds_dir, schema, workdir):
    """`millrace-aggregator --kind sale` reading `topic` from its start into
    `schema`, migrated afresh with the declarations of `kinds_dir`: timed from
    its start until partition_accounting has consumed every record; its CPU
    (and PostgreSQL's, Kafka's) over the same span."""
    env = {"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": schema, "MILLRACE_KINDS_DIR": kinds_dir}
    stack.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    run([os.path.join(BIN, "millrace"), "migrate"], env=env)
    stack.vacuum()
    stack.checkpoint()
    group = schema
    extra = dict(env, MILLRACE_KIND=GROUP, MILLRACE_SALES_TOPIC=topic)
    procs = []  # started after the meter's first sample: all its CPU is the run's
    meter = CpuMeter(stack, {"aggregator": procs})
    t0 = time.monotonic()
    log_path = f"{workdir}/{schema}-aggregator.log"
    procs.append(start_service("millrace-aggregator", workers_env(stack, topic, schema, group, extra), log_path))

    def done():
        if procs[0].poll() is not None:
            raise SystemExit(f"bench: the aggregator exited ({procs[0].returncode}); see {log_path}")
        return accounting(stack, schema, group)["consumed"] >= n

    end = wait_for(done, 3600, f"the aggregator to fold {topic} into {schema}")
    cpu = meter.stop()
    cpu.pop("reaped")
    stop(procs)
    counts = accounting(stack, schema, group)
    if counts["consumed"] != n or counts["unaccounted"] or counts["late"] or counts["rejected"]:
        raise SystemExit(f"bench: the aggregator's accounting in {schema} is not {n:,} folded sales: {counts}")
    seconds = end - t0
    process = cpu["aggregator"]
    return {"events_per_s": n / seconds, "seconds": seconds, "cpu_seconds": cpu,
            "events_per_cpu_s": n / process if process else None,
            "events_per_cpu_s_with_postgres": n / (process + cpu["postgres"]), "accounting": counts}


# The three views in Flink SQL, as views.json declares them: the windows of
# a TIMESTAMP_LTZ rowtime are aligned in the session's time zone (New York's
# hours and days; its 15 minutes are UTC's); a sum of price × qty × (1 −
# discount / 100) kept exact in DECIMAL.
FLINK_SQL = """SET 'table.local-time-zone' = 'America/New_York'
;
CREATE TABLE sales (id STRING, ts TIMESTAMP_LTZ(3), store_id INT, sku INT, category STRING,
  price DECIMAL(12, 2), qty INT, discount DECIMAL(6, 1),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (
  'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{brokers}',
  'properties.group.id' = '{group}', 'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset', 'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601')
;
CREATE TABLE store_hour (window_start TIMESTAMP(3), window_end TIMESTAMP(3), store_id INT, sales BIGINT,
  units BIGINT, revenue DECIMAL(38, 6), PRIMARY KEY (window_start, store_id) NOT ENFORCED)
  WITH ({jdbc}, 'table-name' = 'store_hour')
;
CREATE TABLE category_15m (window_start TIMESTAMP(3), window_end TIMESTAMP(3), category STRING, sales BIGINT,
  revenue DECIMAL(38, 6), PRIMARY KEY (window_start, category) NOT ENFORCED)
  WITH ({jdbc}, 'table-name' = 'category_15m')
;
CREATE TABLE top_skus (window_start TIMESTAMP(3), window_end TIMESTAMP(3), sku INT, units BIGINT,
  revenue DECIMAL(38, 6), rank_ BIGINT, PRIMARY KEY (window_start, rank_) NOT ENFORCED)
  WITH ({jdbc}, 'table-name' = 'top_skus')
;
INSERT INTO store_hour SELECT window_start, window_end, store_id, COUNT(*), SUM(CAST(qty AS BIGINT)),
  CAST(SUM(price * qty * (100 - discount)) / 100 AS DECIMAL(38, 6))
  FROM TABLE(TUMBLE(TABLE sales, DESCRIPTOR(ts), INTERVAL '1' HOUR))
  GROUP BY window_start, window_end, store_id
;
INSERT INTO category_15m SELECT window_start, window_end, category, COUNT(*),
  CAST(SUM(price * qty * (100 - discount)) / 100 AS DECIMAL(38, 6))
  FROM TABLE(TUMBLE(TABLE sales, DESCRIPTOR(ts), INTERVAL '15' MINUTE))
  GROUP BY window_start, window_end, category
;
INSERT INTO top_skus SELECT window_start, window_end, sku, units, revenue, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY units DESC, sku ASC) AS rn
  FROM (SELECT window_start, window_end, sku, SUM(CAST(qty AS BIGINT)) AS units,
          CAST(SUM(price * qty * (100 - discount)) / 100 AS DECIMAL(38, 6)) AS revenue
        FROM TABLE(TUMBLE(TABLE sales, DESCRIPTOR(ts), INTERVAL '1' DAY))
        GROUP BY window_start, window_end, sku))
  WHERE rn <= 10
"""

FLINK_TABLES = """
CREATE TABLE store_hour (window_start timestamp, window_end timestamp, store_id int, sales bigint, units bigint,
  revenue numeric, PRIMARY KEY (window_start, store_id));
CREATE TABLE category_15m (window_start timestamp, window_end timestamp, category text, sales bigint,
  revenue numeric, PRIMARY KEY (window_start, category));
CREATE TABLE top_skus (window_start timestamp, window_end timestamp, sku int, units bigint, revenue numeric,
  rank_ bigint, PRIMARY KEY (window_start, rank_));
"""

# Each Flink table against its declared view, row for row: Flink's window
# bounds are New York's wall-clock times.
COMPARED = (
    ("bench_sales_per_store_hour", "store_hour", "store_id, sales, units, revenue"),
    ("bench_revenue_per_category_15m", "category_15m", "category, sales, revenue"),
    ("bench_top_skus_per_local_day", "top_skus", "sku, units, revenue, rank_"),
)


def flink_prepare(workdir):
    """The Flink kit's classpath (Maven, from its pom, offline first) and
    its driver (bench/declared_views/FlinkViews.java) compiled: (java command prefix, None), or (None, the reason
    it cannot run)."""
    for tool in ("java", "javac", "mvn"):
        if not shutil.which(tool):
            return None, f"no `{tool}` on this machine"
    out = os.path.abspath(os.path.join(workdir, "flink.classpath"))
    pom = os.path.join(FLINK_KIT, "pom.xml")
    for offline in (["-o"], []):
        r = run(["mvn", *offline, "-B", "-q", "-Dstyle.color=never", "-f", pom, "dependency:build-classpath",
                 f"-Dmdep.outputFile={out}"], check=False,
                env={"MAVEN_OPTS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"})
        if r.returncode == 0:
            break
    else:
        return None, "Maven could not resolve tests/peers/flink/pom.xml: " + (r.stdout + r.stderr)[-300:]
    with open(out) as f:
        classpath = f.read().strip()
    classes = os.path.join(workdir, "flink-classes")
    os.makedirs(classes, exist_ok=True)
    r = run(["javac", "-d", classes, "-cp", classpath, os.path.join(DECLARATIONS, "FlinkViews.java")], check=False)
    if r.returncode != 0:
        return None, "FlinkViews.java did not compile: " + r.stderr[-300:]
    return ["java", "-Xms256m", "-Xmx1g", "-XX:+UseSerialGC", "-Duser.timezone=UTC",
            "-Dlog4j2.configurationFile=" + os.path.join(FLINK_KIT, "log4j2.properties"),
            "-cp", f"{classes}:{classpath}", "FlinkViews"], None


def flink_run(stack, java, topic, n, schema, views_schema, workdir, tag):
    """Flink SQL computing the three views from `topic`, read from its start
    to the end it had when the job started ('scan.bounded.mode'), into fresh
    tables of `schema`: timed from the JVM's start to its exit (the job ends
    with its bounded source, after the last windows fire); its CPU from the
    child's rusage. Then each table is compared with the aggregator's view
    in `views_schema`, row for row (with `views_schema` None, not: a run on
    an empty topic, which measures the job's fixed costs)."""
    stack.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}; "
               + FLINK_TABLES)
    url = urllib.parse.urlparse(stack.pg)
    jdbc = ", ".join(f"'{k}' = '{v}'" for k, v in (
        ("connector", "jdbc"), ("url", f"jdbc:postgresql://{url.hostname}:{url.port}{url.path}?currentSchema={schema}"),
        ("username", urllib.parse.unquote(url.username or "")), ("password", urllib.parse.unquote(url.password or ""))))
    script = os.path.join(workdir, f"{schema}-{tag}.sql")
    with open(script, "w") as f:
        f.write(FLINK_SQL.format(topic=topic, brokers=stack.brokers, group=f"{schema}_{tag}", jdbc=jdbc))
    stack.vacuum()
    stack.checkpoint()
    log_path = os.path.join(workdir, f"{schema}-{tag}.log")
    COMMANDS.append(" ".join(java) + f" {script}")
    meter = CpuMeter(stack, {})
    t0 = time.monotonic()
    with open(log_path, "w") as out:
        proc = subprocess.Popen(java + [script], stdout=out, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - t0
    cpu = meter.stop()
    cpu.pop("reaped")
    cpu["flink"] = round(usage.ru_utime + usage.ru_stime, 1)
    if proc.returncode != 0:
        raise SystemExit(f"bench: Flink SQL failed ({proc.returncode}); see {log_path}")
    process = usage.ru_utime + usage.ru_stime
    if views_schema is None:  # the empty topic: what the JVM's start, the planning and the job's start cost
        return {"seconds": seconds, "cpu_seconds": cpu}
    differences = {}
    for view, table, columns in COMPARED:
        ours = f"SELECT window_start, {columns.replace('rank_', 'rank')} FROM {views_schema}.{view}"
        theirs = f"SELECT window_start AT TIME ZONE 'America/New_York', {columns} FROM {schema}.{table}"
        differences[view] = int(stack.psql(f"SELECT (SELECT count(*) FROM ({ours} EXCEPT {theirs}) a) + "
                                           f"(SELECT count(*) FROM ({theirs} EXCEPT {ours}) b)"))
    rows = {table: int(stack.psql(f"SELECT count(*) FROM {schema}.{table}")) for _, table, _ in COMPARED}
    if any(differences.values()):
        raise SystemExit(f"bench: Flink's views differ from the aggregator's (rows in one only): {differences}")
    return {"seconds": seconds, "events_per_s": n / seconds, "cpu_seconds": cpu,
            "events_per_cpu_s": n / process, "events_per_cpu_s_with_postgres": n / (process + cpu["postgres"]),
            "rows": rows, "differences": differences}


class DeclaredViews:
    """The stage: the sales produced once, then each repetition (cli.Run.repeated)
    runs the aggregator without the views, with them, with them alone (no
    aggregate section) and Flink."""

    def __init__(self, stack, n, workdir):
        self.stack, self.n, self.workdir = stack, n, workdir
        self.dirs = kinds_dirs(workdir)
        self.data = os.path.join(workdir, "sales.ndjson")
        self.topic = "bench_dviews"
        self.round = 0
        log(f"declared views: {n:,} sales over {SPREAD_SECONDS // 86400} days, produced once to {self.topic}")
        generate(n, self.dirs["plain"], self.data)
        stack.create_topic(self.topic)
        stack.create_topic(self.topic + ".dlq")
        run([os.path.join(BIN, "millrace"), "produce", "--kind", "sale", "--file", self.data],
            env={"MILLRACE_BROKERS": stack.brokers, "MILLRACE_SALES_TOPIC": self.topic,
                 "MILLRACE_KINDS_DIR": self.dirs["plain"]})
        self.java, self.flink_skipped = flink_prepare(workdir)
        if self.flink_skipped:
            log(f"declared views: Flink SQL skipped: {self.flink_skipped}")
        else:
            # Flink's JVM start, planning and job start cost the same CPU whatever
            # the records: on an empty topic, once, so that the report can also
            # give the rate per CPU-second of what the records add.
            log("declared views: Flink SQL on an empty topic (its fixed costs)")
            stack.create_topic(self.topic + "_empty")
            self.flink_start = flink_run(stack, self.java, self.topic + "_empty", 0, "bench_dviews_flink", None,
                                         workdir, "empty")

    def once(self, results):
        self.round += 1
        stack, n, workdir, topic = self.stack, self.n, self.workdir, self.topic
        # Other work on the machine lowers every figure: the report says how busy it was.
        load = os.getloadavg()[0]
        log("declared views: the aggregator with its aggregate section alone")
        plain = aggregator_run(stack, topic, n, self.dirs["plain"], f"bench_dviews_plain_{self.round}", workdir)
        log("declared views: the aggregator with the three views added")
        views_schema = f"bench_dviews_views_{self.round}"
        views = aggregator_run(stack, topic, n, self.dirs["views"], views_schema, workdir)
        r = {"sales": n, "days": SPREAD_SECONDS // 86400, "load_average": round(load, 2),
             "without_views": plain, "with_views": views,
             "ratio_events_per_s": ratio(views["events_per_s"], plain["events_per_s"]),
             "ratio_events_per_cpu_s": ratio(views["events_per_cpu_s_with_postgres"],
                                             plain["events_per_cpu_s_with_postgres"])}
        if self.java:
            # Flink computes the three views and nothing else: against it, the
            # aggregator keeping the views alone (and, for the record, with its
            # aggregate section too).
            log("declared views: the aggregator with the three views alone, no aggregate section")
            only_schema = f"bench_dviews_only_{self.round}"
            only = r["views_only"] = aggregator_run(stack, topic, n, self.dirs["views_only"], only_schema, workdir)
            log("declared views: Flink SQL computing the same three views into PostgreSQL (reference)")
            flink = flink_run(stack, self.java, topic, n, "bench_dviews_flink", only_schema, workdir,
                              f"run{self.round}")
            r["flink"] = flink
            r["ratio_flink_per_cpu_s"] = ratio(only["events_per_cpu_s_with_postgres"],
                                               flink["events_per_cpu_s_with_postgres"])
            r["ratio_flink_per_cpu_s_with_aggregate"] = ratio(views["events_per_cpu_s_with_postgres"],
                                                              flink["events_per_cpu_s_with_postgres"])
            r["ratio_flink_per_cpu_s_process"] = ratio(only["events_per_cpu_s"], flink["events_per_cpu_s"])
            # Per CPU-second of what the records add to Flink's fixed costs
            # (its CPU on the empty topic taken off): about the ratio a far
            # larger run tends to, at most, as Flink's JIT keeps warming up.
            start = self.flink_start["cpu_seconds"]["flink"]
            flink["empty_topic"] = self.flink_start
            flink["events_per_cpu_s_beyond_start"] = (
                n / (flink["cpu_seconds"]["flink"] - start + flink["cpu_seconds"]["postgres"])
                if flink["cpu_seconds"]["flink"] > start else None)
            r["ratio_flink_per_cpu_s_beyond_start"] = ratio(only["events_per_cpu_s_with_postgres"],
                                                            flink["events_per_cpu_s_beyond_start"])
        else:
            r["flink_skipped"] = self.flink_skipped
        # The previous round's schemas: a fresh schema each run, and the disk not filled by them.
        for old in (f"bench_dviews_plain_{self.round}", f"bench_dviews_views_{self.round}",
                    f"bench_dviews_only_{self.round - 1}"):
            stack.psql(f"DROP SCHEMA IF EXISTS {old} CASCADE")
        results["declared_views"] = r
