"""The secure profile's certificates: its certs one-shot run here, and where
every service finds its files.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile

from .compose import local_path, volume_mounts
from .failures import fail


# The users the servers' images run as, who must own (and alone read) their
# keys: the Kafka image's appuser and the PostgreSQL image's postgres
# (deploy/docker/images/, with apache/kafka's and postgres' uids); the
# millrace image's comes from its Dockerfile.
IMAGE_UIDS = {"millrace-kafka:": 1000, "millrace-postgres:": 999}
TLS_SERVERS = ("kafka", "postgres", "producer", "api")


def image_uid(source, service):
    image = str(service.get("image", ""))
    if image.startswith("millrace:"):
        m = re.search(r"useradd [^\n]*--uid (\d+)",
                      open(os.path.join(source, "deploy/docker/Dockerfile")).read())
        return int(m.group(1)) if m else None
    return next((uid for prefix, uid in IMAGE_UIDS.items() if image.startswith(prefix)), None)


def run_certs(services, root, import_dir):
    """Runs the certs service's script as compose would (as root here, or
    with this user as every owner): each named volume it mounts is a
    directory under root, kept between runs, and import_dir is its import
    directory. Returns the finished process and {volume name: directory}."""
    service = services["certs"]
    env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
    tls_dir = env.get("MILLRACE_TLS_DIR", "/tls")
    argv = list(service.get("entrypoint") or []) + list(service.get("command") or [])
    volumes, script = {}, None
    for src, target in volume_mounts(service):
        if len(argv) > 1 and target == argv[1]:
            script = src
            continue
        if not target.startswith(tls_dir + "/"):
            fail(f"certs: mounts {src} at {target}, outside MILLRACE_TLS_DIR={tls_dir}")
            continue
        local = os.path.join(root, target[len(tls_dir) + 1:])
        if src.startswith("/"):
            if os.path.islink(local):
                os.unlink(local)
            os.makedirs(root, exist_ok=True)
            os.symlink(import_dir, local)
        else:
            os.makedirs(local, exist_ok=True)
            volumes[src] = local
    env.update({"PATH": "/usr/bin:/bin", "MILLRACE_TLS_DIR": root})
    if os.geteuid() != 0:
        ids = f"{os.getuid()}:{os.getgid()}"
        env["MILLRACE_TLS_OWNERS"] = " ".join(f"{s}={ids}" for s in TLS_SERVERS)
    r = subprocess.run([argv[0], script or "(no script mounted)"] + argv[2:], env=env,
                       capture_output=True, text=True, timeout=120)
    return r, volumes


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True)


def service_text(service):
    """Its environment, command and healthcheck, where file paths are named."""
    return " ".join([str(v) for v in (service.get("environment") or {}).values()] +
                    [str(a) for a in service.get("command") or []] +
                    [str(a) for a in (service.get("healthcheck") or {}).get("test") or []])


def check_tls_wiring(source, label, services, volumes, ca_expected=None):
    """Every file a service is told to use lies in a certs volume it mounts,
    as the certs run left it: one CA for every client (ca_expected's, when
    given), and for every server a certificate valid for its compose name
    and localhost against that CA, with its key, owned by the user its image
    runs as and readable by nobody else. Returns how many files were checked
    (0 after a failure)."""
    ca_files, checked = set(), 0
    for name, service in sorted(services.items()):
        if name == "certs":
            continue
        for ca in set(re.findall(r"(?:ssl\.ca\.location=|sslrootcert=|-CAfile )([^,&\s]+)",
                                 service_text(service))):
            here = local_path(ca, service, volumes)
            if not here or not os.path.isfile(here):
                fail(f"{label}: {name} trusts {ca}, which no certs volume it mounts holds")
                return 0
            ca_files.add(open(here).read())
            checked += 1
    if len(ca_files) != 1 or (ca_expected and open(ca_expected).read() not in ca_files):
        fail(f"{label}: the clients trust {len(ca_files)} CA(s), not the one certs set up")
        return 0
    ca = os.path.join(tempfile.mkdtemp(prefix="compose-ca-"), "ca.crt")
    with open(ca, "w") as f:
        f.write(ca_files.pop())
    servers = set()
    for name, service in sorted(services.items()):
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        pairs = [(env[f"{p}_TLS_CERT"], env.get(f"{p}_TLS_KEY", ""))
                 for p in ("MILLRACE_HTTP", "MILLRACE_API") if env.get(f"{p}_TLS_CERT")]
        conf = dict(re.findall(r"(ssl_cert_file|ssl_key_file)=(\S+)", service_text(service)))
        if conf:
            pairs.append((conf.get("ssl_cert_file", ""), conf.get("ssl_key_file", "")))
        if env.get("KAFKA_SSL_KEYSTORE_LOCATION"):
            # Kafka's PEM keystore: the key, then the certificate, in one file.
            pairs.append((env["KAFKA_SSL_KEYSTORE_LOCATION"], env["KAFKA_SSL_KEYSTORE_LOCATION"]))
        uid = image_uid(source, service)
        for cert, key in pairs:
            cert_here, key_here = local_path(cert, service, volumes), local_path(key, service, volumes)
            if not (cert_here and key_here and os.path.isfile(cert_here)
                    and os.path.isfile(key_here)):
                fail(f"{label}: {name} serves TLS with {cert} and {key}, which the certs volumes "
                     "it mounts do not hold")
                return 0
            st = os.stat(key_here)
            if os.geteuid() == 0 and (st.st_uid != uid or st.st_mode & 0o077):
                fail(f"{label}: {name}'s key {key} belongs to uid {st.st_uid}, mode "
                     f"{oct(st.st_mode & 0o777)}: its image runs as uid {uid}, and nobody else "
                     "may read it")
                return 0
            for host in (name, "localhost"):
                r = openssl("verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_hostname",
                            host, cert_here)
                if r.returncode != 0:
                    fail(f"{label}: {name}'s certificate {cert} does not verify for {host} "
                         f"against the clients' CA: {(r.stdout + r.stderr).strip()}")
                    return 0
            if openssl("x509", "-in", cert_here, "-noout", "-pubkey").stdout != \
                    openssl("pkey", "-in", key_here, "-pubout").stdout:
                fail(f"{label}: {name}'s key {key} is not its certificate's")
                return 0
            servers.add(name)
            checked += 2
    shutil.rmtree(os.path.dirname(ca))
    if servers != set(TLS_SERVERS):
        fail(f"{label}: the servers serving TLS are {sorted(servers)}, not {list(TLS_SERVERS)}")
        return 0
    return checked


def file_digests(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            if not os.path.islink(d):
                out[os.path.relpath(path, root)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return out


def make_ca(directory, subject):
    """A CA of the check's own: directory/ca.crt and ca.key."""
    os.makedirs(directory, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={subject}", "-keyout", os.path.join(directory, "ca.key"),
                    "-out", os.path.join(directory, "ca.crt")], check=True, capture_output=True)


