"""A read_committed consumer of a change topic beside a stage, and the
change records' commit times: what the change feed's consumers see, timed
outside them.
"""

import datetime
import json
import subprocess
import time

from ..common import COMMANDS


class ChangeListener:
    """The change topic read as it is written (kcat, read_committed, from the
    beginning), each record stamped with the wall clock when it arrived:
    (time, kcat's JSON envelope). The envelope's `ts` is the record's Kafka
    timestamp (CreateTime: when millrace-changefeed produced it)."""

    def __init__(self, brokers, topic, log_path):
        import threading
        cmd = ["kcat", "-b", brokers, "-C", "-t", topic, "-o", "beginning", "-u", "-q", "-J",
               "-X", "isolation.level=read_committed"]
        COMMANDS.append(" ".join(cmd) + "  # beside the stage, stopped at its end")
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self.records = []
        self.thread = threading.Thread(target=self.listen, daemon=True)
        self.thread.start()

    def listen(self):
        for line in self.proc.stdout:
            now = time.time()
            if line.startswith("{"):
                self.records.append((now, json.loads(line)))

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.thread.join(timeout=10)
        self.log.close()


def commit_seconds(commit_time):
    """source.commit_time ("2026-01-02T03:04:05.123456Z") as Unix seconds."""
    return datetime.datetime.fromisoformat(commit_time.replace("Z", "+00:00")).timestamp()
