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
- every file compose mounts exists;
- the secure profile (deploy/docker/compose.secure.yml): its one-shot certs,
  run here, makes a CA and the servers' certificates, keeps them when run
  again, signs with a CA brought in its import directory and refuses a
  certificate that CA did not sign; every certificate, key and CA file a
  service is told to use lies in a certs volume it mounts, each key owned
  by the user its image runs as and readable by nobody else, each
  certificate valid for its compose name and localhost; every Kafka client
  uses SASL_SSL, every PostgreSQL connection verify-full, both HTTP
  services TLS, the broker's PLAINTEXT listeners are on its loopback; a
  PostgreSQL started with the postgres service's command refuses TCP
  without TLS and serves verify-full clients; Prometheus scrapes the HTTPS
  services over HTTPS, and its and Grafana's files differ from the plain
  ones only in TLS.

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
SIGTERM within the stop_grace_period. Then it plays the secure profile's
start the same way: certs (given the stack's CA, as your own would be), a
broker of its own with the kafka service's settings that must pass the
service's healthcheck, kafka-scram through its loopback listener, the
stack's PostgreSQL over TLS, the producer and the API over HTTPS, with the
same checks, and every PostgreSQL session of the run over TLS.

Usage: compose_check.py SOURCE_DIR BIN_DIR KAFKA_CLASSPATH_FILE [--rehearse]
"""

import base64
import glob
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

SECURE_FILE = "deploy/docker/compose.secure.yml"
FILE_SETS = [
    ["docker-compose.yml"],
    ["docker-compose.yml", "deploy/docker/compose.kafka-cluster.yml"],
    ["docker-compose.yml", SECURE_FILE],
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
# What the secure profile requires on top (letters and digits, as it says).
SECURE_PASSWORDS = {"MILLRACE_KAFKA_SASL_PASSWORD": "kafkaSasl123"}


def required_passwords(files):
    return {**REQUIRED_PASSWORDS, **(SECURE_PASSWORDS if SECURE_FILE in files else {})}


def check_no_default_passwords(source, files):
    """Without the passwords, docker-compose refuses the file, naming each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}
    args = ["docker-compose"]
    for f in files:
        args += ["-f", f]
    required = required_passwords(files)
    for missing in required:
        given = {k: v for k, v in required.items() if k != missing}
        r = subprocess.run(args + ["config", "-q"], cwd=source, env={**env, **given},
                           capture_output=True, text=True)
        if r.returncode == 0 or missing not in r.stderr:
            fail(f"{' + '.join(files)}: docker-compose accepts it without {missing}: "
                 "a password or token must never have a default")
    print(f"ok: {' + '.join(files)}: refused without each of {len(required)} "
          "passwords and tokens")


