"""The production overlay otherwise: with the archive's object store set for
Azure Blob (a SAS token, no S3 keys), and with a fault put in, one at a time,
to see that the checks find it. These run the other bases' render and checks
and Checker.check (kubernetes_check.py), every check of one render.
"""

import contextlib
import copy
import io
import os

from kubernetes_base import CheckerBase


class VariantChecks(CheckerBase):
    """Production on Azure Blob, and the checks can fail."""

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
