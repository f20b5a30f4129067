"""Issue 81's transactional outbox: millrace-changefeed --format outbox
against Debezium's PostgreSQL connector with its outbox event router (the
EventRouter SMT) in Kafka Connect standalone, each on a slot of its own over
the same WAL. Kafka Connect and the connector's settings come from
tests/peers/connect.sh, as the peer tests run them (peers.outbox).
"""

import os
import shutil
import statistics
import subprocess
import time
import urllib.parse

from pysupport import free_port

from ..common import BIN, COMMANDS, REPO, log, percentiles_ms, ratio, run, wait_for
from ..cpu import CpuMeter
from ..stack import PsqlSession, served_metric, start_service, stop
from .change_listener import ChangeListener

SCHEMA = PUBLICATION = "bench_outbox"
PEERS = os.path.join(REPO, "tests", "peers")
CONNECT_SH = os.path.join(PEERS, "connect.sh")
# Outbox transactions a second in the latency phase (issue 81: 50 commits/s).
LATENCY_RATE = 50
# The first seconds of the latency phase: not counted (the JVM's JIT, the
# feed's first Kafka transaction).
LATENCY_WARMUP_SECONDS = 2
# The figures whose medians and spread across the rounds the report gives.
SUMMARY = ("millrace_events_per_s", "debezium_events_per_s", "ratio_events_per_s",
           "ratio_events_per_s_after_first", "ratio_cpu", "ratio_cpu_with_walsender",
           "millrace_p50_ms", "millrace_p99_ms", "debezium_p50_ms", "debezium_p99_ms", "ratio_p99")


def seed_sql(n):
    """n outbox events in transactions of 1 to 100 events: the b-th
    transaction holds 1 + (37 b mod 100), every size once in each 100
    transactions (50.5 on average); one aggregate type, 10,007 aggregates."""
    return (f"DO $$ DECLARE done bigint := 0; k int; b int := 0; BEGIN WHILE done < {n} LOOP "
            f"k := least(1 + (b * 37) % 100, {n} - done); "
            f"INSERT INTO {SCHEMA}.outbox (id, aggregatetype, aggregateid, type, payload) "
            f"SELECT gen_random_uuid(), 'order', (g % 10007)::text, 'OrderCreated', "
            f"jsonb_build_object('id', g, 'customerId', g % 997, 'total', (g % 100000) / 100.0, "
            f"'lines', jsonb_build_array(jsonb_build_object('sku', g * 7 % 5000, 'quantity', 1 + g % 4))) "
            f"FROM generate_series(done + 1, done + k) g; "
            f"COMMIT; done := done + k; b := b + 1; END LOOP; END $$")


def end_offset(brokers, topic):
    """The end offset of partition 0 of `topic` (0 while it has none)."""
    r = subprocess.run(["kcat", "-b", brokers, "-Q", "-t", f"{topic}:0:-1"], capture_output=True, text=True)
    words = r.stdout.split()
    return int(words[-1]) if r.returncode == 0 and len(words) >= 4 and words[-1].isdigit() else 0


