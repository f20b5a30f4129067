#!/usr/bin/env python3
"""A market-data WebSocket feed that Millrace does not write (asyncio's
websockets, PyPI), for millrace-websocket's tests and benchmarks: Finnhub's
shape ({"type":"trade","data":[...]} after {"type":"subscribe","symbol":...},
{"type":"ping"} now and then) or Binance's (one {"e":"trade",...} per frame,
prices as strings, after {"method":"SUBSCRIBE",...} answered
{"result":null,"id":...}).

Each connection plays the next step of --script (the last repeats), a
comma-separated list of what it does after `frames` frames:
  close:N    a clean close (code 1001, "going away")
  reset:N    an abrupt TCP reset (no close frame)
  stall:N    stop sending and answering pings (the client must give up)
  run:N      keep sending (N: 0 for ever)
  slow:S     wait S seconds before the upgrade completes (a slow start)
  refuse     answer the upgrade with HTTP 503
Among the frames, --invalid-every, --binary-every and --oversize-every
send a frame the kind must refuse: invalid JSON (a frame cut short), a
binary frame, a frame over --oversize bytes.

SIGUSR1 stops the sending (the connections stay open); SIGTERM ends it.
Every frame sent is logged to --log as one JSON line: {"conn", "seq",
"kind" (trade, ping, ack, invalid, binary, oversize), "frame" (text; for
binary its hex), "trades": [{"s","p","v","t"}...]}: the test's oracle.

  feed_server.py --port P --shape finnhub|binance --rate R --log FILE [...]
"""
import argparse
import asyncio
import json
import random
import signal
import socket
import sys

import websockets
from websockets.datastructures import Headers
from websockets.http11 import Response

SYMBOLS_FINNHUB = ["BINANCE:BTCUSDT", "BINANCE:ETHUSDT", "AAPL", "MSFT"]