def compose_config(source, files):
    """The resolved configuration, with the documented defaults and the
    required passwords: no MILLRACE_ variable of the caller's may leak into
    the interpolation."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}
    env.update(required_passwords(files))
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


def in_volumes(value, service, volumes):
    """value with every path inside a certs volume the service mounts
    replaced by where that volume is here."""
    for src, target in sorted(volume_mounts(service), key=lambda m: -len(m[1])):
        if src in volumes:
            value = value.replace(target, volumes[src])
    return value


def check_millrace_service(label, name, service, bin_dir, targets, volumes):
    argv = list(service.get("entrypoint") or []) + list(service.get("command") or [])
    if not argv:
        fail(f"{label}: {name}: no command")
        return
    if argv[0] not in targets:
        fail(f"{label}: {name}: runs {argv[0]}, which the Dockerfile does not build")
        return
    # The files of the certs volumes (the HTTP services read theirs) where
    # the certs check made them.
    env = {k: in_volumes(str(v), service, volumes)
           for k, v in (service.get("environment") or {}).items()}
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


def listener_setting(key, props):
    """The broker setting a listener's own one overrides
    (listener.name.<listener>[.<SASL mechanism>].<setting>), so that
    KafkaConfig can judge its name; None when it names no listener."""
    m = re.match(r"listener\.name\.([^.]+)\.(.+)$", key)
    if not m:
        return key
    listeners = {l.split("://")[0].lower() for l in props.get("listeners", "").split(",")}
    if m.group(1) not in listeners:
        return None
    setting = m.group(2)
    for mechanism in props.get("sasl.enabled.mechanisms", "").lower().split(","):
        if mechanism and setting.startswith(mechanism + "."):
            setting = setting[len(mechanism) + 1:]
    return setting


def check_kafka(services, source, classpath_file, label):
    # The image's one-shot tools (kafka-scram) run no broker.
    brokers = {n: s for n, s in services.items() if str(s.get("image", "")).startswith("apache/kafka:")
               and "KAFKA_PROCESS_ROLES" in (s.get("environment") or {})}
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
                setting = listener_setting(k, props)
                if setting is None:
                    fail(f"{label}: {name}: {k} names no listener of the broker's")
                else:
                    f.write(f"{setting}={v}\n")
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


def mounted_file(service, target):
    """The host file a service binds at target."""
    return next((src for src, t in volume_mounts(service) if t == target), None)


def serves_tls(service):
    env = service.get("environment") or {}
    return bool(env.get("MILLRACE_HTTP_TLS_CERT") or env.get("MILLRACE_API_TLS_CERT"))


def check_prometheus(source, services, label, volumes):
    """The configuration the prometheus service mounts: every job scrapes a
    compose service on the port of its metrics, over HTTPS where the service
    serves TLS, then checked with a CA in a certs volume for the service's
    name; promtool accepts it with the rules."""
    config_path = mounted_file(services["prometheus"], "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load(open(config_path))
    for job in config["scrape_configs"]:
        tls = job.get("tls_config") or {}
        for sd in job.get("dns_sd_configs", []):
            for dns_name in sd["names"]:
                if dns_name not in services:
                    fail(f"{label}: prometheus: job {job['job_name']} scrapes {dns_name}, "
                         "not a compose service")
                elif metrics_port(services[dns_name]) != sd["port"]:
                    fail(f"{label}: prometheus: job {job['job_name']} scrapes port {sd['port']}, "
                         f"{dns_name} serves metrics on {metrics_port(services[dns_name])}")
                elif serves_tls(services[dns_name]) != (job.get("scheme") == "https"):
                    fail(f"{label}: prometheus: job {job['job_name']} scrapes "
                         f"{job.get('scheme', 'http')}, but {dns_name} serves "
                         f"{'HTTPS' if serves_tls(services[dns_name]) else 'HTTP'}")
                elif tls and (tls.get("server_name") != dns_name or not local_path(
                        tls.get("ca_file", ""), services["prometheus"], volumes)):
                    fail(f"{label}: prometheus: job {job['job_name']} checks {dns_name} as "
                         f"{tls.get('server_name')!r} with {tls.get('ca_file')}, which no certs "
                         "volume it mounts holds")
                else:
                    print(f"ok: {label}: prometheus: {job['job_name']} scrapes "
                          f"{job.get('scheme', 'http')}://{dns_name}:{sd['port']}")
    # Laid out as the container sees it: the rules beside the config.
    tmp = tempfile.mkdtemp(prefix="compose-prometheus-")
    # (promtool reads the CA files a config names: the certs volume's CA.)
    text = open(config_path).read()
    for path in set(re.findall(r"ca_file: (\S+)", text)):
        text = text.replace(path, local_path(path, services["prometheus"], volumes) or path)
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write(text)
    shutil.copytree(os.path.join(source, "deploy/prometheus/rules"), os.path.join(tmp, "rules"))
    r = subprocess.run(["promtool", "check", "config", os.path.join(tmp, "prometheus.yml")],
                       capture_output=True, text=True)
    if r.returncode != 0 or "SUCCESS: 1 rule files found" not in r.stdout + r.stderr:
        fail(f"{label}: prometheus: promtool check config: " + (r.stdout + r.stderr).strip())
    else:
        print(f"ok: {label}: prometheus: promtool accepts {os.path.basename(config_path)} and "
              "its rules")
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


# The users the servers' images run as, who must own (and alone read) their
# keys: apache/kafka's appuser and the postgres image's postgres; the
# millrace image's comes from its Dockerfile.
IMAGE_UIDS = {"apache/kafka:": 1000, "postgres:": 999}
TLS_SERVERS = ("kafka", "postgres", "producer", "api")


def image_uid(source, service):
    image = str(service.get("image", ""))
    if image.startswith("millrace:"):
        m = re.search(r"useradd [^\n]*--uid (\d+)",
                      open(os.path.join(source, "deploy/docker/Dockerfile")).read())
        return int(m.group(1)) if m else None
    return next((uid for prefix, uid in IMAGE_UIDS.items() if image.startswith(prefix)), None)


def volume_mounts(service):
    """(source, target) of each of a service's volumes as `config` prints
    them: a named volume's name, or a bind's absolute host path."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.append((str(v.get("source")), str(v["target"])))
        else:
            parts = str(v).split(":")
            out.append((parts[0], parts[1]))
    return out


def run_certs(services, root, import_dir):
    """Runs the certs service's script as compose would (as root here, or
    with this user as every owner): each named volume it mounts is a
    directory under root, kept between runs, and import_dir is its import
    directory. Returns the finished process and {volume name: directory}."""
    service = services["certs"]
    env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
    tls_dir = env.get("MILLRACE_TLS_DIR", "/tls")
    argv = list(service.get("entrypoint") or []) + list(service.get("command") or [])
    volumes, script = {}, None
    for src, target in volume_mounts(service):
        if len(argv) > 1 and target == argv[1]:
            script = src
            continue
        if not target.startswith(tls_dir + "/"):
            fail(f"certs: mounts {src} at {target}, outside MILLRACE_TLS_DIR={tls_dir}")
            continue
        local = os.path.join(root, target[len(tls_dir) + 1:])
        if src.startswith("/"):
            if os.path.islink(local):
                os.unlink(local)
            os.makedirs(root, exist_ok=True)
            os.symlink(import_dir, local)
        else:
            os.makedirs(local, exist_ok=True)
            volumes[src] = local
    env.update({"PATH": "/usr/bin:/bin", "MILLRACE_TLS_DIR": root})
    if os.geteuid() != 0:
        ids = f"{os.getuid()}:{os.getgid()}"
        env["MILLRACE_TLS_OWNERS"] = " ".join(f"{s}={ids}" for s in TLS_SERVERS)
    r = subprocess.run([argv[0], script or "(no script mounted)"] + argv[2:], env=env,
                       capture_output=True, text=True, timeout=120)
    return r, volumes


def local_path(path, service, volumes):
    """Where a path inside a service's container is here, if it lies in a
    certs volume the service mounts."""
    for src, target in volume_mounts(service):
        if src in volumes and (path == target or path.startswith(target + "/")):
            return volumes[src] + path[len(target):]
    return None


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True)


def service_text(service):
    """Its environment, command and healthcheck, where file paths are named."""
    return " ".join([str(v) for v in (service.get("environment") or {}).values()] +
                    [str(a) for a in service.get("command") or []] +
                    [str(a) for a in (service.get("healthcheck") or {}).get("test") or []])


