"""The image recipe against the tree and the binaries: every target built,
every service's command and configuration, every library's package.
"""

import os
import re
import shutil
import subprocess

from pysupport import check_config

from .compose import in_volumes
from .failures import fail


# In every Debian image: apt itself depends on them.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def dockerfile_targets(source):
    text = open(os.path.join(source, "deploy/docker/Dockerfile")).read()
    m = re.search(r"--target ([^&\\\n]+)", text)
    if not m:
        fail("Dockerfile: no cmake --build --target line")
        return set()
    return set(m.group(1).split())


def installed_targets(source):
    """Every target an install(TARGETS ...) of the tree names: `cmake
    --install` in the Dockerfile installs them all, and fails on one that was
    not built."""
    names = set()
    for top in ["CMakeLists.txt", "libs", "services", "tests", "bench"]:
        path = os.path.join(source, top)
        files = [path] if os.path.isfile(path) else [
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f == "CMakeLists.txt"]
        for f in files:
            for body in re.findall(r"install\s*\(\s*TARGETS\s+([^)]*)\)", open(f).read()):
                for word in body.split():
                    if word.isupper():  # DESTINATION, RUNTIME, COMPONENT ...
                        break
                    names.add(word)
    return names


def check_dockerfile_targets(source, targets):
    missing = sorted(installed_targets(source) - targets)
    if missing:
        fail(f"Dockerfile: does not build {', '.join(missing)}, which install(TARGETS) names: "
             "its `cmake --install` would fail")
    else:
        print(f"ok: Dockerfile: builds every installed target ({', '.join(sorted(targets))})")


def check_millrace_service(label, name, service, bin_dir, targets, volumes):
    argv = list(service.get("entrypoint") or []) + list(service.get("command") or [])
    if not argv:
        fail(f"{label}: {name}: no command")
        return
    if argv[0] not in targets:
        fail(f"{label}: {name}: runs {argv[0]}, which the Dockerfile does not build")
        return
    # The files of the certs volumes (the HTTP services read theirs) where
    # the certs check made them.
    env = {k: in_volumes(str(v), service, volumes)
           for k, v in (service.get("environment") or {}).items()}
    env["PATH"] = "/usr/bin:/bin"
    runs = [argv]
    strict = True
    if name == "cli":
        # The CLI's service serves several commands; each reads its part.
        runs = [[argv[0], "produce", "--count", "1"], [argv[0], "migrate"],
                [argv[0], "create-topics"]]
        strict = False
    for run in runs:
        shown = " ".join(run)
        error, notes = check_config(os.path.join(bin_dir, run[0]), run[1:], env)
        if error:
            fail(f"{label}: {name}: `{shown} --check-config` {error}")
            continue
        if strict and notes:
            fail(f"{label}: {name}: " + "; ".join(notes))
        print(f"ok: {label}: {name}: `{shown}` accepts its configuration")


def check_runtime_packages(source, bin_dir, targets):
    listed = set()
    for line in open(os.path.join(source, "deploy/docker/runtime-packages")):
        line = line.split("#", 1)[0].strip()
        if line:
            listed.add(line)
    sonames = {}
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    for line in subprocess.run([ldconfig, "-p"], capture_output=True, text=True).stdout.splitlines()[1:]:
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if m:
            sonames.setdefault(m.group(1), m.group(3))
    for target in sorted(targets):
        dyn = subprocess.run(["readelf", "-d", os.path.join(bin_dir, target)],
                             capture_output=True, text=True, check=True).stdout
        for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn):
            path = sonames.get(soname)
            if not path:
                fail(f"runtime image: {target} needs {soname}, which ldconfig does not know")
                continue
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            package = owner.stdout.split(":", 1)[0].strip()
            if package in listed or package in BASE_IMAGE_PACKAGES:
                continue
            fail(f"runtime image: {target} needs {soname} from {package or '?'}, "
                 "not in deploy/docker/runtime-packages")
    print(f"ok: runtime image: checked the libraries of {', '.join(sorted(targets))}")
