"""After the schedule (Recovery, a part of run.Run): the waits until every
consumer group, the change feed and the webhooks have caught up, and the
services' end: SIGTERM with a clean exit each, the exits nobody caused,
and the kill on any way out.
"""
import json
import signal
import subprocess
import time

from run_stack import log


class Recovery:
    # --- recovery ----------------------------------------------------------
    def end_offsets(self, topic):
        meta = json.loads(subprocess.run(["kcat", "-b", self.env["MILLRACE_BROKERS"], "-L", "-J", "-t", topic],
                                         stdout=subprocess.PIPE, text=True, timeout=60).stdout)
        parts = [p["partition"] for t in meta["topics"] if t["topic"] == topic for p in t["partitions"]]
        args = ["kcat", "-b", self.env["MILLRACE_BROKERS"], "-Q"]
        for p in parts:
            args += ["-t", f"{topic}:{p}:-1"]
        out = subprocess.run(args, stdout=subprocess.PIPE, text=True, timeout=60).stdout
        ends = {}
        for line in out.splitlines():  # "store-events [0] offset 1278"
            bits = line.split()
            if len(bits) == 4 and bits[0] == topic and bits[2] == "offset":
                ends[int(bits[1].strip("[]"))] = int(bits[3])
        return ends

    def stored(self, group):
        out = self.psql(f"SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = '{group}'")
        return int(out) if out else -1

    def wait_caught_up(self, stall_s=90):
        groups = {"millrace-sink": "store-events", "millrace-aggregator": "store-events",
                  "millrace-archiver": "store-events", "millrace-sink-order": "store-orders",
                  "millrace-aggregator-order": "store-orders"}
        ends = {t: sum(self.end_offsets(t).values()) for t in set(groups.values())}
        log(f"recovery: topic ends {ends}")
        best, last_rise = -1, time.time()
        while True:
            behind = {g: ends[t] - self.stored(g) for g, t in groups.items()}
            total = sum(max(0, b) for b in behind.values())
            if total == 0:
                log("recovery: every consumer group caught up")
                return True, behind
            if best < 0 or total < best:
                best, last_rise = total, time.time()
            if time.time() - last_rise > stall_s:
                log(f"recovery: no progress for {stall_s} s: {behind}")
                return False, behind
            time.sleep(1)

    def wait_feed(self, stall_s=90):
        lsn = (self.psql("SELECT pg_current_wal_lsn()") or "").strip()
        deadline = time.time() + stall_s
        while time.time() < deadline:
            ok = self.psql(f"SELECT bool_and(confirmed_flush_lsn >= '{lsn}') FROM pg_replication_slots "
                           "WHERE slot_type = 'logical'")
            if ok and ok.strip() == "t":
                return True
            time.sleep(1)
        return False

    def wait_webhooks(self, expected, stall_s=90):
        best, last_rise = -1, time.time()
        while True:
            with self.receiver.lock:
                got = min(len(set(self.receiver.ids.get(e, [])) & expected) for e in self.receiver.secrets)
            if got >= len(expected):
                return True
            if got > best:
                best, last_rise = got, time.time()
            if time.time() - last_rise > stall_s:
                return False
            time.sleep(1)

    # --- the services' end -----------------------------------------------
    def no_self_exits(self):
        """A fault the pipeline recovers from is no reason to exit: a service
        that exited by itself (the harness restarted it, as systemd would) is
        a broken promise, with its first exit and its log's last lines."""
        exits = [(t, s.name, status) for s in self.services.values() for t, status in s.self_exits]
        detail = f"{len(exits)} exit(s) the schedule did not cause"
        if exits:
            t, name, status = min(exits)
            last = ""
            try:
                with open(self.services[name].log_path, errors="replace") as f:
                    lines = [line.strip() for line in f]
                # The last line logged at level ERROR (the failure that ended
                # it), else the last that names an error (a stop summary does).
                leveled = [line for line in lines if " ERROR " in line or " FATAL " in line]
                named = [line for line in lines if "fatal" in line or "error" in line]
                last = (leveled or named or [""])[-1][:300]
            except OSError:
                pass
            detail += f"; first: {name} at t+{t}s, status {status}" + (f": {last}" if last else "")
        return ("no service exits unless the schedule stopped it", bool(exits), detail)

    def stop_services(self):
        """SIGTERM to every service; the names of those that did not exit 0."""
        bad = []
        for s in self.services.values():
            s.stopped = True
            s.signal(signal.SIGCONT)
            s.signal(signal.SIGTERM)
        for s in self.services.values():
            try:
                status = s.proc.wait(60)
            except subprocess.TimeoutExpired:
                s.signal(signal.SIGKILL)
                s.proc.wait()
                status = "timeout"
            if status != 0:
                bad.append(f"{s.name} ({status})")
        return bad

    def kill_all(self):
        self.stopping = True
        for s in self.services.values():
            s.stopped = True
            if s.proc and s.proc.poll() is None:
                s.signal(signal.SIGCONT)
                s.signal(signal.SIGKILL)
                s.proc.wait()
