#!/usr/bin/env python3
"""Checks docker-compose.yml, its Kafka cluster override and the image recipe
as far as a machine without a Docker engine can, with the real programs:

- docker-compose parses and validates each file set (`config -q`);
- every Millrace service's command, with exactly the environment compose
  gives it, passes that binary's own `--check-config`, and reads every
  MILLRACE_ variable it is given (a misspelt one would be ignored);
- every command names a binary the Dockerfile builds and installs, and the
  Dockerfile builds every target an install(TARGETS) names (its `cmake
  --install` fails on one that was not built);
- each Kafka broker's KAFKA_* variables, translated to broker properties the
  way the apache/kafka image documents, are all broker settings and pass
  Kafka 3.9.1's own KafkaConfig validation; node ids are unique and every
  broker names the same controller quorum; published ports match the
  advertised external listeners;
- Prometheus' compose config passes promtool with the alert rules, and scrapes
  the ports the services' metrics listen on;
- the runtime image installs the Debian package of every shared library the
  built binaries link;
- every file compose mounts exists.

With --rehearse, it then plays docker-compose.yml's start against the local
stack (deploy/local/stack, MILLRACE_STATE_DIR), with each service's own
command and environment and only the addresses swapped for the stack's (plus
a topic, schema, groups, roles and admin token of its own): create-topics,
migrate, a small catalog loaded with the cli service, the API's roles made by
deploy/docker/postgres-init/'s script (renamed for this run), changefeed-publish
and api-grant run to completion first, then the replicas compose starts of
the sink, the aggregator, the producer, the change feed, the webhooks, the
cache and the API. Events produced by the cli service's command and one
POSTed to the producer must all be accounted for by both consumer groups,
the change feed must publish them and the webhooks group account for its
changes; the cache must mark a generation live in Redis, the API must pass
its healthcheck command and answer GET /v1/categories from the cache (a hit
in its metrics), and a category changed through its admin API must come back
changed, through the change feed and the cache. Every service must exit 0 on
SIGTERM within the stop_grace_period.

Usage: compose_check.py SOURCE_DIR BIN_DIR KAFKA_CLASSPATH_FILE [--rehearse]
"""

import base64
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

FILE_SETS = [
    ["docker-compose.yml"],
    ["docker-compose.yml", "deploy/docker/compose.kafka-cluster.yml"],
]
# Read by the apache/kafka image's start scripts, not broker properties
# (docker/resources/common-scripts/kafka-propertiesSpec.json, plus
# KAFKA_HEAP_OPTS, which kafka-server-start.sh reads).
KAFKA_IMAGE_VARIABLES = {
    "KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL",
}
# In every Debian image: apt itself depends on them.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


# The passwords and the producer's token docker-compose.yml requires (none
# has a default), as a .env file would give them. The superuser's and the
# change feed's are the stack's, which the rehearsal's URLs use.
REQUIRED_PASSWORDS = {"MILLRACE_AUTH_TOKEN": "producer-token",
                      "MILLRACE_API_READ_TOKEN": "api-read-token",
                      "MILLRACE_PG_PASSWORD": "millrace",
                      "MILLRACE_CHANGEFEED_PG_PASSWORD": "millrace",
                      "MILLRACE_API_PG_PASSWORD": "api-reader-pw",
                      "MILLRACE_API_ADMIN_PG_PASSWORD": "api-admin-pw",
                      **{f"MILLRACE_{k.upper()}_PG_PASSWORD": f"{k}-pw"
                         for k in ("sink", "aggregator", "archiver", "webhooks", "cache")}}


def check_no_default_passwords(source, files):
    """Without the passwords, docker-compose refuses the file, naming each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}
    args = ["docker-compose"]
    for f in files:
        args += ["-f", f]
    for missing in REQUIRED_PASSWORDS:
        given = {k: v for k, v in REQUIRED_PASSWORDS.items() if k != missing}
        r = subprocess.run(args + ["config", "-q"], cwd=source, env={**env, **given},
                           capture_output=True, text=True)
        if r.returncode == 0 or missing not in r.stderr:
            fail(f"{' + '.join(files)}: docker-compose accepts it without {missing}: "
                 "a password or token must never have a default")
    print(f"ok: {' + '.join(files)}: refused without each of {len(REQUIRED_PASSWORDS)} "
          "passwords and tokens")


def compose_config(source, files):
    """The resolved configuration, with the documented defaults and the
    required passwords: no MILLRACE_ variable of the caller's may leak into
    the interpolation."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}
    env.update(REQUIRED_PASSWORDS)
    args = ["docker-compose"]
    for f in files:
        args += ["-f", f]
    subprocess.run(args + ["config", "-q"], cwd=source, env=env, check=True)
    out = subprocess.run(args + ["config"], cwd=source, env=env, check=True,
                         capture_output=True, text=True).stdout
    return yaml.safe_load(out)


