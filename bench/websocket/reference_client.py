#!/usr/bin/env python3
"""The websocket stage's reference client: what a short script with the
usual libraries does with the same feed. PyPI's `websockets` (asyncio)
reads the frames; PyPI's `confluent-kafka` produces each trade of a frame's
`data` array as a record of its own, keyed by its symbol, to the same kind
of topic, with Millrace's producer settings (idempotence, acks=all,
linger.ms=5) and a delivery callback counting failures, then flushes.

Each record holds the fields millrace-websocket maps from Finnhub's frame
(proto/feeds/finnhub.json: an id from the run, the frame and the trade's
place, symbol, price, volume, time, conditions joined, feed), without the
kind's checks (decimal bounds, the timestamp's conversion) that Millrace
also does: the reference does at most the same work.

    reference_client.py --url ws://... --brokers B --topic T --frames N
                        --symbols S,S --status FILE

Appends {"connected": t} once subscribed, then {"done": t, "frames",
"records", "failed"} (Unix seconds) once N frames are read and every record
is acknowledged (flush() returned).
"""
import argparse
import asyncio
import json
import time

import websockets
from confluent_kafka import Producer

from wire import status_file


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--symbols", required=True)
    p.add_argument("--status", required=True)
    args = p.parse_args()

    status = status_file(args.status)
    producer = Producer({"bootstrap.servers": args.brokers, "client.id": "bench-websocket-reference",
                         "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    failed = 0

    def delivered(err, _msg):
        nonlocal failed
        if err is not None:
            failed += 1

    # Connected, and the topic's partitions known, before the stream, as
    # millrace-websocket is before it subscribes.
    producer.list_topics(args.topic, timeout=30)
    run = f"reference-{int(time.time() * 1000)}"
    frames = records = 0
    produce, poll, dumps, topic = producer.produce, producer.poll, json.dumps, args.topic
    # The feed does not answer a close: what the clock measures ends with the
    # flush, before the connection's close (which waits close_timeout).
    async with websockets.connect(args.url, compression=None, max_size=1 << 20, ping_interval=None,
                                  close_timeout=1) as ws:
        for symbol in args.symbols.split(","):
            await ws.send(dumps({"type": "subscribe", "symbol": symbol}))
        status(connected=time.time())
        async for message in ws:
            frames += 1
            frame = json.loads(message)
            if frame.get("type") == "trade":
                for i, t in enumerate(frame["data"]):
                    value = dumps({"TradeId": f"{run}:{frames}:{i}", "Symbol": t["s"], "Price": t["p"],
                                   "Volume": t["v"], "TradeTime": t["t"], "Conditions": ",".join(t.get("c", ())),
                                   "Feed": "finnhub"})
                    while True:
                        try:
                            produce(topic, value, t["s"], on_delivery=delivered)
                            break
                        except BufferError:  # librdkafka's queue is full: wait for acknowledgements
                            poll(0.005)
                    records += 1
            poll(0)
            if frames == args.frames:
                break
        left = producer.flush(120)
        status(done=time.time(), frames=frames, records=records, failed=failed + left)


if __name__ == "__main__":
    asyncio.run(main())
