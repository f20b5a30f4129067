"""What every check of kubernetes_check.py shares: CheckerBase holds
services/registry.json and the failures found (each printed as it is found,
and counted at the end), and looks up the render's objects by kind, whether a
selector selects a pod's labels, and a container's environment and mounts as
Kubernetes gives them.
"""

import base64
import contextlib
import io
import json
import os
import re

# Made by the operators the production overlay expects, not by Millrace:
# Strimzi's KafkaUser and cluster CA, CloudNativePG's CA.
EXTERNAL_SECRETS = {
    "millrace-services": {"password"},
    "millrace-cluster-ca-cert": {"ca.crt"},
    "millrace-pg-ca": {"ca.crt"},
}


class CheckerBase:
    """The state and look-ups the checks of kubernetes_check.py's Checker
    share; each of its other bases (kubernetes_*.py) holds one subject's
    checks."""

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

    @staticmethod
    def by_kind(docs, kind):
        return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}

    @staticmethod
    def selects(selector, labels):
        return all(labels.get(k) == v for k, v in (selector or {}).items())

    # --- a container's environment and mounts --------------------------------------

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

    def quiet_env(self, where, container, docs):
        """resolve_env, its failures left to check_environment."""
        before = len(self.failures)
        with contextlib.redirect_stdout(io.StringIO()):
            env = self.resolve_env(where, container, docs)
        del self.failures[before:]
        env["PATH"] = "/usr/bin:/bin"
        return env

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
