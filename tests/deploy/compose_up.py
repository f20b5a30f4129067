#!/usr/bin/env python3
"""integration.compose: docker-compose.yml run for real, in containers, the
way the README says (scripts/compose, which makes sure of Docker's engine,
Compose and the Debian base images), in a compose project of its own on
free ports:

1. build every image of the default profile (cached: docker's own layer
   cache; the Millrace image's build step leaves its binaries in the
   engine's build cache, not its build tree), and `up -d --wait`: every
   service healthy;
2. the design card: the cli container produces store events and orders,
   psql in the postgres container and the API's published port answer the
   views;
3. faults, each in the middle of a stream produced by the cli container:
   one sink container killed with SIGKILL, then both (`kill -s KILL sink`),
   the postgres container restarted, then the kafka container;
4. `down` and `up` again: the data is still there (volumes), and more is
   produced;
5. when every consumer group has caught up, the checks, with clients that
   are not Millrace's (kcat, psql, the JSON Schemas of proto/ through the
   nemesis' checker): every group accounts for every record; each stored
   event and order is one the topic holds, valid and kept, and each such
   record is stored exactly once; every view equals a recomputation from the
   topics' records; the API and psql in the container give the same rows;
6. `down -v`: no container, network or volume of the project is left.

The images keep their tags (millrace:local, millrace-kafka:3.9.1, ...),
which `scripts/compose` shares: they are the build cache of the next run.
Each step's time is printed. Usage: compose_up.py SOURCE_DIR WORK_DIR
"""
import decimal
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nemesis"))
from check import Checker  # noqa: E402
from check_stored import KEEP_TYPES, MIN_DISCOUNT  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport import Checks, free_port  # noqa: E402

# The ports docker-compose.yml publishes, each moved to a free one.
PORT_VARS = ["MILLRACE_KAFKA_PORT", "MILLRACE_PG_PORT", "MILLRACE_REDIS_PORT",
             "MILLRACE_HTTP_PORT", "MILLRACE_API_PORT", "MILLRACE_S3_PORT"]
# The consumer groups whose accounting must cover their topic, by topic.
GROUPS = {"store-events": ["millrace-sink", "millrace-aggregator"],
          "store-orders": ["millrace-sink-order", "millrace-aggregator-order"]}

checks = Checks()
log, check, failures = checks.log, checks.check, checks.failures


