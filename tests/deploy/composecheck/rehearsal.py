"""The rehearsal: docker-compose.yml's start played against the local stack
(compose_check.py's docstring says what it plays and checks).
"""

import os
import random
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile

from pysupport import free_port, psql, stack_env

from .broker import RehearsalBroker
from .compose import in_volumes, run_secrets
from .failures import fail, failures
from .objstore import RehearsalS3
from .rehearsal_checks import Checks
from .tls import run_certs


def rehearse(source, bin_dir, services, classpath_file=None, secure=False, dotenv=None):
    """Plays compose's start against the local stack (module docstring).
    `services` is compose's configuration as resolved with `dotenv`, the
    variables a .env gave it: each of its passwords must be the one used.
    With secure, the services are the secure profile's: their certificates
    come from its certs one-shot (signed by the stack's CA, brought as your
    own would be), Kafka is a broker of its own with the kafka service's
    settings, PostgreSQL is the stack's over TLS, and the producer and the
    API are reached over HTTPS."""
    what = "secure rehearsal" if secure else "rehearsal"
    stack = stack_env(source)
    if not stack.get("MILLRACE_REDIS_URL") or not os.environ.get("MILLRACE_STATE_DIR"):
        fail(f"{what}: needs the stack's MILLRACE_REDIS_URL and MILLRACE_STATE_DIR "
             "(run it through ctest, whose fixture starts the stack)")
        return
    rehearsal = Rehearsal(source, bin_dir, services, stack, classpath_file, secure, dotenv or {})
    try:
        if rehearsal.start():
            rehearsal.check()
    finally:
        rehearsal.stop()


# Where docker-compose.yml's services find PostgreSQL and Redis, which the
# rehearsal swaps for the stack's. The tables' owner and the change feed's
# role are the stack's too (its passwords, in its URLs): the one-shot
# secrets' files for them are made but not used.
COMPOSE_PG = "postgresql://millrace@postgres:5432/millrace?"
COMPOSE_CHANGEFEED_PG = "postgresql://millrace_changefeed@postgres:5432/millrace?"
COMPOSE_REDIS = "redis://redis:6379"


