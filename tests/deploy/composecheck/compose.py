"""docker-compose's own view of the files: the resolved configuration, the
passwords it requires, and what a service mounts and publishes.
"""

import os
import subprocess

import yaml

from .failures import fail


SECURE_FILE = "deploy/docker/compose.secure.yml"
FILE_SETS = [
    ["docker-compose.yml"],
    ["docker-compose.yml", "deploy/docker/compose.kafka-cluster.yml"],
    ["docker-compose.yml", SECURE_FILE],
]


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


def published_port(entry):
    """(published, target) of a ports entry, short ("127.0.0.1:9092:9092")
    or long form."""
    if isinstance(entry, dict):
        return str(entry.get("published")), str(entry.get("target"))
    parts = str(entry).split("/", 1)[0].split(":")
    return parts[-2], parts[-1]


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


def in_volumes(value, service, volumes):
    """value with every path inside a certs volume the service mounts
    replaced by where that volume is here."""
    for src, target in sorted(volume_mounts(service), key=lambda m: -len(m[1])):
        if src in volumes:
            value = value.replace(target, volumes[src])
    return value


def local_path(path, service, volumes):
    """Where a path inside a service's container is here, if it lies in a
    certs volume the service mounts."""
    for src, target in volume_mounts(service):
        if src in volumes and (path == target or path.startswith(target + "/")):
            return volumes[src] + path[len(target):]
    return None


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
