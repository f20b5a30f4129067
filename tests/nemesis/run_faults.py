"""The faults (Faults, a part of run.Run): each kind of the schedule's menu
applied at its time and undone after its duration (apply), with what that
takes (iptables cuts and isolations, blkio slow disks, tc slow links), and
undo_everything, which leaves nothing cut, slowed, stopped or down.
"""
import json
import os
import signal
import subprocess
import time

import schedule
from run_stack import SERVER_NODE, log


class Faults:
    # --- faults ----------------------------------------------------------
    def record(self, n, what):
        line = f"t+{time.time() - self.t0:7.1f}s  #{n:<3} {what}"
        with self.fault_lock:
            self.fault_log.append(line)
        log("fault " + line)

    def iptables(self, action, port):
        for chain, flag in (("INPUT", "--dport"), ("INPUT", "--sport")):
            r = subprocess.run(["iptables", "-w", action, chain, "-i", "lo", "-p", "tcp", flag, str(port),
                            "-m", "comment", "--comment", "millrace-nemesis", "-j", "DROP"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0 and action == "-I":
                log(f"iptables {action} {flag} {port} failed: {r.stderr.strip()}")

    def cut(self, server):
        for p in self.stack.ports(server):
            self.cuts.add(p)
            self.iptables("-I", p)

    def heal(self, server):
        for p in self.stack.ports(server):
            self.iptables("-D", p)
            self.cuts.discard(p)

    # A Kafka node cut from its peers only: each stack server runs in a
    # cgroup of its own (MILLRACE_STACK_CGROUP, set by scripts/nemesis), and
    # every packet a peer's socket sends to the node's client and
    # controller ports, or the node's sockets send to a peer's, is dropped
    # on its way out (iptables -m cgroup, OUTPUT). The services' sockets
    # are in no such cgroup: clients reach every node throughout.
    def stack_cgroup(self, server):
        base = os.environ.get("MILLRACE_STACK_CGROUP", "")
        with open("/proc/mounts") as f:
            roots = [line.split()[1] for line in f if line.split()[2:3] == ["cgroup2"]]
        if not base or not roots or not os.path.isdir(os.path.join(base, server)):
            raise RuntimeError(f"no cgroup for {server}: broker-isolate needs the stack started with "
                               "MILLRACE_STACK_CGROUP under a cgroup2 mount (scripts/nemesis does it as root)")
        return os.path.relpath(os.path.join(base, server), roots[0])

    def isolation_rules(self, server):
        rules = []
        for peer in schedule.BROKERS:
            if peer == server:
                continue
            for src, dst in ((server, peer), (peer, server)):
                for port in self.stack.ports(dst):
                    rules.append(["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", str(port), "-m", "cgroup",
                                  "--path", self.stack_cgroup(src), "-m", "comment", "--comment",
                                  "millrace-nemesis", "-j", "DROP"])
        return rules

    def isolate(self, server):
        for rule in self.isolation_rules(server):
            r = subprocess.run(["iptables", "-w", "-I", *rule], stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                log(f"iptables -I {' '.join(rule)} failed: {r.stderr.strip()}")
            self.isolations.append(rule)

    def unisolate(self, server):
        for rule in self.isolation_rules(server):
            subprocess.run(["iptables", "-w", "-D", *rule], stderr=subprocess.DEVNULL)
            if rule in self.isolations:
                self.isolations.remove(rule)

    def leaders(self, server):
        """How many partitions `server` leads, by the other nodes' metadata
        (what the cluster says while the node is cut off), for the log."""
        others = ",".join(f"127.0.0.1:{self.stack.ports(b)[0]}" for b in schedule.BROKERS if b != server)
        try:
            meta = json.loads(subprocess.run(["kcat", "-b", others, "-L", "-J", "-m", "5"], stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True, timeout=20).stdout)
        except (subprocess.TimeoutExpired, ValueError):
            return "?"
        node = SERVER_NODE[server] + 1
        return str(sum(1 for t in meta.get("topics", []) for p in t.get("partitions", []) if p.get("leader") == node))

    # PostgreSQL's slow disk: every PostgreSQL process (the postmaster and
    # its children; the backends it forks later inherit it) moved into a
    # blkio cgroup (v1) of the fault's own, whose writes to the disk of the
    # data directory are throttled (blkio.throttle.write_iops_device, and
    # 64 KiB an operation in write_bps_device). The throttle holds the
    # writes a process submits itself, which is what fsync and O_DSYNC do:
    # each commit's WAL flush waits its turn. Undone by moving them back to
    # the root group.
    BLKIO = "/sys/fs/cgroup/blkio"

    def data_disk(self):
        """major:minor of the disk holding PostgreSQL's data directory (the
        whole disk: blkio throttles disks, not partitions)."""
        st = os.stat(os.path.join(self.state, "pgdata"))
        dev = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
        sys_dir = os.path.realpath(f"/sys/dev/block/{dev}")
        if os.path.exists(os.path.join(sys_dir, "partition")):
            with open(os.path.join(os.path.dirname(sys_dir), "dev")) as f:
                dev = f.read().strip()
        return dev

    def check_slow_disk(self):
        group = os.path.join(self.BLKIO, f"millrace-nemesis-{os.getpid()}-probe")
        try:
            os.makedirs(group, exist_ok=True)
            with open(os.path.join(group, "blkio.throttle.write_iops_device"), "w") as f:
                f.write(f"{self.data_disk()} 1000\n")
        except OSError as e:
            raise RuntimeError(f"the schedule slows PostgreSQL's disk, which needs root and the blkio cgroup (v1) "
                               f"at {self.BLKIO} throttling the data directory's disk: {e}")
        finally:
            if os.path.isdir(group):
                os.rmdir(group)

    def postgres_pids(self):
        root = self.stack.pid("postgres")
        if root <= 0:
            return []
        pids = [root]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == root:
                            pids.append(int(entry))
                except (OSError, ValueError, IndexError):
                    pass
        return pids

    def move_to(self, group, pids):
        moved = 0
        for pid in pids:
            try:
                with open(os.path.join(group, "cgroup.procs"), "w") as f:
                    f.write(f"{pid}\n")
                moved += 1
            except OSError:  # gone meanwhile
                pass
        return moved

    def slow_disk(self, n, iops):
        group = os.path.join(self.BLKIO, f"millrace-nemesis-{os.getpid()}-{n}")
        os.makedirs(group, exist_ok=True)
        disk = self.data_disk()
        for name, value in (("write_iops_device", iops), ("write_bps_device", iops * 65536)):
            with open(os.path.join(group, f"blkio.throttle.{name}"), "w") as f:
                f.write(f"{disk} {value}\n")
        self.slow_disks.add(group)
        return self.move_to(group, self.postgres_pids())

    def unslow_disk(self, n):
        """Ends slow disk n; what PostgreSQL wrote through it, for the log."""
        group = os.path.join(self.BLKIO, f"millrace-nemesis-{os.getpid()}-{n}")
        served = ""
        try:
            with open(os.path.join(group, "blkio.throttle.io_serviced")) as f:
                served = next((line.split()[-1] for line in f if " Write " in line), "0")
        except OSError:
            pass
        self.release_disk(group)
        return served or "0"

    def release_disk(self, group):
        for _ in range(50):  # a backend forked while it was moved joins the group
            try:
                with open(os.path.join(group, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
            except OSError:
                break
            self.move_to(self.BLKIO, pids)
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.1)
        self.slow_disks.discard(group)

    # Slow links: an HTB qdisc at lo's root, whose default class lets
    # everything through, and a class of the fault's rate per slow fault,
    # with u32 filters (priority 100 + its number) sending its server's
    # ports to it, both ways. Only the schedule's thread of that fault
    # touches its class; the root is made once, before the load starts.
    def tc(self, *args):
        return subprocess.run(["tc", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def slow_root(self):
        shown = self.tc("qdisc", "show", "dev", "lo")
        if shown.returncode != 0 or not shown.stdout.startswith("qdisc noqueue"):
            raise RuntimeError("the schedule slows links with tc on lo, which needs root and lo's default "
                               f"qdisc (tc qdisc show dev lo: {(shown.stdout or shown.stderr).strip()})")
        for cmd in (["qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "1", "r2q", "10000"],
                    ["class", "add", "dev", "lo", "parent", "1:", "classid", "1:1", "htb", "rate", "100gbit"]):
            r = self.tc(*cmd)
            if r.returncode != 0:
                self.tc("qdisc", "del", "dev", "lo", "root")
                raise RuntimeError(f"tc {' '.join(cmd)}: {r.stderr.strip()} (the kernel needs sch_htb and cls_u32)")
        self.slowing = True

    def slow(self, n, server, rate_kbit):
        classid = f"1:{100 + n}"
        r = self.tc("class", "add", "dev", "lo", "parent", "1:", "classid", classid, "htb",
                    "rate", f"{rate_kbit}kbit", "ceil", f"{rate_kbit}kbit")
        if r.returncode != 0:
            log(f"tc class add {classid} failed: {r.stderr.strip()}")
        for port in self.stack.ports(server):
            for way in ("sport", "dport"):
                r = self.tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", str(100 + n),
                            "u32", "match", "ip", way, str(port), "0xffff", "flowid", classid)
                if r.returncode != 0:
                    log(f"tc filter add {way} {port} failed: {r.stderr.strip()}")

    def unslow(self, n):
        """Ends slow link n; what passed through it ("Sent ... bytes ...
        pkt (dropped ..., overlimits ...)"), for the log."""
        shown = self.tc("-s", "class", "show", "dev", "lo", "classid", f"1:{100 + n}").stdout
        self.tc("filter", "del", "dev", "lo", "parent", "1:", "prio", str(100 + n))
        self.tc("class", "del", "dev", "lo", "classid", f"1:{100 + n}")
        sent = [line.strip() for line in shown.splitlines() if line.strip().startswith("Sent")]
        return sent[0] if sent else "no statistics"

    def apply(self, f):
        n, kind, target, d = f["n"], f["kind"], f["target"], f["duration"]
        delay = self.t0 + f["at"] - time.time()
        if delay > 0:
            time.sleep(delay)
        if kind == "sigkill":
            s = self.services[target]
            s.expected_down = True
            s.signal(signal.SIGKILL)
            self.record(n, f"SIGKILL {target}")
            time.sleep(d)
            s.proc.wait()
            s.start()
            self.record(n, f"restarted {target}")
        elif kind == "sigstop":
            s = self.services[target]
            s.signal(signal.SIGSTOP)
            self.record(n, f"SIGSTOP {target}")
            time.sleep(d)
            s.signal(signal.SIGCONT)
            self.record(n, f"SIGCONT {target}")
        elif kind == "broker-kill":
            pid = self.stack.pid(target)
            if pid > 0:
                os.kill(pid, signal.SIGKILL)
            self.record(n, f"SIGKILL {target} (pid {pid})")
            time.sleep(d)
            r = self.stack.call("up", "kafka")
            self.record(n, f"stack up kafka: exit {r.returncode}")
        elif kind in ("broker-cut", "pg-cut"):
            self.cut(target)
            self.record(n, f"cut {target} (ports {self.stack.ports(target)})")
            time.sleep(d)
            self.heal(target)
            self.record(n, f"healed {target}")
        elif kind == "pg-slow-disk":
            iops = f["write_iops"]
            moved = self.slow_disk(n, iops)
            self.record(n, f"slowed PostgreSQL's disk ({self.data_disk()}) to {iops} writes/s, "
                           f"{iops * 64} KiB/s ({moved} process(es))")
            time.sleep(d)
            writes = self.unslow_disk(n)
            self.record(n, f"unslowed PostgreSQL's disk: {writes} write(s) went through it")
        elif kind == "broker-isolate":
            before = self.leaders(target)
            self.isolate(target)
            self.record(n, f"isolated {target} from its peers (it led {before} partition(s))")
            time.sleep(d)
            during = self.leaders(target)
            self.unisolate(target)
            self.record(n, f"rejoined {target} (cut off, it led {during} partition(s) by its peers' metadata)")
        elif kind in ("broker-slow", "pg-slow"):
            rate = f["rate_kbit"]
            self.slow(n, target, rate)
            self.record(n, f"slowed {target} to {rate} kbit/s (ports {self.stack.ports(target)})")
            time.sleep(d)
            passed = self.unslow(n)
            self.record(n, f"unslowed {target}: {passed}")
        elif kind in ("pg-restart", "redis-restart"):
            server = kind.split("-")[0].replace("pg", "postgres")
            r = self.stack.call("down", server)
            self.record(n, f"stack down {server}: exit {r.returncode}")
            time.sleep(d)
            r = self.stack.call("up", server)
            self.record(n, f"stack up {server}: exit {r.returncode}")
        elif kind == "pg-terminate":
            # As the superuser (trust on the stack's socket): the owner may
            # not end the services' sessions, each of another role.
            port = self.stack.ports("postgres")[0]
            out = self.psql("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE pid <> pg_backend_pid() AND datname = 'millrace' "
                            "AND backend_type IN ('client backend', 'walsender')", timeout=20,
                            url=f"postgresql:///postgres?host={self.state}/pgrun&port={port}&user=postgres")
            self.record(n, f"terminated {out.strip()} PostgreSQL connection(s)" if out is not None
                        else "pg_terminate_backend: PostgreSQL did not answer (nothing terminated)")
        else:
            raise ValueError(kind)

    def undo_everything(self):
        """After the schedule (and on any way out): nothing stays cut, stopped
        or down."""
        for p in list(self.cuts):
            self.iptables("-D", p)
        self.cuts.clear()
        for rule in list(self.isolations):
            subprocess.run(["iptables", "-w", "-D", *rule], stderr=subprocess.DEVNULL)
        self.isolations.clear()
        for group in list(self.slow_disks):
            self.release_disk(group)
        if self.slowing:
            self.tc("qdisc", "del", "dev", "lo", "root")  # lo back to its default, every class gone
            self.slowing = False
        for s in self.services.values():
            s.signal(signal.SIGCONT)
        self.stack.call("up")
