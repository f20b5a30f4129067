"""The rehearsal's S3 store, run from compose's own settings.
"""

import glob
import os
import re
import signal
import subprocess
import time

from pysupport import free_port

from .compose import in_volumes, volume_mounts
from .failures import fail


class RehearsalS3:
    """docker-compose.yml's seaweedfs service, run here from its own
    settings: its command through its entrypoint, deploy/docker/seaweedfs.sh
    (which writes weed's identities from the one-shot secrets' keys), with
    scripts/bootstrap's weed (.cache/bin) for the image's, each port it
    listens on moved to a free one, its address and its data directory
    made this run's. Then compose's healthcheck and its one-shot s3-bucket
    run as written, with the addresses moved alike."""

    # weed server's ports in the container: the S3 API (the command's
    # -s3.port), and the image's defaults for the master, the volume server,
    # the filer and their gRPC ports (the HTTP port + 10000), and the S3 gRPC.
    FLAGS = {8333: "-s3.port", 18333: "-s3.port.grpc", 9333: "-master.port",
             19333: "-master.port.grpc", 8080: "-volume.port", 18080: "-volume.port.grpc",
             8888: "-filer.port", 18888: "-filer.port.grpc"}

    def __init__(self, source, services, volumes, logs):
        self.services = services
        self.dir = os.path.join(logs, "seaweedfs")
        os.makedirs(os.path.join(self.dir, "bin"))
        self.weed = os.path.join(source, ".cache", "bin", "weed")
        # The data volume, and the secrets volumes the one-shot secrets made.
        self.volumes = {**volumes}
        for src, target in volume_mounts(services["seaweedfs"]):
            if target == "/data":
                self.volumes[src] = os.path.join(self.dir, "data")
                os.makedirs(self.volumes[src])
        self.ports = {p: free_port() for p in self.FLAGS}
        self.process = None
        # What the image's entrypoint does for `server`: weed, its log on
        # stderr (not in files under /tmp).
        self.entrypoint = os.path.join(self.dir, "bin", "entrypoint.sh")
        with open(self.entrypoint, "w") as f:
            f.write(f"#!/bin/sh\nexec '{self.weed}' -logtostderr \"$@\"\n")
        os.chmod(self.entrypoint, 0o755)

    def endpoint(self):
        return f"http://127.0.0.1:{self.ports[8333]}"

    def swap(self, value):
        """A client's setting with the store's compose address made this run's."""
        return str(value).replace("seaweedfs:8333", f"127.0.0.1:{self.ports[8333]}")

    def local(self, text, service_name):
        """A value of the service's settings as it means here."""
        text = re.sub(r"\b(127\.0\.0\.1|seaweedfs):(\d+)\b",
                      lambda m: f"127.0.0.1:{self.ports.get(int(m.group(2)), m.group(2))}", str(text))
        return in_volumes(text, self.services[service_name], self.volumes)

    def argv(self, service_name):
        service = self.services[service_name]
        argv = [self.local(a, service_name) for a in
                list(service.get("entrypoint") or []) + list(service.get("command") or [])]
        for src, target in volume_mounts(service):  # the bind-mounted script
            argv = [src if a == target else a for a in argv]
        return argv

    def env(self, service_name):
        env = {k: self.local(v, service_name)
               for k, v in (self.services[service_name].get("environment") or {}).items()}
        env["PATH"] = os.path.join(self.dir, "bin") + ":/usr/bin:/bin"
        return env

    def start(self, what):
        if not os.access(self.weed, os.X_OK):
            fail(f"{what}: no weed at {self.weed}: run scripts/bootstrap")
            return False
        # The image's weed, for the one-shot's `weed shell`.
        os.symlink(self.weed, os.path.join(self.dir, "bin", "weed"))
        argv = [a.replace("-ip=seaweedfs", "-ip=127.0.0.1").replace("-ip.bind=0.0.0.0", "-ip.bind=127.0.0.1")
                for a in self.argv("seaweedfs")]
        # After the command's own: weed takes the last of a flag given twice.
        argv += [f"{flag}={self.ports[port]}" for port, flag in self.FLAGS.items()]
        env = self.env("seaweedfs")
        env["MILLRACE_S3_IDENTITIES"] = os.path.join(self.dir, "identities.json")
        env["MILLRACE_WEED_ENTRYPOINT"] = self.entrypoint
        log_path = os.path.join(self.dir, "weed.log")
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=log,
                                            start_new_session=True)
        test = (self.services["seaweedfs"].get("healthcheck") or {}).get("test") or []
        check = ["sh", "-c", self.local(test[1], "seaweedfs")] if test[:1] == ["CMD-SHELL"] else \
            [self.local(a, "seaweedfs") for a in test[1:]]
        deadline = time.time() + 90
        while subprocess.run(check, capture_output=True, timeout=30).returncode != 0:
            if self.process.poll() is not None or time.time() > deadline:
                fail(f"{what}: weed with the seaweedfs service's settings never passed its "
                     f"healthcheck; see {log_path}")
                return False
            time.sleep(0.5)
        print(f"ok: {what}: weed with the seaweedfs service's settings passes its healthcheck")
        env = self.env("s3-bucket")
        # weed shell finds the master's gRPC on its port + 10000, unless told.
        host, port = self.services["s3-bucket"]["environment"]["MILLRACE_WEED_MASTER"].split(":")
        env["MILLRACE_WEED_MASTER"] = f"127.0.0.1:{self.ports[int(port)]}.{self.ports[int(port) + 10000]}"
        r = subprocess.run(self.argv("s3-bucket"), env=env, capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            fail(f"{what}: s3-bucket exited {r.returncode}: {(r.stdout + r.stderr)[-1500:]}")
            return False
        print(f"ok: {what}: s3-bucket completed ({r.stdout.strip()})")
        return True

    def objects(self, bucket, prefix, credentials_file):
        """The keys under prefix in the bucket, listed with the keys of AWS's
        shared credentials file (curl signs), or None when refused."""
        keys = dict(re.findall(r"^\s*(aws_\w+)\s*=\s*(\S+)", open(credentials_file).read(), re.M))
        user = f'user = "{keys["aws_access_key_id"]}:{keys["aws_secret_access_key"]}"\n'
        # curl signs the query as it is given: names sorted, values encoded.
        url = f"{self.endpoint()}/{bucket}?list-type=2&prefix={prefix.replace('/', '%2F')}"
        r = subprocess.run(["curl", "-sS", "-f", "-K", "-", "--aws-sigv4", "aws:amz:us-east-1:s3", url],
                           input=user, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return None
        return re.findall(r"<Key>([^<]*)</Key>", r.stdout)

    def stop(self):
        """Its data is this run's: no graceful stop (weed's filer waits 15 s
        for its streams), and the unix sockets weed leaves in /tmp go too."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for port in self.ports.values():
            for sock in glob.glob(f"/tmp/seaweedfs-*-{port}.sock"):
                os.remove(sock)
