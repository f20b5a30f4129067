"""Prometheus' configuration against the services it scrapes, and the
secure profile's monitoring files against the plain ones.
"""

import os
import re
import shutil
import subprocess
import tempfile

import yaml

from .compose import local_path, volume_mounts
from .failures import fail


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