def check_tls_wiring(source, label, services, volumes, ca_expected=None):
    """Every file a service is told to use lies in a certs volume it mounts,
    as the certs run left it: one CA for every client (ca_expected's, when
    given), and for every server a certificate valid for its compose name
    and localhost against that CA, with its key, owned by the user its image
    runs as and readable by nobody else. Returns how many files were checked
    (0 after a failure)."""
    ca_files, checked = set(), 0
    for name, service in sorted(services.items()):
        if name == "certs":
            continue
        for ca in set(re.findall(r"(?:ssl\.ca\.location=|sslrootcert=|-CAfile )([^,&\s]+)",
                                 service_text(service))):
            here = local_path(ca, service, volumes)
            if not here or not os.path.isfile(here):
                fail(f"{label}: {name} trusts {ca}, which no certs volume it mounts holds")
                return 0
            ca_files.add(open(here).read())
            checked += 1
    if len(ca_files) != 1 or (ca_expected and open(ca_expected).read() not in ca_files):
        fail(f"{label}: the clients trust {len(ca_files)} CA(s), not the one certs set up")
        return 0
    ca = os.path.join(tempfile.mkdtemp(prefix="compose-ca-"), "ca.crt")
    with open(ca, "w") as f:
        f.write(ca_files.pop())
    servers = set()
    for name, service in sorted(services.items()):
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        pairs = [(env[f"{p}_TLS_CERT"], env.get(f"{p}_TLS_KEY", ""))
                 for p in ("MILLRACE_HTTP", "MILLRACE_API") if env.get(f"{p}_TLS_CERT")]
        conf = dict(re.findall(r"(ssl_cert_file|ssl_key_file)=(\S+)", service_text(service)))
        if conf:
            pairs.append((conf.get("ssl_cert_file", ""), conf.get("ssl_key_file", "")))
        if env.get("KAFKA_SSL_KEYSTORE_LOCATION"):
            # Kafka's PEM keystore: the key, then the certificate, in one file.
            pairs.append((env["KAFKA_SSL_KEYSTORE_LOCATION"], env["KAFKA_SSL_KEYSTORE_LOCATION"]))
        uid = image_uid(source, service)
        for cert, key in pairs:
            cert_here, key_here = local_path(cert, service, volumes), local_path(key, service, volumes)
            if not (cert_here and key_here and os.path.isfile(cert_here)
                    and os.path.isfile(key_here)):
                fail(f"{label}: {name} serves TLS with {cert} and {key}, which the certs volumes "
                     "it mounts do not hold")
                return 0
            st = os.stat(key_here)
            if os.geteuid() == 0 and (st.st_uid != uid or st.st_mode & 0o077):
                fail(f"{label}: {name}'s key {key} belongs to uid {st.st_uid}, mode "
                     f"{oct(st.st_mode & 0o777)}: its image runs as uid {uid}, and nobody else "
                     "may read it")
                return 0
            for host in (name, "localhost"):
                r = openssl("verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_hostname",
                            host, cert_here)
                if r.returncode != 0:
                    fail(f"{label}: {name}'s certificate {cert} does not verify for {host} "
                         f"against the clients' CA: {(r.stdout + r.stderr).strip()}")
                    return 0
            if openssl("x509", "-in", cert_here, "-noout", "-pubkey").stdout != \
                    openssl("pkey", "-in", key_here, "-pubout").stdout:
                fail(f"{label}: {name}'s key {key} is not its certificate's")
                return 0
            servers.add(name)
            checked += 2
    shutil.rmtree(os.path.dirname(ca))
    if servers != set(TLS_SERVERS):
        fail(f"{label}: the servers serving TLS are {sorted(servers)}, not {list(TLS_SERVERS)}")
        return 0
    return checked


def file_digests(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            if not os.path.islink(d):
                out[os.path.relpath(path, root)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return out


def make_ca(directory, subject):
    """A CA of the check's own: directory/ca.crt and ca.key."""
    os.makedirs(directory, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={subject}", "-keyout", os.path.join(directory, "ca.key"),
                    "-out", os.path.join(directory, "ca.crt")], check=True, capture_output=True)


def sign_server(ca_dir, host, out_dir):
    """out_dir/host.crt and host.key, for host and localhost, signed by ca_dir's CA."""
    key, csr, crt = (os.path.join(out_dir, host + ext) for ext in (".key", ".csr", ".crt"))
    ext = os.path.join(out_dir, host + ".ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{host},DNS:localhost,IP:127.0.0.1\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}",
                    "-keyout", key, "-out", csr], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-days", "2", "-in", csr, "-CA",
                    os.path.join(ca_dir, "ca.crt"), "-CAkey", os.path.join(ca_dir, "ca.key"),
                    "-CAcreateserial", "-CAserial", os.path.join(out_dir, "ca.srl"), "-extfile",
                    ext, "-out", crt], check=True, capture_output=True)
    os.remove(csr)
    os.remove(ext)


