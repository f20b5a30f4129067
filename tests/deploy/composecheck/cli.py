"""compose_check.py's command line: the static checks of each file set, then
the rehearsals.
"""

import shutil
import sys
import tempfile

from .compose import (FILE_SETS, SECURE_FILE, check_mounts, check_no_env_needed, compose_config,
                      run_secrets)
from .failures import failures
from .image import check_dockerfile_targets, check_millrace_service, check_runtime_packages, dockerfile_targets
from .kafka import check_kafka
from .monitoring import check_prometheus, check_secure_monitoring
from .rehearsal import rehearse
from .secure import check_secure_postgres, check_secure_profile
from .tls import check_certs


def main(usage):
    """compose_check.py: `usage` is what it prints when its arguments are wrong."""
    args = [a for a in sys.argv[1:] if a != "--rehearse"]
    if len(args) != 3:
        sys.exit(usage)
    source, bin_dir, classpath_file = args
    targets = dockerfile_targets(source)
    check_dockerfile_targets(source, targets)
    for files in FILE_SETS:
        label = " + ".join(files)
        check_no_env_needed(source, files)
        config = compose_config(source, files)
        print(f"ok: {label}: docker-compose config accepts it")
        services = config["services"]
        made = tempfile.mkdtemp(prefix="compose-certs-made-")
        volumes = check_certs(source, label, services, made) if "certs" in services else {}
        # The files each service reads its secrets from, where the one-shot
        # secrets made them.
        r, secret_volumes = run_secrets(services, made)
        if r.returncode != 0:
            fail(f"{label}: secrets exited {r.returncode}: {r.stderr.strip()[-1500:]}")
        if volumes:
            check_secure_postgres(label, services, {**volumes, **secret_volumes})
        for name, service in sorted(services.items()):
            if name not in ("certs", "secrets") and str(service.get("image", "")).startswith("millrace:"):
                check_millrace_service(label, name, service, bin_dir, targets,
                                       {**volumes, **secret_volumes})
        if SECURE_FILE in files:
            check_secure_profile(label, services, compose_config(source, FILE_SETS[0])["services"])
        check_kafka(services, source, classpath_file, label)
        check_mounts(source, services, label)
        if files == FILE_SETS[0] or SECURE_FILE in files:
            check_prometheus(source, services, label, volumes)
        if SECURE_FILE in files:
            check_secure_monitoring(source, label, services, volumes)
        shutil.rmtree(made)
    check_runtime_packages(source, bin_dir, targets)
    # The plain one with no .env at all.
    if "--rehearse" in sys.argv and not failures:
        rehearse(source, bin_dir, compose_config(source, FILE_SETS[0])["services"])
    # The secure one with a .env that sets one password: that one is used.
    dotenv = {"MILLRACE_SINK_PG_PASSWORD": "sink-from-dotenv"}
    if "--rehearse" in sys.argv and not failures:
        rehearse(source, bin_dir,
                 compose_config(source, FILE_SETS[0] + [SECURE_FILE], dotenv)["services"],
                 classpath_file, secure=True, dotenv=dotenv)
    if failures:
        print(f"{len(failures)} problem(s)")
        sys.exit(1)
    print("compose check passed")
