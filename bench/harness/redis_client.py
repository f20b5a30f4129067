"""The cache stages' Redis client.
"""

import contextlib
import re
import socket


class RedisConnection:
    """A minimal Redis client (RESP2 over a socket): enough for the cache
    stages' few commands and a keyspace subscription, without a Python
    package the harness would have to install."""

    def __init__(self, url, timeout=10):
        m = re.match(r"redis://([^:/]+):(\d+)(?:/(\d+))?/?$", url)
        if not m:
            raise SystemExit(f"bench: cannot read the Redis URL {url!r}")
        self.db = int(m.group(3) or 0)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")
        if self.db:
            self.command("SELECT", self.db)

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out += [b"$%d\r\n" % len(b), b, b"\r\n"]
        self.sock.sendall(b"".join(out))

    def read(self):
        line = self.reader.readline()
        if not line:
            raise ConnectionError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise SystemExit(f"bench: Redis answered an error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.reader.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ConnectionError(f"unexpected Redis reply {line!r}")

    def command(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