def dockerfile_targets(source):
    text = open(os.path.join(source, "deploy/docker/Dockerfile")).read()
    m = re.search(r"--target ([^&\\\n]+)", text)
    if not m:
        fail("Dockerfile: no cmake --build --target line")
        return set()
    return set(m.group(1).split())


def installed_targets(source):
    """Every target an install(TARGETS ...) of the tree names: `cmake
    --install` in the Dockerfile installs them all, and fails on one that was
    not built."""
    names = set()
    for top in ["CMakeLists.txt", "libs", "services", "tests", "bench"]:
        path = os.path.join(source, top)
        files = [path] if os.path.isfile(path) else [
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f == "CMakeLists.txt"]
        for f in files:
            for body in re.findall(r"install\s*\(\s*TARGETS\s+([^)]*)\)", open(f).read()):
                for word in body.split():
                    if word.isupper():  # DESTINATION, RUNTIME, COMPONENT ...
                        break
                    names.add(word)
    return names


def check_dockerfile_targets(source, targets):
    missing = sorted(installed_targets(source) - targets)
    if missing:
        fail(f"Dockerfile: does not build {', '.join(missing)}, which install(TARGETS) names: "
             "its `cmake --install` would fail")
    else:
        print(f"ok: Dockerfile: builds every installed target ({', '.join(sorted(targets))})")


def check_millrace_service(label, name, service, bin_dir, targets):
    argv = list(service.get("entrypoint") or []) + list(service.get("command") or [])
    if not argv:
        fail(f"{label}: {name}: no command")
        return
    if argv[0] not in targets:
        fail(f"{label}: {name}: runs {argv[0]}, which the Dockerfile does not build")
        return
    env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
    env["PATH"] = "/usr/bin:/bin"
    runs = [argv]
    strict = True
    if name == "cli":
        # The CLI's service serves several commands; each reads its part.
        runs = [[argv[0], "produce", "--count", "1"], [argv[0], "migrate"],
                [argv[0], "create-topics"]]
        strict = False
    for run in runs:
        cmd = [os.path.join(bin_dir, run[0])] + run[1:] + ["--check-config"]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
        shown = " ".join(run)
        if r.returncode != 0 or "configuration is valid" not in r.stdout:
            fail(f"{label}: {name}: `{shown} --check-config` exited {r.returncode}: "
                 f"{r.stderr.strip() or r.stdout.strip()}")
            continue
        notes = [l for l in r.stdout.splitlines() if l.startswith("note:")]
        if strict and notes:
            fail(f"{label}: {name}: " + "; ".join(notes))
        print(f"ok: {label}: {name}: `{shown}` accepts its configuration")


def published_port(entry):
    """(published, target) of a ports entry, short ("127.0.0.1:9092:9092")
    or long form."""
    if isinstance(entry, dict):
        return str(entry.get("published")), str(entry.get("target"))
    parts = str(entry).split("/", 1)[0].split(":")
    return parts[-2], parts[-1]


def kafka_properties(env):
    props = {}
    for key, value in env.items():
        if not key.startswith("KAFKA_") or key in KAFKA_IMAGE_VARIABLES:
            continue
        # The image's rule: '_' is '.', '__' is '_', '___' is '-'.
        name = key[len("KAFKA_"):].lower()
        name = name.replace("___", "\0").replace("__", "\1").replace("_", ".")
        props[name.replace("\0", "-").replace("\1", "_")] = str(value)
    return props


