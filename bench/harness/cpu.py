"""Where a stage's time goes: the machine, CPU seconds per component from
/proc, the hypervisor's steal, and the wake probe beside latency stages.
"""

import json
import os
import platform
import re
import resource
import signal
import subprocess
import threading
import time

from .common import BIN, COMMANDS


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", "") if hasattr(platform, "freedesktop_os_release") else "",
        "postgresql": pg,
        "kafka": "Apache Kafka 3.9.1 (KRaft, one broker, -Xmx512m)",
        "note": "Kafka, PostgreSQL, the services and the load generators share the machine",
    }


def cpu_times():
    """The machine's CPU time counters (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def steal_share(before, after):
    """Share of CPU time the hypervisor gave to other guests between two
    cpu_times() readings ("steal"): a run with much of it measured a slower
    machine, and its tails include the stalls."""
    delta = [a - b for a, b in zip(after, before)]
    return round(delta[7] / sum(delta), 4) if sum(delta) else None


def io_stall_us():
    """Microseconds in which every non-idle task waited on I/O at once, since
    boot (/proc/pressure/io's "full" total); None without PSI."""
    try:
        with open("/proc/pressure/io") as f:
            for line in f:
                if line.startswith("full"):
                    return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid):
    """User + system CPU of a live process; with_children adds its reaped children."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def minor_faults(pid):
    """Page faults a live process took without reading a disk (/proc's
    minflt): each is a page the allocator or a mapping gave it afresh."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[7])
    except FileNotFoundError:
        return None


def jit_cpu_seconds(pid):
    """CPU of a JVM's JIT compiler threads (named "C1/C2 CompilerThreadN")."""
    total = 0.0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return 0.0
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        if re.match(r"C\d CompilerThre", stat[stat.index("(") + 1:]):
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_cpu_seconds(stack):
    """The postmaster, every live backend and helper, and those that exited."""
    with open(os.path.join(stack.state, "pgdata", "postmaster.pid")) as f:
        postmaster = int(f.readline())
    with open(f"/proc/{postmaster}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                    total += cpu_seconds(int(d))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class CpuMeter:
    """CPU seconds per component over a stage: on a machine where Kafka,
    PostgreSQL, the services and the load generator share two cores, this says
    where the time goes even when other work makes wall-clock figures noisy."""

    def __init__(self, stack, services):
        self.stack, self.services = stack, services
        with open(os.path.join(stack.state, "kafka.pid")) as f:
            self.kafka = int(f.read())
        self.start = self.sample()
        self.jit_start = jit_cpu_seconds(self.kafka)

    def jit(self):
        """Of Kafka's CPU since the start, the seconds its JIT compiler took."""
        return round(jit_cpu_seconds(self.kafka) - self.jit_start, 1)

    def sample(self):
        s = {name: sum(cpu_seconds(p.pid) for p in procs) for name, procs in self.services.items()}
        s["postgres"] = postgres_cpu_seconds(self.stack)
        s["kafka"] = cpu_seconds(self.kafka)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        s["reaped"] = children.ru_utime + children.ru_stime
        return s

    def stop(self):
        end = self.sample()
        return {k: round(end[k] - self.start[k], 1) for k in end}


class PgSessionMeter:
    """PostgreSQL's CPU over a stage split by session: each backend's CPU
    (/proc) attributed to its pg_stat_activity application_name, sampled
    every `every` seconds from a psql of its own (its own backend counted as
    "meter"). `classify(application_name, query)` may name a session by what
    it runs (the first name other than its application_name sticks). A
    session that ends loses at most its last interval; what no session
    accounts for (the walsender's decoding shows as its own application_name)
    is the postmaster's helpers: "other" is PostgreSQL's whole less the
    sessions."""

    def __init__(self, stack, classify=None, every=1.0):
        from .stack import PsqlSession
        self.stack, self.classify, self.every = stack, classify, every
        self.session = PsqlSession(stack.pg)
        self.meter_pid = int(self.session.query("SELECT pg_backend_pid()"))
        self.seen = {}  # pid: [name, first cpu, last cpu]
        self.total_start = postgres_cpu_seconds(stack)
        self.stopping = threading.Event()
        self.sample()
        for entry in self.seen.values():
            entry[1] = entry[2]  # what ran before the stage is not its
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self):
        rows = self.session.query(
            "SELECT pid, coalesce(nullif(application_name, ''), backend_type), "
            "replace(replace(left(query, 3000), chr(10), ' '), '|', ' ') FROM pg_stat_activity")
        for line in rows.splitlines():
            pid, app, query = (line.split("|", 2) + ["", ""])[:3]
            pid = int(pid)
            name = "meter" if pid == self.meter_pid else app
            if self.classify and pid != self.meter_pid:
                name = self.classify(app, query) or app
            cpu = cpu_seconds(pid)
            entry = self.seen.setdefault(pid, [name, 0.0, cpu])
            if entry[0] == app and name != app:
                entry[0] = name
            entry[2] = max(entry[2], cpu)

    def run(self):
        while not self.stopping.wait(self.every):
            self.sample()

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.sample()
        total = postgres_cpu_seconds(self.stack) - self.total_start
        self.session.close()
        out = {}
        for name, first, last in self.seen.values():
            out[name] = out.get(name, 0.0) + last - first
        out["other"] = total - sum(out.values())
        return {k: round(v, 2) for k, v in sorted(out.items())}


def busy_seconds(before, after):
    """CPU seconds the machine spent busy between two cpu_times() readings:
    user, nice, system, irq and softirq (not idle, iowait or steal)."""
    return sum(after[i] - before[i] for i in (0, 1, 2, 5, 6)) / os.sysconf("SC_CLK_TCK")


class WakeProbe:
    """The machine's scheduling floor during a stage: millrace-bench-wake-probe
    (bench/wake_probe.cpp) runs beside it as a real-time thread that asks to
    wake every millisecond, and reports how late it ran. It is late only when
    no core runs for it (on a virtual machine, mostly when the hypervisor has
    taken the core), and any thread of the pipeline that became ready in such
    a stall waited out the rest of it too, whatever its code.

        with WakeProbe() as probe:
            ...
        probe.result  # the probe's JSON summary
    """

    def __enter__(self):
        cmd = [os.path.join(BIN, "millrace-bench-wake-probe"), "--period-us", "1000"]
        COMMANDS.append(" ".join(cmd) + "  # beside the stage, stopped by SIGTERM at its end")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.result = None
        self.cpu_before = cpu_times()
        self.io_before, self.started = io_stall_us(), time.monotonic()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        if exc_type is None:
            if self.proc.returncode != 0:
                raise SystemExit(f"bench: millrace-bench-wake-probe failed ({self.proc.returncode}): {err}")
            self.result = json.loads(out)
            self.result["cpu_steal_share"] = steal_share(self.cpu_before, cpu_times())
            # The stalls the probe cannot see: a thread waiting on the disk
            # (an append behind a journal commit) is not late to wake, it is
            # not runnable.
            io_after, elapsed = io_stall_us(), time.monotonic() - self.started
            self.result["io_full_share"] = (round((io_after - self.io_before) / 1e6 / elapsed, 4)
                                            if self.io_before is not None and io_after is not None and elapsed > 0
                                            else None)
        return False