def check_certs(source, label, services, made):
    """The certs one-shot, run here as compose runs it: it makes a CA and
    every server's certificate into the volumes the servers mount, keeps
    them when run again, builds on a CA brought in the import directory, and
    fails (so nothing starts) on a certificate its CA did not sign. Returns
    {volume name: directory} of what it made under `made` (empty on a
    failure), for the services' own checks."""
    tmp = tempfile.mkdtemp(prefix="compose-certs-")
    try:
        empty = os.path.join(tmp, "import-empty")
        os.makedirs(empty)
        r, volumes = run_certs(services, made, empty)
        if r.returncode != 0:
            fail(f"{label}: certs exited {r.returncode}: {r.stderr.strip()[-1500:]}")
            return {}
        checked = check_tls_wiring(source, label, services, volumes)
        if not checked:
            return {}
        print(f"ok: {label}: certs made a CA and the servers' certificates, and every file "
              f"the services are told to use is in place ({checked} checked)")
        before = file_digests(made)
        r, _ = run_certs(services, made, empty)
        if r.returncode != 0 or file_digests(made) != before:
            fail(f"{label}: certs run again (exit {r.returncode}) did not keep what it had made")
            return {}
        print(f"ok: {label}: certs run again keeps every file")

        own = os.path.join(tmp, "import-own-ca")
        make_ca(own, "compose_check's own CA")
        r, volumes_own = run_certs(services, os.path.join(tmp, "own-ca"), own)
        if r.returncode != 0:
            fail(f"{label}: certs refused a CA brought with its key: {r.stderr.strip()[-1500:]}")
            return {}
        if not check_tls_wiring(source, label, services, volumes_own, os.path.join(own, "ca.crt")):
            return {}
        print(f"ok: {label}: certs takes a CA from the import directory and signs with it")

        other, bad = os.path.join(tmp, "other-ca"), os.path.join(tmp, "import-bad")
        make_ca(other, "Another CA")
        os.makedirs(bad)
        sign_server(other, "kafka", bad)
        r, _ = run_certs(services, os.path.join(tmp, "own-ca"), bad)
        if r.returncode == 0 or "kafka" not in r.stderr:
            fail(f"{label}: certs accepted a broker certificate its CA did not sign "
                 f"(exit {r.returncode}): {r.stderr.strip()[-500:]}")
            return {}
        print(f"ok: {label}: certs refuses a certificate its CA did not sign: "
              f"{r.stderr.strip().splitlines()[-1]}")
        return volumes
    finally:
        shutil.rmtree(tmp)


def without(data, drop):
    """data (parsed YAML) without the mapping keys in drop, at any depth."""
    if isinstance(data, dict):
        return {k: without(v, drop) for k, v in data.items() if k not in drop}
    if isinstance(data, list):
        return [without(v, drop) for v in data]
    return data


def check_secure_monitoring(source, label, services, volumes):
    """Prometheus' and Grafana's files of the secure profile are
    docker-compose.yml's but for TLS, so the two cannot drift apart; Grafana
    reads PostgreSQL with verify-full and the certs CA."""
    pairs = [("deploy/docker/prometheus.yml",
              mounted_file(services["prometheus"], "/etc/prometheus/prometheus.yml"),
              {"scheme", "tls_config"})]
    datasources = mounted_file(services["grafana"], "/etc/grafana/provisioning/datasources")
    pairs.append(("deploy/grafana/provisioning/datasources/millrace.yml",
                  os.path.join(datasources or "", "millrace.yml"),
                  {"sslmode", "tlsConfigurationMethod", "sslRootCertFile"}))
    for base, secure, drop in pairs:
        if not secure or not os.path.isfile(secure):
            fail(f"{label}: no secure counterpart of {base} is mounted")
            return
        if without(yaml.safe_load(open(os.path.join(source, base))), drop) != \
                without(yaml.safe_load(open(secure)), drop):
            fail(f"{label}: {os.path.relpath(secure, source)} differs from {base} in more than "
                 f"{', '.join(sorted(drop))}")
            return
    postgres = [d for d in yaml.safe_load(open(os.path.join(datasources, "millrace.yml")))[
        "datasources"] if d["type"] == "postgres"]
    for d in postgres:
        data = d.get("jsonData") or {}
        if data.get("sslmode") != "verify-full" or not local_path(
                str(data.get("sslRootCertFile")), services["grafana"], volumes):
            fail(f"{label}: grafana reads PostgreSQL with sslmode {data.get('sslmode')} and the "
                 f"CA {data.get('sslRootCertFile')}, which no certs volume it mounts holds")
            return
    print(f"ok: {label}: Prometheus' and Grafana's files are docker-compose.yml's but for TLS; "
          "Grafana reads PostgreSQL with verify-full and the certs CA")


def check_secure_profile(label, services, base_services):
    """What the secure profile promises, service by service, so that one
    added to docker-compose.yml later cannot slip through it in clear: every
    Kafka client over SASL_SSL, every PostgreSQL connection verify-full, both
    HTTP services with a certificate, PostgreSQL with docker-compose.yml's
    settings and TLS, and the broker's PLAINTEXT listeners on loopback only."""
    problems = []
    for name, service in sorted(services.items()):
        if not str(service.get("image", "")).startswith("millrace:") or name == "certs":
            continue
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        if "MILLRACE_BROKERS" in env and \
                "security.protocol=SASL_SSL" not in env.get("MILLRACE_KAFKA_PROPERTIES", ""):
            problems.append(f"{name} reaches Kafka without SASL_SSL")
        for key in ("MILLRACE_PG", "MILLRACE_CHANGEFEED_PG", "MILLRACE_API_PG_DSN",
                    "MILLRACE_API_ADMIN_PG_DSN"):
            if key in env and not re.search(r"[?&]sslmode=verify-full(&|$)", env[key]):
                problems.append(f"{name}'s {key} is not sslmode=verify-full")
        addr = env.get("MILLRACE_HTTP_ADDR") or env.get("MILLRACE_API_ADDR")
        if addr and not (env.get("MILLRACE_HTTP_TLS_CERT") or env.get("MILLRACE_API_TLS_CERT")):
            problems.append(f"{name} serves {addr} without TLS")
    base = [str(a) for a in base_services["postgres"].get("command") or []]
    secure = [str(a) for a in services["postgres"].get("command") or []]
    missing = [a for a in base if a not in secure]
    if missing or "ssl=on" not in secure:
        problems.append(f"postgres' command lacks {missing or ['ssl=on']}")
    kafka = services["kafka"].get("environment") or {}
    protocols = dict(p.split(":") for p in str(kafka.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                                                         "")).split(","))
    for listener in str(kafka.get("KAFKA_LISTENERS", "")).split(","):
        m = re.match(r"(\w+)://([^:]*):(\d+)$", listener)
        if not m or (protocols.get(m.group(1)) != "SASL_SSL" and m.group(2) != "127.0.0.1"):
            problems.append(f"kafka listens on {listener} ({protocols.get(m.group(1) if m else '')})"
                            ", neither SASL_SSL nor on its loopback")
    for problem in problems:
        fail(f"{label}: {problem}")
    if not problems:
        print(f"ok: {label}: every Kafka client uses SASL_SSL, every PostgreSQL connection "
              "verify-full, both HTTP services TLS; the broker's PLAINTEXT listeners are on "
              "loopback")


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