def check_kafka(services, source, classpath_file, label):
    brokers = {n: s for n, s in services.items() if str(s.get("image", "")).startswith("apache/kafka:")}
    if not brokers:
        fail(f"{label}: no Kafka service")
        return
    tmp = tempfile.mkdtemp(prefix="compose-kafka-")
    paths, node_ids, voters = [], {}, set()
    for name, service in sorted(brokers.items()):
        env = service.get("environment") or {}
        cluster_id = str(env.get("CLUSTER_ID", ""))
        try:
            ok = len(base64.urlsafe_b64decode(cluster_id + "==")) == 16 and len(cluster_id) == 22
        except ValueError:
            ok = False
        if not ok:
            fail(f"{label}: {name}: CLUSTER_ID {cluster_id!r} is not a base64 UUID (22 characters)")
        props = kafka_properties(env)
        node_ids.setdefault(props.get("node.id"), []).append(name)
        voters.add(props.get("controller.quorum.voters"))
        advertised = props.get("advertised.listeners", "")
        host = service.get("hostname", name)
        if f"INTERNAL://{host}:" not in advertised:
            fail(f"{label}: {name}: advertises {advertised!r}, not its own name {host}")
        external = re.search(r"EXTERNAL://[^:,]+:(\d+)", advertised)
        published = [port for port, target in map(published_port, service.get("ports") or [])
                     if target == "9092"]
        if not external or published != [external.group(1)]:
            fail(f"{label}: {name}: publishes {published} but advertises {advertised!r}")
        path = os.path.join(tmp, f"{name}.properties")
        with open(path, "w") as f:
            for k, v in sorted(props.items()):
                f.write(f"{k}={v}\n")
        paths.append(path)
    for node_id, names in node_ids.items():
        if len(names) > 1:
            fail(f"{label}: node.id {node_id} is shared by {names}")
    if len(voters) != 1:
        fail(f"{label}: the brokers name different controller quorums: {sorted(map(str, voters))}")
    classpath = open(classpath_file).read().strip()
    r = subprocess.run(
        ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
         "-Dlog4j.configuration=file:" + os.path.join(source, "deploy/local/kafka/tools-log4j.properties"),
         "-cp", classpath, os.path.join(source, "tests/deploy/KafkaConfigCheck.java")] + paths,
        capture_output=True, text=True, timeout=120)
    for line in r.stdout.splitlines():
        print(f"{'ok' if line.endswith('settings)') else 'FAIL'}: {label}: kafka: {line}")
    if r.returncode != 0:
        fail(f"{label}: Kafka refuses a broker's configuration: {r.stdout.strip()} {r.stderr.strip()[-2000:]}")
    shutil.rmtree(tmp)


def metrics_port(service):
    """The port of /metrics: the metrics address, or the HTTP services' own
    (the producer's and the API's)."""
    env = service.get("environment") or {}
    addr = (env.get("MILLRACE_METRICS_ADDR") or env.get("MILLRACE_HTTP_ADDR")
            or env.get("MILLRACE_API_ADDR"))
    return int(str(addr).rsplit(":", 1)[1]) if addr else None


def check_prometheus(source, services):
    config_path = os.path.join(source, "deploy/docker/prometheus.yml")
    config = yaml.safe_load(open(config_path))
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for dns_name in sd["names"]:
                if dns_name not in services:
                    fail(f"prometheus: job {job['job_name']} scrapes {dns_name}, not a compose service")
                elif metrics_port(services[dns_name]) != sd["port"]:
                    fail(f"prometheus: job {job['job_name']} scrapes port {sd['port']}, "
                         f"{dns_name} serves metrics on {metrics_port(services[dns_name])}")
                else:
                    print(f"ok: prometheus: {job['job_name']} scrapes {dns_name}:{sd['port']}")
    # Laid out as the container sees it: the rules beside the config.
    tmp = tempfile.mkdtemp(prefix="compose-prometheus-")
    shutil.copy(config_path, os.path.join(tmp, "prometheus.yml"))
    shutil.copytree(os.path.join(source, "deploy/prometheus/rules"), os.path.join(tmp, "rules"))
    r = subprocess.run(["promtool", "check", "config", os.path.join(tmp, "prometheus.yml")],
                       capture_output=True, text=True)
    if r.returncode != 0 or "SUCCESS: 1 rule files found" not in r.stdout + r.stderr:
        fail("prometheus: promtool check config: " + (r.stdout + r.stderr).strip())
    else:
        print("ok: prometheus: promtool accepts the config and its rules")
    shutil.rmtree(tmp)


def check_runtime_packages(source, bin_dir, targets):
    listed = set()
    for line in open(os.path.join(source, "deploy/docker/runtime-packages")):
        line = line.split("#", 1)[0].strip()
        if line:
            listed.add(line)
    sonames = {}
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    for line in subprocess.run([ldconfig, "-p"], capture_output=True, text=True).stdout.splitlines()[1:]:
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if m:
            sonames.setdefault(m.group(1), m.group(3))
    for target in sorted(targets):
        dyn = subprocess.run(["readelf", "-d", os.path.join(bin_dir, target)],
                             capture_output=True, text=True, check=True).stdout
        for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn):
            path = sonames.get(soname)
            if not path:
                fail(f"runtime image: {target} needs {soname}, which ldconfig does not know")
                continue
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            package = owner.stdout.split(":", 1)[0].strip()
            if package in listed or package in BASE_IMAGE_PACKAGES:
                continue
            fail(f"runtime image: {target} needs {soname} from {package or '?'}, "
                 "not in deploy/docker/runtime-packages")
    print(f"ok: runtime image: checked the libraries of {', '.join(sorted(targets))}")


