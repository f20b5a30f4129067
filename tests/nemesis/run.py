"""One nemesis run: the whole pipeline on a three-broker stack, a steady load,
the schedule's faults applied, a recovery, then check.py's verdicts.

Only the pipeline's binaries and the stack script are the project's code
here; the load, the webhook receiver and every check are the harness' own
(HTTP, psql, kcat, redis-cli).
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import schedule

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.ports import free_port  # noqa: E402 (held against every other picker)

try:  # the Standard Webhooks library, in the test venv (.cache/venv)
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    Webhook = WebhookVerificationError = None

SERVER_NODE = {"kafka-1": 0, "kafka-2": 1, "kafka-3": 2}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Stack:
    """deploy/local/stack on the state dir; one call at a time (faults on
    different servers run on their own threads)."""

    def __init__(self, repo, state):
        self.repo, self.state = repo, state
        self.lock = threading.Lock()
        self.env = self._env()

    def call(self, *args, check=False):
        with self.lock:
            r = subprocess.run([f"{self.repo}/deploy/local/stack", *args],
                               env={**os.environ, "MILLRACE_STATE_DIR": self.state},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"stack {' '.join(args)}: {r.stdout[-2000:]}")
        return r

    def _env(self):
        out = self.call("env", check=True).stdout
        env = {}
        for line in out.splitlines():
            if line.startswith("export ") and "=" in line:
                k, _, v = line[7:].partition("=")
                env[k] = v.strip("'\"")
        return env

    def pid(self, server):
        out = self.call("status").stdout
        for line in out.splitlines():
            if line.strip().startswith(server + ":") and "running (pid " in line:
                return int(line.split("running (pid ")[1].split(")")[0].split()[0].rstrip(","))
        return -1

    def ports(self, server):
        """The TCP ports a server listens on (a Kafka node: its client and
        controller ports)."""
        if server.startswith("kafka-"):
            base = int(self.env["MILLRACE_BROKERS"].split(",")[0].rsplit(":", 1)[1])
            i = SERVER_NODE[server]
            return [base + 2 * i, base + 2 * i + 1]
        if server == "postgres":
            return [int(urllib.parse.urlparse(self.env["MILLRACE_PG"]).port)]
        raise ValueError(server)


def make_orders(seed, count, skus):
    """Orders of seed 003's shape (proto/kinds/order.json), made here: the
    CLI's generator writes only store events. Ids are unique per seed."""
    rng = random.Random(seed * 7 + 3)
    out = []
    for n in range(count):
        email = f"nemesis{rng.randrange(10**6)}@example.com"
        lines = [{"Email": email, "ProductId": rng.choice(skus) if skus else 1 + rng.randrange(10**6),
                  "Quantity": rng.randint(1, 5), "UnitPrice": round(rng.uniform(1.99, 49.99), 2)}
                 for _ in range(rng.randint(1, 4))]
        total = round(sum(l["Quantity"] * l["UnitPrice"] for l in lines), 2)
        out.append(json.dumps({
            "PaymentTransactionId": f"nemesis-{seed}-{n}",
            "OrderDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Total": total, "Region": rng.choice(["East US", "West Europe"]),
            "FirstName": "Ana", "LastName": "Silva", "Email": email, "Details": lines}))
    return out


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


