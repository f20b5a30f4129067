"""nginx as the HTTP reference: answering what Millrace answered, with as
many workers as the services' event loops.
"""

import contextlib
import os
import signal
import subprocess
import types

from pysupport import free_port

from .common import COMMANDS, run, wait_for
from .wrk import HTTP_THREADS


def nginx_quote(text):
    """A single-quoted nginx string, in pieces: one config token may not
    exceed 4 KiB, and `return` would expand a `$`."""
    if "$" in text:
        raise SystemExit("bench: a reference response holds '$', which nginx would expand")
    text = text.replace("\\", "\\\\").replace("'", "\\'")
    return ["'" + text[i:i + 3000] + "'" for i in range(0, len(text), 3000)]


def nginx_config(nginx_dir, port, locations, tls=None, http_extra=""):
    """An HTTP reference: nginx, the same number of workers as the services'
    event loops, serving `locations` (its location blocks) on 127.0.0.1:port,
    with its pid, logs and temporary files under nginx_dir. `tls`: (cert,
    key) PEM files to serve HTTPS with, TLS 1.2 and 1.3 as millrace's
    services. `http_extra`: more directives of the http block (a
    log_format)."""
    listen = f"listen 127.0.0.1:{port}"
    if tls:
        listen += (f" ssl;\n    ssl_certificate {tls[0]};\n    ssl_certificate_key {tls[1]};\n"
                   "    ssl_protocols TLSv1.2 TLSv1.3")
    temp = " ".join(f"{k}_temp_path {nginx_dir}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
worker_processes {HTTP_THREADS};
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 75s;
  tcp_nodelay on;
  client_max_body_size 16m;
  client_body_buffer_size 1m;
  {temp}
  default_type application/json;
  {http_extra}
  server {{
    {listen};
    {locations}
  }}
}}
"""


@contextlib.contextmanager
def nginx_server(nginx_dir, locations, ready, what, tls=None, http_extra=""):
    """Runs nginx (nginx_config) while the block runs, once `ready(url)` says
    it answers; yields its URL and its processes (the master and its workers,
    for the CPU meter). Stopped gracefully at the end."""
    os.makedirs(nginx_dir, exist_ok=True)
    port = free_port()
    conf = os.path.join(nginx_dir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_config(nginx_dir, port, locations, tls, http_extra))
    cmd = ["nginx", "-p", nginx_dir, "-c", conf, "-e", os.path.join(nginx_dir, "error.log")]
    run(cmd + ["-t"])
    COMMANDS.append(" ".join(cmd) + f"  # {conf}: {what}")
    log_file = open(os.path.join(nginx_dir, "stderr.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        wait_for(lambda: ready(url), 30, "nginx to answer")
        workers = [types.SimpleNamespace(pid=int(p)) for p in
                   subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()]
        yield url, [proc] + workers
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, the master exits
        proc.wait(timeout=30)


def nginx_version():
    return subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
