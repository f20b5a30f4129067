"""The websocket stage's reference client's Python (bench/websocket/
reference_client.py): PyPI's websockets and confluent-kafka, pinned,
installed by the harness itself into a virtualenv of its own under .cache,
as the AWS CLI is (awscli.py), so that neither scripts/bootstrap's
virtualenv nor the harness (standard library only) depends on them.
"""

import os
import shutil

from .common import REPO, log, run


# websockets as scripts/bootstrap pins it for the tests' feed server;
# confluent-kafka wheels carry their own librdkafka (the report names it).
PACKAGES = ("websockets==17.4", "confluent-kafka==2.16.1")
VENV = os.path.join(REPO, ".cache", "bench-websocket")
PYTHON = os.path.join(VENV, "bin", "python")
# What the venv holds, checked before each use.
CHECK = ("import websockets, confluent_kafka; "
         "print(f'websockets=={websockets.__version__} confluent-kafka=={confluent_kafka.__version__} "
         "librdkafka {confluent_kafka.libversion()[0]}')")


def installed():
    """The installed versions, as CHECK prints them; None without the venv."""
    if not os.access(PYTHON, os.X_OK):
        return None
    r = run([PYTHON, "-c", CHECK], check=False, record=False)
    return r.stdout.strip() if r.returncode == 0 else None


def ensure_client():
    """The venv's python and what it holds ("websockets==... confluent-kafka==...
    librdkafka ..."), installed with pip into .cache/bench-websocket the first
    time (Debian's python3, as scripts/bootstrap makes its virtualenv)."""
    have = installed()
    if have and all(p in have for p in PACKAGES):
        return PYTHON, have
    log(f"installing {' '.join(PACKAGES)} into {VENV} (pip), once")
    shutil.rmtree(VENV, ignore_errors=True)
    run(["/usr/bin/python3", "-m", "venv", VENV])
    run([os.path.join(VENV, "bin", "pip"), "install", "--disable-pip-version-check", "--quiet", *PACKAGES])
    have = installed()
    if not have or not all(p in have for p in PACKAGES):
        raise SystemExit(f"bench: {' '.join(PACKAGES)} are still not installed in {VENV}")
    return PYTHON, have
