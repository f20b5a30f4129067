"""The stack the harness runs on (deploy/local/stack on free ports), and the
services it starts against it: their environment, their metrics, their
stored offsets, their schemas.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess

from pysupport import free_port, free_ports, metric_samples, psql_argv, scrape

from .common import BIN, COMMANDS, REPO, run, wait_for


class PsqlSession:
    """One long-lived psql for the polling queries. A psql per query forks a
    PostgreSQL backend each time: polled every 50 ms, that stole a sizeable
    share of two cores from the pipeline being measured."""

    MARKER = "--bench-end--"

    def __init__(self, pg):
        # Its stderr is the run's: notices (a DROP ... CASCADE names every
        # object it drops) are left out, warnings and errors kept.
        env = dict(os.environ, PGOPTIONS=(os.environ.get("PGOPTIONS", "") + " -c client_min_messages=warning").strip())
        self.proc = subprocess.Popen(psql_argv(pg), env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def query(self, sql):
        self.proc.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + self.MARKER + "\n")
        self.proc.stdin.flush()
        lines = []
        for line in self.proc.stdout:
            if line.rstrip("\n") == self.MARKER:
                return "\n".join(lines).strip()
            lines.append(line.rstrip("\n"))
        raise SystemExit(f"bench: psql session ended during: {sql}")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Stack:
    def __init__(self, state):
        self.state = state
        # pg_stat_statements loaded (bench/harness/pg_statements.py).
        self.env = {"MILLRACE_STATE_DIR": state, "MILLRACE_PG_STATEMENT_STATS": "on"}
        self.session = None
        self.s3 = None

    def up(self):
        """Starts a stack from nothing. A previous run's state (a stack it
        left running, and its topics and schemas: gigabytes a run) goes
        first, so that each run starts as on a clean clone and runs do not
        pile their data up on the disk."""
        run([os.path.join(REPO, "deploy", "local", "stack"), "down"], env=self.env, check=False, record=False)
        shutil.rmtree(self.state, ignore_errors=True)
        run([os.path.join(REPO, "tests", "stack_fixture.sh"), "up", self.state], env=self.env, capture=True)
        out = run([os.path.join(REPO, "deploy", "local", "stack"), "env"], env=self.env).stdout
        for line in out.splitlines():
            m = re.match(r"export (\w+)='?(.*?)'?$", line)
            if m:
                self.env[m.group(1)] = m.group(2)
        self.brokers = self.env["MILLRACE_BROKERS"]
        self.pg = self.env["MILLRACE_PG"]
        with open(os.path.join(self.state, "kafka.classpath")) as f:
            self.classpath = f.read().strip()

    def up_s3(self):
        """Starts the S3 store (SeaweedFS, `deploy/local/stack up s3`) beside
        the stack, once, on free ports, and returns what `stack env` says of
        it: endpoint, region, bucket and the keys of the identity that may
        use the bucket. `down` stops it with the rest."""
        if self.s3:
            return self.s3
        stack = os.path.join(REPO, "deploy", "local", "stack")
        for attempt in (1, 2, 3):
            # As tests/stack_fixture.sh does: a port taken between the pick
            # and weed's bind is picked again.
            port = free_ports(S3_PORTS, for_stack=True)
            r = run([stack, "up", "s3"], check=False, shown=f"MILLRACE_S3_PORT={port} {stack} up s3",
                    env={"MILLRACE_STATE_DIR": self.state, "MILLRACE_S3_PORT": str(port)})
            if r.returncode == 0:
                break
            if "already in use" not in r.stderr or attempt == 3:
                raise SystemExit(f"bench: deploy/local/stack up s3 failed ({r.returncode}):\n{r.stderr[-2000:]}")
            run([stack, "down", "s3"], env=self.env, check=False, record=False)
        env = {}
        for line in run([stack, "env"], env=self.env, record=False).stdout.splitlines():
            m = re.match(r"export (\w+)='?(.*?)'?$", line)
            if m:
                env[m.group(1)] = m.group(2)
        with open(os.path.join(self.state, "s3.pid")) as f:
            pid = int(f.read().split()[0])
        self.s3 = {"endpoint": env["MILLRACE_S3_ENDPOINT"], "region": env["MILLRACE_S3_REGION"],
                   "bucket": env["MILLRACE_S3_BUCKET"], "access_key_id": env["AWS_ACCESS_KEY_ID"],
                   "secret_access_key": env["AWS_SECRET_ACCESS_KEY"], "pid": pid}
        return self.s3

    def down(self):
        """Stops the stack and removes its data (the servers' logs stay)."""
        if self.session:
            self.session.close()
        run([os.path.join(REPO, "deploy", "local", "stack"), "down"], env=self.env, check=False)
        for entry in os.listdir(self.state):
            if entry == "pgdata" or re.fullmatch(r"kafka-data(-\d+)?", entry):
                shutil.rmtree(os.path.join(self.state, entry), ignore_errors=True)
        # The S3 store's volumes, filer and master (what the archive_s3 stage wrote).
        shutil.rmtree(os.path.join(self.state, "s3", "data"), ignore_errors=True)

    def checkpoint(self):
        """Pays the previous stages' checkpoint debt now. A bulk stage writes
        gigabytes of WAL; without this, the checkpoint it triggers runs (and
        competes for the disk) during whichever stage comes next. CHECKPOINT
        needs a superuser."""
        self.superuser_psql("CHECKPOINT")
        # The same for Kafka's log segments: the kernel would otherwise write
        # a stage's dirty pages back during the next one.
        run(["sync"])

    def superuser_psql(self, sql, record=True):
        """`sql` as the stack's superuser, on its Unix socket, in the
        postgres database: its rows, a line each, columns tab-separated."""
        port = re.search(r":(\d+)/", self.pg).group(1)
        return run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h",
                    os.path.join(self.state, "pgrun"), "-p", port, "-U", "postgres", "-d", "postgres",
                    "-c", sql], record=record).stdout

    def vacuum(self):
        """Pays the previous stages' autovacuum debt now: a bulk stage leaves
        a million fresh rows, and autovacuum's pass over them would otherwise
        share the cores with the next stage."""
        port = re.search(r":(\d+)/", self.pg).group(1)
        run(["vacuumdb", "-q", "-a", "-z", "-h", os.path.join(self.state, "pgrun"), "-p", port, "-U", "postgres"])

    def kafka_tool(self, cls, *args):
        shown = "java -cp \"$(cat $STATE/kafka.classpath)\" " + cls + " " + " ".join(shlex.quote(a) for a in args)
        return run(["java", "-Xmx1g", "-cp", self.classpath,
                    "-Dlog4j.configuration=file:" + os.path.join(REPO, "deploy/local/kafka/tools-log4j.properties"),
                    cls, *args], shown=shown)

    def create_topic(self, topic, partitions=4, config=()):
        self.kafka_tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", self.brokers,
                        "--create", "--if-not-exists", "--topic", topic,
                        "--partitions", str(partitions), "--replication-factor", "1",
                        *(arg for c in config for arg in ("--config", c)))

    def delete_topics(self, topics):
        self.kafka_tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", self.brokers,
                        "--delete", "--topic", "|".join(topics))

    def topic_bytes(self, topic):
        """The bytes of a topic's log segments on the brokers' disks: its
        records as Kafka stores them (batches, headers, transaction markers)."""
        total = 0
        for entry in os.listdir(self.state):
            if not re.fullmatch(r"kafka-data(-\d+)?", entry):
                continue
            data = os.path.join(self.state, entry)
            for part in os.listdir(data):
                if re.fullmatch(re.escape(topic) + r"-\d+", part):
                    for f in os.listdir(os.path.join(data, part)):
                        if f.endswith(".log"):
                            total += os.path.getsize(os.path.join(data, part, f))
        return total

    def psql(self, sql, record=True):
        if not record:  # polling: not part of the report, and must be cheap
            if self.session is None:
                self.session = PsqlSession(self.pg)
            return self.session.query(sql)
        return run(psql_argv(self.pg, "-c", sql), record=record).stdout.strip()


