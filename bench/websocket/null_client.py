#!/usr/bin/env python3
"""The websocket stage's null client: upgrades, sends one subscription, then
reads the stream and discards it, counting bytes, not frames (nothing is
parsed), until it has as many as the server said it would send. What it
measures is the server and the loopback alone: if the server streams to it
far faster than to a real client, the server is not what bounds that client.

    null_client.py --port P --bytes N --status FILE

Appends {"connected": t} once subscribed and {"done": t, "bytes": n} (Unix
seconds) to --status; standard library only.
"""
import argparse
import base64
import os
import socket
import struct
import time

from wire import read_head, status_file


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True, help="the stream's size, as the server said it")
    p.add_argument("--status", required=True)
    args = p.parse_args()

    status = status_file(args.status)
    sock = socket.create_connection(("127.0.0.1", args.port))
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
    head, rest = read_head(sock)
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"null_client: the upgrade was refused: {head[:80]!r}")
    # A masked text frame, as a client must send.
    payload = b'{"type":"subscribe","symbol":"AAPL"}'
    mask = os.urandom(4)
    sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask
                 + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    status(connected=time.time())
    got = len(rest)
    buf = bytearray(1 << 20)
    while got < args.bytes:
        n = sock.recv_into(buf)
        if n == 0:
            raise SystemExit(f"null_client: the server closed after {got} of {args.bytes} bytes")
        got += n
    status(done=time.time(), bytes=got)
    sock.close()


if __name__ == "__main__":
    main()
