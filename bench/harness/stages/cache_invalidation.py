"""Cache invalidation: commit to Redis entry through the change feed and
millrace-cache, against the feed's own commit to topic.
"""

import json
import os
import subprocess
import time

from ..common import COMMANDS, percentiles_ms, ratio, wait_for
from ..cpu import cpu_times, steal_share
from ..redis_client import RedisConnection
from .change_listener import ChangeListener, commit_seconds
from .feed_references import RecvLogicalListener, bare_transactions, feed_goal, recvlogical_percentiles


# Single-row edits per second of the cache_invalidation stage.
CACHE_EDIT_RATE = 20


class KeyspaceListener:
    """Redis keyspace notifications on `pattern`, each stamped with the wall
    clock when it arrived: (time, key, event)."""

    def __init__(self, url, pattern):
        import threading
        self.conn = RedisConnection(url)
        self.prefix = f"__keyspace@{self.conn.db}__:"
        reply = self.conn.command("PSUBSCRIBE", pattern)
        if reply[0] != "psubscribe":
            raise SystemExit(f"bench: PSUBSCRIBE answered {reply!r}")
        self.conn.sock.settimeout(None)
        self.events = []
        self.thread = threading.Thread(target=self.listen, daemon=True)
        self.thread.start()

    def listen(self):
        try:
            while True:
                message = self.conn.read()
                now = time.time()
                if message[0] == "pmessage":  # pattern, channel, event
                    self.events.append((now, message[2][len(self.prefix):], message[3]))
        except (OSError, ValueError, ConnectionError):
            return

    def close(self):
        self.conn.close()
        self.thread.join(timeout=10)