# SeaweedFS takes the S3 port and the seven after it (deploy/local/lib/s3.sh).
S3_PORTS = 8


# Kept out of the report's commands: the S3 store's keys are made for the
# bench's state dir, but are keys all the same.
SECRET_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def shown_env(env):
    return " ".join(f"{k}={'***' if k in SECRET_VARIABLES else shlex.quote(v)}" for k, v in env.items())


def start_service(name, env, log_path, binary=None):
    """Starts build/bin's `name`, or `binary` in its place (another build's)."""
    COMMANDS.append(shown_env(env) + f" {binary or name}")
    out = open(log_path, "w")
    proc = subprocess.Popen([binary or os.path.join(BIN, name)], env=dict(os.environ, **env),
                            stdout=out, stderr=subprocess.STDOUT)
    proc.metrics_addr = env.get("MILLRACE_METRICS_ADDR")
    return proc


def served_metric(proc, name):
    """A service's metric `name` (its samples summed); None until it serves
    metrics, or while it has none."""
    try:
        samples = scrape(proc.metrics_addr, timeout=2)
    except OSError:
        return None
    found = metric_samples(samples, name)
    return sum(found) if found else None


def assigned_partitions(proc):
    """The member's millrace_assigned_partitions gauge; None until it serves metrics."""
    value = served_metric(proc, "millrace_assigned_partitions")
    return None if value is None else round(value)


