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

import base64
import contextlib
import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import kubernetes_validate
import yaml

sys.dont_write_bytecode = True
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pysupport import check_config, psql_argv, stack_env  # noqa: E402

# The oldest Kubernetes still in upstream support when this was written, and
# the newest whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.32.0", "1.37.0"]
OVERLAYS = ["trial", "production"]
# Made by the operators the production overlay expects, not by Millrace:
# Strimzi's KafkaUser and cluster CA, CloudNativePG's CA.
EXTERNAL_SECRETS = {
    "millrace-services": {"password"},
    "millrace-cluster-ca-cert": {"ca.crt"},
    "millrace-pg-ca": {"ca.crt"},
}
SETUP_STEPS = {
    "millrace-create-topics": [["millrace", "create-topics"]],
    "millrace-migrate": [["millrace", "migrate"], None,  # grant: from scripts/services
                         ["millrace", "api", "grant", "--reader", "millrace_api", "--admin",
                          "millrace_api_admin"],
                         ["millrace", "changefeed", "publish", "--grant-select",
                          "millrace_changefeed"]],
}


class Checker:
    def __init__(self, source, bin_dir, kustomize):
        self.source = source
        self.bin_dir = bin_dir
        self.kustomize = kustomize
        self.failures = []
        self.registry = json.load(open(os.path.join(source, "services/registry.json")))["services"]

    def fail(self, message):
        self.failures.append(message)
        print(f"FAIL: {message}")

    def ok(self, since, message):
        """Prints `message` when no check failed since len(self.failures) was
        `since`."""
        if len(self.failures) == since:
            print(f"ok: {message}")

    # --- secrets and render ---------------------------------------------------

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

    # --- schemas ----------------------------------------------------------------

    def schema_errors(self, doc, version):
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            return f"{e.message} at {'.'.join(str(p) for p in e.path)}"
        except kubernetes_validate.SchemaNotFoundError:
            return "no schema"
        return None

    def check_schemas(self, overlay, docs):
        start = len(self.failures)
        for version in KUBERNETES_VERSIONS:
            checked = 0
            for doc in docs:
                if doc["kind"] == "ServiceMonitor":
                    continue
                error = self.schema_errors(doc, version)
                if error:
                    self.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} against "
                              f"Kubernetes {version}: {error}")
                checked += 1
            self.ok(start, f"{overlay}: {checked} objects checked against Kubernetes "
                    f"{version}'s schemas (strict)")

    # --- the services -------------------------------------------------------------

    @staticmethod
    def by_kind(docs, kind):
        return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}

    @staticmethod
    def selects(selector, labels):
        return all(labels.get(k) == v for k, v in (selector or {}).items())

    def check_pod_security(self, where, pod):
        sc = pod.get("securityContext") or {}
        if not sc.get("runAsNonRoot") or sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            self.fail(f"{where}: the pod must run as non-root with the RuntimeDefault seccomp profile")
        if pod.get("automountServiceAccountToken") is not False:
            self.fail(f"{where}: mounts a service account token it does not use")
        for c in pod.get("initContainers", []) + pod["containers"]:
            csc = c.get("securityContext") or {}
            if (csc.get("readOnlyRootFilesystem") is not True
                    or csc.get("allowPrivilegeEscalation") is not False
                    or csc.get("capabilities", {}).get("drop") != ["ALL"]):
                self.fail(f"{where}: {c['name']}: needs readOnlyRootFilesystem, no privilege "
                          "escalation and every capability dropped")
            res = c.get("resources") or {}
            if not {"cpu", "memory"} <= set(res.get("requests", {})) or \
                    "memory" not in res.get("limits", {}):
                self.fail(f"{where}: {c['name']}: needs CPU and memory requests and a memory limit")

    def check_services(self, overlay, docs):
        start = len(self.failures)
        deployments = self.by_kind(docs, "Deployment")
        services = self.by_kind(docs, "Service")
        monitors = list(self.by_kind(docs, "ServiceMonitor").values())
        images = set()
        for entry in self.registry:
            name = f"millrace-{entry['name']}"
            where = f"{overlay}: Deployment/{name}"
            d = deployments.get(name)
            if not d:
                self.fail(f"{overlay}: no Deployment {name} for services/registry.json's "
                          f"{entry['name']}")
                continue
            pod = d["spec"]["template"]["spec"]
            labels = d["spec"]["template"]["metadata"]["labels"]
            if not self.selects(d["spec"]["selector"]["matchLabels"], labels):
                self.fail(f"{where}: its selector does not select its own pods")
            c = pod["containers"][0]
            images.update(x["image"] for x in pod["containers"])
            if c.get("command") != [entry.get("program", name)]:
                self.fail(f"{where}: runs {c.get('command')}, not [{name}]")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            port_name = next((n for n, p in ports.items() if p == entry["metrics_port"]), None)
            if not port_name:
                self.fail(f"{where}: no container port {entry['metrics_port']} (its metrics and "
                          "health port)")
                continue
            for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                                ("startupProbe", "/healthz")]:
                get = (c.get(probe) or {}).get("httpGet") or {}
                if get.get("path") != path or get.get("port") not in (port_name,
                                                                      entry["metrics_port"]):
                    self.fail(f"{where}: {probe} must GET {path} on port {port_name} "
                              f"({entry['metrics_port']}), not {get}")
            self.check_pod_security(where, pod)
            svc = [s for s in services.values() if self.selects(s["spec"]["selector"], labels)
                   and any(p.get("targetPort") in (port_name, entry["metrics_port"])
                           for p in s["spec"]["ports"])]
            if not svc:
                self.fail(f"{where}: no Service on its port {port_name}")
                continue
            if monitors:
                svc_port = next(p["name"] for p in svc[0]["spec"]["ports"]
                                if p.get("targetPort") in (port_name, entry["metrics_port"]))
                m = monitors[0]["spec"]
                if not self.selects(m["selector"]["matchLabels"], svc[0]["metadata"]["labels"]) \
                        or svc_port not in [e["port"] for e in m["endpoints"]]:
                    self.fail(f"{where}: the ServiceMonitor does not scrape Service/"
                              f"{svc[0]['metadata']['name']} port {svc_port}")
        if len(images) != 1:
            self.fail(f"{overlay}: the services run different images: {sorted(images)}")
        sink = deployments.get("millrace-sink")
        pdbs = [p for p in self.by_kind(docs, "PodDisruptionBudget").values()
                if sink and self.selects(p["spec"]["selector"]["matchLabels"],
                                         sink["spec"]["template"]["metadata"]["labels"])]
        if sink and sink["spec"].get("replicas", 1) > 1 and not pdbs:
            self.fail(f"{overlay}: {sink['spec']['replicas']} sinks and no PodDisruptionBudget")
        self.ok(start, f"{overlay}: {len(self.registry)} services: command, probes, resources, "
                f"security, Service{' and ServiceMonitor' if monitors else ''}")

    def grant_command(self):
        words = ["millrace", "grant"]
        for s in self.registry:
            if s["database_role"] == "own":
                words += [f"--{s['name']}", f"millrace_{s['name']}"]
        return words

    def check_jobs(self, overlay, docs):
        start = len(self.failures)
        jobs = self.by_kind(docs, "Job")
        for name, steps in SETUP_STEPS.items():
            job = jobs.get(name)
            if not job:
                self.fail(f"{overlay}: no Job {name}")
                continue
            pod = job["spec"]["template"]["spec"]
            got = [c["command"] for c in pod.get("initContainers", []) + pod["containers"]]
            want = [s if s else self.grant_command() for s in steps]
            if got != want:
                self.fail(f"{overlay}: Job/{name} runs {got}, not {want}")
            self.check_pod_security(f"{overlay}: Job/{name}", pod)
        self.ok(start, f"{overlay}: the setup Jobs run "
                f"{sum(len(s) for s in SETUP_STEPS.values())} steps in order")

    # --- environment and --check-config --------------------------------------------

    def resolve_env(self, where, container, docs):
        """The environment Kubernetes gives `container`: values, ConfigMap and
        Secret keys (an operator's Secrets get a stand-in value), and $(VAR)
        references to variables before them expanded. A missing key marked
        `optional: true` leaves its variable unset, as Kubernetes does."""
        config_maps = self.by_kind(docs, "ConfigMap")
        secrets = self.by_kind(docs, "Secret")
        env = {}
        for var in container.get("env", []):
            if "value" in var:
                value = re.sub(r"\$\((\w+)\)",
                               lambda m: env.get(m.group(1), m.group(0)), var["value"])
            else:
                ref = var["valueFrom"]
                if "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    value = (config_maps.get(r["name"], {}).get("data") or {}).get(r["key"])
                else:
                    r = ref["secretKeyRef"]
                    if r["name"] in EXTERNAL_SECRETS and r["key"] in EXTERNAL_SECRETS[r["name"]]:
                        value = "made-by-the-operator"
                    else:
                        data = (secrets.get(r["name"], {}).get("data") or {}).get(r["key"])
                        value = None if data is None else base64.b64decode(data).decode()
                if value is None:
                    if r.get("optional") is True:
                        continue
                    self.fail(f"{where}: {var['name']} takes key {r['key']} of {r['name']}, "
                              "which the render does not have")
                    continue
            env[var["name"]] = value
        return env

    def check_environment(self, overlay, docs):
        start = len(self.failures)
        checked = 0
        for kind in ["Deployment", "Job"]:
            for name, obj in self.by_kind(docs, kind).items():
                pod = obj["spec"]["template"]["spec"]
                for c in pod.get("initContainers", []) + pod["containers"]:
                    where = f"{overlay}: {kind}/{name}: {c['name']}"
                    env = self.resolve_env(where, c, docs)
                    env["PATH"] = "/usr/bin:/bin"
                    argv = c["command"]
                    error, notes = check_config(os.path.join(self.bin_dir, argv[0]), argv[1:], env)
                    if error:
                        self.fail(f"{where}: `{' '.join(argv)} --check-config` {error}")
                    elif notes:
                        self.fail(f"{where}: " + "; ".join(notes))
                    checked += 1
        self.ok(start, f"{overlay}: {checked} containers accept their configuration and read "
                "every MILLRACE_ variable they are given")

    # --- storage ----------------------------------------------------------------------

    @staticmethod
    def quantity_bytes(quantity):
        """A Kubernetes quantity ("1280Mi", "2G", "500000000") in bytes; None
        when it is none."""
        m = re.fullmatch(r"(\d+)(k|M|G|T|Ki|Mi|Gi|Ti)?", str(quantity or ""))
        if not m:
            return None
        units = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
        return int(m.group(1)) * units[m.group(2)]

    @staticmethod
    def mount_of(container, path):
        """The volumeMount of `container` that `path` lies on (the deepest),
        or None: then it is on the image's root filesystem."""
        best = None
        for m in container.get("volumeMounts", []):
            mount = m["mountPath"].rstrip("/")
            if (path == mount or path.startswith(mount + "/")) and \
                    (best is None or len(mount) > len(best["mountPath"].rstrip("/"))):
                best = m
        return best

    def program_settings(self, argv, env):
        """What the program makes of `env`: the settings --check-config lists
        (`  --name = value  (source)`), as {name: value}; {} when it refuses
        (check_environment reports that)."""
        r = subprocess.run([os.path.join(self.bin_dir, argv[0])] + argv[1:] + ["--check-config"],
                           env=env, capture_output=True, text=True, timeout=30)
        return {m.group(1): "" if m.group(2) == '""' else m.group(2)
                for m in re.finditer(r"^  --([\w-]+) = (.*)  \([^()]*\)$", r.stdout, re.M)}

    def quiet_env(self, where, container, docs):
        """resolve_env, its failures left to check_environment."""
        before = len(self.failures)
        with contextlib.redirect_stdout(io.StringIO()):
            env = self.resolve_env(where, container, docs)
        del self.failures[before:]
        env["PATH"] = "/usr/bin:/bin"
        return env

    def check_storage(self, overlay, docs):
        """Every volume a container mounts is the pod's, every claim a pod
        makes is in the render and every claim in the render is made; and the
        archiver's files go where they can be written and kept."""
        start = len(self.failures)
        claims = self.by_kind(docs, "PersistentVolumeClaim")
        claimed = set()
        for kind in ["Deployment", "Job"]:
            for name, obj in self.by_kind(docs, kind).items():
                pod = obj["spec"]["template"]["spec"]
                volumes = {v["name"]: v for v in pod.get("volumes", [])}
                for c in pod.get("initContainers", []) + pod["containers"]:
                    for m in c.get("volumeMounts", []):
                        if m["name"] not in volumes:
                            self.fail(f"{overlay}: {kind}/{name}: {c['name']} mounts volume "
                                      f"{m['name']}, which its pod does not have")
                for v in volumes.values():
                    if "persistentVolumeClaim" in v:
                        claim = v["persistentVolumeClaim"]["claimName"]
                        claimed.add(claim)
                        if claim not in claims:
                            self.fail(f"{overlay}: {kind}/{name} claims PersistentVolumeClaim/"
                                      f"{claim}, which the render does not have")
        for claim in sorted(set(claims) - claimed):
            self.fail(f"{overlay}: PersistentVolumeClaim/{claim} is claimed by no pod")
        where = self.check_archiver_storage(overlay, docs, claims)
        self.ok(start, f"{overlay}: volumes: every mount has its volume, every claim its "
                f"PersistentVolumeClaim and back; {where}")

    def check_archiver_storage(self, overlay, docs, claims):
        """The archiver's archive (a directory: on a volume that outlives the
        pod, one writer for a ReadWriteOnce claim) or, with an object store,
        its spool (on a writable mount; an emptyDir large enough for a
        window's file per partition), and the files it reads (a SAS token,
        a key, a CA) on mounts. Returns what it found, for the ok line."""
        d = self.by_kind(docs, "Deployment").get("millrace-archiver")
        if not d:
            return "no archiver"
        where = f"{overlay}: Deployment/millrace-archiver"
        pod = d["spec"]["template"]["spec"]
        c = pod["containers"][0]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        settings = self.program_settings(c["command"], self.quiet_env(where, c, docs))
        if not settings:
            return "the archiver refuses its settings"

        def volume_for(path, what):
            m = self.mount_of(c, path)
            if not m or m.get("readOnly"):
                self.fail(f"{where}: {what} {path} is on a read-only "
                          f"{'mount' if m else 'root filesystem'}")
                return None
            return volumes.get(m["name"])

        url = settings["archive-url"]
        if url.startswith("/") or url.startswith("file://"):
            path = url[len("file://"):] if url.startswith("file://") else url
            v = volume_for(path, "the archive")
            if v is not None and "emptyDir" in v:
                self.fail(f"{where}: the archive {path} is on an emptyDir, lost with the pod")
            claim = claims.get((v or {}).get("persistentVolumeClaim", {}).get("claimName"))
            if claim and claim["spec"].get("accessModes") == ["ReadWriteOnce"] and \
                    (d["spec"].get("replicas", 1) > 1
                     or d["spec"].get("strategy", {}).get("type") != "Recreate"):
                self.fail(f"{where}: its archive's claim {claim['metadata']['name']} is "
                          "ReadWriteOnce: one member, strategy Recreate")
            found = f"the archive in {path}"
        else:
            spool = settings["spool"]
            v = volume_for(spool, "the spool")
            found = f"the archive in {url}, the spool in {spool}"
            if v is not None and "emptyDir" in v:
                # At most one open file per partition, each up to --max-mb.
                job = self.by_kind(docs, "Job").get("millrace-create-topics")
                partitions = next((int(e["value"]) for e in
                                   (job["spec"]["template"]["spec"]["containers"][0]
                                    .get("env", []) if job else [])
                                   if e["name"] == "MILLRACE_PARTITIONS"), None)
                limit = self.quantity_bytes(v["emptyDir"].get("sizeLimit"))
                if partitions:
                    need = partitions * int(settings["max-mb"]) * 10**6
                    if limit is None or limit < need:
                        self.fail(f"{where}: the spool's emptyDir holds "
                                  f"{v['emptyDir'].get('sizeLimit', 'no limit')}, less than "
                                  f"{partitions} partitions x {settings['max-mb']} MB (--max-mb)")
                    found += (f" (an emptyDir of {v['emptyDir'].get('sizeLimit')}, for "
                              f"{partitions} partitions x {settings['max-mb']} MB)")
            for name in ["azure-sas-file", "azure-key-file", "aws-credentials-file",
                         "archive-ca-file"]:
                path = settings.get(name)
                if path and not self.mount_of(c, path):
                    self.fail(f"{where}: --{name} {path} is on no mount (not in the image)")
        return found

    def check(self, overlay, docs):
        self.check_schemas(overlay, docs)
        self.check_services(overlay, docs)
        self.check_jobs(overlay, docs)
        self.check_environment(overlay, docs)
        self.check_storage(overlay, docs)

    # --- the archive in an object store, on Azure ---------------------------------------

    def check_azure_store(self, tree):
        """components/archive-object-store with an Azure container and a SAS
        token only (no S3 keys): production still renders, the archiver is
        given no AWS_ variable, accepts its settings and finds the token at
        MILLRACE_AZURE_SAS_FILE, a file of the Secret's key azure-sas."""
        component = os.path.join(tree, "components/archive-object-store")
        with open(os.path.join(component, "store.env"), "w") as f:
            f.write("url=azblob://millracearchive/millrace-archive/capture\n")
        with open(os.path.join(component, "credentials.env"), "w") as f:
            f.write("azure-sas=sv=2022-11-02&sr=c&sp=racwdl&sig=STAND-IN\n")
        overlay = "production (Azure Blob)"
        docs = self.render(tree, "production")
        if not docs:
            return
        start = len(self.failures)
        self.check_schemas(overlay, docs)
        self.check_environment(overlay, docs)
        self.check_storage(overlay, docs)
        d = self.by_kind(docs, "Deployment")["millrace-archiver"]
        pod = d["spec"]["template"]["spec"]
        c = pod["containers"][0]
        where = f"{overlay}: Deployment/millrace-archiver"
        env = self.quiet_env(where, c, docs)
        aws = sorted(k for k in env if k.startswith("AWS_"))
        if aws:
            self.fail(f"{where}: given {aws} without S3 keys in credentials.env")
        sas = env.get("MILLRACE_AZURE_SAS_FILE", "")
        m = self.mount_of(c, sas) if sas else None
        secret = next((v["secret"] for v in pod.get("volumes", [])
                       if m and v["name"] == m["name"] and "secret" in v), None)
        item = next((i for i in (secret or {}).get("items", [])
                     if m and os.path.join(m["mountPath"], i["path"]) == sas), None)
        data = (self.by_kind(docs, "Secret").get((secret or {}).get("secretName"), {})
                .get("data") or {})
        if not item or item["key"] not in data:
            self.fail(f"{where}: MILLRACE_AZURE_SAS_FILE ({sas or 'unset'}) is not a key of "
                      "a Secret the render has")
        self.ok(start, f"{overlay}: the archiver takes a SAS token from its Secret's file and "
                "no S3 keys")

    # --- the checks can fail ----------------------------------------------------------

    def expect_found(self, what, docs, mutate, overlay="production"):
        docs = copy.deepcopy(docs)
        mutate(docs)
        before = len(self.failures)
        with contextlib.redirect_stdout(io.StringIO()):
            self.check(f"{overlay} with {what}", docs)
        found = self.failures[before:]
        del self.failures[before:]
        if not found:
            self.fail(f"{what}: not found")
        else:
            print(f"ok: {what}: found ({found[0]})")

    def check_the_checks(self, docs):
        def sink(docs):
            return next(d for d in docs if d["kind"] == "Deployment"
                        and d["metadata"]["name"] == "millrace-sink")

        def misspelt_field(docs):
            sink(docs)["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}

        def unread_variable(docs):
            sink(docs)["spec"]["template"]["spec"]["containers"][0]["env"].append(
                {"name": "MILLRACE_BATCH_SZIE", "value": "100"})

        def wrong_probe_port(docs):
            sink(docs)["spec"]["template"]["spec"]["containers"][0]["readinessProbe"][
                "httpGet"]["port"] = 9999

        def missing_key(docs):
            s = next(d for d in docs if d["kind"] == "Secret"
                     and d["metadata"]["name"].startswith("millrace-sink"))
            s["data"] = {}

        def archiver(docs):
            return next(d for d in docs if d["kind"] == "Deployment"
                        and d["metadata"]["name"] == "millrace-archiver")

        def spool_on_root(docs):
            c = archiver(docs)["spec"]["template"]["spec"]["containers"][0]
            spool = next(e["value"] for e in c["env"] if e["name"] == "MILLRACE_ARCHIVE_SPOOL")
            c["volumeMounts"] = [m for m in c["volumeMounts"] if m["mountPath"] != spool]

        def small_spool(docs):
            for v in archiver(docs)["spec"]["template"]["spec"]["volumes"]:
                if "emptyDir" in v:
                    v["emptyDir"]["sizeLimit"] = "64Mi"

        print("-- the checks can fail:")
        self.expect_found("a misspelt field", docs, misspelt_field)
        self.expect_found("a variable no program reads", docs, unread_variable)
        self.expect_found("a probe on the wrong port", docs, wrong_probe_port)
        self.expect_found("a Secret without its key", docs, missing_key)
        self.expect_found("the archive's spool on the read-only root filesystem", docs,
                          spool_on_root)
        self.expect_found("a spool smaller than a file per partition", docs, small_spool)


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
