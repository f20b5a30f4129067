"""The three-broker stack as the run drives it (Stack: deploy/local/stack on
the state dir, its servers' environment, pids and ports; SERVER_NODE), and
log, the timestamped line every part of the run writes.
"""
import os
import subprocess
import threading
import time
import urllib.parse

SERVER_NODE = {"kafka-1": 0, "kafka-2": 1, "kafka-3": 2}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Stack:
    """deploy/local/stack on the state dir; one call at a time (faults on
    different servers run on their own threads)."""

    def __init__(self, repo, state):
        self.repo, self.state = repo, state
        self.lock = threading.Lock()
        self.env = self._env()

    def call(self, *args, check=False):
        with self.lock:
            r = subprocess.run([f"{self.repo}/deploy/local/stack", *args],
                               env={**os.environ, "MILLRACE_STATE_DIR": self.state},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"stack {' '.join(args)}: {r.stdout[-2000:]}")
        return r

    def _env(self):
        out = self.call("env", check=True).stdout
        env = {}
        for line in out.splitlines():
            if line.startswith("export ") and "=" in line:
                k, _, v = line[7:].partition("=")
                env[k] = v.strip("'\"")
        return env

    def pid(self, server):
        out = self.call("status").stdout
        for line in out.splitlines():
            if line.strip().startswith(server + ":") and "running (pid " in line:
                return int(line.split("running (pid ")[1].split(")")[0].split()[0].rstrip(","))
        return -1

    def ports(self, server):
        """The TCP ports a server listens on (a Kafka node: its client and
        controller ports)."""
        if server.startswith("kafka-"):
            base = int(self.env["MILLRACE_BROKERS"].split(",")[0].rsplit(":", 1)[1])
            i = SERVER_NODE[server]
            return [base + 2 * i, base + 2 * i + 1]
        if server == "postgres":
            return [int(urllib.parse.urlparse(self.env["MILLRACE_PG"]).port)]
        raise ValueError(server)
