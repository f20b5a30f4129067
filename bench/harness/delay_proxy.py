#!/usr/bin/env python3
"""A TCP proxy that is a link with a round trip of RTT_MS and no bandwidth
limit of its own: every chunk read from either side is written on to the
other RTT_MS / 2 after it was read, in order, while later chunks keep being
read (a delay line, not a pause per chunk, so a window of bytes in flight
goes at the speed of what is behind it). This kernel has no `netem`
(CONFIG_NET_SCH_NETEM is not set, as docs/nemesis.md found), so the
archive_s3 stage puts this between the clients (the archiver and `aws s3
cp`, both through it alike) and the S3 store.

  delay_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT RTT_MS

Prints "ready" once it listens; runs until killed. Also a module:
start(target_host, target_port, rtt_ms) runs it as a child process and
returns (process, port)."""
import asyncio
import os
import subprocess
import sys
import time


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def forward():
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()

    sender = asyncio.ensure_future(forward())
    try:
        while True:
            chunk = await reader.read(1 << 18)
            if not chunk:
                break
            queue.put_nowait((loop.time() + delay, chunk))
        queue.put_nowait((0, None))
        await sender
    except (ConnectionError, asyncio.CancelledError):
        sender.cancel()
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def serve(listen_port, host, port, rtt_ms):
    delay = rtt_ms / 2000.0

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        # The connection's setup takes a round trip too.
        await asyncio.sleep(2 * delay)
        await asyncio.gather(pipe(client_reader, server_writer, delay),
                             pipe(server_reader, client_writer, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def start(host, port, rtt_ms, log_path=os.devnull):
    """Runs the proxy as a child; returns (process, its port)."""
    from pysupport import free_port  # the parent's: the child runs this file alone
    listen = free_port()
    log = open(log_path, "a")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(listen), host, str(port),
                             str(rtt_ms)], stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + 30
    line = proc.stdout.readline()
    if line.strip() != "ready" or time.monotonic() > deadline:
        proc.kill()
        raise SystemExit(f"bench: the delay proxy did not start (said {line!r})")
    return proc, listen


if __name__ == "__main__":
    a = sys.argv[1:5]
    asyncio.run(serve(int(a[0]), a[1], int(a[2]), float(a[3])))
