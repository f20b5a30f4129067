#!/usr/bin/env python3
"""A TCP proxy that makes a store slow: what the client sends goes on at
RATE bytes a second at most, and every chunk waits DELAY_MS first (the
archive's fault tests put it between millrace-archiver and the object
store, so that uploads last long enough to be killed in the middle).

  slow_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT RATE DELAY_MS

Prints "ready" once it listens; runs until killed."""
import asyncio
import sys

listen_port, host, port, rate, delay_ms = sys.argv[1:6]
rate, delay = int(rate), int(delay_ms) / 1000.0


async def pipe(reader, writer, slow):
    try:
        while True:
            chunk = await reader.read(16384)
            if not chunk:
                break
            if slow:
                await asyncio.sleep(delay + len(chunk) / rate)
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer, True),
                         pipe(server_reader, client_writer, False))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(listen_port))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
