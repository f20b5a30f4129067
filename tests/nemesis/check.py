"""The nemesis' checker: every promise at once, from what the harness itself
recorded (acknowledgements, receiver arrivals) and what it reads with its
own clients (kcat, psql, redis-cli, fastavro through
tests/archive/check_archive.py). It shares no code with the pipeline.

Each check returns (promise, broken, detail); on a break the detail starts
with the counts and ends with the first counterexample.

The checks are in modules next to this file, each a class of its own that
Checker is made of: check_stored.py (Stored: acknowledged events and
orders, partition accounting, the archive), check_changes.py (Changes: the
change topic, webhooks, the cache and the catalog edits) and
check_views.py (Views: the views against a recomputation). This file holds
Checker itself: reading the topics (kcat, read_changes) and running every
check (check_all).
"""
import json
import subprocess

from check_changes import Changes
from check_stored import Stored
from check_views import Views


class Checker(Stored, Changes, Views):
    def __init__(self, run):
        self.run = run
        self.env = run.env

    def kcat(self, topic, committed=False):
        args = ["kcat", "-b", self.env["MILLRACE_BROKERS"], "-C", "-t", topic, "-e", "-q", "-J",
                "-o", "beginning"]
        if committed:
            args += ["-X", "isolation.level=read_committed"]
        out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"kcat {topic}: {out.stderr[-500:]}")
        return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]

    def read_changes(self):
        changes = []
        for m in self.kcat(self.env.get("MILLRACE_CHANGES_TOPIC", "millrace.changes"), committed=True):
            c = json.loads(m["payload"])
            c["_p"], c["_o"] = m["partition"], m["offset"]
            changes.append(c)
        return changes

    def check_all(self, load, changes):
        results = []
        checks = [("acknowledged events", self.events), ("partition_accounting", self.accounting),
                  ("acknowledged orders", self.orders),
                  ("the change topic", lambda: self.change_topic(changes)),
                  ("webhooks", lambda: self.webhooks(changes)), ("the cache", self.cache),
                  ("catalog edits", self.catalog_edits),
                  ("the views", self.views), ("the archive", self.archive)]
        for name, check in checks:
            try:
                out = check()
                results += out if isinstance(out, list) else [out]
            except Exception as e:  # a check that could not run is not a pass
                results.append((name, True, f"could not check: {e!r}"))
        return results
