"""What the websocket stage's feed and clients share: an HTTP head read off
a socket, the framed stream's layout, and their status files (JSON lines,
which bench/run polls). Standard library only.
"""
import json
import struct


def read_head(sock):
    """An HTTP request's or response's head, read off `sock`: (head, the
    bytes read past it). Raises ConnectionError when the peer closes first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the peer closed before the end of the upgrade's head")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head, rest


def frame_offsets(buffer):
    """Where each frame of a framed stream (server to client, unmasked)
    starts, and its end."""
    offsets, at = [], 0
    while at < len(buffer):
        offsets.append(at)
        n = buffer[at + 1] & 0x7F
        if n == 126:
            n, at = struct.unpack_from("!H", buffer, at + 2)[0], at + 4
        elif n == 127:
            n, at = struct.unpack_from("!Q", buffer, at + 2)[0], at + 10
        else:
            at += 2
        at += n
    offsets.append(at)
    return offsets


def status_file(path):
    """A function appending its keyword arguments to `path` as a JSON line."""
    def status(**fields):
        with open(path, "a") as f:
            f.write(json.dumps(fields) + "\n")
    return status
