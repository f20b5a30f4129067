"""The secure rehearsal's broker, run from compose's own settings.
"""

import os
import re
import subprocess
import time

from pysupport import free_port

from .compose import in_volumes
from .failures import fail
from .kafka import kafka_properties


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