def check_mounts(source, services, label):
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict) and volume.get("type") == "bind":
                if not os.path.exists(volume["source"]):
                    fail(f"{label}: {name} mounts {volume['source']}, which does not exist")
            elif isinstance(volume, str) and volume.startswith("/"):
                host = volume.split(":", 1)[0]
                if not os.path.exists(host):
                    fail(f"{label}: {name} mounts {host}, which does not exist")


_handed_out = set()


def free_port():
    """A port free now, and never one handed out before in this run: the
    system may offer a port again once its probe socket closes, and two
    services given the same port would leave one without its metrics (the
    rehearsal then read another service's and saw no change published)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def stack_env(source):
    out = subprocess.run([os.path.join(source, "deploy/local/stack"), "env"], check=True,
                         capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        m = re.match(r"export (MILLRACE_\w+)=(.*)", line)
        if m:
            env[m.group(1)] = m.group(2).strip("'")
    return env


def psql(pg_url, sql):
    return subprocess.run(["psql", "-X", "-q", "-At", pg_url, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def http_get(url, token=None):
    """(status, body) of a GET, with a bearer token if given; an error status
    is an answer too."""
    headers = {"Authorization": "Bearer " + token} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric_sum(metrics_text, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`."""
    total = 0.0
    for line in metrics_text.splitlines():
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name and all(f'{k}="{v}"' in (m.group(2) or "")
                                             for k, v in labels.items()):
            total += float(m.group(3))
    return total


