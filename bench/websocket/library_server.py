#!/usr/bin/env python3
"""The feed as a WebSocket library would serve it: the same framed stream as
feed_server.py (--stream), each frame sent as its own message through
PyPI's `websockets` (asyncio, no compression), flat out. bench/run measures
it once against the null client, to show why the stage's feed writes
pre-framed bytes instead (feed_server.py's docstring). Same status lines and
SIGUSR1 start as feed_server.py.

    library_server.py --port P --stream FILE --status FILE
"""
import argparse
import asyncio
import signal
import time

import websockets

from wire import frame_offsets, status_file


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--status", required=True)
    args = p.parse_args()

    status = status_file(args.status)
    with open(args.stream, "rb") as f:
        buffer = f.read()
    offsets = frame_offsets(buffer)
    texts = []
    for a, b in zip(offsets, offsets[1:]):
        n = buffer[a + 1] & 0x7F
        texts.append(buffer[a + (2 if n < 126 else 4 if n == 126 else 10):b].decode())
    go, done = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, go.set)
    loop.add_signal_handler(signal.SIGTERM, done.set)

    async def serve(ws):
        await ws.recv()
        status(subscribed=time.time())
        await go.wait()
        first = time.time()
        for text in texts:
            await ws.send(text)
        status(first_sent=first, last_sent=time.time(), bytes=len(buffer))
        await done.wait()

    async with websockets.serve(serve, "127.0.0.1", args.port, compression=None, max_size=None):
        status(listening=args.port, bytes=len(buffer))
        await done.wait()


if __name__ == "__main__":
    asyncio.run(main())
