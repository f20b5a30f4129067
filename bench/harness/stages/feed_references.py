"""The change feed's latency references (issue 40): what PostgreSQL's own
logical decoding client and a bare transactional Kafka producer take, on
this machine, at the rate the feed is measured at. The feed's commit to
read_committed visibility is held against their sum.
"""

import datetime
import json
import os
import re
import subprocess
import threading
import time

from ..common import BIN, COMMANDS, percentiles_ms, run

_COMMIT = re.compile(r"^COMMIT \d+ \(at (.+)\)$")


def _timestamp(text):
    """test_decoding's commit time ("2026-11-26 06:01:02.123456+00") as
    Unix seconds."""
    if re.search(r"[+-]\d\d$", text):
        text += ":00"
    return datetime.datetime.fromisoformat(text).timestamp()


class RecvLogicalListener:
    """pg_recvlogical on a slot of its own (test_decoding, with commit
    times), its output read as it is written and each COMMIT stamped with the
    wall clock when it arrived: (arrival, commit time), both Unix seconds.
    The slot is made at start, so it sees what is committed from then on,
    and dropped at close."""

    SLOT = "bench_recvlogical_delay"

    def __init__(self, feed_pg, log_path):
        self.feed_pg = feed_pg
        self._sql(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                  f"WHERE slot_name = '{self.SLOT}'")
        self._sql(f"SELECT pg_create_logical_replication_slot('{self.SLOT}', 'test_decoding')")
        cmd = ["pg_recvlogical", "-d", feed_pg, "--slot", self.SLOT, "--start", "-o", "include-timestamp=1",
               "-o", "skip-empty-xacts=1", "-f", "-"]
        COMMANDS.append(" ".join(cmd).replace(feed_pg, '"$MILLRACE_CHANGEFEED_PG"') +
                        "  # beside the stage, stopped at its end")
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self.commits = []
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _sql(self, sql):
        run(["psql", self.feed_pg, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], record=False)

    def _listen(self):
        for line in self.proc.stdout:
            now = time.time()
            m = _COMMIT.match(line.strip())
            if m:
                self.commits.append((now, _timestamp(m.group(1))))

    def delays_since(self, wall_start):
        """Commit to receipt, in seconds, for what was committed from
        `wall_start` on."""
        return [arrived - committed for arrived, committed in self.commits if committed >= wall_start]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.thread.join(timeout=10)
        self.log.close()
        self._sql(f"SELECT pg_drop_replication_slot('{self.SLOT}')")


def bare_transactions(stack, rate, seconds, offsets):
    """millrace-bench-paced-transactions (bench/paced_transactions.cpp) at
    `rate` for `seconds` on a topic of its own: one small Kafka transaction
    per slot, with an offset sent into each when `offsets` (as the feed's
    checkpoint is). Its slot-to-commit percentiles, in ms."""
    topic = f"bench_txn_reference_{'offsets' if offsets else 'plain'}_{os.getpid()}"
    stack.create_topic(topic)
    cmd = [os.path.join(BIN, "millrace-bench-paced-transactions"), "--brokers", stack.brokers, "--topic", topic,
           "--rate", str(rate), "--seconds", str(seconds)]
    if offsets:
        cmd += ["--offsets-group", topic]
    out = json.loads(run(cmd).stdout)
    return out["slot_to_commit_ms"] | {"transactions_per_s": out["transactions_per_s"]}


def feed_goal(consumer_ms, recvlogical_ms, transaction_ms):
    """Issue 40's change-feed goal: commit to read_committed visibility, at
    p99, over the sum of the two references' p99s; at most 2 meets it."""
    bound = recvlogical_ms["p99"] + transaction_ms["p99"]
    return {"sum_of_references_p99_ms": bound,
            "ratio_p99": round(consumer_ms["p99"] / bound, 2) if bound > 0 else None,
            "met": bound > 0 and consumer_ms["p99"] <= 2 * bound}


def recvlogical_percentiles(listener, wall_start):
    delays = listener.delays_since(wall_start)
    return percentiles_ms(delays) if delays else None