def http_get(url, token=None, context=None):
    """(status, body) of a GET, with a bearer token and a TLS context if
    given; an error status is an answer too."""
    headers = {"Authorization": "Bearer " + token} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10, context=context) as response:
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


def check_secure_postgres(label, services, volumes):
    """A PostgreSQL started here with the postgres service's own command
    (TLS from its certs volume, its pg_hba.conf) and superuser: a client
    over TCP without TLS is refused; one with sslmode=verify-full and the
    clients' CA gets an encrypted session as the owner; the healthcheck's
    pg_isready answers on the socket."""
    service = services["postgres"]
    command = [str(a) for a in service.get("command") or []]
    env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins or command[:1] != ["postgres"]:
        fail(f"{label}: postgres: no PostgreSQL server here, or its command is not postgres")
        return
    bindir = os.path.dirname(bins[-1])
    tmp = tempfile.mkdtemp(prefix="compose-postgres-")
    as_pg = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root; its key must be its own.
        as_pg = ["runuser", "-u", "postgres", "--"]
        os.chmod(tmp, 0o755)
    # What it mounts, as the server sees it: the certs volume's files owned
    # by whoever runs it here.
    tls = {}
    for src, _ in volume_mounts(service):
        if src.startswith("/"):
            tls[src] = src  # a bind: the repository's file (pg_hba.conf)
        elif src in volumes:
            tls[src] = os.path.join(tmp, src)
            shutil.copytree(volumes[src], tls[src])
            if as_pg:
                subprocess.run(["chown", "-R", "postgres:", tls[src]], check=True)
    data, run = os.path.join(tmp, "data"), os.path.join(tmp, "run")
    port = free_port()
    server = None
    try:
        pwfile = os.path.join(tmp, "pw")
        with open(pwfile, "w") as f:
            f.write(env["POSTGRES_PASSWORD"])
        os.makedirs(run)
        os.makedirs(data, mode=0o700)
        if as_pg:
            subprocess.run(["chown", "postgres:", pwfile, run, data], check=True)
        # As the image does: the superuser is POSTGRES_USER, with its password.
        r = subprocess.run(as_pg + [os.path.join(bindir, "initdb"), "-D", data, "-U",
                                    env["POSTGRES_USER"], "--pwfile", pwfile, "-A", "scram-sha-256"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"{label}: postgres: initdb failed: {r.stderr[-1000:]}")
            return
        args = [in_volumes(a, service, tls) for a in command[1:]]
        log = os.path.join(tmp, "postgres.log")
        with open(log, "w") as out:
            if as_pg:
                subprocess.run(["chown", "postgres:", log], check=True)
            server = subprocess.Popen(as_pg + [os.path.join(bindir, "postgres"), "-D", data, "-p",
                                               str(port), "-k", run, "-c",
                                               "listen_addresses=127.0.0.1"] + args,
                                      stdout=out, stderr=out)
        ready = [os.path.join(bindir, "pg_isready"), "-h", run, "-p", str(port)] + \
            [str(a) for a in service["healthcheck"]["test"][2:]]
        deadline = time.time() + 60
        while subprocess.run(ready, capture_output=True).returncode != 0:
            if server.poll() is not None or time.time() > deadline:
                fail(f"{label}: postgres did not start with its command: {open(log).read()[-1500:]}")
                return
            time.sleep(0.5)
        ca = os.path.join(volumes["tls-ca"], "ca.crt")
        user, password = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]
        base = f"host=localhost port={port} user={user} password={password} dbname=postgres"
        plain = subprocess.run(["psql", "-X", "-At", base + " sslmode=disable", "-c", "SELECT 1"],
                               capture_output=True, text=True, timeout=30)
        tls_session = subprocess.run(
            ["psql", "-X", "-At", f"{base} sslmode=verify-full sslrootcert={ca}", "-c",
             "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
            capture_output=True, text=True, timeout=30)
        if plain.returncode == 0 or "no encryption" not in plain.stderr:
            fail(f"{label}: postgres accepts TCP without TLS: {plain.stdout}{plain.stderr}")
        elif tls_session.returncode != 0 or not tls_session.stdout.startswith("t|TLS"):
            fail(f"{label}: postgres: verify-full with the clients' CA failed: "
                 f"{tls_session.stdout}{tls_session.stderr}")
        else:
            print(f"ok: {label}: postgres with its command refuses TCP without TLS, and "
                  f"serves {tls_session.stdout.strip().split('|')[1]} to verify-full with the "
                  "clients' CA")
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(tmp)


class RehearsalBroker:
    """The secure profile's broker, run here from compose's own settings:
    the kafka service's KAFKA_* variables turned into properties as the
    image does, each port it listens on moved to a free one, the addresses
    that only mean something in the compose network (":port", "kafka") made
    127.0.0.1 and localhost, and the keystore from the certs run. Then
    compose's healthcheck and its kafka-scram one-shot run as written, with
    Kafka's own tools in place of the image's scripts."""

    TOOLS = {"kafka-broker-api-versions.sh": "kafka.admin.BrokerApiVersionsCommand",
             "kafka-configs.sh": "kafka.admin.ConfigCommand"}

    def __init__(self, source, classpath_file, services, volumes, logs):
        self.services, self.volumes = services, volumes
        self.env = services["kafka"].get("environment") or {}
        self.dir = os.path.join(logs, "kafka")
        os.makedirs(os.path.join(self.dir, "bin"))
        self.classpath = open(classpath_file).read().strip()
        self.log4j = os.path.join(source, "deploy/local/kafka")
        self.ports = {int(p): free_port()
                      for p in re.findall(r":(\d+)", str(self.env.get("KAFKA_LISTENERS", "")))}
        self.process = None
        for script, main_class in self.TOOLS.items():
            path = os.path.join(self.dir, "bin", script)
            with open(path, "w") as f:
                f.write("#!/bin/sh\nexec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
                        f"-Dlog4j.configuration=file:{self.log4j}/tools-log4j.properties "
                        f"-cp '{self.classpath}' {main_class} \"$@\"\n")
            os.chmod(path, 0o755)

    def local(self, text, service_name="kafka"):
        text = re.sub(r":(\d+)\b", lambda m: f":{self.ports.get(int(m.group(1)), m.group(1))}",
                      str(text))
        text = text.replace("://:", "://127.0.0.1:").replace("//kafka:", "//localhost:")
        text = text.replace("/opt/kafka/bin/", os.path.join(self.dir, "bin") + "/")
        return in_volumes(text, self.services[service_name], self.volumes)

    def bootstrap(self, compose_address):
        """Where compose's containers' address of the broker (kafka:19092) is here."""
        return "localhost:" + str(self.ports[int(compose_address.rsplit(":", 1)[1])])

    def start(self, what):
        props = {k: self.local(v) for k, v in kafka_properties(self.env).items()}
        props["log.dirs"] = os.path.join(self.dir, "data")
        path = os.path.join(self.dir, "server.properties")
        with open(path, "w") as f:
            for k, v in sorted(props.items()):
                f.write(f"{k}={v}\n")
        log_path = os.path.join(self.dir, "kafka.log")
        r = subprocess.run(["java", "-Xmx256m", "-cp", self.classpath, "kafka.tools.StorageTool",
                            "format", "-t", str(self.env.get("CLUSTER_ID")), "-c", path],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"{what}: formatting the broker's storage failed: {(r.stdout + r.stderr)[-1500:]}")
            return False
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                ["java", "-Xms128m", "-Xmx384m", f"-Dlog4j.configuration=file:{self.log4j}/log4j.properties",
                 f"-Dkafka.logs.dir={self.dir}/logs", "-cp", self.classpath, "kafka.Kafka", path],
                stdout=log, stderr=log)
        test = (self.services["kafka"].get("healthcheck") or {}).get("test") or []
        check = ["bash", "-c", self.local(test[1])] if test[:1] == ["CMD-SHELL"] else \
            [self.local(a) for a in test[1:]]
        deadline = time.time() + 120
        while subprocess.run(check, capture_output=True, timeout=60).returncode != 0:
            if self.process.poll() is not None or time.time() > deadline:
                fail(f"{what}: the broker never passed compose's healthcheck; see {log_path}")
                return False
            time.sleep(1)
        print(f"ok: {what}: a broker with the kafka service's settings passes its healthcheck")
        scram = self.services["kafka-scram"]
        argv = [self.local(a, "kafka-scram") for a in
                list(scram.get("entrypoint") or []) + list(scram.get("command") or [])]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"{what}: kafka-scram exited {r.returncode}: {(r.stdout + r.stderr)[-1500:]}")
            return False
        print(f"ok: {what}: kafka-scram made the SCRAM user through the broker's loopback listener")
        return True

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rehearse(source, bin_dir, services, classpath_file=None, secure=False):
    """Plays compose's start against the local stack (module docstring).
    With secure, the services are the secure profile's: their certificates
    come from its certs one-shot (signed by the stack's CA, brought as your
    own would be), Kafka is a broker of its own with the kafka service's
    settings, PostgreSQL is the stack's over TLS, and the producer and the
    API are reached over HTTPS."""
    what = "secure rehearsal" if secure else "rehearsal"
    stack = stack_env(source)
    brokers, pg_url = stack["MILLRACE_BROKERS"], stack["MILLRACE_PG"]
    redis_url = stack.get("MILLRACE_REDIS_URL")
    state_dir = os.environ.get("MILLRACE_STATE_DIR")
    if not redis_url or not state_dir:
        fail(f"{what}: needs the stack's MILLRACE_REDIS_URL and MILLRACE_STATE_DIR "
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

    # The secure profile's: its certs volumes, and the CA that signed them.
    volumes, tls_context, scheme = {}, None, "http"

    def environment(service_name, extra):
        env = {"PATH": "/usr/bin:/bin"}
        ports = {}
        for key, value in (services[service_name].get("environment") or {}).items():
            value = (str(value).replace(compose_pg, pg_url)
                     .replace(compose_changefeed_pg, stack["MILLRACE_CHANGEFEED_PG"])
                     .replace("kafka:19092", brokers)
                     .replace(compose_redis, redis_url))
            value = in_volumes(value, services[service_name], volumes)
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
            fail(f"{what}: {service_name}: exited {r.returncode}: {r.stderr.strip()[-1500:]}")
            return None
        shown = service_name if args is None else f"{service_name} ({' '.join(args)})"
        print(f"ok: {what}: {shown} completed")
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
                fail(f"{what}: {script_name} exited {r.returncode}: {r.stderr.strip()}")
                return False
        listed = ", ".join(f"'{r}'" for r in roles.values())
        made = psql(superuser, "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles "
                               "WHERE rolcanlogin AND NOT rolsuper AND NOT rolcreaterole "
                               "AND NOT rolcreatedb AND NOT rolreplication AND rolname IN "
                               f"({listed})")
        if made != ",".join(sorted(roles.values())):
            fail(f"{what}: the init scripts made the login roles {made!r}, "
                 f"not {sorted(roles.values())}")
            return False
        print(f"ok: {what}: the init scripts made {made} (LOGIN only)")
        return True

    def check_sessions_encrypted():
        """Every PostgreSQL session of this run's roles, and the change
        feed's replication session, is over TLS."""
        listed = ", ".join(f"'{r}'" for r in roles.values())
        rows = psql(superuser, "SELECT a.usename, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s "
                               f"USING (pid) WHERE a.usename IN ({listed})")
        seen = {}
        for row in rows.splitlines():
            user, encrypted = row.split("|")
            seen.setdefault(user, set()).add(encrypted)
        plain = sorted(u for u, e in seen.items() if "f" in e)
        wanted = {roles[f"millrace_{k}"] for k in ("sink", "aggregator", "archiver", "cache", "api")}
        feed = psql(superuser, "SELECT s.ssl FROM pg_replication_slots r JOIN pg_stat_ssl s ON "
                               f"s.pid = r.active_pid WHERE r.slot_name = "
                               f"'{changes['MILLRACE_CHANGEFEED_SLOT']}'")
        if plain or not wanted <= seen.keys() or feed != "t":
            fail(f"{what}: PostgreSQL sessions without TLS: {plain}; roles without a session: "
                 f"{sorted(wanted - seen.keys())}; the change feed's over TLS: {feed!r}")
        else:
            print(f"ok: {what}: every session of {', '.join(sorted(seen))} and the change "
                  "feed's replication session is over TLS")

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
    broker = None
    try:
        if secure:
            # The stack's CA, brought to certs with its key as your own would
            # be: the certificates it makes are signed by the CA of the
            # stack's PostgreSQL, so every client trusts one CA, as in compose.
            own = os.path.join(logs, "tls-import")
            os.makedirs(own)
            for f in ("ca.crt", "ca.key"):
                shutil.copy(os.path.join(state_dir, "tls", f), own)
            r, volumes = run_certs(services, os.path.join(logs, "tls"), own)
            if r.returncode != 0:
                fail(f"{what}: certs exited {r.returncode}: {r.stderr.strip()[-1500:]}")
                return
            tls_context = ssl.create_default_context(cafile=os.path.join(own, "ca.crt"))
            scheme = "https"
            broker = RehearsalBroker(source, classpath_file, services, volumes, logs)
            if not broker.start(what):
                return
            brokers = broker.bootstrap("kafka:19092")
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
            fail(f"{what}: the catalog load left no categories")
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
        print(f"ok: {what}: started {', '.join(n for n, _ in children)} (logs in {logs})")

        events = 3000
        out = run_to_end("cli", {"MILLRACE_TOPIC": topic},
                         ["millrace", "produce", "--count", str(events), "--seed", "11",
                          "--time-spread", "7200"])
        if out is None:
            return
        summary = json.loads(out)
        if summary.get("delivered") != events:
            fail(f"{what}: cli produce delivered {summary.get('delivered')} of {events}")

        # The producer's own healthcheck command, pointed at its port.
        test = services["producer"]["healthcheck"]["test"]
        check = [in_volumes(a.replace("/127.0.0.1/8080", f"/127.0.0.1/{producer_port}")
                            .replace("127.0.0.1:8080", f"127.0.0.1:{producer_port}"),
                            services["producer"], volumes) for a in test[1:]]
        deadline = time.time() + 60
        while subprocess.run(check).returncode != 0:
            if time.time() > deadline:
                fail(f"{what}: the producer's healthcheck never passed")
                break
            time.sleep(1)
        else:
            print(f"ok: {what}: the producer's healthcheck passes")
        body = subprocess.run([os.path.join(bin_dir, "millrace"), "generate", "--count", "1",
                               "--seed", "12"], check=True, capture_output=True).stdout
        token = services["producer"]["environment"]["MILLRACE_AUTH_TOKEN"]
        request = urllib.request.Request(f"{scheme}://127.0.0.1:{producer_port}/v1/events",
                                         data=body,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": "Bearer " + token})
        with urllib.request.urlopen(request, timeout=30, context=tls_context) as response:
            if response.status != 200:
                fail(f"{what}: POST /v1/events answered {response.status}")
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
                fail(f"{what}: group {group} consumed {consumed} of {events}, unaccounted {unaccounted}")
            else:
                print(f"ok: {what}: group {group} accounted for all {events} events")
        hours = int(psql(pg_url, f"SELECT count(*) FROM {schema}.hourly_sales"))
        if hours == 0:
            fail(f"{what}: the hourly_sales view is empty")

        # The change feed published at least every stored event: streamed as
        # an insert, or, stored before the feed first streamed (a new
        # broker's first transactions wait for its coordinators), in its
        # initial snapshot (op "r").
        stored = int(psql(pg_url, f"SELECT count(*) FROM {schema}.store_events"))
        published = 0
        deadline = time.time() + 60
        while time.time() < deadline:
            status, text = http_get(f"http://127.0.0.1:{changefeed_port}/metrics")
            published = (metric_sum(text, "millrace_changefeed_changes_published_total") +
                         metric_sum(text, "millrace_changefeed_snapshot_rows_total"))
            if stored > 0 and published >= stored:
                break
            time.sleep(1)
        if stored == 0 or published < stored:
            fail(f"{what}: the change feed published {published} changes; "
                 f"store_events holds {stored} rows")
        else:
            print(f"ok: {what}: the change feed published {int(published)} changes and "
                  f"snapshot rows ({stored} stored events and the aggregates)")

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
            fail(f"{what}: the webhooks group consumed {consumed} of {int(published)} changes, "
                 f"unaccounted {unaccounted}")
        else:
            print(f"ok: {what}: the webhooks group accounted for all {consumed} changes")

        # The catalog cache: millrace-cache loads a generation and marks it
        # live (the key readers trust, docs/cache.md).
        live_key = f"millrace:{schema}:live"
        deadline = time.time() + 90
        while True:
            r = subprocess.run(["redis-cli", "-u", redis_url, "EXISTS", live_key],
                               capture_output=True, text=True, timeout=10)
            if r.stdout.strip() == "1":
                print(f"ok: {what}: the cache marked a generation live ({live_key})")
                break
            if time.time() > deadline:
                fail(f"{what}: the cache never marked a generation live: {live_key} absent "
                     f"(redis-cli: {(r.stdout + r.stderr).strip()!r}); see {logs}/cache-1.log")
                return
            time.sleep(1)
        status, body = http_get(f"http://127.0.0.1:{cache_port}/metrics")
        if status != 200:
            fail(f"{what}: the cache's /metrics answered {status}")

        # The API: its own healthcheck command (/readyz), pointed at its port.
        test = services["api"]["healthcheck"]["test"]
        check = [in_volumes(a.replace("/127.0.0.1/8090", f"/127.0.0.1/{api_port}")
                            .replace("127.0.0.1:8090", f"127.0.0.1:{api_port}"),
                            services["api"], volumes) for a in test[1:]]
        deadline = time.time() + 60
        while subprocess.run(check).returncode != 0:
            if time.time() > deadline:
                fail(f"{what}: the API's healthcheck never passed; see {logs}/api-1.log")
                return
            time.sleep(1)
        print(f"ok: {what}: the API's healthcheck passes")

        # Compose's read token: a read without it is refused.
        api = f"{scheme}://127.0.0.1:{api_port}"
        read_token = services["api"]["environment"]["MILLRACE_API_READ_TOKEN"]
        status, body = http_get(api + "/v1/categories", context=tls_context)
        if status != 401:
            fail(f"{what}: GET /v1/categories without the read token answered {status}, not 401")
        else:
            print(f"ok: {what}: the API refuses a read without MILLRACE_API_READ_TOKEN (401)")

        # GET /v1/categories through the cache: every loaded category, and a
        # hit in the API's metrics (a read before the API saw the live
        # generation is a bypass, so ask again until one hits).
        deadline = time.time() + 30
        while True:
            status, body = http_get(api + "/v1/categories", read_token, tls_context)
            if status != 200:
                fail(f"{what}: GET /v1/categories answered {status}: {body[:500]}")
                return
            listed = json.loads(body)["categories"]
            if len(listed) != categories:
                fail(f"{what}: GET /v1/categories listed {len(listed)} of {categories} "
                     "categories")
                return
            hits = metric_sum(http_get(api + "/metrics", context=tls_context)[1],
                              "millrace_cache_reads_total",
                              kind="categories", result="hit")
            if hits >= 1:
                print(f"ok: {what}: GET /v1/categories answered all {categories} categories "
                      f"from the cache ({int(hits)} hit)")
                break
            if time.time() > deadline:
                fail(f"{what}: GET /v1/categories never hit the cache "
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
            with urllib.request.urlopen(request, timeout=30, context=tls_context) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
            fail(f"{what}: PUT {path} answered {e.code}: {e.read().decode()[:500]}")
        if status == 200:
            deadline = time.time() + 60
            while True:
                status, body = http_get(api + path, read_token, tls_context)
                if status == 200 and json.loads(body).get("display_name") == wanted:
                    print(f"ok: {what}: PUT {path} (admin role) is served changed through "
                          "the change feed and the cache")
                    break
                if time.time() > deadline:
                    fail(f"{what}: GET {path} still answers {status} {body[:300]} a minute "
                         f"after the admin API changed it")
                    break
                time.sleep(0.5)
        if secure:
            check_sessions_encrypted()
    finally:
        if broker:
            broker.stop()
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
                fail(f"{what}: {name_} exited {code} on SIGTERM; see {logs}")
        if children:
            print(f"ok: {what}: every service stopped on SIGTERM")
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
        made = tempfile.mkdtemp(prefix="compose-certs-made-")
        volumes = check_certs(source, label, services, made) if "certs" in services else {}
        if volumes:
            check_secure_postgres(label, services, volumes)
        for name, service in sorted(services.items()):
            if name != "certs" and str(service.get("image", "")).startswith("millrace:"):
                check_millrace_service(label, name, service, bin_dir, targets, volumes)
        if SECURE_FILE in files:
            check_secure_profile(label, services, compose_config(source, FILE_SETS[0])["services"])
        check_kafka(services, source, classpath_file, label)
        check_mounts(source, services, label)
        if files == FILE_SETS[0] or SECURE_FILE in files:
            check_prometheus(source, services, label, volumes)
        if SECURE_FILE in files:
            check_secure_monitoring(source, label, services, volumes)
        shutil.rmtree(made)
    check_runtime_packages(source, bin_dir, targets)
    if "--rehearse" in sys.argv and not failures:
        rehearse(source, bin_dir, compose_config(source, FILE_SETS[0])["services"])
    if "--rehearse" in sys.argv and not failures:
        rehearse(source, bin_dir, compose_config(source, FILE_SETS[0] + [SECURE_FILE])["services"],
                 classpath_file, secure=True)
    if failures:
        print(f"{len(failures)} problem(s)")
        sys.exit(1)
    print("compose check passed")


if __name__ == "__main__":
    main()
