"""Each rendered object's checks: every object against the Kubernetes OpenAPI
schemas (kubernetes-validate, strict); every service's Deployment (command,
probes, resources, security), the Service and ServiceMonitor that scrape it,
the sinks' PodDisruptionBudget; the setup Jobs' steps; and every container's
command and environment through the binary's own --check-config.
"""

import os

import kubernetes_validate

from kubernetes_base import CheckerBase
from pysupport import check_config

# The oldest Kubernetes still in upstream support when this was written, and
# the newest whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.32.0", "1.37.0"]
SETUP_STEPS = {
    "millrace-create-topics": [["millrace", "create-topics"]],
    "millrace-migrate": [["millrace", "migrate"], None,  # grant: from scripts/services
                         ["millrace", "api", "grant", "--reader", "millrace_api", "--admin",
                          "millrace_api_admin"],
                         ["millrace", "changefeed", "publish", "--grant-select",
                          "millrace_changefeed"]],
}


class ObjectChecks(CheckerBase):
    """The schemas, the services, the setup Jobs, every container's
    configuration."""

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