def wait_assigned(members, partitions, what):
    """Until every member of each group holds its share of the partitions. Stored
    offset rows alone are not enough: the first member to join claims them all,
    and the next one joining moves them again while the stage is being measured."""
    for group in members:
        share = partitions // len(group)
        wait_for(lambda: all(assigned_partitions(p) == share for p in group), 120, what)


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=120)


def metric_from_log(path):
    """Partitions a sink's log says it dropped ("dropped partition ...")."""
    with open(path) as f:
        return sum(1 for line in f if "dropped partition" in line)


def stored(stack, schema, group):
    v = stack.psql(f"SELECT coalesce(sum(next_offset), 0) FROM {schema}.consumer_offsets "
                   f"WHERE group_id = '{group}'", record=False) if table_exists(stack, schema) else "0"
    return int(v or 0)


def table_exists(stack, schema):
    return stack.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                      f"'{schema}' AND table_name = 'consumer_offsets'", record=False) == "1"


def workers_env(stack, topic, schema, group, extra=None):
    env = {"MILLRACE_BROKERS": stack.brokers, "MILLRACE_PG": stack.pg, "MILLRACE_TOPIC": topic,
           "MILLRACE_DLQ_TOPIC": topic + ".dlq", "MILLRACE_PG_SCHEMA": schema,
           "MILLRACE_SINK_GROUP": group, "MILLRACE_AGGREGATOR_GROUP": group,
           "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}
    env.update(extra or {})
    return env


# The enrichment's columns (libs/pg/migrations/0007_enrichment.sql,
# pg::kEnrichmentColumns): only a sink that enriches writes them.
ENRICHMENT_COLUMNS = ("product_name", "product_brand", "product_category")


# The columns `millrace generate --format copy` writes, in its order: the
# store event's fields in its declaration's order (proto/kinds/store_event.json,
# the contract's only definition), then the row's source; read from the
# declaration rather than written out here again. `schema` is unused: the
# columns are the contract's, whatever the table's order.
def copy_columns(stack, schema):
    with open(os.path.join(REPO, "proto", "kinds", "store_event.json")) as f:
        fields = [field["column"] for field in json.load(f)["fields"]]
    return ", ".join(fields + ["kafka_topic", "kafka_partition", "kafka_offset"])


def fresh_schema(stack, schema):
    """Drops `schema` and migrates it anew."""
    stack.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    run([os.path.join(BIN, "millrace"), "migrate"], env={"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": schema})


def load_catalog(stack, schema, workdir):
    """Loads the generated catalog (`millrace generate --catalog`: 20
    categories, 6,000 products) into `schema`, through `millrace catalog
    load`; the files stay in `workdir` (catalog-*.csv/.ndjson)."""
    env = {"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": schema}
    for what, name in (("categories", "catalog-categories.csv"), ("products", "catalog-products.ndjson")):
        path = os.path.join(workdir, name)
        with open(path, "w") as f:
            run([os.path.join(BIN, "millrace"), "generate", "--catalog", what,
                 *(["--format", "csv"] if name.endswith(".csv") else [])], env=env, stdout=f)
        run([os.path.join(BIN, "millrace"), "catalog", "load", path], env=env)
