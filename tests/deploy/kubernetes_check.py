#!/usr/bin/env python3
"""Checks deploy/kubernetes/ offline, with the real tools and binaries:

- components/secrets/make writes every role's env file and roles.sql, with
  fresh values, and refuses to overwrite them without --force; roles.sql
  makes every role with the attributes it needs;
- kustomize renders each overlay (trial, production) with those secrets;
- every rendered object passes the Kubernetes OpenAPI schemas of the oldest
  and the newest version checked (kubernetes-validate, strict: an unknown
  field fails); the ServiceMonitor, a Prometheus Operator resource those
  schemas lack, is checked against the Services it must select;
- every service of services/registry.json has a Deployment running its
  program, with liveness (/healthz) and readiness (/readyz) probes on its
  metrics port, CPU and memory requests and a memory limit, a non-root
  user, a read-only root filesystem, no privilege escalation and no
  capabilities, and a Service on that port that the ServiceMonitor selects;
  the sinks have a PodDisruptionBudget wherever more than one runs;
- the setup Jobs run create-topics, migrate, grant, api grant and the
  change feed's publication, grant as scripts/services writes it;
- every Secret and ConfigMap key a container takes exists in the render,
  but for the ones an operator's resources make (Strimzi's, CloudNativePG's);
- every container's command, with exactly the environment Kubernetes would
  give it ($(VAR) references expanded, optional keys that are missing left
  unset), passes the binary's own --check-config and reads every MILLRACE_
  variable it is given;
- every volume mounted is the pod's, every PersistentVolumeClaim is claimed
  and exists; the archiver's archive directory is on a volume that outlives
  the pod (one member with Recreate on a ReadWriteOnce claim), or, with an
  object store (production, components/archive-object-store, its env files
  copied from their examples), its spool is on a writable emptyDir holding a
  file of --max-mb per partition, and the files it reads are mounted;
- production with the component set for Azure Blob (a SAS token, no S3
  keys) renders and the archiver accepts it.

Then it checks that these checks can fail: a misspelt field, a variable no
program reads, a probe on the wrong port, a missing key, a spool on the
read-only root filesystem and a spool too small are each found.

Usage: kubernetes_check.py SOURCE_DIR BIN_DIR KUSTOMIZE, in the test stack
(MILLRACE_STATE_DIR), whose PostgreSQL runs roles.sql in a transaction it
rolls back.
Run with a python that has kubernetes-validate and PyYAML (scripts/bootstrap
installs both into .cache/venv).
"""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The checks, by subject, in the modules beside this file (kubernetes_*.py),
# and what they share with the other Python test tools (tests/pysupport).
from kubernetes_objects import ObjectChecks  # noqa: E402
from kubernetes_render import RenderChecks  # noqa: E402
from kubernetes_storage import StorageChecks  # noqa: E402
from kubernetes_variants import VariantChecks  # noqa: E402

OVERLAYS = ["trial", "production"]


class Checker(RenderChecks, ObjectChecks, StorageChecks, VariantChecks):
    """Every check, from its subject's base; kubernetes_base.CheckerBase
    holds the failures and the look-ups they share."""

    def check(self, overlay, docs):
        self.check_schemas(overlay, docs)
        self.check_services(overlay, docs)
        self.check_jobs(overlay, docs)
        self.check_environment(overlay, docs)
        self.check_storage(overlay, docs)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, bin_dir, kustomize = sys.argv[1:]
    checker = Checker(os.path.abspath(source), os.path.abspath(bin_dir), kustomize)
    with tempfile.TemporaryDirectory(prefix="millrace-k8s-") as tmp:
        tree = os.path.join(tmp, "kubernetes")
        shutil.copytree(os.path.join(checker.source, "deploy/kubernetes"), tree,
                        ignore=shutil.ignore_patterns("*.env", "roles.sql"))
        checker.make_secrets(tree)
        checker.copy_examples(tree)
        rendered = {}
        for overlay in OVERLAYS:
            rendered[overlay] = checker.render(tree, overlay)
            if rendered[overlay]:
                checker.check(overlay, rendered[overlay])
        if rendered.get("production"):
            checker.check_the_checks(rendered["production"])
        checker.check_azure_store(tree)
    if checker.failures:
        print(f"{len(checker.failures)} failure(s)")
        sys.exit(1)
    print("all Kubernetes checks passed")


if __name__ == "__main__":
    main()
