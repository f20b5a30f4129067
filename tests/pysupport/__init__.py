"""What the Python test tools share: free ports, the test stack's
environment, psql, HTTP requests and a service's Prometheus metrics. Used by
bench/run (bench/harness), tests/deploy/compose_check.py
(tests/deploy/composecheck), tests/deploy/kubernetes_check.py and
tests/alerting/alert_delivery.py; each puts
the repository's tests/ directory on sys.path to import it.

Standard library only: the tools run with the machine's python3, outside
scripts/bootstrap's virtualenv.
"""

import collections
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

from .ports import free_port, free_ports  # noqa: F401 (the tools import them from here)


def stack_env(source):
    """The MILLRACE_* variables `deploy/local/stack env` prints for the
    stack MILLRACE_STATE_DIR names, from the checkout at `source`."""
    out = subprocess.run([source.rstrip("/") + "/deploy/local/stack", "env"], check=True,
                         capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        m = re.match(r"export (MILLRACE_\w+)=(.*)", line)
        if m:
            env[m.group(1)] = m.group(2).strip("'")
    return env


def owner_env(source):
    """The caller's environment with the stack's variables, every program
    connecting as the tables' owner (MILLRACE_PG): each service's own
    MILLRACE_<ROLE>_PG taken out, for a test that makes its own schema."""
    env = dict(os.environ)
    env.update(stack_env(source))
    for role in subprocess.run([source.rstrip("/") + "/scripts/services", "roles"], check=True,
                               capture_output=True, text=True).stdout.split():
        env.pop(f"MILLRACE_{role.upper()}_PG", None)
    return env


def wait_until(predicate, timeout, every=0.5):
    """predicate()'s first true value within `timeout` seconds; None when
    there is none by then."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def stop_children(children, timeout=30):
    """SIGTERM to each child still running, then waits for each (SIGKILL
    after `timeout` seconds)."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()


class Checks:
    """A script's checks: each logged with the time as ok or FAIL (with its
    detail), the failed ones kept in `failures`."""

    def __init__(self):
        self.failures = []

    @staticmethod
    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def check(self, what, ok, detail=""):
        self.log(f"{'ok' if ok else 'FAIL'}: {what}" + (f" ({detail})" if detail else ""))
        if not ok:
            self.failures.append(what)
        return ok


def check_config(binary, args, env, timeout=30):
    """Runs `binary args --check-config` with exactly `env` (a Millrace
    program validates its configuration and connects to nothing). Returns
    (None, notes) when the configuration is valid, `notes` being its "note:"
    lines (a MILLRACE_ variable it does not read); (message, []) when not."""
    r = subprocess.run([binary] + list(args) + ["--check-config"], env=env, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0 or "configuration is valid" not in r.stdout:
        return (f"exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}", [])
    return (None, [line for line in r.stdout.splitlines() if line.startswith("note:")])


def psql_argv(dsn, *args):
    """psql on `dsn` without ~/.psqlrc, quiet, unaligned tuples only, stopping
    at the first error; `args` follow (e.g. "-c", sql)."""
    return ["psql", dsn, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *args]


def psql(dsn, sql):
    """`sql`'s output (rows by line, columns by |); raises CalledProcessError
    when psql fails."""
    return subprocess.run(psql_argv(dsn, "-c", sql), check=True, capture_output=True,
                          text=True).stdout.strip()


Answer = collections.namedtuple("Answer", "status content_type body")


def http_request(url, data=None, method=None, headers=None, token=None, context=None, timeout=30):
    """One request: an Answer (status, Content-Type, body as bytes). An error
    status is an answer too; a connection that fails raises OSError. `token`
    is sent as a bearer token, `context` is the TLS context for https."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return Answer(response.status, response.headers["Content-Type"], response.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers["Content-Type"], e.read())


def parse_metrics(text):
    """Prometheus text exposition as {(name, ((label, value), ...)): value},
    the labels sorted."""
    out = {}
    for m in re.finditer(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", text, re.M):
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def scrape(addr, timeout=5, context=None):
    """The metrics a service serves at `addr` (host:port, or a URL without
    the path), parsed; raises OSError when it does not answer them."""
    url = (addr if "://" in addr else "http://" + addr) + "/metrics"
    answer = http_request(url, timeout=timeout, context=context)
    if answer.status != 200:
        raise OSError(f"{url} answered {answer.status}")
    return parse_metrics(answer.body.decode())


def metric_samples(samples, name, **labels):
    """The values of `name`'s samples (parse_metrics) whose labels include
    `labels`."""
    return [value for (n, have), value in samples.items()
            if n == name and all(dict(have).get(k) == v for k, v in labels.items())]


def metric_sum(samples, name, **labels):
    """The sum of metric_samples(); 0 when there are none."""
    return sum(metric_samples(samples, name, **labels), 0.0)