class Feed:
    def __init__(self, args):
        self.args = args
        self.script = [step.split(":") for step in args.script.split(",")]
        self.connections = 0
        self.log = open(args.log, "a", buffering=1)
        self.random = random.Random(args.seed)
        self.sent = 0
        self.trade_id = 1000
        self.stopping = asyncio.Event()
        self.quiet = asyncio.Event()

    def step(self, conn):
        s = self.script[min(conn, len(self.script) - 1)]
        return s[0], (float(s[1]) if len(s) > 1 else 0)

    def record(self, conn, seq, kind, frame, trades=()):
        self.log.write(json.dumps({"conn": conn, "seq": seq, "kind": kind,
                                   "frame": frame if isinstance(frame, str) else frame.hex(),
                                   "trades": list(trades)}) + "\n")

    def trade(self, symbol):
        price = f"{self.random.uniform(1, 70000):.2f}"
        volume = f"{self.random.uniform(0.0001, 5):.4f}"
        t = 1764400000000 + self.random.randrange(0, 86400000)
        self.trade_id += 1
        return {"s": symbol, "p": price, "v": volume, "t": t, "id": self.trade_id}

    def data_frame(self, symbols):
        if self.args.shape == "finnhub":
            trades = [self.trade(self.random.choice(symbols))
                      for _ in range(self.random.randint(1, self.args.per_frame))]
            frame = {"type": "trade", "data": [
                {"s": t["s"], "p": float(t["p"]), "t": t["t"], "v": float(t["v"]), "c": ["1", "12"]}
                for t in trades]}
            return json.dumps(frame), trades
        t = self.trade(self.random.choice(symbols))
        frame = {"e": "trade", "E": t["t"], "s": t["s"], "t": t["id"], "p": t["p"], "q": t["v"],
                 "T": t["t"], "m": True, "M": True}
        return json.dumps(frame), [t]

    async def serve(self, ws):
        conn = self.connections
        self.connections += 1
        action, arg = self.step(conn)
        symbols = []
        # The subscriptions: each answered as the feed does.
        try:
            first = await asyncio.wait_for(ws.recv(), timeout=10)
        except Exception:
            return
        seq = 0
        messages = [first]
        while True:
            try:
                messages.append(await asyncio.wait_for(ws.recv(), timeout=0.2))
            except asyncio.TimeoutError:
                break
            except websockets.ConnectionClosed:
                return
        for m in messages:
            msg = json.loads(m)
            if self.args.shape == "finnhub" and msg.get("type") == "subscribe":
                symbols.append(msg["symbol"])
            elif self.args.shape == "binance" and msg.get("method") == "SUBSCRIBE":
                symbols += [p.split("@")[0].upper() for p in msg["params"]]
                ack = json.dumps({"result": None, "id": msg.get("id")})
                seq += 1
                self.record(conn, seq, "ack", ack)
                await ws.send(ack)
        if not symbols:
            return
        limit = int(arg) if action in ("close", "reset", "stall", "run") else 0
        interval = 1.0 / self.args.rate
        next_at = asyncio.get_running_loop().time()
        data_frames = 0
        while True:
            if limit and data_frames >= limit:
                break
            if self.quiet.is_set():
                # SIGUSR1: nothing more is sent (the test then stops the
                # client, which must have received everything).
                await self.stopping.wait()
                return
            next_at += interval
            delay = next_at - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
            seq += 1
            self.sent += 1
            n = self.sent
            try:
                if self.args.invalid_every and n % self.args.invalid_every == 0:
                    frame = '{"type":"trade","data":[{"s":"AAPL","p":1'
                    self.record(conn, seq, "invalid", frame)
                    await ws.send(frame)
                elif self.args.binary_every and n % self.args.binary_every == 0:
                    frame = bytes([0, 1, 2, 3, 255])
                    self.record(conn, seq, "binary", frame)
                    await ws.send(frame)
                elif self.args.oversize_every and n % self.args.oversize_every == 0:
                    frame = json.dumps({"type": "trade", "data": [], "pad": "x" * self.args.oversize})
                    self.record(conn, seq, "oversize", frame)
                    await ws.send(frame)
                elif self.args.shape == "finnhub" and self.args.ping_every and n % self.args.ping_every == 0:
                    frame = '{"type":"ping"}'
                    self.record(conn, seq, "ping", frame)
                    await ws.send(frame)
                else:
                    frame, trades = self.data_frame(symbols)
                    self.record(conn, seq, "trade", frame, trades)
                    await ws.send(frame)
                    data_frames += 1
            except websockets.ConnectionClosed:
                self.log.write(json.dumps({"conn": conn, "seq": seq, "kind": "unsent"}) + "\n")
                return
        # What was sent reaches the client before the fault.
        await asyncio.sleep(0.3)
        if action == "close":
            await ws.close(1001, "going away")
        elif action == "reset":
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            ws.transport.abort()
        elif action == "stall":
            # Neither frames nor pongs: the transport stops reading.
            ws.transport.pause_reading()
            await self.stopping.wait()

    async def process_request(self, connection, request):
        action, arg = self.step(self.connections)
        if action == "refuse":
            self.connections += 1
            return Response(503, "Service Unavailable", Headers(), b"busy\n")
        if action == "slow":
            await asyncio.sleep(arg)
        return None


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--shape", choices=["finnhub", "binance"], default="finnhub")
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--per-frame", type=int, default=3)
    p.add_argument("--script", default="run:0")
    p.add_argument("--invalid-every", type=int, default=0)
    p.add_argument("--binary-every", type=int, default=0)
    p.add_argument("--oversize-every", type=int, default=0)
    p.add_argument("--oversize", type=int, default=2 << 20)
    p.add_argument("--ping-every", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    feed = Feed(args)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, feed.quiet.set)
    async with websockets.serve(feed.serve, args.host, args.port, ping_interval=5,
                                max_size=1 << 20, process_request=feed.process_request):
        print(f"feed_server: {args.shape} on {args.host}:{args.port}", flush=True)
        await stop
        feed.stopping.set()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