def bench_cache_invalidation(stack, rig, rate, seconds, workdir):
    """Single-row UPDATEs at `rate` for `seconds`, each its own transaction
    (nine products for every category), while the change feed and
    millrace-cache run; for each edit, from its commit time
    (source.commit_time) to: its record's Kafka timestamp (CreateTime, when
    the feed produced it), its arrival at a read_committed consumer (kcat),
    and its Redis entry's change (a keyspace notification). All external to
    the services, on this machine's one clock."""
    generation = rig.wait_live()
    rebuilds = rig.rebuilds()
    redis = RedisConnection(rig.redis_url)
    saved = redis.command("CONFIG", "GET", "notify-keyspace-events")[1]
    redis.command("CONFIG", "SET", "notify-keyspace-events", "Kh")  # keyspace events of hash commands
    base = f"{rig.prefix}:g{generation}:"
    keys = KeyspaceListener(rig.redis_url, f"__keyspace@{redis.db}__:{rig.prefix}:*")
    topic = ChangeListener(stack.brokers, rig.TOPIC, os.path.join(workdir, "cache-kcat.log"))
    writer = subprocess.Popen(["psql", stack.pg, "-X", "-q", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              text=True)
    COMMANDS.append(f"psql \"$MILLRACE_PG\"  # UPDATE {rig.SCHEMA}.products/categories, one row per "
                    f"transaction, {rate}/s for {seconds} s")
    count = int(rate * seconds)
    products = rig.skus[:-1]  # the last is the warm-up's

    def entry_events():  # the entries' notifications, not the category list's
        return [e for e in keys.events if not e[1].endswith(":categories")]

    # The listener reads the topic from its beginning, and a repetition finds
    # the changes of the runs before it there, which it may still be reading
    # when this run's edits begin: only changes committed from here on count.
    stage_start = time.time()

    def committed_since_start(record):
        commit_time = json.loads(record[1]["payload"]).get("source", {}).get("commit_time")
        return commit_time is not None and commit_seconds(commit_time) >= stage_start

    def changes():
        return [r for r in topic.records if committed_since_start(r)]

    def edit(sql):
        writer.stdin.write(sql + "\n")
        writer.stdin.flush()

    steal_before = None
    recvlogical = None
    try:
        # One edit first, not measured: both listeners are reading once it
        # arrived, and the paths it takes are warm.
        edit(f"UPDATE {rig.SCHEMA}.products SET list_price = list_price + 0.01 WHERE sku = {rig.skus[-1]};")
        wait_for(lambda: len(changes()) >= 1 and len(entry_events()) >= 1, 60, "the warm-up edit to reach the cache")
        time.sleep(0.5)
        warm_records, warm_events = len(changes()), len(keys.events)
        # PostgreSQL's own client on a slot of its own, beside the feed.
        recvlogical = RecvLogicalListener(stack.env["MILLRACE_CHANGEFEED_PG"],
                                          os.path.join(workdir, "cache-recvlogical.log"))
        steal_before = cpu_times()
        wall_start = time.time()
        start = time.monotonic()
        for i in range(count):
            if i % 10 == 0:
                name = rig.categories[(i // 10) % len(rig.categories)].replace("'", "''")
                edit(f"UPDATE {rig.SCHEMA}.categories SET description = 'bench edit {i}' WHERE name = '{name}';")
            else:
                edit(f"UPDATE {rig.SCHEMA}.products SET list_price = list_price + 0.01 "
                     f"WHERE sku = {products[(i - i // 10 - 1) % len(products)]};")
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        writer.stdin.close()
        if writer.wait() != 0:
            raise SystemExit("bench: cache_invalidation: an edit failed")
        wait_for(lambda: len(changes()) >= warm_records + count and len(entry_events()) >= 1 + count, 300,
                 "every edit to reach the topic and the cache")
        time.sleep(0.5)  # anything more (there should be nothing) is seen too
        steal = steal_share(steal_before, cpu_times())
    finally:
        if writer.poll() is None:
            writer.kill()
        keys.close()
        topic.close()
        if recvlogical:
            recvlogical.close()
        redis.command("CONFIG", "SET", "notify-keyspace-events", saved)
    records, events = changes()[warm_records:], keys.events[warm_events:]
    stray = sorted({k for _, k, _ in events if not k.startswith(base)})
    if stray:
        raise SystemExit(f"bench: cache_invalidation: entries of another generation than {generation} changed "
                         f"({stray[:3]}): the cache was rebuilt during the stage ({rig.rebuilds_since(rebuilds)}); "
                         "see cache.log")
    arrivals, changes = pair_up(records, events, base, count)
    feed, consumer, cache, extra, own = edit_legs(arrivals, changes, base, workdir)
    # The entries end as the last change of each key made them.
    check = RedisConnection(rig.redis_url)
    try:
        wrong = [k for k, cs in changes.items() if check.command("HGET", k, "v") != cs[-1][0]]
    finally:
        check.close()
        redis.close()
    if wrong:
        raise SystemExit(f"bench: cache_invalidation: {len(wrong)} entries do not hold their last change, e.g. {wrong[0]}")
    out = {"rate": rate, "seconds": seconds, "edits": count, "generation": generation,
           "category_edits": sum(len(v) for k, v in changes.items() if ":category:" in k),
           "commit_to_topic_ms": percentiles_ms(feed), "commit_to_consumer_ms": percentiles_ms(consumer),
           "commit_to_cache_ms": percentiles_ms(cache), "topic_to_cache_ms": percentiles_ms(extra),
           "consumer_to_cache_ms": percentiles_ms(own), "cpu_steal_share": steal}
    out["ratio_p50"] = ratio(out["commit_to_cache_ms"]["p50"], out["commit_to_topic_ms"]["p50"])
    out["ratio_p99"] = ratio(out["commit_to_cache_ms"]["p99"], out["commit_to_topic_ms"]["p99"])
    # The feed's references, after the stage so that they do not share its
    # cores: pg_recvlogical's delay was taken beside it; a bare
    # transactional producer at the same rate, without and with an offset
    # sent into each transaction (the feed sends its checkpoint so).
    out["pg_recvlogical_ms"] = recvlogical_percentiles(recvlogical, wall_start)
    out["bare_transaction_ms"] = bare_transactions(stack, rate, seconds, offsets=False)
    out["bare_transaction_with_offsets_ms"] = bare_transactions(stack, rate, seconds, offsets=True)
    if out["pg_recvlogical_ms"]:
        out["feed_goal"] = feed_goal(out["commit_to_consumer_ms"], out["pg_recvlogical_ms"],
                                     out["bare_transaction_ms"])
    return out


def entry_key(base, change):
    """The Redis entry a change record's row is cached in (`base`: the live
    generation's prefix)."""
    table, key = change["table"], change["key"]
    return base + ("category:" + key["name"] if table.endswith(".categories") else f"product:{key['sku']}")


def pair_up(records, events, base, count):
    """Each entry's notification times and its changes on the topic (id,
    commit time, Kafka timestamp, arrival at the consumer), by key; fails
    unless every one of the `count` edits has one of each."""
    arrivals = {}
    for t, k, _ in events:
        if not k.endswith(":categories"):
            arrivals.setdefault(k, []).append(t)
    changes = {}
    for seen, rec in records:
        change = json.loads(rec["payload"])
        changes.setdefault(entry_key(base, change), []).append(
            (change["id"], commit_seconds(change["source"]["commit_time"]), rec["ts"] / 1000, seen))
    if len(records) != count or sorted(arrivals) != sorted(changes) or any(
            len(arrivals[k]) != len(v) for k, v in changes.items()):
        raise SystemExit(f"bench: cache_invalidation: {count} edits, {len(records)} changes on the topic, "
                         f"{sum(map(len, arrivals.values()))} entry changes in Redis: they do not pair up")
    return arrivals, changes


def edit_legs(arrivals, changes, base, workdir):
    """Per edit, commit to topic, to consumer and to cache, topic to cache,
    and consumer to cache (seconds); every edit's times also go to
    cache-invalidation.tsv in `workdir`."""
    feed, consumer, cache, extra, own = [], [], [], [], []
    rows = []
    for k, cs in changes.items():
        cs.sort()
        for (change_id, committed, produced, read), cached in zip(cs, arrivals[k]):
            feed.append(produced - committed)
            consumer.append(read - committed)
            cache.append(cached - committed)
            extra.append(cached - produced)
            own.append(cached - read)
            rows.append((committed, change_id, k[len(base):], produced, read, cached))
    # Every edit's times, for a closer look: Unix seconds.
    with open(os.path.join(workdir, "cache-invalidation.tsv"), "w") as f:
        f.write("commit_time\tchange_id\tkey\tkafka_timestamp\tconsumer_arrival\tcache_change\n")
        for committed, change_id, k, produced, read, cached in sorted(rows):
            f.write(f"{committed:.6f}\t{change_id}\t{k}\t{produced:.3f}\t{read:.6f}\t{cached:.6f}\n")
    return feed, consumer, cache, extra, own
