"""The secure profile's clients and its PostgreSQL, as its services are
told to run.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import time

from pysupport import free_port

from .compose import in_volumes, local_path, volume_mounts
from .failures import fail


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
        for key in ("MILLRACE_PG", "MILLRACE_CHANGEFEED_PG", "MILLRACE_API_PG",
                    "MILLRACE_API_ADMIN_PG"):
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
    # The superuser's password, from the file the one-shot secrets wrote
    # (POSTGRES_PASSWORD_FILE), as the image reads it.
    owner_file = local_path(env["POSTGRES_PASSWORD_FILE"], service, volumes)
    if owner_file is None or not os.path.exists(owner_file):
        fail(f"{label}: postgres: POSTGRES_PASSWORD_FILE {env['POSTGRES_PASSWORD_FILE']} "
             "is in no volume the secrets service wrote")
        return
    with open(owner_file) as f:
        owner_password = f.read().strip()
    try:
        pwfile = os.path.join(tmp, "pw")
        with open(pwfile, "w") as f:
            f.write(owner_password)
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
        user, password = env["POSTGRES_USER"], owner_password
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
