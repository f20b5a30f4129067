"""The Kafka brokers' settings, judged by Kafka's own KafkaConfig.
"""

import base64
import os
import re
import shutil
import subprocess
import tempfile

from .compose import published_port
from .failures import fail


# The compose files' Kafka image (deploy/docker/images/kafka), which keeps
# the apache/kafka image's contract.
KAFKA_IMAGE = "millrace-kafka:"
# Read by the apache/kafka image's start scripts, not broker properties
# (docker/resources/common-scripts/kafka-propertiesSpec.json, plus
# KAFKA_HEAP_OPTS, which kafka-server-start.sh reads).
KAFKA_IMAGE_VARIABLES = {
    "KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL",
}


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
    brokers = {n: s for n, s in services.items() if str(s.get("image", "")).startswith(KAFKA_IMAGE)
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
