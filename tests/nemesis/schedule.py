"""The nemesis' schedule: a seeded random list of overlapping faults.

The same seed, minutes and targets give the very same schedule (random.Random
is deterministic for a seed across Python 3 versions for the calls used
here: random(), randrange(), choice() over a list, uniform()). Nothing here
touches a process: run_faults.py applies what this draws.
"""
import json
import random

# The services the harness starts, each a target of SIGKILL and SIGSTOP.
SERVICES = [
    "sink-1", "sink-2", "aggregator-1", "aggregator-2", "sink-order", "aggregator-order",
    "archiver", "changefeed", "webhooks", "cache", "api", "producer",
]
BROKERS = ["kafka-1", "kafka-2", "kafka-3"]

# The menu: kind -> (weight, targets, shortest and longest duration in s).
# A duration of 0 is an instant fault (nothing to undo).
MENU = {
    "sigkill": (6, SERVICES, 1, 15),        # SIGKILL, restarted after the duration
    "sigstop": (5, SERVICES, 2, 20),        # SIGSTOP, SIGCONT after the duration
    "broker-kill": (3, BROKERS, 3, 25),     # SIGKILL of one Kafka node, `stack up kafka` after
    "broker-cut": (2, BROKERS, 3, 20),      # its ports' traffic dropped (iptables), then let through
    "pg-restart": (2, ["postgres"], 2, 12),  # `stack down postgres`, `stack up postgres` after
    "pg-terminate": (3, ["postgres"], 0, 0),  # pg_terminate_backend of every client and walsender
    "pg-cut": (1, ["postgres"], 2, 10),     # PostgreSQL's port dropped, then let through
    "redis-restart": (2, ["redis"], 1, 10),  # `stack down redis`, `stack up redis` after
}

# Drawn on a stream of their own (`draw_slow`), so that adding them left
# every seed's faults above as they were: a seed that found a break still
# replays it. A slow link is a bandwidth limit on the server's ports, both
# ways (an HTB class on lo, `tc`): what it sends waits in a queue, so its
# clients see latency grow with their load.
SLOW_MENU = {
    "broker-slow": (BROKERS, 5, 25),
    "pg-slow": (["postgres"], 5, 25),
}
SLOW_RATES_KBIT = [128, 256, 512, 1024]
SLOW_MEAN_GAP_S = 30.0

# A Kafka node cut from its peers only (their client and controller ports,
# both ways) while its own clients still reach it: the partition that
# splits a leader from its followers and from the quorum. Drawn on a stream
# of its own too (`draw_isolated`), and kept apart from the other Kafka
# faults of draw() (at most one node away at a time).
ISOLATE_MENU = {"broker-isolate": (BROKERS, 5, 30)}
ISOLATE_MEAN_GAP_S = 45.0

# PostgreSQL's disk made slow: its writes to the data directory's disk
# throttled to a number of I/O operations a second (and 64 KiB each), so
# that each commit's WAL flush waits. Drawn on a stream of its own too
# (`draw_slow_disk`), one at a time, overlapping everything else.
SLOW_DISK_MENU = {"pg-slow-disk": (["postgres"], 5, 30)}
SLOW_DISK_IOPS = [5, 10, 25, 50]
SLOW_DISK_MEAN_GAP_S = 40.0

# What may not overlap: one fault per target at a time, at most one Kafka
# node away at a time (three replicas, min.insync.replicas 2: a second one
# would only stop every produce), and PostgreSQL's faults one at a time.
def _group(kind, target):
    if kind.startswith("broker"):
        return "kafka"
    if target == "postgres":
        return "postgres"
    return target


def draw(seed, minutes, mean_gap_s=6.0, quiet_tail_s=20.0):
    """The faults of one run: a list of dicts {n, at, kind, target, duration},
    sorted by start. Starts come as a Poisson process of mean gap
    `mean_gap_s`; each fault ends `quiet_tail_s` before the run's end at the
    latest. Overlaps are the point: only faults of one group are kept apart."""
    rng = random.Random(seed)
    end = minutes * 60.0 - quiet_tail_s
    kinds = sorted(MENU)
    weights = [MENU[k][0] for k in kinds]
    busy_until = {}
    faults = []
    for t in _starts(rng, mean_gap_s, end):
        kind = rng.choices(kinds, weights)[0]
        _, targets, low, high = MENU[kind]
        target = rng.choice(targets)
        duration = round(rng.uniform(low, high), 1) if high > 0 else 0.0
        duration = min(duration, max(0.0, round(end - t, 1)))
        if _free(busy_until, _group(kind, target), t, duration):
            faults.append({"n": len(faults) + 1, "at": round(t, 1), "kind": kind, "target": target,
                           "duration": duration})
    return faults


def _starts(rng, mean_gap_s, end):
    """Fault start times from 5 s in, a Poisson process of mean gap
    `mean_gap_s`, until `end`. Lazy: the caller draws each fault's kind and
    the rest from `rng` before the next start is drawn."""
    t = 5.0
    while True:
        t += rng.expovariate(1.0 / mean_gap_s)
        if t >= end:
            return
        yield t


def _free(busy_until, group, t, duration):
    """Whether `group` is free at `t` (then taken until the fault ends, and a
    second more); a fault drawn for a busy group is not kept."""
    if busy_until.get(group, -1.0) > t:
        return False
    busy_until[group] = t + duration + 1.0
    return True