class Rehearsal(Checks):
    """One rehearsal: its own topic, schema, groups, roles and logs, the
    services it started (`children`) and, in the secure one, its broker."""

    def __init__(self, source, bin_dir, services, stack, classpath_file, secure, dotenv):
        self.source, self.bin_dir, self.services, self.stack = source, bin_dir, services, stack
        self.dotenv = dotenv
        self.classpath_file, self.secure = classpath_file, secure
        self.what = "secure rehearsal" if secure else "rehearsal"
        self.brokers, self.pg_url = stack["MILLRACE_BROKERS"], stack["MILLRACE_PG"]
        self.redis_url = stack["MILLRACE_REDIS_URL"]
        self.state_dir = os.environ["MILLRACE_STATE_DIR"]
        self.pg_host_port = re.search(r"@([^/@]+)/", self.pg_url).group(1)
        name = self.name = f"compose_{os.getpid()}_{random.randrange(1 << 30)}"
        self.topic, self.schema = name, name
        self.logs = tempfile.mkdtemp(prefix="compose-rehearsal-")
        # Roles are the cluster's, not the schema's: this run's own names, in
        # place of compose's wherever they appear (init script, commands, DSNs),
        # and dropped at the end.
        service_roles = ("sink", "aggregator", "archiver", "webhooks", "cache")
        self.roles = {"millrace_api": name + "_api", "millrace_api_admin": name + "_api_admin",
                      **{f"millrace_{k}": f"{name}_{k}" for k in service_roles}}
        # The stack's superuser, over its socket (trust): only it may create roles.
        self.superuser = (f"host={os.path.join(self.state_dir, 'pgrun')} "
                          f"port={self.pg_host_port.rsplit(':', 1)[1]} user=postgres dbname=millrace")
        # The secure profile's: its certs volumes, and the CA that signed them.
        self.volumes, self.tls_context, self.scheme = {}, None, "http"
        self.extra = self.extra_environment()
        self.children = []
        self.broker = None
        self.s3 = None
        self.ports = {}

    def extra_environment(self):
        """Added to what compose sets, so the rehearsal shares nothing with
        anyone: each service gets only the variables it reads."""
        name, topic, schema = self.name, self.topic, self.schema
        self.groups = {"sink": name + "_sink", "aggregator": name + "_aggregator"}
        self.webhooks_group = name + "_webhooks"
        changes = self.changes = {"MILLRACE_CHANGES_TOPIC": topic + ".changes",
                                  "MILLRACE_CHANGEFEED_PUBLICATION": name + "_pub",
                                  "MILLRACE_CHANGEFEED_SLOT": name + "_slot"}
        extra = {
            "create-topics": {"MILLRACE_TOPIC": topic, **changes},
            "migrate": {"MILLRACE_PG_SCHEMA": schema},
            "changefeed-publish": {"MILLRACE_PG_SCHEMA": schema, **changes},
            # The signal table of backfills (its initial snapshot's) is in
            # the schema the publish step made it in.
            "changefeed": {"MILLRACE_PG_SCHEMA": schema, **changes},
            "producer": {"MILLRACE_TOPIC": topic},
            "webhooks": {"MILLRACE_PG_SCHEMA": schema, "MILLRACE_WEBHOOKS_GROUP": self.webhooks_group,
                         "MILLRACE_CHANGES_TOPIC": changes["MILLRACE_CHANGES_TOPIC"]},
            "api-grant": {"MILLRACE_PG_SCHEMA": schema},
            "grant": {"MILLRACE_PG_SCHEMA": schema},
            "cache": {"MILLRACE_PG_SCHEMA": schema,
                      "MILLRACE_CHANGES_TOPIC": changes["MILLRACE_CHANGES_TOPIC"]},
            # Compose leaves the token to the user (unset: writes off); the
            # rehearsal sets one to write through the admin role.
            "api": {"MILLRACE_PG_SCHEMA": schema, "MILLRACE_API_ADMIN_TOKEN": secrets.token_hex(16)},
            # 2 s windows rather than 5 min, so that its files are committed
            # while the rehearsal waits. Its bucket is in a store of this
            # run's own (RehearsalS3).
            "archiver": {"MILLRACE_TOPIC": topic, "MILLRACE_PG_SCHEMA": schema,
                         "MILLRACE_ARCHIVER_GROUP": name + "_archiver",
                         "MILLRACE_ARCHIVE_WINDOW_S": "2"},
        }
        for worker, group in self.groups.items():
            extra[worker] = {"MILLRACE_TOPIC": topic, "MILLRACE_PG_SCHEMA": schema,
                             f"MILLRACE_{worker.upper()}_GROUP": group}
        return extra

    def role_dsn(self, match):
        user, password = match.group(1), match.group(2)
        password = "" if password is None else ":" + password
        return f"postgresql://{self.roles.get(user, user)}{password}@{self.pg_host_port}/millrace"

    def environment(self, service_name, extra):
        """The service's environment as compose gives it, with the stack's
        addresses, this run's roles and free ports; and {compose port: port}."""
        env = {"PATH": "/usr/bin:/bin"}
        ports = {}
        for key, value in (self.services[service_name].get("environment") or {}).items():
            value = (str(value).replace(COMPOSE_PG, self.pg_url + "?")
                     .replace(COMPOSE_CHANGEFEED_PG, self.stack["MILLRACE_CHANGEFEED_PG"] + "?")
                     .replace("kafka:19092", self.brokers)
                     .replace(COMPOSE_REDIS, self.redis_url))
            value = in_volumes(value, self.services[service_name], self.volumes)
            if self.s3:
                value = self.s3.swap(value)
            # The roles: the same password files, this run's names.
            value = re.sub(r"postgresql://(\w+)(?::([^@/]*))?@postgres:5432/millrace", self.role_dsn,
                           value)
            if value.startswith("0.0.0.0:"):
                ports[int(value.split(":")[1])] = port = free_port()
                value = f"127.0.0.1:{port}"
            env[key] = value
        env.update(extra)
        return env, ports

    def argv(self, service_name):
        service = self.services[service_name]
        cmd = list(service.get("entrypoint") or []) + list(service.get("command") or [])
        return [os.path.join(self.bin_dir, cmd[0])] + [self.roles.get(a, a) for a in cmd[1:]]

    def run_to_end(self, service_name, extra, args=None):
        env, _ = self.environment(service_name, extra)
        cmd = self.argv(service_name) if args is None else [os.path.join(self.bin_dir, args[0])] + args[1:]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            fail(f"{self.what}: {service_name}: exited {r.returncode}: {r.stderr.strip()[-1500:]}")
            return None
        shown = service_name if args is None else f"{service_name} ({' '.join(args)})"
        print(f"ok: {self.what}: {shown} completed")
        return r.stdout

    def start(self):
        """The secure profile's certificates and broker, the one-shots, then
        the long-running services; False when a step failed."""
        if self.secure and not self.start_secure():
            return False
        if not self.run_secrets():
            return False
        if "seaweedfs" in self.services:
            self.s3 = RehearsalS3(self.source, self.services, self.volumes, self.logs)
            if not self.s3.start(self.what):
                return False
        if not self.run_one_shots():
            return False
        self.start_services()
        return True

    def start_secure(self):
        # The stack's CA, brought to certs with its key as your own would
        # be: the certificates it makes are signed by the CA of the
        # stack's PostgreSQL, so every client trusts one CA, as in compose.
        what, logs = self.what, self.logs
        own = os.path.join(logs, "tls-import")
        os.makedirs(own)
        for f in ("ca.crt", "ca.key"):
            shutil.copy(os.path.join(self.state_dir, "tls", f), own)
        r, self.volumes = run_certs(self.services, os.path.join(logs, "tls"), own)
        if r.returncode != 0:
            fail(f"{what}: certs exited {r.returncode}: {r.stderr.strip()[-1500:]}")
            return False
        self.tls_context = ssl.create_default_context(cafile=os.path.join(own, "ca.crt"))
        self.scheme = "https"
        self.broker = RehearsalBroker(self.source, self.classpath_file, self.services, self.volumes, logs)
        if not self.broker.start(what):
            return False
        self.brokers = self.broker.bootstrap("kafka:19092")
        return True

    def run_secrets(self):
        """The one-shot secrets, into volumes of this run: what a .env gave
        it is used, every other password and token is made."""
        r, volumes = run_secrets(self.services, os.path.join(self.logs, "secrets"))
        if r.returncode != 0:
            fail(f"{self.what}: secrets exited {r.returncode}: {r.stderr.strip()[-1500:]}")
            return False
        self.volumes.update(volumes)
        names = [k for k in (self.services["secrets"].get("environment") or {})
                 if not k.startswith("MILLRACE_SECRETS_")]
        for name in names:
            value = self.secret(name)
            if name in self.dotenv and value != self.dotenv[name]:
                fail(f"{self.what}: secrets wrote a {name} other than the .env's")
                return False
            if name not in self.dotenv and len(value) < 32:
                fail(f"{self.what}: secrets made {name} of {len(value)} characters, not 32")
                return False
        print(f"ok: {self.what}: secrets made {len(names) - len(self.dotenv)} passwords and tokens"
              + (f", took {', '.join(sorted(self.dotenv))} from the .env" if self.dotenv else ""))
        return True

    def secret(self, name):
        """The value of the secret `name` the one-shot secrets wrote."""
        volume = "secrets-owner" if name == "MILLRACE_PG_PASSWORD" else "secrets"
        with open(os.path.join(self.volumes[volume], name)) as f:
            return f.read().strip()

    def run_one_shots(self):
        """What compose runs to completion before the services: topics, the
        schema, a small catalog, the roles, the publication and the grants."""
        extra, schema = self.extra, self.schema
        if self.run_to_end("create-topics", extra["create-topics"]) is None:
            return False
        if self.run_to_end("migrate", extra["migrate"]) is None:
            return False
        # A small catalog for the cache, loaded the way a user would with
        # `docker compose run --rm cli`.
        catalog = self.run_to_end("cli", {}, ["millrace", "generate", "--catalog", "categories",
                                              "--format", "csv"])
        if catalog is None:
            return False
        catalog_path = os.path.join(self.logs, "categories.csv")
        with open(catalog_path, "w") as f:
            f.write(catalog)
        if self.run_to_end("cli", {"MILLRACE_PG_SCHEMA": schema},
                           ["millrace", "catalog", "load", catalog_path]) is None:
            return False
        self.categories = int(psql(self.pg_url, f"SELECT count(*) FROM {schema}.categories"))
        if self.categories == 0:
            fail(f"{self.what}: the catalog load left no categories")
            return False
        if not self.create_roles():
            return False
        for one_shot in ("changefeed-publish", "api-grant", "grant"):
            if self.run_to_end(one_shot, extra[one_shot]) is None:
                return False
        return True

    def start_services(self):
        """The replicas compose starts of each long-running service; `ports`
        holds where each serves what compose publishes."""
        for service_name in ["changefeed", "sink", "aggregator", "producer", "webhooks", "cache",
                             "api", "archiver"]:
            replicas = (self.services[service_name].get("deploy") or {}).get("replicas", 1)
            for i in range(replicas):
                env, ports = self.environment(service_name, self.extra[service_name])
                self.ports[service_name] = ports
                log = open(os.path.join(self.logs, f"{service_name}-{i + 1}.log"), "w")
                self.children.append((f"{service_name}-{i + 1}",
                                      subprocess.Popen(self.argv(service_name), env=env, stdout=log, stderr=log)))
        print(f"ok: {self.what}: started {', '.join(n for n, _ in self.children)} (logs in {self.logs})")

    def create_roles(self):
        """The API's and the services' roles, by the scripts the postgres
        image runs when it initialises a volume (as the superuser, with the
        postgres service's MILLRACE_ variables); only the role names are
        this run's."""
        roles, what = self.roles, self.what
        pattern = re.compile(r"\b(" + "|".join(sorted(roles, key=len, reverse=True)) + r")\b")
        postgres = self.services["postgres"]
        env = {k: in_volumes(str(v), postgres, self.volumes)
               for k, v in (postgres.get("environment") or {}).items() if k.startswith("MILLRACE_")}
        env.update({"PATH": "/usr/bin:/bin", "PGHOST": os.path.join(self.state_dir, "pgrun"),
                    "PGPORT": self.pg_host_port.rsplit(":", 1)[1], "POSTGRES_USER": "postgres",
                    "POSTGRES_DB": "millrace"})
        for script_name in ("20-api-roles.sh", "30-service-roles.sh"):
            path = os.path.join(self.source, "deploy/docker/postgres-init", script_name)
            renamed = os.path.join(self.logs, script_name)
            with open(renamed, "w") as f:
                f.write(pattern.sub(lambda m: roles[m.group(1)], open(path).read()))
            r = subprocess.run(["bash", renamed], env=env, capture_output=True, text=True,
                               timeout=60)
            if r.returncode != 0:
                fail(f"{what}: {script_name} exited {r.returncode}: {r.stderr.strip()}")
                return False
        listed = ", ".join(f"'{r}'" for r in roles.values())
        made = psql(self.superuser, "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles "
                                    "WHERE rolcanlogin AND NOT rolsuper AND NOT rolcreaterole "
                                    "AND NOT rolcreatedb AND NOT rolreplication AND rolname IN "
                                    f"({listed})")
        if made != ",".join(sorted(roles.values())):
            fail(f"{what}: the init scripts made the login roles {made!r}, "
                 f"not {sorted(roles.values())}")
            return False
        print(f"ok: {what}: the init scripts made {made} (LOGIN only)")
        # A password the .env set is the role's: the one its service uses.
        for var, value in sorted(self.dotenv.items()):
            m = re.fullmatch(r"MILLRACE_(\w+)_PG_PASSWORD", var)
            role = self.roles.get("millrace_" + m.group(1).lower()) if m else None
            if role is None:
                continue
            try:
                psql(f"postgresql://{role}:{value}@{self.pg_host_port}/millrace", "SELECT 1")
            except subprocess.CalledProcessError as e:
                fail(f"{what}: {role} does not log in with the .env's {var}: {e.stderr.strip()}")
                return False
            print(f"ok: {what}: {role} logs in with the .env's {var}")
        return True

    def drop_roles(self):
        for role in self.roles.values():
            if psql(self.superuser, f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'") == "1":
                psql(self.superuser, f"DROP OWNED BY {role}")
                psql(self.superuser, f"DROP ROLE {role}")

    def stop(self):
        """Stops what it started, each service by SIGTERM within the
        stop_grace_period, and removes what it made."""
        if self.broker:
            self.broker.stop()
        self.stop_services()
        if self.s3:
            self.s3.stop()
        self.clean_up()
        # Its logs and data (about 12 MB) are kept only for a failure to name.
        if not failures:
            shutil.rmtree(self.logs, ignore_errors=True)

    def stop_services(self):
        what, children = self.what, self.children
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
                fail(f"{what}: {name_} exited {code} on SIGTERM; see {self.logs}")
        if children:
            print(f"ok: {what}: every service stopped on SIGTERM")

    def clean_up(self):
        """The schema, the publication, the slot, the roles and the cache's
        entries of this run."""
        psql(self.pg_url, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        psql(self.pg_url, f"DROP PUBLICATION IF EXISTS {self.changes['MILLRACE_CHANGEFEED_PUBLICATION']}")
        subprocess.run([os.path.join(self.bin_dir, "millrace"), "changefeed", "drop-slot"],
                       env={"PATH": "/usr/bin:/bin",
                            "MILLRACE_CHANGEFEED_PG": self.stack["MILLRACE_CHANGEFEED_PG"], **self.changes},
                       capture_output=True, timeout=60)
        self.drop_roles()
        # The generations' entries (the cache withdrew its live mark on SIGTERM).
        keys = subprocess.run(["redis-cli", "-u", self.redis_url, "--scan", "--pattern",
                               f"millrace:{self.schema}:*"], capture_output=True, text=True,
                              timeout=60).stdout.splitlines()  # keys may hold blanks
        for i in range(0, len(keys), 1000):
            subprocess.run(["redis-cli", "-u", self.redis_url, "UNLINK"] + keys[i:i + 1000],
                           capture_output=True, timeout=60)
