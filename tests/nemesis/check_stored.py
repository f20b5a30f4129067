"""What was acknowledged is stored, once (Stored, a part of check.Checker):
acknowledged events in Kafka and the kept ones in store_events (1),
partition_accounting (2), acknowledged orders in orders/order_lines (3),
and the archive against the topic (7).
"""
import json
import os
import subprocess

KEEP_TYPES = {"sale_event", "inventory_event"}  # MILLRACE_KEEP_TYPES' default
MIN_DISCOUNT = 20                               # MILLRACE_MIN_DISCOUNT's default


class Stored:
    # 1. acknowledged events: in Kafka where acknowledged, kept ones stored once
    def events(self):
        load = self.run.load
        topic = {(m["partition"], m["offset"]): m["payload"] for m in self.kcat("store-events")}
        missing = [i for i, (p, o, line) in load.acked_events.items() if topic.get((p, o)) != line]
        r1 = ("acknowledged events are in Kafka (at their partition and offset, byte for byte)",
              bool(missing), f"{len(load.acked_events) - len(missing)} of {len(load.acked_events)}"
              f" found ({load.unacked_events} unacknowledged not counted)"
              + (f"; first missing: id {missing[0]} at {load.acked_events[missing[0]][:2]}" if missing else ""))
        rows = self.run.psql("SELECT id, count(*) FROM store_events GROUP BY id", timeout=300)
        stored = {}
        for line in (rows or "").splitlines():
            i, _, n = line.partition("|")
            stored[i] = int(n)
        kept = []
        for i, (_, _, line) in load.acked_events.items():
            e = json.loads(line)
            if e.get("event_type") in KEEP_TYPES and float(e.get("discount", 0)) > MIN_DISCOUNT:
                kept.append(i)
        lost = [i for i in kept if stored.get(i, 0) == 0]
        dup = [i for i, n in stored.items() if n > 1]
        sent_ids = {json.loads(v).get("id") for v in topic.values() if v and v.startswith("{")}
        stray = [i for i in stored if i not in sent_ids]
        r2 = ("kept acknowledged events are in store_events exactly once",
              bool(lost or dup or stray),
              f"{len(kept)} kept of {len(load.acked_events)} acknowledged; lost {len(lost)},"
              f" duplicated {len(dup)}, rows not in the topic {len(stray)}"
              + (f"; first lost: {lost[0]}" if lost else "")
              + (f"; first duplicated: {dup[0]}" if dup else "")
              + (f"; first stray: {stray[0]}" if stray else ""))
        return [r1, r2]

    # 2. every consumed record accounted for
    def accounting(self):
        out = self.run.psql("SELECT group_id, sum(consumed), sum(unaccounted) FROM partition_accounting "
                            "GROUP BY group_id ORDER BY group_id")
        if out is None:
            return ("partition_accounting: unaccounted is 0", True, "could not read partition_accounting")
        bad, groups = [], []
        for line in out.splitlines():
            g, consumed, unacc = line.split("|")
            groups.append(f"{g} {consumed}")
            if int(unacc or 0) != 0:
                bad.append(f"{g}: {unacc} unaccounted")
        return ("partition_accounting: unaccounted is 0 in every group", bool(bad),
                f"{len(groups)} group(s) (consumed: {', '.join(groups)})" + (f"; {bad[0]}" if bad else ""))

    # 3. acknowledged orders stored once, with their lines
    def orders(self):
        load = self.run.load
        out = self.run.psql('SELECT o.payment_transaction_id, count(*), '
                            '(SELECT count(*) FROM order_lines l WHERE l.payment_transaction_id = o.payment_transaction_id) '
                            'FROM orders o GROUP BY o.payment_transaction_id', timeout=300)
        if out is None:
            return ("acknowledged orders are in orders/order_lines once", True, "could not read orders")
        stored = {}
        for line in out.splitlines():
            i, n, lines = line.split("|")
            stored[i] = (int(n), int(lines))
        lost, dup, badlines = [], [], []
        for i, (_, _, line) in load.acked_orders.items():
            want = len(json.loads(line).get("Details", []))
            got = stored.get(i)
            if got is None:
                lost.append(i)
            elif got[0] > 1:
                dup.append(i)
            elif got[1] != want:
                badlines.append(f"{i}: {got[1]} line(s), sent {want}")
        return ("acknowledged orders are in orders/order_lines once", bool(lost or dup or badlines),
                f"{len(load.acked_orders)} acknowledged ({load.unacked_orders} not); lost {len(lost)},"
                f" duplicated {len(dup)}, wrong lines {len(badlines)}"
                + (f"; first lost: {lost[0]}" if lost else "") + (f"; first duplicated: {dup[0]}" if dup else "")
                + (f"; first: {badlines[0]}" if badlines else ""))

    # 7. the archive holds every record of the topic once
    def archive(self):
        archiver = self.run.services["archiver"]
        archiver.stopped = True
        archiver.signal(15)
        try:
            archiver.proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        verify = self.run.millrace("archive", "verify", check=False,
                                   env={"MILLRACE_ARCHIVE_URL": "file://" + self.run.archive_dir,
                                        "MILLRACE_PG": self.env["MILLRACE_PG"]})
        dump = os.path.join(self.run.work, "topic.dump")
        with open(dump, "w") as f:
            subprocess.run(["kcat", "-C", "-b", self.env["MILLRACE_BROKERS"], "-t", "store-events", "-e",
                            "-q", "-f", "%p %o %K %S %h\n%k%s\n"], stdout=f, timeout=600)
        python = os.path.join(self.run.repo, ".cache/venv/bin/python")
        check = subprocess.run([python, os.path.join(self.run.repo, "tests/archive/check_archive.py"),
                                self.run.archive_dir, "millrace", "store-events", dump],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        last = (verify.stdout.strip().splitlines() or [""])[-1]
        return ("the archive holds every record of the topic once (archive verify; fastavro vs kcat)",
                verify.returncode != 0 or check.returncode != 0,
                f"archive verify exit {verify.returncode} ({last}); fastavro check exit {check.returncode}"
                + (f": {check.stdout.strip().splitlines()[-1] if check.stdout.strip() else ''}"))
