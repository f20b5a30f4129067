"""Where the files go: every volume a container mounts is its pod's, every
PersistentVolumeClaim is claimed and in the render; the archiver's archive
is on a volume that outlives the pod or, with an object store, its spool on
a writable emptyDir large enough, and the files it reads are mounted.
"""

import os
import re
import subprocess

from kubernetes_base import CheckerBase


class StorageChecks(CheckerBase):
    """The volumes and claims, and the archiver's archive, spool and files."""

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

    def program_settings(self, argv, env):
        """What the program makes of `env`: the settings --check-config lists
        (`  --name = value  (source)`), as {name: value}; {} when it refuses
        (check_environment reports that)."""
        r = subprocess.run([os.path.join(self.bin_dir, argv[0])] + argv[1:] + ["--check-config"],
                           env=env, capture_output=True, text=True, timeout=30)
        return {m.group(1): "" if m.group(2) == '""' else m.group(2)
                for m in re.finditer(r"^  --([\w-]+) = (.*)  \([^()]*\)$", r.stdout, re.M)}

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
