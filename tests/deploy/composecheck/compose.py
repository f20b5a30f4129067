"""docker-compose's own view of the files: the resolved configuration, the
passwords it requires, the one-shot secrets, and what a service mounts and
publishes.
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


# What the secure profile requires: its SASL password, which the one-shot
# secrets does not make (letters and digits, as it says).
SECURE_PASSWORDS = {"MILLRACE_KAFKA_SASL_PASSWORD": "kafkaSasl123"}


def required_passwords(files):
    return SECURE_PASSWORDS if SECURE_FILE in files else {}


def compose_binary(source):
    """The pinned Docker Compose v2 that scripts/compose runs (scripts/bootstrap
    builds it into .cache/bin)."""
    return os.path.join(source, ".cache", "bin", "docker-compose")


def caller_env():
    """The caller's environment without its MILLRACE_ variables: none may
    leak into compose's interpolation, as if there were no .env."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MILLRACE_")}


def check_no_env_needed(source, files):
    """docker-compose accepts the files with no password or token set (the
    one-shot secrets makes them), but each the file still requires it
    refuses without, naming it."""
    # Every profile's services, not only the default ones.
    args = [compose_binary(source), "--profile", "*"]
    for f in files:
        args += ["-f", f]
    required = required_passwords(files)
    r = subprocess.run(args + ["config", "-q"], cwd=source, env={**caller_env(), **required},
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' + '.join(files)}: docker-compose refuses it without a .env: {r.stderr.strip()}")
    for missing in required:
        given = {k: v for k, v in required.items() if k != missing}
        r = subprocess.run(args + ["config", "-q"], cwd=source, env={**caller_env(), **given},
                           capture_output=True, text=True)
        if r.returncode == 0 or missing not in r.stderr:
            fail(f"{' + '.join(files)}: docker-compose accepts it without {missing}, "
                 "which the one-shot secrets does not make: it must never have a default")
    print(f"ok: {' + '.join(files)}: accepted without a .env"
          + (f", refused without each of {', '.join(required)}" if required else ""))


def compose_config(source, files, env=None):
    """The resolved configuration, with the documented defaults, what the
    files still require, and `env` as a .env would give it."""
    env = {**caller_env(), **required_passwords(files), **(env or {})}
    # Every profile's services, not only the default ones.
    args = [compose_binary(source), "--profile", "*"]
    for f in files:
        args += ["-f", f]
    subprocess.run(args + ["config", "-q"], cwd=source, env=env, check=True)
    out = subprocess.run(args + ["config"], cwd=source, env=env, check=True,
                         capture_output=True, text=True).stdout
    return yaml.safe_load(out)


def run_secrets(services, root):
    """Runs the secrets service's script as compose would (as root here, or
    with this user as every owner): each named volume it mounts is a
    directory under root, kept between runs. Returns the finished process
    and {volume name: directory}."""
    service = services["secrets"]
    env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
    argv = list(service.get("entrypoint") or []) + list(service.get("command") or [])
    volumes, script = {}, None
    for src, target in volume_mounts(service):
        if len(argv) > 1 and target == argv[1]:
            script = src
            continue
        volumes[src] = os.path.join(root, src)
        os.makedirs(volumes[src], exist_ok=True)
        for key, value in env.items():
            if value == target:
                env[key] = volumes[src]
    env["PATH"] = "/usr/bin:/bin"
    if os.geteuid() != 0:
        ids = f"{os.getuid()}:{os.getgid()}"
        env["MILLRACE_SECRETS_OWNERS"] = f"postgres={ids} millrace={ids} grafana={ids}"
    r = subprocess.run([argv[0], script or "(no script mounted)"] + argv[2:], env=env,
                       capture_output=True, text=True, timeout=60)
    return r, volumes


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