def _draw_stream(seed, minutes, stream, menu, mean_gap_s, extra=None, group=None, blocked=None,
                 quiet_tail_s=20.0):
    """The faults of one of the streams drawn beside draw()'s, from the
    random stream "<seed>/<stream>", so that adding one left every other
    stream's faults as they were: dicts as draw()'s. Each start draws, in
    this order, the kind (from `menu`: kind -> (targets, shortest and
    longest duration in s)), the target, the duration and then `extra(rng)`
    (more fields of the fault). A fault is kept when `blocked(t, duration)`
    is not true and its group (`group(kind, target)`, the target by
    default) is free: one fault per group at a time."""
    rng = random.Random(f"{seed}/{stream}")
    end = minutes * 60.0 - quiet_tail_s
    kinds = sorted(menu)
    busy_until = {}
    faults = []
    for t in _starts(rng, mean_gap_s, end):
        kind = rng.choice(kinds)
        targets, low, high = menu[kind]
        target = rng.choice(targets)
        duration = min(round(rng.uniform(low, high), 1), max(0.0, round(end - t, 1)))
        more = extra(rng) if extra else {}
        if blocked and blocked(t, duration):
            continue
        if _free(busy_until, group(kind, target) if group else target, t, duration):
            faults.append({"at": round(t, 1), "kind": kind, "target": target, "duration": duration, **more})
    return faults


def draw_slow(seed, minutes):
    """The slow links of one run: dicts as draw()'s, with the link's rate in
    kbit/s. One at a time per target; they overlap the other faults
    freely."""
    return _draw_stream(seed, minutes, "slow", SLOW_MENU, SLOW_MEAN_GAP_S,
                        extra=lambda rng: {"rate_kbit": rng.choice(SLOW_RATES_KBIT)})


def draw_slow_disk(seed, minutes):
    """PostgreSQL's slow disks in one run: dicts as draw()'s, with the write
    operations a second allowed. One at a time; they overlap the other
    faults freely."""
    return _draw_stream(seed, minutes, "disk", SLOW_DISK_MENU, SLOW_DISK_MEAN_GAP_S,
                        extra=lambda rng: {"write_iops": rng.choice(SLOW_DISK_IOPS)})


def draw_isolated(seed, minutes, base):
    """The Kafka nodes cut from their peers in one run: dicts as draw()'s.
    One at a time, and none while a fault of `base` (draw()'s schedule of
    the same seed and minutes) has a Kafka node away: those are kept as
    they were."""
    kafka = [(f["at"], f["at"] + f["duration"] + 1.0) for f in base if _group(f["kind"], f["target"]) == "kafka"]
    return _draw_stream(seed, minutes, "isolate", ISOLATE_MENU, ISOLATE_MEAN_GAP_S,
                        group=lambda kind, target: "kafka",
                        blocked=lambda t, d: any(a < t + d + 1.0 and t < b for a, b in kafka))


def draw_all(seed, minutes):
    """A seed's whole schedule: draw()'s faults, draw_slow()'s,
    draw_isolated()'s and draw_slow_disk()'s, by start, numbered."""
    base = draw(seed, minutes)
    faults = sorted(base + draw_slow(seed, minutes) + draw_isolated(seed, minutes, base)
                    + draw_slow_disk(seed, minutes), key=lambda f: f["at"])  # stable: draw()'s order kept
    return [{**f, "n": i + 1} for i, f in enumerate(faults)]


def draw_seeds(seeds, minutes):
    """Several seeds' schedules back to back on one pipeline: each seed's
    `draw(seed, minutes)` unchanged, shifted to start where the one before
    it ended (its quiet tail included), every fault marked with its seed.
    A seed's segment is the very schedule `--seed N --minutes M` runs."""
    faults = []
    for i, seed in enumerate(seeds):
        offset = i * minutes * 60.0
        for f in draw_all(seed, minutes):
            faults.append({**f, "n": len(faults) + 1, "at": round(f["at"] + offset, 1), "seed": seed})
    return faults


def render(seeds, minutes, faults):
    seeds = list(seeds)
    head = (f"seed {seeds[0]}, {minutes} minute(s)" if len(seeds) == 1 else
            f"seeds {', '.join(map(str, seeds))}, {minutes} minute(s) each, back to back")
    lines = [f"nemesis schedule: {head}, {len(faults)} fault(s)"]
    for f in faults:
        lines.append(f"  #{f['n']:<3} t+{f['at']:7.1f}s  {f['kind']:<13} {f['target']:<16}"
                     f" {f['duration']:5.1f}s" + (f"  {f['rate_kbit']} kbit/s" if "rate_kbit" in f else "")
                     + (f"  {f['write_iops']} writes/s" if "write_iops" in f else "")
                     + (f"  (seed {f['seed']})" if len(seeds) > 1 else ""))
    return "\n".join(lines)


def counts_by_kind(faults):
    out = {}
    for f in faults:
        out[f["kind"]] = out.get(f["kind"], 0) + 1
    return dict(sorted(out.items()))


def to_json(seeds, minutes, faults):
    return json.dumps({"seeds": list(seeds), "minutes_per_seed": minutes, "faults": faults},
                      sort_keys=True)