class Outbox:
    """The stage: `rounds` rounds, each seeding n events on fresh slots and
    measuring the catch-up of each side alone, then both at LATENCY_RATE."""

    def __init__(self, stack, n, latency_seconds, workdir):
        self.stack, self.n, self.seconds = stack, n, latency_seconds
        self.workdir = os.path.join(workdir, "outbox")
        os.makedirs(self.workdir, exist_ok=True)
        self.feed_pg = stack.env["MILLRACE_CHANGEFEED_PG"]
        url = urllib.parse.urlparse(self.feed_pg)
        if url.path.lstrip("/") != "millrace":
            raise SystemExit(f"bench: outbox: the change feed's database is {url.path!r}; "
                             "tests/peers/connect.sh's connectors read the database millrace")
        # What tests/peers/connect.sh reads: the change feed's role (LOGIN
        # REPLICATION) is the connector's too, so both read as the same user.
        self.connect_env = {
            "build": os.path.join(REPO, "build"), "here": PEERS, "log": os.path.join(self.workdir, "connect"),
            "MILLRACE_BROKERS": stack.brokers, "pg_port": str(url.port),
            "role": urllib.parse.unquote(url.username or ""), "password": urllib.parse.unquote(url.password or ""),
            "publication": PUBLICATION}
        self.round = 0
        self.classpath, self.skipped = self.debezium_classpath()
        if self.skipped:
            log(f"outbox: Debezium skipped: {self.skipped}")

    def connect_sh(self, function, *args, env=None, stdin=None):
        """One of tests/peers/connect.sh's functions, through bash."""
        return run(["bash", "-c", '. "$here/connect.sh"; "$@"', "bash", function, *args],
                   env=dict(self.connect_env, **(env or {})), stdin=stdin)

    def debezium_classpath(self):
        """(classpath, None), or (None, why Debezium cannot run here)."""
        for tool in ("java", "mvn", "kcat"):
            if not shutil.which(tool):
                return None, f"no `{tool}` on this machine"
        os.makedirs(os.path.join(REPO, "build", "peers"), exist_ok=True)
        r = run(["bash", "-c", '. "$here/connect.sh"; peer_classpath "$@"', "bash",
                 os.path.join(PEERS, "connect", "pom.xml"), "debezium"], env=self.connect_env, check=False)
        if r.returncode != 0:
            return None, "Maven could not resolve tests/peers/connect/pom.xml: " + r.stderr[-300:]
        return r.stdout.strip(), None

    def as_feed_role(self, sql):
        return run(["psql", self.feed_pg, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout.strip()

    def fresh_slots(self, *slots):
        for slot in slots:
            self.as_feed_role(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                              f"WHERE slot_name = '{slot}'")
            self.as_feed_role(f"SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')")

    def drop_slots(self, *slots):
        for slot in slots:
            self.as_feed_role(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                              f"WHERE slot_name = '{slot}'")

    def install(self):
        """A fresh outbox table and publication, made by `millrace outbox install`."""
        stack, role = self.stack, self.connect_env["role"]
        stack.psql(f"DROP PUBLICATION IF EXISTS {PUBLICATION}")
        stack.psql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        stack.psql(f"CREATE SCHEMA {SCHEMA}; GRANT USAGE ON SCHEMA {SCHEMA} TO {role}")
        run([os.path.join(BIN, "millrace"), "outbox", "install", "--table", "outbox", "--publication", PUBLICATION,
             "--grant-select", role], env={"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": SCHEMA})

    def topics(self, names):
        """Each side's event topic, and the feed's dead-letter topic (its
        --topic), of one partition, before either side starts."""
        self.stack.create_topic(names["millrace"], partitions=1)
        for name in names.values():
            self.stack.create_topic(name + ".order", partitions=1)

    def millrace_feed(self, name, log_path):
        """millrace-changefeed --format outbox on slot `name`, its events to
        `name`.order (one partition, as the connector's), dead letters to `name`."""
        env = {"MILLRACE_BROKERS": self.stack.brokers, "MILLRACE_CHANGEFEED_PG": self.feed_pg,
               "MILLRACE_CHANGEFEED_FORMAT": "outbox", "MILLRACE_CHANGES_TOPIC": name,
               "MILLRACE_CHANGEFEED_SLOT": name, "MILLRACE_CHANGEFEED_PUBLICATION": PUBLICATION,
               "MILLRACE_CHANGEFEED_OUTBOX_TOPIC": name + ".${routedByValue}",
               "MILLRACE_CHANGEFEED_OUTBOX_PARTITIONS": "1",
               "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP": f"{name}_{os.getpid()}_{time.time_ns()}",
               "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}
        return start_service("millrace-changefeed", env, log_path)

    def debezium(self, name):
        """Kafka Connect standalone with the connector on slot `name`, the
        EventRouter's defaults routing to `name`.order, key and value as
        strings (the value the payload's text, as the feed's)."""
        work = os.path.join(self.workdir, name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        worker, connector = os.path.join(work, "worker.properties"), os.path.join(work, "connector.properties")
        env = {"work": work}
        self.connect_sh("connect_worker", worker, env=env, stdin=subprocess.DEVNULL)
        settings = self.connect_sh("debezium_connector", name, env=env).stdout
        with open(connector, "w") as f:
            f.write(settings + "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
                    "value.converter=org.apache.kafka.connect.storage.StringConverter\n"
                    f"table.include.list={SCHEMA}.outbox\ntombstones.on.delete=false\ntransforms=outbox\n"
                    "transforms.outbox.type=io.debezium.transforms.outbox.EventRouter\n"
                    f"transforms.outbox.route.topic.replacement={name}.${{routedByValue}}\n")
        cmd = ["bash", "-c", '. "$here/connect.sh"; run_connect "$@"', "bash", self.classpath, worker, connector]
        COMMANDS.append(f"run_connect (tests/peers/connect.sh) {worker} {connector}")
        out = open(os.path.join(work, "connect.log"), "w")
        # run_connect execs the JVM: the process's pid is the JVM's.
        return subprocess.Popen(cmd, env=dict(os.environ, **self.connect_env, **env), stdout=out,
                                stderr=subprocess.STDOUT)

    def catch_up(self, side, name):
        """One side alone from its slot's start to the last of n events on
        Kafka: seconds from the process's start, its CPU and PostgreSQL's
        (the walsender decoding for it, and nothing else running)."""
        stack, n = self.stack, self.n
        procs = []
        meter = CpuMeter(stack, {side: procs})
        t0 = time.monotonic()
        log_path = os.path.join(self.workdir, f"{name}.log")
        if side == "millrace":
            procs.append(self.millrace_feed(name, log_path))
            published = lambda: served_metric(procs[0], "millrace_changefeed_outbox_events_total") or 0
        else:
            procs.append(self.debezium(name))
            published = lambda: end_offset(stack.brokers, f"{name}.order")

        first = []  # when the first event was on Kafka: the process's start taken off

        def done():
            if procs[0].poll() is not None:
                raise SystemExit(f"bench: outbox: {side} exited ({procs[0].returncode}); see {self.workdir}")
            count = published()
            if count and not first:
                first.append(time.monotonic())
            return count >= n

        end = wait_for(done, 3600, f"outbox: {side} to publish {n:,} events")
        cpu = meter.stop()
        cpu.pop("reaped")
        events = published()
        stop(procs)
        seconds = end - t0
        return {"seconds": round(seconds, 2), "events_per_s": n / seconds, "events_published": events,
                "start_seconds": round(first[0] - t0, 2),
                "events_per_s_after_first": n / (end - first[0]) if end > first[0] else None,
                "cpu_seconds": cpu, "process_cpu_s": cpu[side], "with_postgres_cpu_s": cpu[side] + cpu["postgres"]}

    def latency(self, mr, dbz):
        """Both sides running, LATENCY_RATE single-event transactions a
        second for the stage's seconds: commit (psql's answer to the
        autocommitted INSERT) to a read_committed consumer of each side's
        topic (kcat), by the event's key."""
        stack = self.stack
        feed = self.millrace_feed(mr, os.path.join(self.workdir, f"{mr}.log"))
        connect = self.debezium(dbz)
        try:
            # Made (a confirmed position) and read: a slot is listed active
            # while PostgreSQL still waits for open transactions to end.
            wait_for(lambda: all(self.as_feed_role(f"SELECT active AND confirmed_flush_lsn IS NOT NULL "
                                                   f"FROM pg_replication_slots "
                                                   f"WHERE slot_name = '{s}'") == "t" for s in (mr, dbz)),
                     180, "outbox: both slots to be read")
            listeners = {side: ChangeListener(stack.brokers, f"{topic}.order",
                                              os.path.join(self.workdir, f"{topic}-kcat.log"))
                         for side, topic in (("millrace", mr), ("debezium", dbz))}
            session = PsqlSession(stack.pg)
            committed = {}
            total = self.seconds * LATENCY_RATE
            start = time.monotonic()
            for i in range(total):
                delay = start + i / LATENCY_RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                key = f"lat-{self.round}-{i}"
                session.query(f"INSERT INTO {SCHEMA}.outbox (id, aggregatetype, aggregateid, type, payload) "
                              f"VALUES (gen_random_uuid(), 'order', '{key}', 'OrderCreated', "
                              f"jsonb_build_object('seq', {i}))")
                committed[key] = time.time()
            session.close()
            arrived = lambda side: {r["key"]: t for t, r in list(listeners[side].records) if r.get("key") in committed}
            try:
                wait_for(lambda: all(len(arrived(s)) >= total for s in listeners), 120,
                         "outbox: every latency event at both consumers")
            finally:
                for listener in listeners.values():
                    listener.close()
        finally:
            stop([feed, connect])
        skip = LATENCY_WARMUP_SECONDS * LATENCY_RATE
        counted = {f"lat-{self.round}-{i}" for i in range(skip, total)}
        out = {"rate": LATENCY_RATE, "seconds": self.seconds, "events": len(counted)}
        for side in listeners:
            at = arrived(side)
            out[side] = percentiles_ms([at[k] - committed[k] for k in counted])
        return out

    def once(self):
        self.round += 1
        stack, n = self.stack, self.n
        load = os.getloadavg()[0]
        names = {side: f"bench_obx_{side[:3]}_{self.round}" for side in ("millrace", "debezium")}
        lat = {side: f"bench_obx_lat_{side[:3]}_{self.round}" for side in ("millrace", "debezium")}
        self.install()
        self.topics(names)
        self.fresh_slots(*names.values())
        log(f"outbox: round {self.round}: {n:,} events in transactions of 1 to 100")
        t0 = time.monotonic()
        stack.psql(seed_sql(n))
        r = {"events": n, "seed_seconds": round(time.monotonic() - t0, 1), "load_average": round(load, 2)}
        stack.vacuum()
        stack.checkpoint()
        log("outbox: millrace-changefeed --format outbox catching up alone")
        r["millrace"] = self.catch_up("millrace", names["millrace"])
        log("outbox: Debezium's connector with the EventRouter catching up alone (reference)")
        r["debezium"] = self.catch_up("debezium", names["debezium"])
        self.drop_slots(*names.values())
        m, d = r["millrace"], r["debezium"]
        r["ratio_events_per_s"] = ratio(m["events_per_s"], d["events_per_s"])
        r["ratio_events_per_s_after_first"] = ratio(m["events_per_s_after_first"], d["events_per_s_after_first"])
        r["ratio_cpu"] = ratio(d["process_cpu_s"], m["process_cpu_s"])
        r["ratio_cpu_with_walsender"] = ratio(d["with_postgres_cpu_s"], m["with_postgres_cpu_s"])
        log(f"outbox: both running, {LATENCY_RATE} outbox transactions/s for {self.seconds} s")
        self.topics(lat)
        self.fresh_slots(*lat.values())
        try:
            r["latency"] = self.latency(lat["millrace"], lat["debezium"])
        finally:
            self.drop_slots(*lat.values())
        r["load_average_end"] = round(os.getloadavg()[0], 2)
        for side in ("millrace", "debezium"):
            r[f"{side}_events_per_s"] = r[side]["events_per_s"]
            r[f"{side}_p50_ms"] = r["latency"][side]["p50"]
            r[f"{side}_p99_ms"] = r["latency"][side]["p99"]
        r["ratio_p99"] = ratio(r["millrace_p99_ms"], r["debezium_p99_ms"])
        stack.delete_topics([names["millrace"], lat["millrace"]] +
                            [t + ".order" for t in (*names.values(), *lat.values())])
        return r

    def run(self, rounds):
        """The rounds one after another (each side's catch-up and the
        latency interleaved in each), then each figure's median and range."""
        if self.skipped:
            return {"skipped": self.skipped}
        runs = []
        for i in range(rounds):
            if rounds > 1:
                log(f"  outbox round {i + 1} of {rounds}")
            runs.append(self.once())
        summary = {}
        for key in SUMMARY:
            values = [r[key] for r in runs if r.get(key) is not None]
            if values:
                summary[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        return {"events": self.n, "rounds": rounds, "latency_rate": LATENCY_RATE, "summary": summary, "runs": runs}