def sign_server(ca_dir, host, out_dir):
    """out_dir/host.crt and host.key, for host and localhost, signed by ca_dir's CA."""
    key, csr, crt = (os.path.join(out_dir, host + ext) for ext in (".key", ".csr", ".crt"))
    ext = os.path.join(out_dir, host + ".ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{host},DNS:localhost,IP:127.0.0.1\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}",
                    "-keyout", key, "-out", csr], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-days", "2", "-in", csr, "-CA",
                    os.path.join(ca_dir, "ca.crt"), "-CAkey", os.path.join(ca_dir, "ca.key"),
                    "-CAcreateserial", "-CAserial", os.path.join(out_dir, "ca.srl"), "-extfile",
                    ext, "-out", crt], check=True, capture_output=True)
    os.remove(csr)
    os.remove(ext)


def check_certs(source, label, services, made):
    """The certs one-shot, run here as compose runs it: it makes a CA and
    every server's certificate into the volumes the servers mount, keeps
    them when run again, builds on a CA brought in the import directory, and
    fails (so nothing starts) on a certificate its CA did not sign. Returns
    {volume name: directory} of what it made under `made` (empty on a
    failure), for the services' own checks."""
    tmp = tempfile.mkdtemp(prefix="compose-certs-")
    try:
        empty = os.path.join(tmp, "import-empty")
        os.makedirs(empty)
        r, volumes = run_certs(services, made, empty)
        if r.returncode != 0:
            fail(f"{label}: certs exited {r.returncode}: {r.stderr.strip()[-1500:]}")
            return {}
        checked = check_tls_wiring(source, label, services, volumes)
        if not checked:
            return {}
        print(f"ok: {label}: certs made a CA and the servers' certificates, and every file "
              f"the services are told to use is in place ({checked} checked)")
        before = file_digests(made)
        r, _ = run_certs(services, made, empty)
        if r.returncode != 0 or file_digests(made) != before:
            fail(f"{label}: certs run again (exit {r.returncode}) did not keep what it had made")
            return {}
        print(f"ok: {label}: certs run again keeps every file")

        own = os.path.join(tmp, "import-own-ca")
        make_ca(own, "compose_check's own CA")
        r, volumes_own = run_certs(services, os.path.join(tmp, "own-ca"), own)
        if r.returncode != 0:
            fail(f"{label}: certs refused a CA brought with its key: {r.stderr.strip()[-1500:]}")
            return {}
        if not check_tls_wiring(source, label, services, volumes_own, os.path.join(own, "ca.crt")):
            return {}
        print(f"ok: {label}: certs takes a CA from the import directory and signs with it")

        other, bad = os.path.join(tmp, "other-ca"), os.path.join(tmp, "import-bad")
        make_ca(other, "Another CA")
        os.makedirs(bad)
        sign_server(other, "kafka", bad)
        r, _ = run_certs(services, os.path.join(tmp, "own-ca"), bad)
        if r.returncode == 0 or "kafka" not in r.stderr:
            fail(f"{label}: certs accepted a broker certificate its CA did not sign "
                 f"(exit {r.returncode}): {r.stderr.strip()[-500:]}")
            return {}
        print(f"ok: {label}: certs refuses a certificate its CA did not sign: "
              f"{r.stderr.strip().splitlines()[-1]}")
        return volumes
    finally:
        shutil.rmtree(tmp)
