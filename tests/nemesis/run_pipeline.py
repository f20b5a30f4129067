"""The pipeline the nemesis runs: each service's process (Service), the
webhook receiver its endpoints post to (Receiver), and Run's setup steps
(Pipeline, a part of run.Run): the schema, topics, grants, catalog and
record pools, each service's environment, their start and supervision,
readiness and the webhook endpoints.
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import os
import subprocess
import sys
import threading
import time

import schedule
from run_load import make_orders
from run_stack import log

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.ports import free_port  # noqa: E402 (held against every other picker)

try:  # the Standard Webhooks library, in the test venv (.cache/venv)
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    Webhook = WebhookVerificationError = None


class Service:
    def __init__(self, name, binary, env, log_path):
        self.name, self.binary, self.env, self.log_path = name, binary, env, log_path
        self.proc = None
        self.expected_down = False  # killed by the nemesis, to be restarted by it
        self.stopped = False
        self.self_exits = []        # (time, status) of exits nobody caused
        self.lock = threading.Lock()

    def start(self):
        with self.lock:
            logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen([self.binary], env=self.env, stdout=logf,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
            logf.close()
            self.expected_down = False

    def signal(self, sig):
        with self.lock:
            if self.proc and self.proc.poll() is None:
                os.kill(self.proc.pid, sig)
                return True
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Receiver:
    """A webhook receiver: every POST to /<endpoint> is checked with the
    Standard Webhooks rule (HMAC-SHA256 of id.timestamp.body, base64, under
    the whsec_ secret) and its id recorded in arrival order."""

    def __init__(self):
        self.secrets = {}
        self.ids = {}
        self.bad_signatures = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                endpoint = self.path.strip("/")
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                wid = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                sigs = self.headers.get("webhook-signature", "").split()
                ok = outer.verify(endpoint, wid, ts, body, sigs)
                with outer.lock:
                    if ok:
                        outer.ids.setdefault(endpoint, []).append(wid)
                    else:
                        outer.bad_signatures[endpoint] = outer.bad_signatures.get(endpoint, 0) + 1
                self.send_response(204 if ok else 401)
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, endpoint, wid, ts, body, sigs):
        """The signature by the rule, and by the Standard Webhooks library
        too when the test venv has it (scripts/bootstrap installs it)."""
        secret = self.secrets.get(endpoint)
        if not secret or not wid or not ts:
            return False
        key = base64.b64decode(secret.split("_", 1)[1])
        mac = hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()
        want = "v1," + base64.b64encode(mac).decode()
        if not any(hmac.compare_digest(want, s) for s in sigs):
            return False
        if Webhook is not None:
            try:
                Webhook(secret).verify(body, {"webhook-id": wid, "webhook-timestamp": ts,
                                              "webhook-signature": " ".join(sigs)})
            except WebhookVerificationError:
                return False
        return True

    def stop(self):
        self.server.shutdown()


class Pipeline:
    # --- setup -----------------------------------------------------------
    def setup(self):
        self.millrace("migrate")
        self.millrace("create-topics")
        self.psql("CREATE TABLE IF NOT EXISTS nemesis_items (id bigint PRIMARY KEY, v bigint NOT NULL, note text)")
        self.millrace("changefeed", "publish", "--tables", "categories,products,nemesis_items",
                      "--grant-select", self.role("MILLRACE_CHANGEFEED_PG"))
        self.millrace("grant", "--sink", self.role("MILLRACE_SINK_PG"),
                      "--aggregator", self.role("MILLRACE_AGGREGATOR_PG"),
                      "--archiver", self.role("MILLRACE_ARCHIVER_PG"),
                      "--webhooks", self.role("MILLRACE_WEBHOOKS_PG"),
                      "--cache", self.role("MILLRACE_CACHE_PG"))
        self.millrace("api", "grant", "--reader", self.role("MILLRACE_API_PG"),
                      "--admin", self.role("MILLRACE_API_ADMIN_PG"))
        cats = os.path.join(self.work, "categories.csv")
        prods = os.path.join(self.work, "products.ndjson")
        with open(cats, "w") as f:
            f.write(self.millrace("generate", "--catalog", "categories", "--format", "csv").stdout)
        with open(prods, "w") as f:
            f.write(self.millrace("generate", "--catalog", "products").stdout)
        self.millrace("catalog", "load", "--progress", "never", cats)
        self.millrace("catalog", "load", "--progress", "never", prods)
        self.category_names = [n for n in (self.psql("SELECT name FROM categories ORDER BY name") or "").splitlines() if n]
        # Pools of records to send, the same for a seed.
        self.event_pool = [l for l in self.millrace(
            "generate", "--count", str(int(self.minutes * 60 * 220 + 2000)), "--seed", str(self.seed),
            "--progress", "never").stdout.splitlines() if l.strip()]
        skus = [int(x) for x in (self.psql("SELECT sku FROM products ORDER BY sku") or "").split()]
        self.order_pool = make_orders(self.seed, int(self.minutes * 60 * 20 + 500), skus)
        self.admin_token = base64.b16encode(os.urandom(16)).decode().lower()
        self.pii_key = base64.b16encode(os.urandom(24)).decode().lower()
        self.archive_dir = os.path.join(self.work, "archive")
        os.makedirs(self.archive_dir, exist_ok=True)
        self.producer_port = free_port()
        self.api_port = free_port()

    def service_env(self, name):
        e = dict(self.env)
        e["MILLRACE_METRICS_ADDR"] = ""
        e["MILLRACE_CLIENT_ID"] = "nemesis-" + name
        kind = name.split("-")[0]
        if kind == "sink":
            e.update(MILLRACE_PG=self.env["MILLRACE_SINK_PG"], MILLRACE_MIGRATE="false")
            if name == "sink-order":
                e.update(MILLRACE_KIND="order", MILLRACE_SINK_GROUP="millrace-sink-order",
                         MILLRACE_PII_KEY=self.pii_key)
            else:
                e.update(MILLRACE_SINK_GROUP="millrace-sink", MILLRACE_SINK_ENRICH="true")
        elif kind == "aggregator":
            e.update(MILLRACE_PG=self.env["MILLRACE_AGGREGATOR_PG"], MILLRACE_MIGRATE="false")
            if name == "aggregator-order":
                e.update(MILLRACE_KIND="order", MILLRACE_AGGREGATOR_GROUP="millrace-aggregator-order")
            else:
                e.update(MILLRACE_AGGREGATOR_GROUP="millrace-aggregator")
        elif kind == "archiver":
            e.update(MILLRACE_PG=self.env["MILLRACE_ARCHIVER_PG"], MILLRACE_MIGRATE="false",
                     MILLRACE_ARCHIVE_URL="file://" + self.archive_dir, MILLRACE_ARCHIVE_WINDOW_S="5")
        elif kind == "changefeed":
            e.update(MILLRACE_CHANGEFEED_SNAPSHOT="initial", MILLRACE_CHANGEFEED_STATUS_INTERVAL_MS="1000")
        elif kind == "webhooks":
            e.update(MILLRACE_PG=self.env["MILLRACE_WEBHOOKS_PG"], MILLRACE_MIGRATE="false",
                     MILLRACE_WEBHOOKS_ALLOW_PRIVATE="true")
        elif kind == "cache":
            e.update(MILLRACE_PG=self.env["MILLRACE_CACHE_PG"])
        elif kind == "api":
            e.update(MILLRACE_API_ADMIN_TOKEN=self.admin_token,
                     MILLRACE_API_ADDR=f"127.0.0.1:{self.api_port}")
        elif kind == "producer":
            e.update(MILLRACE_HTTP_ADDR=f"127.0.0.1:{self.producer_port}")
        return e

    def start_services(self):
        for name in schedule.SERVICES:
            binary = f"{self.bin_dir}/millrace-{name.split('-')[0]}"
            s = Service(name, binary, self.service_env(name), os.path.join(self.work, name + ".log"))
            s.start()
            self.services[name] = s
        threading.Thread(target=self.supervise, daemon=True).start()

    def supervise(self):
        """Restarts a service that exited by itself (as systemd would), and
        records it: a service the nemesis killed is restarted by its fault."""
        while not self.stopping:
            for s in self.services.values():
                with s.lock:
                    exited = s.proc is not None and s.proc.poll() is not None
                    status = s.proc.returncode if exited else None
                if exited and not s.expected_down and not s.stopped and not self.stopping:
                    s.self_exits.append((round(time.time() - (self.t0 or time.time()), 1), status))
                    log(f"{s.name} exited by itself (status {status}); restarting it")
                    time.sleep(1)
                    if not self.stopping:
                        s.start()
            time.sleep(0.5)

    def wait_ready(self):
        deadline = time.time() + 180
        while time.time() < deadline:
            ok = True
            for port in (self.producer_port, self.api_port):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/readyz")
                    ok = ok and c.getresponse().status == 200
                    c.close()
                except (OSError, http.client.HTTPException):
                    ok = False
            # Active is not enough: a slot being made is active while it
            # waits for the transactions open then to end, and what commits
            # before it is made is in no stream. It has a confirmed position
            # once made.
            slot = self.psql("SELECT count(*) FROM pg_replication_slots WHERE active "
                             "AND confirmed_flush_lsn IS NOT NULL")
            if ok and slot and int(slot) > 0:
                return
            time.sleep(1)
        raise RuntimeError("the pipeline did not get ready in 180 s (see the logs in " + self.work + ")")

    def add_endpoints(self):
        self.receiver = Receiver()
        for endpoint in ("commit-a", "commit-b"):
            secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
            self.receiver.secrets[endpoint] = secret
            self.millrace("webhooks", "add", "--url", f"http://127.0.0.1:{self.receiver.port}/{endpoint}",
                          "--tables", "nemesis_items", "--secret", secret, "--allow-private",
                          env={"MILLRACE_PG": self.env["MILLRACE_PG"]})