class Stack:
    """A compose project of its own: `files` (-f, the default file when
    empty), `profiles` (--profile) and `env` as a .env would give it."""

    def __init__(self, repo, work, name="test", files=(), profiles=(), ports=(), env=None):
        self.repo, self.work = repo, work
        self.project = f"millrace-{name}-{os.getpid()}"
        remove_abandoned_projects()
        self.dangling_before = dangling_volumes()
        self.options = [a for f in files for a in ("-f", f)] + [a for p in profiles for a in ("--profile", p)]
        self.ports = {var: str(free_port(for_stack=True)) for var in PORT_VARS + list(ports)}
        # Nothing of the caller's MILLRACE_* reaches the compose file: only
        # the ports, so that what runs is what a user's `up` runs.
        self.compose_env = {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}
        self.compose_env.update(self.ports, **(env or {}), COMPOSE_PROJECT_NAME=self.project)
        self.env = {}  # the checker's: MILLRACE_PG and MILLRACE_BROKERS, from the host
        self.load = None

    def compose(self, *args, timeout=900, check=True):
        cmd = [os.path.join(self.repo, "scripts", "compose"), *self.options, *args]
        r = subprocess.run(cmd, env=self.compose_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        if r.returncode != 0 and check:
            print(r.stdout[-4000:], flush=True)
            raise RuntimeError(f"compose {' '.join(args)} exited {r.returncode}")
        return r

    def timed(self, what, *args, timeout=900):
        started = time.monotonic()
        if args and args[0] == "up":
            self.up(*args[1:], timeout=timeout)
        else:
            self.compose(*args, timeout=timeout)
        log(f"{what}: {time.monotonic() - started:.1f} s")

    # What Docker says of a published port another process holds. The stacks
    # that start beside this one pick their ports from the same range
    # (pysupport.free_port(for_stack=True), tests/stack_fixture.sh), and one
    # may take a port between its choice here and its container's start,
    # many seconds later.
    PORT_TAKEN = ("address already in use", "port is already allocated")

    def up(self, *args, timeout=900):
        """`up ARGS`; when a published port was taken meanwhile, every port
        is chosen again and `up` run again (twice at most), which recreates
        the containers whose ports changed."""
        for attempt in range(3):
            r = self.compose("up", *args, timeout=timeout, check=False)
            if r.returncode == 0:
                if attempt > 0 and self.env:
                    self.connect_host_clients()
                return r
            if attempt == 2 or not any(s in r.stdout for s in self.PORT_TAKEN):
                print(r.stdout[-4000:], flush=True)
                raise RuntimeError(f"compose up {' '.join(args)} exited {r.returncode}")
            log("a published port was taken before its container started: new ports, up again")
            self.ports = {var: str(free_port(for_stack=True)) for var in self.ports}
            self.compose_env.update(self.ports)

    def produce(self, *args):
        """The cli container's `produce`: its summary (JSON)."""
        out = self.compose("run", "--rm", "-T", "cli", "produce", *args, timeout=600).stdout
        return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])

    def exec_out(self, service, *args):
        return self.compose("exec", "-T", service, *args, timeout=120).stdout

    def containers(self, service):
        out = self.compose("ps", "-q", service, timeout=60).stdout
        return [c for c in out.split() if c]

    def psql_in_container(self, sql):
        """psql in the postgres container, as the tables' owner on its socket."""
        return self.exec_out("postgres", "psql", "-U", "millrace", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql)

    def psql(self, sql, timeout=60, url=None):
        """The nemesis checker's psql: from the host, through the published port."""
        try:
            r = subprocess.run(["psql", url or self.env["MILLRACE_PG"], "-X", "-q", "-At",
                                "-v", "ON_ERROR_STOP=1", "-c", sql], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=timeout,
                               env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
        except subprocess.TimeoutExpired:
            return None
        return r.stdout if r.returncode == 0 else None

    def connect_host_clients(self):
        password = self.exec_out("postgres", "cat", "/run/secrets/millrace-owner/MILLRACE_PG_PASSWORD").strip()
        self.env = {"MILLRACE_PG": f"postgresql://millrace:{password}@127.0.0.1:"
                                   f"{self.ports['MILLRACE_PG_PORT']}/millrace",
                    "MILLRACE_BROKERS": f"127.0.0.1:{self.ports['MILLRACE_KAFKA_PORT']}"}


def in_background(fn, *args):
    """fn(*args) on a thread; join() returns its result or raises its error."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except Exception as e:  # re-raised by join
            box["error"] = e
    t = threading.Thread(target=run)
    t.start()

    def join():
        t.join()
        if "error" in box:
            raise box["error"]
        return box["value"]
    return join


def wait_caught_up(stack, produced, limit_s=300, query=None):
    """Until every group's consumed records equal what was produced to its
    topic (the cli's `delivered`). `query` runs the SQL (stack.psql, from
    the host, by default)."""
    deadline = time.monotonic() + limit_s
    last = None
    while time.monotonic() < deadline:
        out = (query or stack.psql)("SELECT group_id, sum(consumed) FROM partition_accounting GROUP BY group_id")
        consumed = dict(line.split("|") for line in (out or "").splitlines())
        last = {g: int(consumed.get(g, 0)) for gs in GROUPS.values() for g in gs}
        if all(last[g] == produced[topic] for topic, gs in GROUPS.items() for g in gs):
            return True, last
        time.sleep(1)
    return False, last


# What the Millrace image's build step may leave in the engine's build cache:
# its installed, stripped binaries are about 40 MB; the build tree it once
# kept there was 1.35 GB, left behind by every build until the engine's
# garbage collection (17 CI runs filled 25 GB, and then the disk).
BUILD_STEP_MAX_BYTES = 300_000_000


def human_bytes(text):
    """Bytes from Docker's human sizes ("40.5MB", "176B"; decimal units)."""
    m = re.fullmatch(r"([0-9.]+)\s*([kMGT]?)B", text.strip())
    if not m:
        raise ValueError(f"not a size Docker prints: {text!r}")
    return float(m.group(1)) * 1000 ** " kMGT".index(m.group(2) or " ")


def check_build_step_size():
    """The newest entry of the engine's build cache made by the Millrace
    image's build step (its command runs `cmake --build`), from the engine's
    own account (`docker system df -v`)."""
    out = subprocess.run(["docker", "system", "df", "-v", "--format", "{{json .BuildCache}}"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    entries = json.loads(out) or []
    steps = [e for e in entries if e.get("CacheType") == "regular" and "cmake --build" in e.get("Description", "")]
    if not steps:
        check("the build step's layer is in the engine's build cache", False, f"{len(entries)} entries, none of it")
        return
    newest = max(steps, key=lambda e: e.get("CreatedAt", ""))
    size = human_bytes(newest["Size"])
    check(f"the Millrace image's build step left {size / 1e6:.1f} MB in the build cache "
          f"(at most {BUILD_STEP_MAX_BYTES / 1e6:.0f})", size <= BUILD_STEP_MAX_BYTES,
          newest.get("Description", "")[:200])


def check_stored_once(checker, stack):
    """Each kept store event of the topic, and each valid order, stored once,
    and nothing else stored."""
    for topic, schema, identity, time_field, header, sql in [
        ("store-events", "store_event.schema.json", "id", "ts", "event_type",
         "SELECT id, count(*) FROM store_events GROUP BY id"),
        ("store-orders", "order.schema.json", "PaymentTransactionId", "OrderDate", None,
         "SELECT payment_transaction_id, count(*) FROM orders GROUP BY 1"),
    ]:
        records, note = checker.counted(topic, schema, identity, time_field, header=header)
        if topic == "store-events":
            records = [r for r in records if r["event_type"] in KEEP_TYPES
                       and decimal.Decimal(str(r["discount"])) > MIN_DISCOUNT]
        want = {str(r[identity]) for r in records}
        stored = dict(line.split("|") for line in (stack.psql(sql, timeout=300) or "").splitlines())
        lost = sorted(want - stored.keys())
        stray = sorted(stored.keys() - want)
        dup = sorted(i for i, n in stored.items() if int(n) > 1)
        check(f"{topic}: each record the pipeline keeps is stored exactly once, and nothing else",
              want and not (lost or stray or dup),
              f"{len(want)} kept ({note}); lost {len(lost)}, duplicated {len(dup)}, stray {len(stray)}"
              + "".join(f"; first {k}: {v[0]}" for k, v in [("lost", lost), ("duplicated", dup),
                                                               ("stray", stray)] if v))


def check_reads(stack):
    """The design card's last step: the views through psql in the postgres
    container and through the API's published port, the same rows."""
    in_container = stack.exec_out("postgres", "psql", "-U", "millrace", "-At", "-c",
                                  "SELECT orders, revenue, units, returns FROM today_summary")
    token = stack.exec_out("api", "cat", "/run/secrets/millrace/MILLRACE_API_READ_TOKEN").strip()
    req = urllib.request.Request(f"http://127.0.0.1:{stack.ports['MILLRACE_API_PORT']}/v1/views/today_summary",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        rows = json.loads(r.read(), parse_float=decimal.Decimal)["rows"]
    via_api = "\n".join(f"{r['orders']}|{r['revenue']}|{r['units']}|{r['returns']}" for r in rows)
    check("today_summary: psql in the postgres container and GET /v1/views/today_summary agree",
          in_container.strip() == via_api and rows and rows[0]["orders"] > 0,
          f"psql {in_container.strip()!r}, API {via_api!r}")


def show_state(stack):
    """What went wrong, for the log: every container and the logs' ends."""
    for args in (["ps", "-a"], ["logs", "--tail", "40"]):
        print(stack.compose(*args, check=False).stdout[-30000:], flush=True)


def dangling_volumes():
    """The volumes no container uses. An anonymous volume (an image's
    VOLUME with nothing mounted on it) has no project label, and outlives its
    container when a plain `down` removes that: the Stack notes the ones that
    were there before it started, and remove() finds any it left."""
    return set(subprocess.run(["docker", "volume", "ls", "-q", "--filter", "dangling=true"],
                              stdout=subprocess.PIPE, text=True).stdout.split())


# The projects of the compose tests (Stack's names: compose_up.py's and
# compose_profiles.py's).
TEST_PROJECT = re.compile(r"millrace-(test|cluster|secure)-[0-9]+")


def docker_lines(*args):
    return subprocess.run(["docker", *args], stdout=subprocess.PIPE, text=True).stdout.split()


def remove_abandoned_projects():
    """A run that was killed (a CI job stopped, a machine halted) leaves its
    project behind: containers that start again with the engine (restart
    policies), its ports, volumes and networks, and the images it ran, which
    no later run could then remove. A test project is named after the
    process that ran it; those whose process is gone on this host are
    removed, with the docker CLI alone (no compose file needed). A project
    whose process lives (a run beside this one) is left alone."""
    labels = set()
    for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
        labels.update(docker_lines(*kind, "--format", '{{.Label "com.docker.compose.project"}}'))
    for project in sorted(p for p in labels if TEST_PROJECT.fullmatch(p)):
        pid = int(project.rsplit("-", 1)[1])
        try:
            os.kill(pid, 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # a process of another user's: alive
        label = f"label=com.docker.compose.project={project}"
        for kind, remove in ((["ps", "-aq"], ["rm", "-f", "-v"]), (["volume", "ls", "-q"], ["volume", "rm", "-f"]),
                             (["network", "ls", "-q"], ["network", "rm"])):
            ids = docker_lines(*kind, "--filter", label)
            if ids:
                subprocess.run(["docker", *remove, *ids], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log(f"removed {project}, left by a run whose process {pid} is gone")


def superseded_test_images():
    """The images a build of these tests replaced: each build tags the
    images anew (millrace:local, the servers'), and leaves the ones it
    replaced dangling, labelled with the test project that built them. An
    image a container still runs (a run beside this one started it before
    the rebuild) is not one: it goes when that run's project does."""
    containers = docker_lines("ps", "-aq")
    in_use = set(docker_lines("container", "inspect", "--format", "{{.Image}}", *containers)) if containers else set()
    ids = [i for i in docker_lines("image", "ls", "-q", "--no-trunc", "--filter", "dangling=true",
                                   "--filter", "label=com.docker.compose.project")
           if i not in in_use]
    if not ids:
        return []
    labels = subprocess.run(["docker", "image", "inspect", "--format",
                             '{{.Id}} {{index .Config.Labels "com.docker.compose.project"}}', *ids],
                            stdout=subprocess.PIPE, text=True).stdout
    return [line.split()[0] for line in labels.splitlines()
            if len(line.split()) == 2 and TEST_PROJECT.fullmatch(line.split()[1])]


def remove(stack):
    """`down -v`, then nothing of the project may be left, nor an image an
    earlier build of these tests left dangling (nothing else of the
    engine's is touched)."""
    down = stack.compose("down", "-v", "--remove-orphans", timeout=600, check=False)
    superseded = superseded_test_images()
    if superseded:
        subprocess.run(["docker", "image", "rm", *superseded], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    check("the images earlier builds of these tests replaced are removed",
          not superseded_test_images(), f"{len(superseded)} dangling before")
    left = {}
    for what, cmd in [("containers", ["ps", "-aq"]), ("volumes", ["volume", "ls", "-q"]),
                      ("networks", ["network", "ls", "-q"])]:
        left[what] = subprocess.run(["docker", *cmd, "--filter", f"label=com.docker.compose.project={stack.project}"],
                                    stdout=subprocess.PIPE, text=True).stdout.split()
    left["anonymous volumes"] = sorted(dangling_volumes() - stack.dangling_before)
    if any(left.values()):
        # What `down` said, and what the engine holds of each network left:
        # whether compose skipped a network ("Resource is still in use") or
        # the engine kept an endpoint with no container (docs/tests.md).
        log(f"down -v exited {down.returncode}; its output's end:\n{down.stdout[-4000:]}")
        for network in left["networks"]:
            inspect = subprocess.run(["docker", "network", "inspect", "--format",
                                      "{{.Name}} containers: {{json .Containers}}", network],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            log(f"left: {inspect.stdout.strip()}")
    check(f"{stack.project}: down -v leaves no container, volume or network",
          not any(left.values()), ", ".join(f"{len(v)} {k}" for k, v in left.items()))


def main():
    repo, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    stack = Stack(repo, work)
    log(f"project {stack.project}, ports {stack.ports}")
    produced = {"store-events": 0, "store-orders": 0}

    def events(count, rate):
        s = stack.produce("--count", str(count), "--bad-ratio", "0.05", "--rate", str(rate))
        produced["store-events"] += s["delivered"]
        return s

    def orders(count, rate):
        s = stack.produce("--kind", "order", "--count", str(count), "--bad-ratio", "0.02", "--rate", str(rate))
        produced["store-orders"] += s["delivered"]
        return s

    try:
        stack.timed("build (the default profile's images)", "build", timeout=3600)
        check_build_step_size()
        stack.timed("up --wait (every service healthy)", "up", "-d", "--wait", timeout=600)
        stack.connect_host_clients()
        events(5000, 0)
        orders(1000, 0)

        # A sink container killed mid-stream, then both.
        stream = in_background(events, 20000, 2500)
        time.sleep(3)
        subprocess.run(["docker", "kill", "--signal", "KILL", stack.containers("sink")[0]], check=True,
                       stdout=subprocess.DEVNULL)
        log("killed one sink container (SIGKILL)")
        time.sleep(2)
        stack.compose("kill", "-s", "KILL", "sink")
        log("killed every sink container (compose kill -s KILL sink)")
        stack.timed("sinks started again (up --wait)", "up", "-d", "--wait", timeout=600)
        stream()

        # PostgreSQL restarted mid-stream.
        stream = in_background(orders, 3000, 1000)
        stream_events = in_background(events, 10000, 2500)
        time.sleep(1.5)
        stack.timed("postgres restarted mid-stream", "restart", "postgres", timeout=300)
        stream()
        stream_events()
        # Kafka restarted between streams (the cli's producer needs it up).
        stack.timed("kafka restarted", "restart", "kafka", timeout=300)
        stack.timed("up --wait after the restarts", "up", "-d", "--wait", timeout=600)
        events(5000, 0)

        ok, consumed = wait_caught_up(stack, produced)
        check("every group caught up before down", ok, f"produced {produced}, consumed {consumed}")
        before = stack.psql("SELECT count(*) FROM store_events")
        stack.timed("down (volumes kept)", "down", timeout=600)
        stack.timed("up --wait again", "up", "-d", "--wait", timeout=600)
        stack.connect_host_clients()
        after = stack.psql("SELECT count(*) FROM store_events")
        check("down then up keeps the data", before and before == after, f"{before!r} before, {after!r} after")
        events(5000, 0)
        orders(500, 0)

        ok, consumed = wait_caught_up(stack, produced)
        check("every group consumed every record produced", ok, f"produced {produced}, consumed {consumed}")
        checker = Checker(stack)
        stack.work = work
        for promise, broken, detail in [checker.accounting(), checker.views()]:
            check(promise, not broken, detail)
        check_stored_once(checker, stack)
        check_reads(stack)
    except Exception as e:
        check("the run went through", False, repr(e))
        show_state(stack)
    finally:
        remove(stack)
    if failures:
        print(f"compose_up: {len(failures)} check(s) failed: {'; '.join(failures)}", flush=True)
        return 1
    print("compose_up: every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