class Load:
    """The steady load: store events and orders over HTTP (each acknowledged
    one recorded), edits of a published table and of the catalog in psql and
    through the API."""

    def __init__(self, run):
        self.run = run
        self.stop = threading.Event()
        self.acked_events = {}   # id -> (partition, offset, line)
        self.acked_orders = {}   # PaymentTransactionId -> (partition, offset, line)
        self.unacked_events = 0
        self.unacked_orders = 0
        self.table_tx_ok = 0
        self.table_tx_failed = 0
        self.catalog_edits = {"psql": 0, "api": 0, "failed": 0}
        # name -> [(display_name, acknowledged)], in the order sent (one
        # thread): a failed edit's outcome is unknown, not "not applied".
        self.catalog_log = {}
        self.threads = []

    def start(self):
        for target in (self.events, self.orders, self.table, self.catalog):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _post(self, path, lines):
        port = self.run.producer_port
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            c.request("POST", path, body="\n".join(lines).encode(),
                      headers={"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, json.loads(body) if body else {}
        except (OSError, http.client.HTTPException, ValueError):
            return 0, {}

    def _send(self, path, pool, batch, acked, pause):
        i = 0
        while not self.stop.is_set() and i < len(pool):
            lines = pool[i:i + batch]
            i += batch
            status, answer = self._post(path, lines)
            got = 0
            for res in answer.get("results", []) if isinstance(answer, dict) else []:
                if res.get("status") == "accepted":
                    acked[res["id"]] = (res["partition"], res["offset"], lines[res["index"]])
                    got += 1
            lost = len(lines) - got
            if path == "/v1/events":
                self.unacked_events += lost
            else:
                self.unacked_orders += lost
            self.stop.wait(pause)

    def events(self):
        self._send("/v1/events", self.run.event_pool, 20, self.acked_events, 0.1)

    def orders(self):
        self._send("/v1/orders", self.run.order_pool, 4, self.acked_orders, 0.25)

    def table(self):
        rng = random.Random(self.run.seed * 7 + 1)
        next_id = 1
        while not self.stop.is_set():
            stmts = []
            for _ in range(rng.randint(1, 3)):
                op = rng.random()
                if op < 0.5 or next_id < 10:
                    stmts.append(f"INSERT INTO nemesis_items (id, v, note) VALUES ({next_id}, 0, 'n{next_id}')")
                    next_id += 1
                elif op < 0.85:
                    k = rng.randrange(1, next_id)
                    stmts.append(f"UPDATE nemesis_items SET v = v + 1, note = 'u{rng.randrange(10**6)}' WHERE id = {k}")
                else:
                    stmts.append(f"DELETE FROM nemesis_items WHERE id = {rng.randrange(1, next_id)}")
            r = self.run.psql("BEGIN;" + ";".join(stmts) + ";COMMIT;", timeout=20)
            if r is None:
                self.table_tx_failed += 1
            else:
                self.table_tx_ok += 1
            self.stop.wait(0.15)

    def catalog(self):
        rng = random.Random(self.run.seed * 7 + 2)
        names = self.run.category_names
        while not self.stop.is_set():
            name = rng.choice(names)
            shown = f"{name} #{rng.randrange(10**6)}"
            if rng.random() < 0.5:
                q = shown.replace("'", "''")
                n = name.replace("'", "''")
                ok = self.run.psql(f"UPDATE categories SET display_name = '{q}' WHERE name = '{n}'",
                                   timeout=20) is not None
                self.catalog_edits["psql" if ok else "failed"] += 1
                self.catalog_log.setdefault(name, []).append((shown, ok))
            else:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", self.run.api_port, timeout=20)
                    c.request("PUT", "/v1/categories/" + urllib.parse.quote(name, safe=""),
                              body=json.dumps({"display_name": shown}).encode(),
                              headers={"Content-Type": "application/json",
                                       "Authorization": "Bearer " + self.run.admin_token})
                    r = c.getresponse()
                    r.read()
                    c.close()
                    self.catalog_edits["api" if r.status < 300 else "failed"] += 1
                    self.catalog_log.setdefault(name, []).append((shown, r.status < 300))
                except (OSError, http.client.HTTPException):
                    self.catalog_edits["failed"] += 1
                    self.catalog_log.setdefault(name, []).append((shown, False))
            self.stop.wait(1.0)


class Run:
    def __init__(self, repo, bin_dir, state, work, seeds, minutes_per_seed):
        self.repo, self.bin_dir = repo, os.path.abspath(bin_dir)
        self.state, self.work = os.path.abspath(state), os.path.abspath(work)
        # The load's pools come from the first seed; the run lasts every
        # seed's minutes.
        self.seeds, self.minutes_per_seed = list(seeds), minutes_per_seed
        self.seed, self.minutes = self.seeds[0], minutes_per_seed * len(self.seeds)
        os.makedirs(self.work, exist_ok=True)
        self.stack = Stack(repo, state)
        self.env = dict(os.environ)
        self.env.update(self.stack.env)
        self.env["MILLRACE_STATE_DIR"] = state
        self.services = {}
        self.cuts = set()
        self.isolations = []  # iptables rules (without the action) of broker-isolate faults
        self.slow_disks = set()  # blkio groups of pg-slow-disk faults
        self.slowing = False  # lo's root qdisc is ours (slow_root)
        self.fault_log = []
        self.fault_lock = threading.Lock()
        self.t0 = None
        self.stopping = False

    # --- helpers ---------------------------------------------------------
    def millrace(self, *args, env=None, check=True, timeout=300):
        r = subprocess.run([f"{self.bin_dir}/millrace", *args], env={**self.env, **(env or {})},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"millrace {' '.join(args)}: {r.stderr[-2000:]}")
        return r

    def psql(self, sql, timeout=60, url=None):
        """stdout of the SQL (unaligned, tuples only), or None when it failed."""
        try:
            r = subprocess.run(["psql", url or self.env["MILLRACE_PG"], "-X", "-q", "-At",
                                "-v", "ON_ERROR_STOP=1", "-c", sql], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=timeout,
                               env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
        except subprocess.TimeoutExpired:
            return None
        return r.stdout if r.returncode == 0 else None

    def role(self, var):
        return urllib.parse.urlparse(self.env[var]).username

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

    # --- faults ----------------------------------------------------------
    def record(self, n, what):
        line = f"t+{time.time() - self.t0:7.1f}s  #{n:<3} {what}"
        with self.fault_lock:
            self.fault_log.append(line)
        log("fault " + line)

    def iptables(self, action, port):
        for chain, flag in (("INPUT", "--dport"), ("INPUT", "--sport")):
            r = subprocess.run(["iptables", "-w", action, chain, "-i", "lo", "-p", "tcp", flag, str(port),
                            "-m", "comment", "--comment", "millrace-nemesis", "-j", "DROP"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0 and action == "-I":
                log(f"iptables {action} {flag} {port} failed: {r.stderr.strip()}")

    def cut(self, server):
        for p in self.stack.ports(server):
            self.cuts.add(p)
            self.iptables("-I", p)

    def heal(self, server):
        for p in self.stack.ports(server):
            self.iptables("-D", p)
            self.cuts.discard(p)

    # A Kafka node cut from its peers only: each stack server runs in a
    # cgroup of its own (MILLRACE_STACK_CGROUP, set by scripts/nemesis), and
    # every packet a peer's socket sends to the node's client and
    # controller ports, or the node's sockets send to a peer's, is dropped
    # on its way out (iptables -m cgroup, OUTPUT). The services' sockets
    # are in no such cgroup: clients reach every node throughout.
    def stack_cgroup(self, server):
        base = os.environ.get("MILLRACE_STACK_CGROUP", "")
        with open("/proc/mounts") as f:
            roots = [line.split()[1] for line in f if line.split()[2:3] == ["cgroup2"]]
        if not base or not roots or not os.path.isdir(os.path.join(base, server)):
            raise RuntimeError(f"no cgroup for {server}: broker-isolate needs the stack started with "
                               "MILLRACE_STACK_CGROUP under a cgroup2 mount (scripts/nemesis does it as root)")
        return os.path.relpath(os.path.join(base, server), roots[0])

    def isolation_rules(self, server):
        rules = []
        for peer in schedule.BROKERS:
            if peer == server:
                continue
            for src, dst in ((server, peer), (peer, server)):
                for port in self.stack.ports(dst):
                    rules.append(["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", str(port), "-m", "cgroup",
                                  "--path", self.stack_cgroup(src), "-m", "comment", "--comment",
                                  "millrace-nemesis", "-j", "DROP"])
        return rules

    def isolate(self, server):
        for rule in self.isolation_rules(server):
            r = subprocess.run(["iptables", "-w", "-I", *rule], stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                log(f"iptables -I {' '.join(rule)} failed: {r.stderr.strip()}")
            self.isolations.append(rule)

    def unisolate(self, server):
        for rule in self.isolation_rules(server):
            subprocess.run(["iptables", "-w", "-D", *rule], stderr=subprocess.DEVNULL)
            if rule in self.isolations:
                self.isolations.remove(rule)

    def leaders(self, server):
        """How many partitions `server` leads, by the other nodes' metadata
        (what the cluster says while the node is cut off), for the log."""
        others = ",".join(f"127.0.0.1:{self.stack.ports(b)[0]}" for b in schedule.BROKERS if b != server)
        try:
            meta = json.loads(subprocess.run(["kcat", "-b", others, "-L", "-J", "-m", "5"], stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True, timeout=20).stdout)
        except (subprocess.TimeoutExpired, ValueError):
            return "?"
        node = SERVER_NODE[server] + 1
        return str(sum(1 for t in meta.get("topics", []) for p in t.get("partitions", []) if p.get("leader") == node))

    # PostgreSQL's slow disk: every PostgreSQL process (the postmaster and
    # its children; the backends it forks later inherit it) moved into a
    # blkio cgroup (v1) of the fault's own, whose writes to the disk of the
    # data directory are throttled (blkio.throttle.write_iops_device, and
    # 64 KiB an operation in write_bps_device). The throttle holds the
    # writes a process submits itself, which is what fsync and O_DSYNC do:
    # each commit's WAL flush waits its turn. Undone by moving them back to
    # the root group.
    BLKIO = "/sys/fs/cgroup/blkio"

    def data_disk(self):
        """major:minor of the disk holding PostgreSQL's data directory (the
        whole disk: blkio throttles disks, not partitions)."""
        st = os.stat(os.path.join(self.state, "pgdata"))
        dev = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
        sys_dir = os.path.realpath(f"/sys/dev/block/{dev}")
        if os.path.exists(os.path.join(sys_dir, "partition")):
            with open(os.path.join(os.path.dirname(sys_dir), "dev")) as f:
                dev = f.read().strip()
        return dev

    def check_slow_disk(self):
        group = os.path.join(self.BLKIO, f"millrace-nemesis-{os.getpid()}-probe")
        try:
            os.makedirs(group, exist_ok=True)
            with open(os.path.join(group, "blkio.throttle.write_iops_device"), "w") as f:
                f.write(f"{self.data_disk()} 1000\n")
        except OSError as e:
            raise RuntimeError(f"the schedule slows PostgreSQL's disk, which needs root and the blkio cgroup (v1) "
                               f"at {self.BLKIO} throttling the data directory's disk: {e}")
        finally:
            if os.path.isdir(group):
                os.rmdir(group)

    def postgres_pids(self):
        root = self.stack.pid("postgres")
        if root <= 0:
            return []
        pids = [root]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == root:
                            pids.append(int(entry))
                except (OSError, ValueError, IndexError):
                    pass
        return pids

    def move_to(self, group, pids):
        moved = 0
        for pid in pids:
            try:
                with open(os.path.join(group, "cgroup.procs"), "w") as f:
                    f.write(f"{pid}\n")
                moved += 1
            except OSError:  # gone meanwhile
                pass
        return moved

    def slow_disk(self, n, iops):
        group = os.path.join(self.BLKIO, f"millrace-nemesis-{os.getpid()}-{n}")
        os.makedirs(group, exist_ok=True)
        disk = self.data_disk()
        for name, value in (("write_iops_device", iops), ("write_bps_device", iops * 65536)):
            with open(os.path.join(group, f"blkio.throttle.{name}"), "w") as f:
                f.write(f"{disk} {value}\n")
        self.slow_disks.add(group)
        return self.move_to(group, self.postgres_pids())

    def unslow_disk(self, n):
        """Ends slow disk n; what PostgreSQL wrote through it, for the log."""
        group = os.path.join(self.BLKIO, f"millrace-nemesis-{os.getpid()}-{n}")
        served = ""
        try:
            with open(os.path.join(group, "blkio.throttle.io_serviced")) as f:
                served = next((line.split()[-1] for line in f if " Write " in line), "0")
        except OSError:
            pass
        self.release_disk(group)
        return served or "0"

    def release_disk(self, group):
        for _ in range(50):  # a backend forked while it was moved joins the group
            try:
                with open(os.path.join(group, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
            except OSError:
                break
            self.move_to(self.BLKIO, pids)
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.1)
        self.slow_disks.discard(group)

    # Slow links: an HTB qdisc at lo's root, whose default class lets
    # everything through, and a class of the fault's rate per slow fault,
    # with u32 filters (priority 100 + its number) sending its server's
    # ports to it, both ways. Only the schedule's thread of that fault
    # touches its class; the root is made once, before the load starts.
    def tc(self, *args):
        return subprocess.run(["tc", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def slow_root(self):
        shown = self.tc("qdisc", "show", "dev", "lo")
        if shown.returncode != 0 or not shown.stdout.startswith("qdisc noqueue"):
            raise RuntimeError("the schedule slows links with tc on lo, which needs root and lo's default "
                               f"qdisc (tc qdisc show dev lo: {(shown.stdout or shown.stderr).strip()})")
        for cmd in (["qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "1", "r2q", "10000"],
                    ["class", "add", "dev", "lo", "parent", "1:", "classid", "1:1", "htb", "rate", "100gbit"]):
            r = self.tc(*cmd)
            if r.returncode != 0:
                self.tc("qdisc", "del", "dev", "lo", "root")
                raise RuntimeError(f"tc {' '.join(cmd)}: {r.stderr.strip()} (the kernel needs sch_htb and cls_u32)")
        self.slowing = True

    def slow(self, n, server, rate_kbit):
        classid = f"1:{100 + n}"
        r = self.tc("class", "add", "dev", "lo", "parent", "1:", "classid", classid, "htb",
                    "rate", f"{rate_kbit}kbit", "ceil", f"{rate_kbit}kbit")
        if r.returncode != 0:
            log(f"tc class add {classid} failed: {r.stderr.strip()}")
        for port in self.stack.ports(server):
            for way in ("sport", "dport"):
                r = self.tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", str(100 + n),
                            "u32", "match", "ip", way, str(port), "0xffff", "flowid", classid)
                if r.returncode != 0:
                    log(f"tc filter add {way} {port} failed: {r.stderr.strip()}")

    def unslow(self, n):
        """Ends slow link n; what passed through it ("Sent ... bytes ...
        pkt (dropped ..., overlimits ...)"), for the log."""
        shown = self.tc("-s", "class", "show", "dev", "lo", "classid", f"1:{100 + n}").stdout
        self.tc("filter", "del", "dev", "lo", "parent", "1:", "prio", str(100 + n))
        self.tc("class", "del", "dev", "lo", "classid", f"1:{100 + n}")
        sent = [line.strip() for line in shown.splitlines() if line.strip().startswith("Sent")]
        return sent[0] if sent else "no statistics"

    def apply(self, f):
        n, kind, target, d = f["n"], f["kind"], f["target"], f["duration"]
        delay = self.t0 + f["at"] - time.time()
        if delay > 0:
            time.sleep(delay)
        if kind == "sigkill":
            s = self.services[target]
            s.expected_down = True
            s.signal(signal.SIGKILL)
            self.record(n, f"SIGKILL {target}")
            time.sleep(d)
            s.proc.wait()
            s.start()
            self.record(n, f"restarted {target}")
        elif kind == "sigstop":
            s = self.services[target]
            s.signal(signal.SIGSTOP)
            self.record(n, f"SIGSTOP {target}")
            time.sleep(d)
            s.signal(signal.SIGCONT)
            self.record(n, f"SIGCONT {target}")
        elif kind == "broker-kill":
            pid = self.stack.pid(target)
            if pid > 0:
                os.kill(pid, signal.SIGKILL)
            self.record(n, f"SIGKILL {target} (pid {pid})")
            time.sleep(d)
            r = self.stack.call("up", "kafka")
            self.record(n, f"stack up kafka: exit {r.returncode}")
        elif kind in ("broker-cut", "pg-cut"):
            self.cut(target)
            self.record(n, f"cut {target} (ports {self.stack.ports(target)})")
            time.sleep(d)
            self.heal(target)
            self.record(n, f"healed {target}")
        elif kind == "pg-slow-disk":
            iops = f["write_iops"]
            moved = self.slow_disk(n, iops)
            self.record(n, f"slowed PostgreSQL's disk ({self.data_disk()}) to {iops} writes/s, "
                           f"{iops * 64} KiB/s ({moved} process(es))")
            time.sleep(d)
            writes = self.unslow_disk(n)
            self.record(n, f"unslowed PostgreSQL's disk: {writes} write(s) went through it")
        elif kind == "broker-isolate":
            before = self.leaders(target)
            self.isolate(target)
            self.record(n, f"isolated {target} from its peers (it led {before} partition(s))")
            time.sleep(d)
            during = self.leaders(target)
            self.unisolate(target)
            self.record(n, f"rejoined {target} (cut off, it led {during} partition(s) by its peers' metadata)")
        elif kind in ("broker-slow", "pg-slow"):
            rate = f["rate_kbit"]
            self.slow(n, target, rate)
            self.record(n, f"slowed {target} to {rate} kbit/s (ports {self.stack.ports(target)})")
            time.sleep(d)
            passed = self.unslow(n)
            self.record(n, f"unslowed {target}: {passed}")
        elif kind in ("pg-restart", "redis-restart"):
            server = kind.split("-")[0].replace("pg", "postgres")
            r = self.stack.call("down", server)
            self.record(n, f"stack down {server}: exit {r.returncode}")
            time.sleep(d)
            r = self.stack.call("up", server)
            self.record(n, f"stack up {server}: exit {r.returncode}")
        elif kind == "pg-terminate":
            # As the superuser (trust on the stack's socket): the owner may
            # not end the services' sessions, each of another role.
            port = self.stack.ports("postgres")[0]
            out = self.psql("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE pid <> pg_backend_pid() AND datname = 'millrace' "
                            "AND backend_type IN ('client backend', 'walsender')", timeout=20,
                            url=f"postgresql:///postgres?host={self.state}/pgrun&port={port}&user=postgres")
            self.record(n, f"terminated {out.strip()} PostgreSQL connection(s)" if out is not None
                        else "pg_terminate_backend: PostgreSQL did not answer (nothing terminated)")
        else:
            raise ValueError(kind)

    def undo_everything(self):
        """After the schedule (and on any way out): nothing stays cut, stopped
        or down."""
        for p in list(self.cuts):
            self.iptables("-D", p)
        self.cuts.clear()
        for rule in list(self.isolations):
            subprocess.run(["iptables", "-w", "-D", *rule], stderr=subprocess.DEVNULL)
        self.isolations.clear()
        for group in list(self.slow_disks):
            self.release_disk(group)
        if self.slowing:
            self.tc("qdisc", "del", "dev", "lo", "root")  # lo back to its default, every class gone
            self.slowing = False
        for s in self.services.values():
            s.signal(signal.SIGCONT)
        self.stack.call("up")

    # --- recovery ----------------------------------------------------------
    def end_offsets(self, topic):
        meta = json.loads(subprocess.run(["kcat", "-b", self.env["MILLRACE_BROKERS"], "-L", "-J", "-t", topic],
                                         stdout=subprocess.PIPE, text=True, timeout=60).stdout)
        parts = [p["partition"] for t in meta["topics"] if t["topic"] == topic for p in t["partitions"]]
        args = ["kcat", "-b", self.env["MILLRACE_BROKERS"], "-Q"]
        for p in parts:
            args += ["-t", f"{topic}:{p}:-1"]
        out = subprocess.run(args, stdout=subprocess.PIPE, text=True, timeout=60).stdout
        ends = {}
        for line in out.splitlines():  # "store-events [0] offset 1278"
            bits = line.split()
            if len(bits) == 4 and bits[0] == topic and bits[2] == "offset":
                ends[int(bits[1].strip("[]"))] = int(bits[3])
        return ends

    def stored(self, group):
        out = self.psql(f"SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = '{group}'")
        return int(out) if out else -1

    def wait_caught_up(self, stall_s=90):
        groups = {"millrace-sink": "store-events", "millrace-aggregator": "store-events",
                  "millrace-archiver": "store-events", "millrace-sink-order": "store-orders",
                  "millrace-aggregator-order": "store-orders"}
        ends = {t: sum(self.end_offsets(t).values()) for t in set(groups.values())}
        log(f"recovery: topic ends {ends}")
        best, last_rise = -1, time.time()
        while True:
            behind = {g: ends[t] - self.stored(g) for g, t in groups.items()}
            total = sum(max(0, b) for b in behind.values())
            if total == 0:
                log("recovery: every consumer group caught up")
                return True, behind
            if best < 0 or total < best:
                best, last_rise = total, time.time()
            if time.time() - last_rise > stall_s:
                log(f"recovery: no progress for {stall_s} s: {behind}")
                return False, behind
            time.sleep(1)

    def wait_feed(self, stall_s=90):
        lsn = (self.psql("SELECT pg_current_wal_lsn()") or "").strip()
        deadline = time.time() + stall_s
        while time.time() < deadline:
            ok = self.psql(f"SELECT bool_and(confirmed_flush_lsn >= '{lsn}') FROM pg_replication_slots "
                           "WHERE slot_type = 'logical'")
            if ok and ok.strip() == "t":
                return True
            time.sleep(1)
        return False

    def wait_webhooks(self, expected, stall_s=90):
        best, last_rise = -1, time.time()
        while True:
            with self.receiver.lock:
                got = min(len(set(self.receiver.ids.get(e, [])) & expected) for e in self.receiver.secrets)
            if got >= len(expected):
                return True
            if got > best:
                best, last_rise = got, time.time()
            if time.time() - last_rise > stall_s:
                return False
            time.sleep(1)

    # --- the run -----------------------------------------------------------
    def main(self):
        faults = schedule.draw_seeds(self.seeds, self.minutes_per_seed)
        if any(f["kind"].endswith("-cut") or f["kind"] == "broker-isolate" for f in faults) and subprocess.run(
                ["iptables", "-w", "-S", "INPUT"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode != 0:
            raise RuntimeError("the schedule cuts ports, which needs root and iptables (iptables -S INPUT failed)")
        if any(f["kind"] == "broker-isolate" for f in faults):
            for b in schedule.BROKERS:
                self.stack_cgroup(b)
        if any(f["kind"] == "pg-slow-disk" for f in faults):
            self.check_slow_disk()
        if any(f["kind"].endswith("-slow") for f in faults):
            self.slow_root()
        text = schedule.render(self.seeds, self.minutes_per_seed, faults)
        print(text, flush=True)
        with open(os.path.join(self.work, "schedule.json"), "w") as f:
            f.write(schedule.to_json(self.seeds, self.minutes_per_seed, faults))
        log("setup: migrate, topics, grants, catalog, record pools")
        self.setup()
        # Before the services: an endpoint receives the changes the webhooks
        # service reads after it is stored (docs/webhooks.md), and the
        # change feed's first changes (its initial snapshot's backfills)
        # come as it starts. Added after, the endpoints missed one on seed
        # 11 (a backfill's end, read 0.3 s before them) when two runs shared
        # the machine.
        self.add_endpoints()
        self.start_services()
        self.wait_ready()
        log(f"pipeline ready (logs in {self.work}); load starts, then the schedule")
        load = self.load = Load(self)
        self.t0 = time.time()
        load.start()
        threads = [threading.Thread(target=self.apply, args=(f,), daemon=True) for f in faults]
        for t in threads:
            t.start()
        time.sleep(max(0.0, self.t0 + self.minutes * 60 - time.time()))
        for t in threads:
            t.join(120)
        load.join()
        log(f"schedule done: {len(load.acked_events)} events and {len(load.acked_orders)} orders acknowledged")
        self.undo_everything()
        time.sleep(2)
        for s in self.services.values():
            if not s.running():
                s.start()
        caught_up, behind = self.wait_caught_up()
        feed_ok = self.wait_feed()
        log(f"recovery: change feed {'caught up' if feed_ok else 'behind'}")
        import check
        checker = check.Checker(self)
        changes = checker.read_changes()
        hooks_ok = self.wait_webhooks({c["id"] for c in changes if c["table"] == "public.nemesis_items"})
        log(f"recovery: webhooks {'delivered everything' if hooks_ok else 'stalled'}")
        time.sleep(3)  # the cache applies the feed's last changes
        results = checker.check_all(load, changes)
        self.stopping = True
        clean = self.stop_services()
        results.append(("clean shutdown (SIGTERM, exit 0)", bool(clean), f"{len(self.services) - len(clean)} of {len(self.services)} exited 0" + (f"; not: {', '.join(clean)}" if clean else "")))
        results.append(self.no_self_exits())
        self.receiver.stop()
        return faults, load, results, caught_up and feed_ok and hooks_ok

    def no_self_exits(self):
        """A fault the pipeline recovers from is no reason to exit: a service
        that exited by itself (the harness restarted it, as systemd would) is
        a broken promise, with its first exit and its log's last lines."""
        exits = [(t, s.name, status) for s in self.services.values() for t, status in s.self_exits]
        detail = f"{len(exits)} exit(s) the schedule did not cause"
        if exits:
            t, name, status = min(exits)
            last = ""
            try:
                with open(self.services[name].log_path, errors="replace") as f:
                    lines = [line.strip() for line in f]
                # The last line logged at level ERROR (the failure that ended
                # it), else the last that names an error (a stop summary does).
                leveled = [line for line in lines if " ERROR " in line or " FATAL " in line]
                named = [line for line in lines if "fatal" in line or "error" in line]
                last = (leveled or named or [""])[-1][:300]
            except OSError:
                pass
            detail += f"; first: {name} at t+{t}s, status {status}" + (f": {last}" if last else "")
        return ("no service exits unless the schedule stopped it", bool(exits), detail)

    def stop_services(self):
        """SIGTERM to every service; the names of those that did not exit 0."""
        bad = []
        for s in self.services.values():
            s.stopped = True
            s.signal(signal.SIGCONT)
            s.signal(signal.SIGTERM)
        for s in self.services.values():
            try:
                status = s.proc.wait(60)
            except subprocess.TimeoutExpired:
                s.signal(signal.SIGKILL)
                s.proc.wait()
                status = "timeout"
            if status != 0:
                bad.append(f"{s.name} ({status})")
        return bad

    def kill_all(self):
        self.stopping = True
        for s in self.services.values():
            s.stopped = True
            if s.proc and s.proc.poll() is None:
                s.signal(signal.SIGCONT)
                s.signal(signal.SIGKILL)
                s.proc.wait()