def rehearse(source, bin_dir, services):
    stack = stack_env(source)
    brokers, pg_url = stack["MILLRACE_BROKERS"], stack["MILLRACE_PG"]
    redis_url = stack.get("MILLRACE_REDIS_URL")
    state_dir = os.environ.get("MILLRACE_STATE_DIR")
    if not redis_url or not state_dir:
        fail("rehearsal: needs the stack's MILLRACE_REDIS_URL and MILLRACE_STATE_DIR "
             "(run it through ctest, whose fixture starts the stack)")
        return
    pg_host_port = re.search(r"@([^/@]+)/", pg_url).group(1)
    name = f"compose_{os.getpid()}_{random.randrange(1 << 30)}"
    topic, schema = name, name
    logs = tempfile.mkdtemp(prefix="compose-rehearsal-")
    compose_pg = "postgresql://millrace:millrace@postgres:5432/millrace"
    compose_changefeed_pg = "postgresql://millrace_changefeed:millrace@postgres:5432/millrace"
    compose_redis = "redis://redis:6379"
    # Roles are the cluster's, not the schema's: this run's own names, in
    # place of compose's wherever they appear (init script, commands, DSNs),
    # and dropped at the end.
    service_roles = ("sink", "aggregator", "archiver", "webhooks", "cache")
    roles = {"millrace_api": name + "_api", "millrace_api_admin": name + "_api_admin",
             **{f"millrace_{k}": f"{name}_{k}" for k in service_roles}}
    # The stack's superuser, over its socket (trust): only it may create roles.
    superuser = (f"host={os.path.join(state_dir, 'pgrun')} port={pg_host_port.rsplit(':', 1)[1]} "
                 "user=postgres dbname=millrace")

    def role_dsn(match):
        user, password = match.group(1), match.group(2)
        return f"postgresql://{roles.get(user, user)}:{password}@{pg_host_port}/millrace"

    def environment(service_name, extra):
        env = {"PATH": "/usr/bin:/bin"}
        ports = {}
        for key, value in (services[service_name].get("environment") or {}).items():
            value = (str(value).replace(compose_pg, pg_url)
                     .replace(compose_changefeed_pg, stack["MILLRACE_CHANGEFEED_PG"])
                     .replace("kafka:19092", brokers)
                     .replace(compose_redis, redis_url))
            # The API's roles: the same passwords, this run's names.
            value = re.sub(r"postgresql://(\w+):([^@/]*)@postgres:5432/millrace", role_dsn, value)
            if value.startswith("0.0.0.0:"):
                ports[int(value.split(":")[1])] = port = free_port()
                value = f"127.0.0.1:{port}"
            env[key] = value
        env.update(extra)
        return env, ports

    def argv(service_name):
        service = services[service_name]
        cmd = list(service.get("entrypoint") or []) + list(service.get("command") or [])
        return [os.path.join(bin_dir, cmd[0])] + [roles.get(a, a) for a in cmd[1:]]

    def run_to_end(service_name, extra, args=None):
        env, _ = environment(service_name, extra)
        cmd = argv(service_name) if args is None else [os.path.join(bin_dir, args[0])] + args[1:]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            fail(f"rehearsal: {service_name}: exited {r.returncode}: {r.stderr.strip()[-1500:]}")
            return None
        shown = service_name if args is None else f"{service_name} ({' '.join(args)})"
        print(f"ok: rehearsal: {shown} completed")
        return r.stdout

    def create_roles():
        """The API's and the services' roles, by the scripts the postgres
        image runs when it initialises a volume (as the superuser, with the
        postgres service's MILLRACE_ variables); only the role names are
        this run's."""
        pattern = re.compile(r"\b(" + "|".join(sorted(roles, key=len, reverse=True)) + r")\b")
        env = {k: str(v) for k, v in (services["postgres"].get("environment") or {}).items()
               if k.startswith("MILLRACE_")}
        env.update({"PATH": "/usr/bin:/bin", "PGHOST": os.path.join(state_dir, "pgrun"),
                    "PGPORT": pg_host_port.rsplit(":", 1)[1], "POSTGRES_USER": "postgres",
                    "POSTGRES_DB": "millrace"})
        for script_name in ("20-api-roles.sh", "30-service-roles.sh"):
            path = os.path.join(source, "deploy/docker/postgres-init", script_name)
            renamed = os.path.join(logs, script_name)
            with open(renamed, "w") as f:
                f.write(pattern.sub(lambda m: roles[m.group(1)], open(path).read()))
            r = subprocess.run(["bash", renamed], env=env, capture_output=True, text=True,
                               timeout=60)
            if r.returncode != 0:
                fail(f"rehearsal: {script_name} exited {r.returncode}: {r.stderr.strip()}")
                return False
        listed = ", ".join(f"'{r}'" for r in roles.values())
        made = psql(superuser, "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles "
                               "WHERE rolcanlogin AND NOT rolsuper AND NOT rolcreaterole "
                               "AND NOT rolcreatedb AND NOT rolreplication AND rolname IN "
                               f"({listed})")
        if made != ",".join(sorted(roles.values())):
            fail(f"rehearsal: the init scripts made the login roles {made!r}, "
                 f"not {sorted(roles.values())}")
            return False
        print(f"ok: rehearsal: the init scripts made {made} (LOGIN only)")
        return True

    def drop_roles():
        for role in roles.values():
            if psql(superuser, f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'") == "1":
                psql(superuser, f"DROP OWNED BY {role}")
                psql(superuser, f"DROP ROLE {role}")

    # Added to what compose sets, so the rehearsal shares nothing with
    # anyone: each service gets only the variables it reads.
    groups = {"sink": name + "_sink", "aggregator": name + "_aggregator"}
    webhooks_group = name + "_webhooks"
    changes = {"MILLRACE_CHANGES_TOPIC": topic + ".changes",
               "MILLRACE_CHANGEFEED_PUBLICATION": name + "_pub",
               "MILLRACE_CHANGEFEED_SLOT": name + "_slot"}
    extra = {
        "create-topics": {"MILLRACE_TOPIC": topic, **changes},
        "migrate": {"MILLRACE_PG_SCHEMA": schema},
        "changefeed-publish": {"MILLRACE_PG_SCHEMA": schema, **changes},
        "changefeed": changes,
        "producer": {"MILLRACE_TOPIC": topic},
        "webhooks": {"MILLRACE_PG_SCHEMA": schema, "MILLRACE_WEBHOOKS_GROUP": webhooks_group,
                     "MILLRACE_CHANGES_TOPIC": changes["MILLRACE_CHANGES_TOPIC"]},
        "api-grant": {"MILLRACE_PG_SCHEMA": schema},
        "grant": {"MILLRACE_PG_SCHEMA": schema},
        "cache": {"MILLRACE_PG_SCHEMA": schema,
                  "MILLRACE_CHANGES_TOPIC": changes["MILLRACE_CHANGES_TOPIC"]},
        # Compose leaves the token to the user (unset: writes off); the
        # rehearsal sets one to write through the admin role.
        "api": {"MILLRACE_PG_SCHEMA": schema, "MILLRACE_API_ADMIN_TOKEN": secrets.token_hex(16)},
        # A root of its own, and 2 s windows rather than 5 min, so that its
        # files are committed while the rehearsal waits.
        "archiver": {"MILLRACE_TOPIC": topic, "MILLRACE_PG_SCHEMA": schema,
                     "MILLRACE_ARCHIVER_GROUP": name + "_archiver",
                     "MILLRACE_ARCHIVE_ROOT": os.path.join(logs, "archive"),
                     "MILLRACE_ARCHIVE_WINDOW_S": "2"},
    }
    for worker, group in groups.items():
        extra[worker] = {"MILLRACE_TOPIC": topic, "MILLRACE_PG_SCHEMA": schema,
                         f"MILLRACE_{worker.upper()}_GROUP": group}

    children = []
    try:
        if run_to_end("create-topics", extra["create-topics"]) is None:
            return
        if run_to_end("migrate", extra["migrate"]) is None:
            return
        # A small catalog for the cache, loaded the way a user would with
        # `docker compose run --rm cli`.
        catalog = run_to_end("cli", {}, ["millrace", "generate", "--catalog", "categories",
                                         "--format", "csv"])
        if catalog is None:
            return
        catalog_path = os.path.join(logs, "categories.csv")
        with open(catalog_path, "w") as f:
            f.write(catalog)
        if run_to_end("cli", {"MILLRACE_PG_SCHEMA": schema},
                      ["millrace", "catalog", "load", catalog_path]) is None:
            return
        categories = int(psql(pg_url, f"SELECT count(*) FROM {schema}.categories"))
        if categories == 0:
            fail("rehearsal: the catalog load left no categories")
            return
        if not create_roles():
            return
        if run_to_end("changefeed-publish", extra["changefeed-publish"]) is None:
            return
        if run_to_end("api-grant", extra["api-grant"]) is None:
            return
        if run_to_end("grant", extra["grant"]) is None:
            return
        producer_port = None
        changefeed_port = None
        cache_port = None
        api_port = None
        for service_name in ["changefeed", "sink", "aggregator", "producer", "webhooks", "cache",
                             "api", "archiver"]:
            replicas = (services[service_name].get("deploy") or {}).get("replicas", 1)
            for i in range(replicas):
                env, ports = environment(service_name, extra[service_name])
                if service_name == "producer":
                    producer_port = ports[8080]
                if service_name == "changefeed":
                    changefeed_port = ports[9313]
                if service_name == "cache":
                    cache_port = ports[9316]
                if service_name == "api":
                    api_port = ports[8090]
                log = open(os.path.join(logs, f"{service_name}-{i + 1}.log"), "w")
                children.append((f"{service_name}-{i + 1}",
                                 subprocess.Popen(argv(service_name), env=env, stdout=log, stderr=log)))
        print(f"ok: rehearsal: started {', '.join(n for n, _ in children)} (logs in {logs})")

        events = 3000
        out = run_to_end("cli", {"MILLRACE_TOPIC": topic},
                         ["millrace", "produce", "--count", str(events), "--seed", "11",
                          "--time-spread", "7200"])
        if out is None:
            return
        summary = json.loads(out)
        if summary.get("delivered") != events:
            fail(f"rehearsal: cli produce delivered {summary.get('delivered')} of {events}")

        # The producer's own healthcheck command, pointed at its port.
        test = services["producer"]["healthcheck"]["test"]
        check = [a.replace("/127.0.0.1/8080", f"/127.0.0.1/{producer_port}") for a in test[1:]]
        deadline = time.time() + 60
        while subprocess.run(check).returncode != 0:
            if time.time() > deadline:
                fail("rehearsal: the producer's healthcheck never passed")
                break
            time.sleep(1)
        else:
            print("ok: rehearsal: the producer's healthcheck passes")
        body = subprocess.run([os.path.join(bin_dir, "millrace"), "generate", "--count", "1",
                               "--seed", "12"], check=True, capture_output=True).stdout
        token = services["producer"]["environment"]["MILLRACE_AUTH_TOKEN"]
        request = urllib.request.Request(f"http://127.0.0.1:{producer_port}/v1/events", data=body,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": "Bearer " + token})
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:
                fail(f"rehearsal: POST /v1/events answered {response.status}")
        events += 1

        groups["archiver"] = name + "_archiver"
        # Every event accounted for by every group, from the SQL a user reads.
        deadline = time.time() + 180
        while True:
            rows = psql(pg_url, f"SELECT group_id, sum(consumed), sum(unaccounted) FROM "
                                f"{schema}.partition_accounting GROUP BY group_id")
            seen = {g: (int(c), int(u)) for g, c, u in (r.split("|") for r in rows.splitlines())}
            if all(seen.get(g, (0, 0))[0] >= events for g in groups.values()) or time.time() > deadline:
                break
            time.sleep(1)
        for group in groups.values():
            consumed, unaccounted = seen.get(group, (0, 0))
            if consumed != events or unaccounted != 0:
                fail(f"rehearsal: group {group} consumed {consumed} of {events}, unaccounted {unaccounted}")
            else:
                print(f"ok: rehearsal: group {group} accounted for all {events} events")
        hours = int(psql(pg_url, f"SELECT count(*) FROM {schema}.hourly_sales"))
        if hours == 0:
            fail("rehearsal: the hourly_sales view is empty")

        # The change feed published at least every stored event's insert.
        stored = int(psql(pg_url, f"SELECT count(*) FROM {schema}.store_events"))
        published = 0
        deadline = time.time() + 60
        while time.time() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{changefeed_port}/metrics",
                                        timeout=10) as response:
                for line in response.read().decode().splitlines():
                    if line.startswith("millrace_changefeed_changes_published_total "):
                        published = float(line.split()[1])
            if stored > 0 and published >= stored:
                break
            time.sleep(1)
        if stored == 0 or published < stored:
            fail(f"rehearsal: the change feed published {published} changes; "
                 f"store_events holds {stored} rows")
        else:
            print(f"ok: rehearsal: the change feed published {int(published)} changes "
                  f"({stored} stored events and the aggregates)")

        # The webhooks group read every published change and accounted for
        # each (no endpoint is registered: each is an outcome `filtered`).
        deadline = time.time() + 120
        consumed = unaccounted = 0
        while time.time() < deadline:
            row = psql(pg_url, f"SELECT coalesce(sum(consumed), 0), coalesce(sum(unaccounted), 0) "
                               f"FROM {schema}.partition_accounting WHERE group_id = '{webhooks_group}'")
            consumed, unaccounted = (int(x) for x in row.split("|"))
            if consumed >= published:
                break
            time.sleep(1)
        if published == 0 or consumed < published or unaccounted != 0:
            fail(f"rehearsal: the webhooks group consumed {consumed} of {int(published)} changes, "
                 f"unaccounted {unaccounted}")
        else:
            print(f"ok: rehearsal: the webhooks group accounted for all {consumed} changes")

        # The catalog cache: millrace-cache loads a generation and marks it
        # live (the key readers trust, docs/cache.md).
        live_key = f"millrace:{schema}:live"
        deadline = time.time() + 90
        while True:
            r = subprocess.run(["redis-cli", "-u", redis_url, "EXISTS", live_key],
                               capture_output=True, text=True, timeout=10)
            if r.stdout.strip() == "1":
                print(f"ok: rehearsal: the cache marked a generation live ({live_key})")
                break
            if time.time() > deadline:
                fail(f"rehearsal: the cache never marked a generation live: {live_key} absent "
                     f"(redis-cli: {(r.stdout + r.stderr).strip()!r}); see {logs}/cache-1.log")
                return
            time.sleep(1)
        status, body = http_get(f"http://127.0.0.1:{cache_port}/metrics")
        if status != 200:
            fail(f"rehearsal: the cache's /metrics answered {status}")

        # The API: its own healthcheck command (/readyz), pointed at its port.
        test = services["api"]["healthcheck"]["test"]
        check = [a.replace("/127.0.0.1/8090", f"/127.0.0.1/{api_port}") for a in test[1:]]
        deadline = time.time() + 60
        while subprocess.run(check).returncode != 0:
            if time.time() > deadline:
                fail(f"rehearsal: the API's healthcheck never passed; see {logs}/api-1.log")
                return
            time.sleep(1)
        print("ok: rehearsal: the API's healthcheck passes")

        # Compose's read token: a read without it is refused.
        api = f"http://127.0.0.1:{api_port}"
        read_token = services["api"]["environment"]["MILLRACE_API_READ_TOKEN"]
        status, body = http_get(api + "/v1/categories")
        if status != 401:
            fail(f"rehearsal: GET /v1/categories without the read token answered {status}, not 401")
        else:
            print("ok: rehearsal: the API refuses a read without MILLRACE_API_READ_TOKEN (401)")

        # GET /v1/categories through the cache: every loaded category, and a
        # hit in the API's metrics (a read before the API saw the live
        # generation is a bypass, so ask again until one hits).
        deadline = time.time() + 30
        while True:
            status, body = http_get(api + "/v1/categories", read_token)
            if status != 200:
                fail(f"rehearsal: GET /v1/categories answered {status}: {body[:500]}")
                return
            listed = json.loads(body)["categories"]
            if len(listed) != categories:
                fail(f"rehearsal: GET /v1/categories listed {len(listed)} of {categories} "
                     "categories")
                return
            hits = metric_sum(http_get(api + "/metrics")[1], "millrace_cache_reads_total",
                              kind="categories", result="hit")
            if hits >= 1:
                print(f"ok: rehearsal: GET /v1/categories answered all {categories} categories "
                      f"from the cache ({int(hits)} hit)")
                break
            if time.time() > deadline:
                fail("rehearsal: GET /v1/categories never hit the cache "
                     "(millrace_cache_reads_total{kind=\"categories\",result=\"hit\"} is 0)")
                return
            time.sleep(1)

        # An admin write (the admin role), seen by the change feed, applied
        # to Redis by the cache, and served by the API from there.
        category = listed[0]["name"]
        path = "/v1/categories/" + urllib.parse.quote(category, safe="")
        wanted = f"{listed[0]['display_name']} (rehearsed)"
        request = urllib.request.Request(
            api + path, method="PUT",
            data=json.dumps({"display_name": wanted, "active": True}).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer " + extra["api"]["MILLRACE_API_ADMIN_TOKEN"]})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
            fail(f"rehearsal: PUT {path} answered {e.code}: {e.read().decode()[:500]}")
        if status == 200:
            deadline = time.time() + 60
            while True:
                status, body = http_get(api + path, read_token)
                if status == 200 and json.loads(body).get("display_name") == wanted:
                    print(f"ok: rehearsal: PUT {path} (admin role) is served changed through "
                          "the change feed and the cache")
                    break
                if time.time() > deadline:
                    fail(f"rehearsal: GET {path} still answers {status} {body[:300]} a minute "
                         f"after the admin API changed it")
                    break
                time.sleep(0.5)
    finally:
        grace = 60
        for _, child in children:
            child.send_signal(signal.SIGTERM)
        for name_, child in children:
            try:
                code = child.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                child.kill()
                code = "killed after the stop_grace_period"
            if code != 0:
                fail(f"rehearsal: {name_} exited {code} on SIGTERM; see {logs}")
        if children:
            print("ok: rehearsal: every service stopped on SIGTERM")
        psql(pg_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        psql(pg_url, f"DROP PUBLICATION IF EXISTS {changes['MILLRACE_CHANGEFEED_PUBLICATION']}")
        subprocess.run([os.path.join(bin_dir, "millrace"), "changefeed", "drop-slot"],
                       env={"PATH": "/usr/bin:/bin",
                            "MILLRACE_CHANGEFEED_PG": stack["MILLRACE_CHANGEFEED_PG"], **changes},
                       capture_output=True, timeout=60)
        drop_roles()
        # The generations' entries (the cache withdrew its live mark on SIGTERM).
        keys = subprocess.run(["redis-cli", "-u", redis_url, "--scan", "--pattern",
                               f"millrace:{schema}:*"], capture_output=True, text=True,
                              timeout=60).stdout.splitlines()  # keys may hold blanks
        for i in range(0, len(keys), 1000):
            subprocess.run(["redis-cli", "-u", redis_url, "UNLINK"] + keys[i:i + 1000],
                           capture_output=True, timeout=60)


def main():
    args = [a for a in sys.argv[1:] if a != "--rehearse"]
    if len(args) != 3:
        sys.exit(__doc__)
    source, bin_dir, classpath_file = args
    targets = dockerfile_targets(source)
    check_dockerfile_targets(source, targets)
    for files in FILE_SETS:
        label = " + ".join(files)
        check_no_default_passwords(source, files)
        config = compose_config(source, files)
        print(f"ok: {label}: docker-compose config accepts it")
        services = config["services"]
        for name, service in sorted(services.items()):
            if str(service.get("image", "")).startswith("millrace:"):
                check_millrace_service(label, name, service, bin_dir, targets)
        check_kafka(services, source, classpath_file, label)
        check_mounts(source, services, label)
        if files == FILE_SETS[0]:
            check_prometheus(source, services)
    check_runtime_packages(source, bin_dir, targets)
    if "--rehearse" in sys.argv and not failures:
        rehearse(source, bin_dir, compose_config(source, FILE_SETS[0])["services"])
    if failures:
        print(f"{len(failures)} problem(s)")
        sys.exit(1)
    print("compose check passed")


if __name__ == "__main__":
    main()
