"""The AWS CLI (`aws`, PyPI's awscli, pinned), the archive_s3 stage's
reference client for the S3 store: installed by the harness itself into a
virtualenv of its own under .cache, so that neither scripts/bootstrap's
virtualenv nor the harness (standard library only) depends on it. It runs
as a command, like the other references.
"""

import os
import re
import shutil

from .common import REPO, log, run


# awscli 1.x: each release pins its botocore exactly, so it gets a
# virtualenv of its own rather than one beside scripts/bootstrap's boto3.
AWSCLI_VERSION = "1.45.11"
# By its real path: a worktree's .cache may be a link to another checkout's,
# and a virtualenv's scripts name their interpreter by the path it was made at.
VENV = os.path.realpath(os.path.join(REPO, ".cache", "bench-awscli"))
AWS = os.path.join(VENV, "bin", "aws")


def installed_version():
    if not os.access(AWS, os.X_OK):
        return None
    try:
        r = run([AWS, "--version"], check=False, record=False)
    except OSError:  # its interpreter gone: a virtualenv made through another path
        return None
    m = re.match(r"aws-cli/(\S+)", (r.stdout or "") + (r.stderr or ""))
    return m.group(1) if m else None


def ensure_awscli():
    """The path of `aws`, awscli AWSCLI_VERSION, installed with pip into
    .cache/bench-awscli the first time (Debian's python3, as
    scripts/bootstrap makes its virtualenv)."""
    if installed_version() == AWSCLI_VERSION:
        return AWS
    log(f"installing awscli=={AWSCLI_VERSION} into {VENV} (pip), once")
    shutil.rmtree(VENV, ignore_errors=True)
    run(["/usr/bin/python3", "-m", "venv", VENV])
    run([os.path.join(VENV, "bin", "pip"), "install", "--disable-pip-version-check", "--quiet",
         f"awscli=={AWSCLI_VERSION}"])
    if installed_version() != AWSCLI_VERSION:
        raise SystemExit(f"bench: awscli {AWSCLI_VERSION} is still not installed in {VENV}")
    return AWS


def aws_env(s3, workdir):
    """The environment `aws` runs with against the stack's S3 store `s3`
    (Stack.up_s3()): its keys and region, and a config file of its own
    (path-style addressing, as the archiver uses with an endpoint), so that
    no ~/.aws of the user's takes part."""
    config = os.path.join(workdir, "aws-config")
    with open(config, "w") as f:
        f.write("[default]\ns3 =\n    addressing_style = path\n")
    return {"AWS_ACCESS_KEY_ID": s3["access_key_id"], "AWS_SECRET_ACCESS_KEY": s3["secret_access_key"],
            "AWS_DEFAULT_REGION": s3["region"], "AWS_CONFIG_FILE": config,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": ""}
