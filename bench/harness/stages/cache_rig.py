"""What both cache stages run on: the catalog, its change feed and
millrace-cache, and millrace-api started against them.
"""

import os
import subprocess
import time
import types

from pysupport import free_port, scrape

from ..common import BIN, run, wait_for
from ..redis_client import RedisConnection
from ..stack import fresh_schema, load_catalog, start_service, stop
from ..wrk import HTTP_THREADS


# The API's defaults: one event loop per core of this 2-core machine
# (HTTP_THREADS), and its database workers, through which every catalog
# read goes, a cache hit too.
API_WORKERS = 4


class CacheRig:
    """What both cache stages run on: a schema holding the generated catalog
    (`millrace generate --catalog`: 20 categories, 6,000 products), its change
    feed (`millrace-changefeed`, publication and slot of its own, on a topic
    of its own), and `millrace-cache` keeping the cache in the stack's Redis.
    up() returns once the cache is live (its `live` key is set)."""

    SCHEMA = PUB = SLOT = "bench_cache"
    TOPIC = "bench_cache_changes"

    def __init__(self, stack, workdir):
        self.stack, self.workdir = stack, workdir
        self.owner = {"MILLRACE_PG": stack.pg, "MILLRACE_PG_SCHEMA": self.SCHEMA}
        self.redis_url = stack.env["MILLRACE_REDIS_URL"]
        self.prefix = f"millrace:{self.SCHEMA}"
        self.procs = []

    def millrace(self, *args, stdout=None):
        return run([os.path.join(BIN, "millrace"), *args], env=self.owner, stdout=stdout)

    def drop_slot(self):
        run(["psql", self.stack.env["MILLRACE_CHANGEFEED_PG"], "-X", "-q", "-At", "-c",
             f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{self.SLOT}'"])

    def up(self):
        stack = self.stack
        self.drop_slot()
        stack.psql(f"DROP PUBLICATION IF EXISTS {self.PUB}")
        fresh_schema(stack, self.SCHEMA)
        load_catalog(stack, self.SCHEMA, self.workdir)
        self.categories = stack.psql(f"SELECT string_agg(name, E'\\n' ORDER BY name) FROM {self.SCHEMA}.categories",
                                     record=False).split("\n")
        self.skus = [int(s) for s in stack.psql(f"SELECT string_agg(sku::text, ',' ORDER BY sku) "
                                                f"FROM {self.SCHEMA}.products", record=False).split(",")]
        self.millrace("changefeed", "publish", "--publication", self.PUB, "--tables", "categories,products")
        stack.create_topic(self.TOPIC)
        self.feed = start_service("millrace-changefeed", {
            "MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGEFEED_PG": stack.env["MILLRACE_CHANGEFEED_PG"],
            "MILLRACE_CHANGES_TOPIC": self.TOPIC, "MILLRACE_CHANGEFEED_SLOT": self.SLOT,
            "MILLRACE_CHANGEFEED_PUBLICATION": self.PUB,
            "MILLRACE_CHANGEFEED_CHECKPOINT_GROUP": f"bench_cache_{os.getpid()}_{time.time_ns()}",
            "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"}, f"{self.workdir}/cache-changefeed.log")
        self.procs.append(self.feed)
        wait_for(lambda: stack.psql(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{self.SLOT}' "
                                    "AND active", record=False) == "1", 120, "the change feed to stream")
        self.cache = start_service("millrace-cache", {
            **self.owner, "MILLRACE_BROKERS": stack.brokers, "MILLRACE_CHANGES_TOPIC": self.TOPIC,
            "MILLRACE_REDIS_URL": self.redis_url, "MILLRACE_METRICS_ADDR": f"127.0.0.1:{free_port()}"},
            f"{self.workdir}/cache.log")
        self.procs.append(self.cache)
        self.wait_live()
        with open(os.path.join(stack.state, "redis.pid")) as f:
            self.redis_proc = types.SimpleNamespace(pid=int(f.read().split()[0]))

    def wait_live(self):
        """The live generation, once there is one (at start, or after a
        rebuild the stage before caused)."""
        self.generation = None

        def live():
            if self.cache.poll() is not None:
                raise SystemExit(f"bench: millrace-cache exited ({self.cache.returncode}); see {self.workdir}/cache.log")
            redis = RedisConnection(self.redis_url)
            try:
                self.generation = redis.command("GET", self.prefix + ":live")
            finally:
                redis.close()
            return self.generation is not None

        wait_for(live, 120, "the cache to be live")
        return self.generation

    def rebuilds(self):
        """millrace-cache's millrace_cache_rebuilds_total, by reason."""
        return {dict(labels).get("reason", ""): v for (name, labels), v in scrape(self.cache.metrics_addr).items()
                if name == "millrace_cache_rebuilds_total"}

    def rebuilds_since(self, before):
        after = self.rebuilds()
        return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}

    def tls_files(self):
        """The stack's server certificate and key (deploy/local/stack makes
        them for PostgreSQL), for the HTTPS runs."""
        tls = os.path.join(self.stack.state, "tls")
        return os.path.join(tls, "server.crt"), os.path.join(tls, "server.key")

    def start_api(self, name, cached, tls=False, near=True):
        """millrace-api on the rig's schema (as the owner: the roles are
        integration.api's subject), with or without the cache, over HTTPS
        with the stack's certificate when `tls`; with the cache, `near` keeps
        the near cache on (its default), else every read asks Redis."""
        port = free_port()
        env = {"MILLRACE_API_ADDR": f"127.0.0.1:{port}", "MILLRACE_API_PG": self.stack.pg,
               "MILLRACE_PG_SCHEMA": self.SCHEMA, "MILLRACE_API_HTTP_THREADS": str(HTTP_THREADS),
               "MILLRACE_API_WORKERS": str(API_WORKERS),
               # Its live stream reads the rig's change feed on the stack's
               # brokers, not the default 127.0.0.1:9092 it would retry.
               "MILLRACE_BROKERS": self.stack.brokers, "MILLRACE_CHANGES_TOPIC": self.TOPIC}
        if cached:
            env["MILLRACE_REDIS_URL"] = self.redis_url
            env["MILLRACE_API_NEAR_CACHE_ENTRIES"] = "100000" if near else "0"
        if tls:
            env["MILLRACE_API_TLS_CERT"], env["MILLRACE_API_TLS_KEY"] = self.tls_files()
        proc = start_service("millrace-api", env, f"{self.workdir}/{name}.log")
        proc.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        proc.metrics_addr = None if tls else f"127.0.0.1:{port}"
        wait_for(lambda: proc.poll() is None and subprocess.run(["curl", "-sfk", proc.url + "/readyz"],
                                                                capture_output=True).returncode == 0,
                 60, f"{name} to be ready")
        return proc

    def down(self):
        stop(list(reversed(self.procs)))
        self.drop_slot()
        self.stack.psql(f"DROP PUBLICATION IF EXISTS {self.PUB}")
