"""The HTTP load generator: wrk with bench/wrk/ingest.lua (or a script
built on it), alone or with the CPU each part of the machine spent.
"""

import contextlib
import json
import os
import re

from .common import REPO, run
from .cpu import CpuMeter, WakeProbe, busy_seconds, cpu_times


WRK_SCRIPT = os.path.join(REPO, "bench", "wrk", "ingest.lua")


# The service's default: one event loop per core of this 2-core machine.
HTTP_THREADS = 2


def wrk(url, threads, conns, seconds, rate=0, batch=1, script=WRK_SCRIPT):
    """One wrk run of bench/wrk/ingest.lua (or of `script`, which prints the
    same summary); returns its JSON summary. With a rate the script paces
    requests on a fixed schedule (Debian's wrk 4.1 has no --rate) and also
    measures latency from each request's slot."""
    env = {"MILLRACE_WRK_BATCH": str(batch)}
    if rate:
        env.update(MILLRACE_WRK_RATE=str(rate), MILLRACE_WRK_THREADS=str(threads))
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s", "-s", script, url]
    out = run(cmd, env=env, shown=" ".join(f"{k}={v}" for k, v in env.items()) + " " + " ".join(cmd)).stdout
    data = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
    data["connections"] = conns
    data["non2xx"] = sum(n for status, n in data["statuses"].items() if not status.startswith("2"))
    data["socket_errors"] = sum(data["errors"][k] for k in ("connect", "read", "write", "timeout"))
    return data


def wrk_with_cpu(stack, server, procs, url, conns, seconds, rate, batch, script=None, others=None):
    """wrk(), plus the CPU microseconds per request each part of the machine
    spent during it: the server, Kafka, PostgreSQL, wrk itself, the processes
    in `others` ({name: [process]}, e.g. Redis), and the rest of the machine's
    busy time (the kernel's own threads, other processes)."""
    meter = CpuMeter(stack, {server: procs, **(others or {})})
    before = cpu_times()
    # Only the paced runs' latencies are compared with the machine's floor;
    # the maximum runs stay as they were, without the probe's wake-ups.
    probe = WakeProbe() if rate else contextlib.nullcontext()
    with probe:
        data = wrk(url, 2, conns, seconds, rate=rate, batch=batch, script=script or WRK_SCRIPT)
    after = cpu_times()
    if rate:
        data["wake_probe"] = probe.result
    end = meter.sample()
    cpu = {k: end[k] - meter.start[k] for k in end}
    cpu["wrk"] = cpu.pop("reaped")
    cpu["other"] = max(0.0, busy_seconds(before, after) - sum(cpu.values()))
    data["cpu_us_per_request"] = {k: round(v * 1e6 / max(1, data["requests"]), 1) for k, v in cpu.items()}
    return data
