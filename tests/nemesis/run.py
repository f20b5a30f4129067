"""One nemesis run: the whole pipeline on a three-broker stack, a steady load,
the schedule's faults applied, a recovery, then check.py's verdicts.

Only the pipeline's binaries and the stack script are the project's code
here; the load, the webhook receiver and every check are the harness' own
(HTTP, psql, kcat, redis-cli).

Run is made of parts next to this file, each a class of its own:
run_pipeline.py (Pipeline: setup, the services, the webhook receiver),
run_faults.py (Faults: applying and undoing the schedule's faults) and
run_recovery.py (Recovery: the waits after the schedule and the services'
end); run_load.py holds the load, run_stack.py the stack and the log line.
This file holds Run itself: its state, the helpers every part calls
(millrace, psql, role) and the run's steps in order (main).
"""
import os
import subprocess
import threading
import time
import urllib.parse

import schedule
from run_faults import Faults
from run_load import Load
from run_pipeline import Pipeline
from run_recovery import Recovery
from run_stack import Stack, log


class Run(Pipeline, Faults, Recovery):
    def __init__(self, repo, bin_dir, state, work, seeds, minutes_per_seed):
        self.repo, self.bin_dir = repo, os.path.abspath(bin_dir)
        self.state, self.work = os.path.abspath(state), os.path.abspath(work)
        # The load's pools come from the first seed; the run lasts every
        # seed's minutes.
        self.seeds, self.minutes_per_seed = list(seeds), minutes_per_seed
        self.seed, self.minutes = self.seeds[0], minutes_per_seed * len(self.seeds)
        os.makedirs(self.work, exist_ok=True)
        self.stack = Stack(repo, state)
        self.env = dict(os.environ)
        self.env.update(self.stack.env)
        self.env["MILLRACE_STATE_DIR"] = state
        self.services = {}
        self.cuts = set()
        self.isolations = []  # iptables rules (without the action) of broker-isolate faults
        self.slow_disks = set()  # blkio groups of pg-slow-disk faults
        self.slowing = False  # lo's root qdisc is ours (slow_root)
        self.fault_log = []
        self.fault_lock = threading.Lock()
        self.t0 = None
        self.stopping = False

    # --- helpers ---------------------------------------------------------
    def millrace(self, *args, env=None, check=True, timeout=300):
        r = subprocess.run([f"{self.bin_dir}/millrace", *args], env={**self.env, **(env or {})},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"millrace {' '.join(args)}: {r.stderr[-2000:]}")
        return r

    def psql(self, sql, timeout=60, url=None):
        """stdout of the SQL (unaligned, tuples only), or None when it failed."""
        try:
            r = subprocess.run(["psql", url or self.env["MILLRACE_PG"], "-X", "-q", "-At",
                                "-v", "ON_ERROR_STOP=1", "-c", sql], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=timeout,
                               env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
        except subprocess.TimeoutExpired:
            return None
        return r.stdout if r.returncode == 0 else None

    def role(self, var):
        return urllib.parse.urlparse(self.env[var]).username

    # --- the run -----------------------------------------------------------
    def main(self):
        faults = schedule.draw_seeds(self.seeds, self.minutes_per_seed)
        if any(f["kind"].endswith("-cut") or f["kind"] == "broker-isolate" for f in faults) and subprocess.run(
                ["iptables", "-w", "-S", "INPUT"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode != 0:
            raise RuntimeError("the schedule cuts ports, which needs root and iptables (iptables -S INPUT failed)")
        if any(f["kind"] == "broker-isolate" for f in faults):
            for b in schedule.BROKERS:
                self.stack_cgroup(b)
        if any(f["kind"] == "pg-slow-disk" for f in faults):
            self.check_slow_disk()
        if any(f["kind"].endswith("-slow") for f in faults):
            self.slow_root()
        text = schedule.render(self.seeds, self.minutes_per_seed, faults)
        print(text, flush=True)
        with open(os.path.join(self.work, "schedule.json"), "w") as f:
            f.write(schedule.to_json(self.seeds, self.minutes_per_seed, faults))
        log("setup: migrate, topics, grants, catalog, record pools")
        self.setup()
        # Before the services: an endpoint receives the changes the webhooks
        # service reads after it is stored (docs/webhooks.md), and the
        # change feed's first changes (its initial snapshot's backfills)
        # come as it starts. Added after, the endpoints missed one on seed
        # 11 (a backfill's end, read 0.3 s before them) when two runs shared
        # the machine.
        self.add_endpoints()
        self.start_services()
        self.wait_ready()
        log(f"pipeline ready (logs in {self.work}); load starts, then the schedule")
        load = self.load = Load(self)
        self.t0 = time.time()
        load.start()
        threads = [threading.Thread(target=self.apply, args=(f,), daemon=True) for f in faults]
        for t in threads:
            t.start()
        time.sleep(max(0.0, self.t0 + self.minutes * 60 - time.time()))
        for t in threads:
            t.join(120)
        load.join()
        log(f"schedule done: {len(load.acked_events)} events and {len(load.acked_orders)} orders acknowledged")
        self.undo_everything()
        time.sleep(2)
        for s in self.services.values():
            if not s.running():
                s.start()
        caught_up, behind = self.wait_caught_up()
        feed_ok = self.wait_feed()
        log(f"recovery: change feed {'caught up' if feed_ok else 'behind'}")
        import check
        checker = check.Checker(self)
        changes = checker.read_changes()
        hooks_ok = self.wait_webhooks({c["id"] for c in changes if c["table"] == "public.nemesis_items"})
        log(f"recovery: webhooks {'delivered everything' if hooks_ok else 'stalled'}")
        time.sleep(3)  # the cache applies the feed's last changes
        results = checker.check_all(load, changes)
        self.stopping = True
        clean = self.stop_services()
        results.append(("clean shutdown (SIGTERM, exit 0)", bool(clean), f"{len(self.services) - len(clean)} of {len(self.services)} exited 0" + (f"; not: {', '.join(clean)}" if clean else "")))
        results.append(self.no_self_exits())
        self.receiver.stop()
        return faults, load, results, caught_up and feed_ok and hooks_ok
