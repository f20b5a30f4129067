#!/usr/bin/env python3
"""The websocket stage's feed: a WebSocket server (RFC 6455, standard library
only) that serves one connection a pre-generated stream of Finnhub-shaped
trade frames, flat out or at a fixed rate, for bench/run.

It must not be what bounds the client it serves, so no frame is encoded
while it streams: every frame is generated and framed before the stream
starts, and the stream is written from that buffer in large writes (flat
out) or in the writes the schedule has due (paced). A server that encodes
and sends each frame through a WebSocket library costs microseconds of
Python per frame (`websockets` 17: the stage's report gives the figure it
measured), which is the order of what the clients spend on a frame.

    feed_server.py --generate N [--seed S] --stream FILE --records FILE
    feed_server.py --port P --stream FILE [--rate R] --status FILE

The stream (--generate, once per run of bench/run): N frames
{"type":"trade","data":[...]} of 1 to 5 trades each (3 on average; symbol,
price, volume, time and conditions, as Finnhub sends them), the same for
the same seed, written framed, as they go on the wire, to --stream; and
each trade, as the reference producer's payload, one JSON line each, to
--records.

Status lines (JSON) are appended to --status: {"listening": ...} with the
stream's size, {"subscribed": ...} once the client's first message (its
subscription) arrived, and {"first_sent", "last_sent", ...} (Unix seconds)
once the stream is written. The stream starts on SIGUSR1 after the
subscription (so that the client's start is not measured), or at once with
--start-at-once. Messages from the client are read and discarded. The
connection stays open, silent, after the stream until SIGTERM.
"""
import argparse
import base64
import hashlib
import json
import os
import random
import signal
import socket
import struct
import threading
import time

from wire import frame_offsets, read_head, status_file

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SYMBOLS = ["BINANCE:BTCUSDT", "BINANCE:ETHUSDT", "BINANCE:SOLUSDT", "BINANCE:XRPUSDT", "BINANCE:DOGEUSDT",
           "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AMD", "NFLX", "INTC",
           "OANDA:EUR_USD", "OANDA:GBP_USD", "OANDA:USD_JPY", "IC MARKETS:1", "KRAKEN:XBTUSD"]


def frame_bytes(text):
    """A server-to-client text frame (FIN, opcode 1, unmasked)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


def stream(frames, seed):
    """The frames' texts and their trades: the same for the same seed."""
    rnd = random.Random(seed)
    t = 1764400000000
    for _ in range(frames):
        trades = []
        for _ in range(rnd.randint(1, 5)):
            t += rnd.randint(0, 3)
            trades.append({"s": rnd.choice(SYMBOLS), "p": round(rnd.uniform(1, 70000), 2), "t": t,
                           "v": round(rnd.uniform(0.0001, 5), 4), "c": ["1", "12"]})
        yield json.dumps({"type": "trade", "data": trades}, separators=(",", ":")), trades


def handshake(conn):
    """Reads the client's upgrade request and accepts it; returns the bytes
    read past the request (the start of the client's first frames)."""
    head, rest = read_head(conn)
    key = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    if key is None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        raise ConnectionError("an upgrade request without Sec-WebSocket-Key")
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    return rest


def generate(args):
    records = 0
    with open(args.stream, "wb") as out, open(args.records, "w") as rec:
        for text, trades in stream(args.generate, args.seed):
            out.write(frame_bytes(text))
            records += len(trades)
            for t in trades:
                rec.write(json.dumps(t, separators=(",", ":")) + "\n")
    print(json.dumps({"frames": args.generate, "records": records, "bytes": os.path.getsize(args.stream)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--generate", type=int, help="write a stream of this many frames, and exit")
    p.add_argument("--seed", type=int, default=78)
    p.add_argument("--stream", required=True)
    p.add_argument("--records")
    p.add_argument("--port", type=int)
    p.add_argument("--rate", type=float, default=0, help="frames/s; 0: flat out")
    p.add_argument("--status")
    p.add_argument("--start-at-once", action="store_true")
    args = p.parse_args()
    if args.generate:
        return generate(args)

    go = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: go.set())
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    status = status_file(args.status)
    with open(args.stream, "rb") as f:
        buffer = memoryview(f.read())
    # Paced, each frame's place in the stream.
    offsets = frame_offsets(buffer) if args.rate > 0 else None
    frames = len(offsets) - 1 if offsets else None

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(1)
    status(listening=args.port, bytes=len(buffer))
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rest = handshake(conn)
    if not rest:
        rest = conn.recv(65536)  # the subscription's first bytes
    status(subscribed=time.time())

    def discard():
        # The client's other messages (subscriptions, a close): read so that
        # it never blocks on them, and dropped.
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
    threading.Thread(target=discard, daemon=True).start()

    if not args.start_at_once:
        go.wait()
    first = time.time()
    if args.rate <= 0:
        chunk = 1 << 20
        for at in range(0, len(buffer), chunk):
            conn.sendall(buffer[at:at + chunk])
    else:
        # Frame k is due at start + k / rate, whatever happened before: an
        # overdue frame goes at once, with every other one due by then.
        start, period, k = time.monotonic(), 1.0 / args.rate, 0
        while k < frames:
            now = time.monotonic()
            due = min(frames, int((now - start) / period) + 1)
            if due > k:
                conn.sendall(buffer[offsets[k]:offsets[due]])
                k = due
            else:
                time.sleep(start + k * period - now)
    status(first_sent=first, last_sent=time.time(), bytes=len(buffer))
    signal.pause()


if __name__ == "__main__":
    main()
