"""What every part of the harness uses: the repository's paths, running a
command (and keeping it for the report), waiting, and the arithmetic of the
figures.
"""

import os
import shlex
import subprocess
import sys
import time


# bench/harness/common.py: the repository is two directories up.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, "build", "bin")
COMMANDS = []  # every command run, for the report


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, env=None, capture=True, check=True, stdin=None, stdout=None, record=True, shown=None):
    if record:
        COMMANDS.append(shown or " ".join(shlex.quote(c) for c in cmd))
    full_env = dict(os.environ, **(env or {}))
    result = subprocess.run(cmd, env=full_env, text=True, stdin=stdin,
                            stdout=stdout if stdout else (subprocess.PIPE if capture else None),
                            stderr=subprocess.PIPE if capture else None)
    if check and result.returncode != 0:
        raise SystemExit(f"bench: command failed ({result.returncode}): {' '.join(cmd)}\n"
                         f"{(result.stderr or '')[-2000:]}")
    return result


_NAMES_USED = {}


def unique_name(base):
    """`base` the first time, then `base_2`, `base_3`...: a topic or schema of
    its own for each repetition of a stage (a topic is made only if missing,
    and a repetition must not read the last one's records)."""
    n = _NAMES_USED[base] = _NAMES_USED.get(base, 0) + 1
    return base if n == 1 else f"{base}_{n}"


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"bench: timed out waiting for {what}")


def ratio(a, b):
    return round(a / b, 3) if b else None


def percentiles_ms(values):
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))] * 1000
    return {"p50": pick(0.5), "p99": pick(0.99), "max": v[-1] * 1000, "count": len(v)}


def histogram_percentile(hist, q):
    """The q-th quantile (0..1) of a {value: count} histogram: the smallest
    value with at least q of the counts at or below it."""
    total = sum(hist.values())
    if not total:
        return None
    need, seen = q * total, 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= need:
            return value
    return max(hist)


def dir_bytes(path):
    """Bytes of the files under `path` (what du counts, without the blocks' rounding)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total
