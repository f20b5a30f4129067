"""The tree made ready and rendered: components/secrets/make's env files and
roles.sql (run by the test stack's superuser, rolled back), the other
components' env files copied from their examples, and kustomize's render of
an overlay.
"""

import os
import re
import shutil
import subprocess

import yaml

from kubernetes_base import CheckerBase
from pysupport import psql_argv, stack_env


class RenderChecks(CheckerBase):
    """components/secrets/make and roles.sql, the examples, the render."""

    def make_secrets(self, tree):
        make = os.path.join(tree, "components/secrets/make")
        args = [make, "--pg-host", "millrace-pg-rw", "--pg-options",
                "sslmode=verify-full&sslrootcert=/etc/millrace/pg-ca/ca.crt"]
        subprocess.run(args, check=True, capture_output=True, text=True)
        secrets_dir = os.path.dirname(make)
        made = sorted(f for f in os.listdir(secrets_dir) if f.endswith(".env"))
        examples = sorted(f[:-len(".example")] for f in os.listdir(secrets_dir)
                          if f.endswith(".env.example"))
        if made != examples:
            self.fail(f"secrets/make wrote {made}, the examples are {examples}")
        if not os.path.exists(os.path.join(secrets_dir, "roles.sql")):
            self.fail("secrets/make wrote no roles.sql")
        again = subprocess.run(args, capture_output=True, text=True)
        if again.returncode != 2 or "--force" not in again.stderr:
            self.fail(f"secrets/make overwrote its files without --force: {again.returncode} "
                      f"{again.stderr.strip()}")
        first = open(os.path.join(secrets_dir, "sink.env")).read()
        subprocess.run(args + ["--force"], check=True, capture_output=True)
        if open(os.path.join(secrets_dir, "sink.env")).read() == first:
            self.fail("secrets/make --force wrote the same password again")
        print(f"ok: secrets/make writes {len(made)} env files and roles.sql, fresh each time, "
              "and keeps them without --force")
        self.check_roles_sql(os.path.join(secrets_dir, "roles.sql"))

    def check_roles_sql(self, path):
        """roles.sql, run by the test stack's superuser inside a transaction
        that is rolled back: every role made, with the attributes it needs."""
        # The stack's superuser, postgres, over its Unix socket
        # (deploy/local/lib/postgres.sh).
        port = re.search(r":(\d+)/", stack_env(self.source)["MILLRACE_PG"]).group(1)
        pgrun = os.path.join(os.path.abspath(os.environ["MILLRACE_STATE_DIR"]), "pgrun")
        dsn = f"host={pgrun} port={port} user=postgres dbname=millrace"
        # A role's attributes, and its password's hash, which must change.
        query = ("SELECT string_agg(rolname || ':' || rolcanlogin || ':' || rolreplication || ':'"
                 " || md5(coalesce(rolpassword, '')), ' ' ORDER BY rolname) FROM pg_authid"
                 " WHERE rolname LIKE 'millrace%'")
        r = subprocess.run(psql_argv(dsn, "-c", "BEGIN", "-c", query, "-f", path, "-c", query,
                                     "-c", "ROLLBACK"), capture_output=True, text=True)
        if r.returncode != 0:
            self.fail(f"secrets/make's roles.sql: {r.stderr.strip()}")
            return
        before, after = ({w.split(":")[0]: w.split(":", 1)[1] for w in line.split()}
                         for line in r.stdout.strip().splitlines())
        roles = {k: v.rsplit(":", 1)[0] for k, v in after.items()}
        unchanged = sorted(k for k, v in after.items() if before.get(k) == v)
        want = {"millrace": "true:false", "millrace_changefeed": "true:true",
                "millrace_api": "true:false", "millrace_api_admin": "true:false"}
        want.update({f"millrace_{s['name']}": "true:false" for s in self.registry
                     if s["database_role"] == "own"})
        wrong = {k: roles.get(k) for k, v in want.items() if roles.get(k) != v}
        unchanged = [k for k in unchanged if k in want]
        if unchanged:
            self.fail(f"secrets/make's roles.sql: kept the passwords of {unchanged}")
        elif wrong:
            self.fail(f"secrets/make's roles.sql: roles (login:replication) {wrong}, want {want}")
        else:
            print(f"ok: secrets/make's roles.sql makes the {len(want)} roles, each with LOGIN and a "
                  "new password, REPLICATION for the change feed only (run by the test stack's superuser, "
                  "rolled back)")

    def copy_examples(self, tree):
        """The other components' env files, each copied from its example as
        an operator begins (components/archive-object-store: an S3 bucket
        and its keys)."""
        copied = []
        for component in sorted(os.listdir(os.path.join(tree, "components"))):
            if component == "secrets":
                continue
            d = os.path.join(tree, "components", component)
            for f in sorted(os.listdir(d)):
                if f.endswith(".env.example"):
                    shutil.copy(os.path.join(d, f), os.path.join(d, f[:-len(".example")]))
                    copied.append(f"{component}/{f[:-len('.example')]}")
        print(f"ok: copied {', '.join(copied) or 'no env file'} from the examples")

    def render(self, tree, overlay):
        r = subprocess.run([self.kustomize, "build", os.path.join(tree, "overlays", overlay)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.fail(f"{overlay}: kustomize build: {r.stderr.strip()}")
            return []
        return [d for d in yaml.safe_load_all(r.stdout) if d]
