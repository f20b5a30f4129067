"""The report's paragraphs and tables of the enrichment, growth, scale, soak
and cache stages.
"""

from ..common import ratio
from ..goals import GOALS
from .references import percent


def render_enrich(r):
    """The enrichment stage's paragraph: how it ran, what was checked, what the ratio means."""
    en = r["results"].get("enrich")
    if not en:
        return []
    on, off = en["on"], en["off"]

    def cpu(k):
        return f"{on['cpu_seconds'][k]:.1f} on, {off['cpu_seconds'][k]:.1f} off"

    us_per_event = {m: en[m]["cpu_seconds"]["sinks"] * 1e6 / r["events"] for m in ("on", "off")}
    steady = ""
    if en.get("ratio_after_first_commit"):
        steady = (f" From the first stored offsets to the end, without those fixed costs: "
                  f"{on['after_first_commit_events_per_s']:,.0f} events/s on, "
                  f"{off['after_first_commit_events_per_s']:,.0f} off (ratio {en['ratio_after_first_commit']}).")
    return [
        f"Enrichment: the {r['events']:,} events produced to a topic of their own, then drained twice as the drain "
        "stage drains (two sinks in a new group, from their start until the stored offsets reach the end), each "
        "time into a fresh schema holding the generated catalog (20 categories, 6,000 products): first with "
        "enrichment off, then with `MILLRACE_SINK_ENRICH=true`, each sink loading the catalog into memory at its "
        "start and following it through a change topic (no edits during the stage). CPU seconds, sinks: "
        f"{cpu('sinks')} ({us_per_event['on']:.1f} and {us_per_event['off']:.1f} µs per event); PostgreSQL: "
        f"{cpu('postgres')}; Kafka: {cpu('kafka')}. The first offsets were stored {on['first_commit_seconds']:.1f} s "
        f"after the start with enrichment on, {off['first_commit_seconds']:.1f} s off (joining the group, and "
        "on, loading the catalog)." + steady + " Checked in SQL: with enrichment on, "
        f"{on['enriched_rows']:,} of the {on['rows']:,} kept rows carry a product name, and "
        f"{on['rows_unlike_catalog']} differ from the catalog in name, brand or category for their sku; off, "
        f"{off['rows_with_facts']} of {off['rows']:,} carry any of the three.", "",
        f"What it means: the ratio ({en['ratio']}) is the share of their throughput the sinks keep when they "
        "enrich: a lookup in memory per kept row (no round trip) and three more text columns in every `COPY`, "
        "which PostgreSQL writes too. Its clock includes each sink's catalog load at start (a few thousand rows "
        "from PostgreSQL, before its first batch), which weighs on a small run only. Each drain takes seconds, "
        "and when the machine has other work a pair of them differs by more than enrichment costs, either way; "
        "the sinks' CPU per event is the steadier measure of what it adds.", "",
    ]


def render_growth(r):
    """The growth stage's rows and what they mean."""
    g = r["results"].get("growth")
    if not g:
        return []
    e, h = g["empty"], g["history"]
    return [
        f"The store as history grows: the {r['events']:,} events, already in Kafka, drained by two sinks (as the "
        "drain stage drains) into an empty store, then into one already holding "
        f"{h['history_rows']:,} rows spread over the last 30 days (generated in SQL in "
        f"{h['history_seconds']:.0f} s, {h['partitions']} daily partitions).", "",
        "| store before the drain | events/s | sinks' CPU per event | WAL per kept row | kept rows |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| empty | {e['events_per_s']:,.0f} | {e['sink_cpu_us_per_event']:.1f} µs | "
        f"{e['wal_bytes_per_kept_row']:,.0f} B | {e['kept_rows']:,} |",
        f"| {h['history_rows']:,} rows | {h['events_per_s']:,.0f} ({g['ratio']}×) | "
        f"{h['sink_cpu_us_per_event']:.1f} µs | {h['wal_bytes_per_kept_row']:,.0f} B | {h['kept_rows']:,} |", "",
        "What it means: a kept event is written into its own day's partition and that partition's indexes, "
        "whose primary key `(ts, id)` grows in time order, so the history before it costs an insert little. "
        "The ratio is the share of its empty-store rate the store keeps with that history.", "",
    ]


def render_scale(r):
    """The scale curve's table."""
    rows = r["results"].get("scale")
    if not rows:
        return []
    out = [
        f"The scale curve: the same {r['events']:,} events, already in Kafka on topics of "
        f"{', '.join(str(p) for p in sorted({s['partitions'] for s in rows}))} partitions, drained by "
        f"{', '.join(str(c) for c in sorted({s['sinks'] for s in rows}))} "
        "sinks and the aggregator together, each time into a fresh schema. Events/s is until both groups have "
        "stored every offset; \"after joins\" leaves out the time before every member held its partitions. CPU "
        "is seconds per 1,000 events.", "",
        "| partitions | sinks | events/s | after joins | sinks done | aggregator done | CPU: sinks | aggregator "
        "| PostgreSQL | Kafka |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in rows:
        c = s["cpu_s_per_1000"]
        after = f"{s['after_joins_events_per_s']:,}" if s["after_joins_events_per_s"] else "n/a"
        out.append(f"| {s['partitions']} | {s['sinks']} | {s['events_per_s']:,} | {after} | "
                   f"{s['sinks_events_per_s']:,}/s | {s['aggregator_events_per_s']:,}/s | {c['sinks']:.3f} | "
                   f"{c['aggregator']:.3f} | {c['postgres']:.3f} | {c['kafka']:.3f} |")
    return out + [""]


def render_soak(r):
    """The soak's two windows and its sizes over time."""
    s = r["results"].get("soak")
    if not s:
        return []
    f, l = s["first_5_min"], s["last_5_min"]
    mb = lambda v: f"{v / 1e6:,.0f} MB"
    out = [
        f"The soak: {s['rate']:,} events/s for {s['minutes']} minutes ({s['events']:,} events) through two sinks "
        f"and the aggregator, the store in {s['partition_minutes']}-minute partitions kept "
        f"{s['retention_minutes']} minutes, so retention drops a partition every {s['partition_minutes']} minutes "
        f"once it starts ({s['partitions_dropped']} dropped in all). Event creation to committed row, from every "
        f"row ({s['rows_measured']:,} of the {s['persisted']:,} persisted; {s['expired']} expired, "
        f"{s['unaccounted']} unaccounted):", "",
        "| window | rows | p50 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| first 5 minutes | {f['rows']:,} | {f['p50_ms']} ms | {f['p99_ms']} ms | {f['max_ms']} ms |",
        f"| last 5 minutes | {l['rows']:,} | {l['p50_ms']} ms | {l['p99_ms']} ms | {l['max_ms']} ms |",
        f"| last over first | | | {s['p99_last_over_first']}× | |", "",
        "Sizes as it ran (the store: `store_events`' partitions with their indexes; the database: every table "
        "of the stack's database; PostgreSQL's data directory includes its WAL):", "",
        "| at | partitions | store rows | store | aggregator's seen ids | database | PostgreSQL data dir | Kafka data |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for x in s["samples"][1::2] if len(s["samples"]) > 12 else s["samples"]:
        out.append(f"| {x['at_s'] / 60:.1f} min | {x['partitions']} | {x['store_rows']:,} | {mb(x['store_bytes'])} | "
                   f"{mb(x['seen_ids_bytes'])} | {mb(x['database_bytes'])} | {mb(x['pgdata_bytes'])} | "
                   f"{mb(x['kafka_bytes'])} |")
    return out + [""]


def render_cache_rows(res):
    """The cache stages' lines in the main table."""
    lines = []
    cr = res.get("cache_reads")
    if cr:
        cached = cr["cached"]["rate"]
        near = "cached_redis" in cr
        label = (f"catalog reads through the cache (`GET {cr['path']}`, {cr['body_bytes']:,} bytes of JSON; "
                 f"`millrace-api` answering from " + ("its near cache in memory, kept equal to Redis" if near else
                                                      "Redis") + f", {cr['connections']} connections)")
        if cr.get("nginx"):
            lines.append(f"| {label} | {cached:,.0f} req/s | nginx answering the same bytes: "
                         f"{cr['nginx']['rate']:,.0f} req/s | {cr['ratio_cached_nginx']} |")
        if near and cr.get("nginx"):
            lines.append(f"| catalog reads through the cache with the near cache off (every read a Redis round trip) | "
                         f"{cr['cached_redis']['rate']:,.0f} req/s | nginx answering the same bytes: "
                         f"{cr['nginx']['rate']:,.0f} req/s | {cr['ratio_redis_nginx']} |")
        lines.append(f"| catalog reads through the cache, against the same service without it | {cached:,.0f} req/s | "
                     f"`millrace-api` reading PostgreSQL for every request: {cr['uncached']['rate']:,.0f} req/s | "
                     f"{cr['ratio_cached_uncached']} |")
        if cr.get("nginx_tls"):
            lines.append(f"| catalog reads through the cache over HTTPS (the same, `millrace-api` serving TLS itself) | "
                         f"{cr['cached_tls']['rate']:,.0f} req/s | nginx answering the same bytes over HTTPS, same "
                         f"certificate: {cr['nginx_tls']['rate']:,.0f} req/s | {cr['ratio_tls_nginx_tls']} |")
    ci = res.get("cache_invalidation")
    if ci:
        cache, feed = ci["commit_to_cache_ms"], ci["commit_to_topic_ms"]
        lines.append(
            f"| cache invalidation (single-row UPDATEs at {ci['rate']}/s -> change feed -> `millrace-cache` -> Redis, "
            f"{ci['edits']:,} edits; commit time to the entry's change in Redis) | p50 {cache['p50']:.1f} ms, "
            f"p99 {cache['p99']:.1f} ms | the change feed alone, commit time to the record's Kafka timestamp: "
            f"p50 {feed['p50']:.1f} ms, p99 {feed['p99']:.1f} ms | {ci['ratio_p50']} (p50), {ci['ratio_p99']} (p99) |")
    return lines


def render_feed_references(ci):
    """The change feed's two references from the same stage (issue 40's
    goal): PostgreSQL's own client and a bare transactional producer."""
    recv, bare = ci.get("pg_recvlogical_ms"), ci.get("bare_transaction_ms")
    if not recv or not bare:
        return []
    offsets, goal, consumer = ci["bare_transaction_with_offsets_ms"], ci["feed_goal"], ci["commit_to_consumer_ms"]
    return [
        f"The change feed's references, at the same {ci['rate']} commits/s: `pg_recvlogical` on a slot of its own "
        "(`test_decoding` with commit times, run beside the feed during the stage), commit time to the moment "
        "its COMMIT line was read; and `millrace-bench-paced-transactions` (`bench/paced_transactions.cpp`, "
        "librdkafka alone with the feed's producer settings, after the stage), one 300-byte record per Kafka "
        "transaction on a fixed schedule, "
        "timed from its slot to `commit_transaction()`'s return, without and with an offset sent into each "
        "transaction as the feed sends its checkpoint.", "",
        "| reference | p50 | p99 | max |",
        "| --- | ---: | ---: | ---: |",
        f"| `pg_recvlogical`, commit to receipt | {recv['p50']:.1f} ms | {recv['p99']:.1f} ms | {recv['max']:.1f} ms |",
        f"| a bare Kafka transaction | {bare['p50']:.1f} ms | {bare['p99']:.1f} ms | {bare['max']:.1f} ms |",
        f"| a bare Kafka transaction with an offset | {offsets['p50']:.1f} ms | {offsets['p99']:.1f} ms | "
        f"{offsets['max']:.1f} ms |",
        "",
        f"Issue 40's goal for the feed: commit to a `read_committed` consumer at p99 ({consumer['p99']:.1f} ms) "
        f"at most twice the sum of the references' p99s ({goal['sum_of_references_p99_ms']:.1f} ms): "
        f"{goal['ratio_p99']} times the sum, " + ("met." if goal["met"] else "not met."), "",
    ]


def render_cache(res):
    """The catalog cache's two stages in detail: reads against PostgreSQL and
    nginx, and each edit's way from its commit to Redis, leg by leg."""
    cr, ci = res.get("cache_reads"), res.get("cache_invalidation")
    if not cr and not ci:
        if "cache_reads" in res:
            return ["Catalog cache reads: not measured (no `wrk`).", ""]
        return []
    lines = ["### The catalog cache", ""]
    if cr:
        ngx = cr.get("nginx")
        lines += [
            f"Reads: `GET {cr['path']}` (the generated catalog's 20 categories, {cr['body_bytes']:,} bytes of "
            f"`{cr['content_type']}`) as fast as {cr['connections']} connections allow, for {cr['seconds']} s each, "
            "under the same wrk runs (2 threads, `bench/wrk/ingest.lua`'s counting with GET requests), one server "
            f"after the other: `millrace-api` ({cr['http_threads']} HTTP threads, {cr['api_workers']} workers) with "
            "`MILLRACE_REDIS_URL` set and `millrace-cache` keeping the cache live; the same service without it, "
            "reading PostgreSQL for every request" +
            (f"; and {ngx['server'].replace('nginx version: ', '')} with {cr['http_threads']} workers answering "
             "every request with the cached answer's bytes, status and content type (HTTP alone)" if ngx else "") +
            ". The cached run's `millrace_cache_reads_total{kind=\"categories\"}` rose by " +
            (f"{cr['cached']['cache_reads'].get('held', 0):,.0f} reads from the near cache (`held`) and "
             if "cached_redis" in cr else "") +
            f"{cr['cached']['cache_reads']['hit']:,.0f} hits in Redis ({cr['cached']['requests']:,} requests counted by "
            "wrk, a few more answered after it stopped counting), "
            f"{cr['cached']['cache_reads']['miss']:,.0f} misses and {cr['cached']['cache_reads']['bypass']:,.0f} bypasses" +
            (f"; with the near cache off (`MILLRACE_API_NEAR_CACHE_ENTRIES=0`), "
             f"{cr['cached_redis']['cache_reads']['hit']:,.0f} hits in Redis" if "cached_redis" in cr else "") +
            "; the service without the cache answered the same bytes." +
            ("" if not cr.get("cache_rebuilds") else
             " `millrace-cache` rebuilt the cache during these runs (`millrace_cache_rebuilds_total` rose by " +
             ", ".join(f"{n:.0f} for `{reason}`" for reason, n in sorted(cr["cache_rebuilds"].items())) +
             "); every read of the cached run was a hit, so that run had the cache throughout."), "",
            "| server | req/s | latency p50 / p99 / p99.9 | non-2xx | socket errors | CPU µs per request: server / Redis / PostgreSQL / wrk / other |",
            "| --- | ---: | --- | ---: | ---: | --- |",
        ]
        for key, label in (("cached", "`millrace-api`, near cache" if "cached_redis" in cr
                            else "`millrace-api`, cache in Redis"),
                           ("cached_redis", "`millrace-api`, every read from Redis"),
                           ("uncached", "`millrace-api`, PostgreSQL"),
                           ("nginx", "nginx, the same bytes"),
                           ("cached_tls", "`millrace-api`, cache in Redis, HTTPS"),
                           ("nginx_tls", "nginx, the same bytes, HTTPS")):
            h = cr.get(key)
            if not h:
                continue
            lat, cpu = h["latency_ms"], h["cpu_us_per_request"]
            server = cpu.get("millrace-api", cpu.get("nginx", 0))
            lines.append(f"| {label} | {h['rate']:,.0f} | " + " / ".join(f"{lat[p]:.2f}" for p in ("p50", "p99", "p999"))
                         + f" ms | {h['non2xx']} | {h['socket_errors']} | "
                         + " / ".join(f"{v:,.1f}" for v in (server, cpu["redis"], cpu["postgres"], cpu["wrk"], cpu["other"]))
                         + " |")
        lines += [
            "",
            "What it means: the ratio to nginx is the share of bare HTTP throughput `millrace-api` keeps while it "
            + ("routes each request and answers it on its event loop from the near cache (no worker, no round "
               "trip; Redis is read again after each renewal of the live mark, every 1.25 s, and after each change "
               f"of the entry). Asking Redis for every read, as before the near cache, the service handed each "
               f"request to a worker and made one round trip (a Lua script): {cr['ratio_redis_nginx']} of nginx, "
               f"and the near cache is {cr['ratio_cached_redis']} times that. "
               if "cached_redis" in cr and cr.get("nginx") else
               "routes each request, hands it to a worker and looks the entry up in Redis (one round trip, a Lua "
               "script). ") +
            "The ratio to the uncached service is what the cache buys over reading and rendering the rows "
            "from PostgreSQL, on the same cores, with Redis and PostgreSQL sharing them with the load generator. "
            "Over HTTPS (the stack's certificate, RSA 2048, the protocol and cipher wrk and each server negotiate; the "
            "connections are kept, so handshakes count once per connection) both servers also encrypt every "
            f"request and response: the API keeps {cr['ratio_tls_plain']} of its plain-HTTP rate"
            + (f", nginx {ratio(cr['nginx_tls']['rate'], cr['nginx']['rate'])} of its own" if cr.get("nginx_tls") else "")
            + ".",
            "",
        ]
    if ci:
        lines += [
            f"Invalidation: {ci['edits']:,} single-row UPDATEs at {ci['rate']}/s ({ci['category_edits']:,} of "
            "categories, the rest of distinct products), each its own transaction, while `millrace-changefeed` and "
            "`millrace-cache` run. Every leg starts at the change's commit time (`source.commit_time`, from "
            "PostgreSQL) and is measured outside the services, on this machine's one clock: the record's Kafka "
            "timestamp (CreateTime, set when the feed produced it, before its Kafka transaction commits); its "
            "arrival at a `read_committed` consumer reading the topic beside the cache (`kcat`); and the moment a "
            "keyspace notification (`notify-keyspace-events Kh`) for its Redis entry reached a subscriber. Each "
            "notification is paired with the change of its key, in order, and every edited entry ends holding its "
            "last change's version. CPU steal during the stage: " + percent(ci.get("cpu_steal_share")) + ".", "",
            "| from commit to | p50 | p99 | max |",
            "| --- | ---: | ---: | ---: |",
        ]
        for key, label in (("commit_to_topic_ms", "the record's Kafka timestamp (the change feed)"),
                           ("commit_to_consumer_ms", "its arrival at a `read_committed` consumer"),
                           ("commit_to_cache_ms", "the Redis entry's change (the cache)")):
            l = ci[key]
            lines.append(f"| {label} | {l['p50']:.1f} ms | {l['p99']:.1f} ms | {l['max']:.1f} ms |")
        extra, own = ci["topic_to_cache_ms"], ci["consumer_to_cache_ms"]
        lines += [
            "",
            f"Per edit, the cache's change came p50 {extra['p50']:.1f} / p99 {extra['p99']:.1f} ms after the "
            f"record's Kafka timestamp, and p50 {own['p50']:.1f} / p99 {own['p99']:.1f} ms after the record "
            "reached the consumer beside it.", "",
        ]
        lines += render_feed_references(ci)
        lines += [
            f"What it means: the ratios ({ci['ratio_p50']} at p50, {ci['ratio_p99']} at p99) are commit-to-cache "
            "over the feed's own commit-to-topic delay. 1 would mean the cache adds nothing to the feed; what it "
            "adds is the Kafka transaction's commit and a `read_committed` fetch (the consumer row, which any "
            "reader of the feed pays), then `millrace-cache`'s own work: reading the batch, one pipelined Redis "
            "round trip, and the notification's way to the subscriber.",
            "",
        ]
    return lines


def render_backfill(res):
    """The backfill stage: its speed against COPY, and what it does to the
    live changes' delay."""
    bf = res.get("backfill")
    if not bf:
        return []
    idle, during = bf["idle_commit_to_consumer_ms"], bf["backfill_commit_to_consumer_ms"]
    return [
        "### A backfill while writes go on", "",
        f"A table of {bf['rows']:,} rows (bigint key, two integers, a numeric and a 32-character text), published, with `millrace-changefeed` "
        f"streaming it. pgbench updates random rows at {bf['write_rate']}/s, first with the feed idle "
        f"({idle['count']:,} updates), then while `millrace changefeed backfill` reads the table in chunks of "
        f"{bf['chunk_size']:,} ({bf['chunks']:,} chunks; {during['count']:,} updates). The first row reached the "
        f"consumer {bf['first_row_after_s']:.2f} s after the request, the end record {bf['seconds']:.1f} s after "
        f"it: {bf['rows_per_s']:,.0f} rows/s, {bf['ratio']} of PostgreSQL's own `COPY (SELECT ...) TO` of the "
        f"same table ({bf['copy_seconds']:.1f} s). {bf['rows_superseded']:,.0f} rows were left out of their chunk "
        f"because an update of them was streamed in its window, {bf['chunks_reread']:,.0f} chunks read again; "
        f"{bf['rows_published']:,} `r` records.", "",
        f"The updates' commit to a read_committed consumer (kcat): idle p50 {idle['p50']:.1f} / p99 "
        f"{idle['p99']:.1f} ms; during the backfill p50 {during['p50']:.1f} / p99 {during['p99']:.1f} ms "
        f"(ratio {bf['ratio_p50']} / {bf['ratio_p99']}).{produced_sentence(bf)} A live change waits behind the "
        f"chunks read before it (at most four: two publishing, two waiting), and shares Kafka transactions "
        f"with their rows.", "",
    ]


def produced_sentence(bf):
    """The feed's part of the updates' delay: commit to the record's Kafka timestamp."""
    idle, during = bf.get("idle_commit_to_produced_ms"), bf.get("backfill_commit_to_produced_ms")
    if not idle or not during:
        return ""
    return (f" Of that, commit to the record's Kafka timestamp (the feed's part): idle p50 {idle['p50']:.1f} / "
            f"p99 {idle['p99']:.1f} ms, during the backfill p50 {during['p50']:.1f} / p99 {during['p99']:.1f} ms.")


def served_sentence(c):
    """What millrace-webhooks counted in a run of the webhooks stage."""
    if not c:
        return ""
    direct = c.get("batch_requests")
    by_batches = (f" ({direct:,.0f} of them by its consumer, in its batches' transactions)"
                  if direct is not None else "")
    return (f" The service sent {c['requests']:,.0f} requests{by_batches} after "
            f"{c['claims_found'] + c['claims_empty']:,.0f} "
            f"claims ({c['claims_empty']:,.0f} of them finding no endpoint to take) and {c['continued']:,.0f} "
            f"times kept a busy queue, reading its next deliveries as it stored the last; its consumer's "
            f"batches woke the workers {c['commit_wakeups']:,.0f} times.")


def sessions_sentence(s):
    """PostgreSQL's CPU in a run of the webhooks stage, by session."""
    if not s:
        return ""
    return (" PostgreSQL's CPU seconds by session (application_name; the service's consumer and delivery "
            "workers told apart by what they run): " +
            ", ".join(f"{k} {v}" for k, v in sorted(s.items(), key=lambda kv: -kv[1])) + ".")


def statements_sentence(s, deliveries):
    """PostgreSQL's execution time in a run of the webhooks stage, by
    statement (bench/harness/pg_statements.py)."""
    if not s or not deliveries:
        return ""
    return (" PostgreSQL's execution time by statement (pg_stat_statements; the wall clock's, so waits for "
            "locks and for a core are in it, and commits are not), with its time a delivery: " +
            "; ".join(f"{name} {v['ms']:,.0f} ms in {v['calls']:,} call{'' if v['calls'] == 1 else 's'} "
                      f"({1000 * v['ms'] / deliveries:,.1f} us)"
                      for name, v in s.items()) + ".")


def batches_sentence(b, commit_mean_ms=None):
    """The consumer's batches in a run of the webhooks stage, how long one
    took from its seal to its commit on average (the service's
    millrace_batch_commit_duration_seconds), and how long after a batch's
    start its deliveries reached the receiver (stages/webhooks.py,
    batch_cadence)."""
    if not b or not b.get("spacing_ms") or not (b.get("/hook") or {}).get("to_first_ms"):
        return ""
    co, ko = b["/hook"], b.get("/hook-key") or {}
    part = lambda d: (f"{d['to_first_ms']['p50']:.1f} / {d['to_first_ms']['p99']:.1f} ms to its first delivery's "
                      f"arrival and {d['to_last_ms']['p50']:.1f} / {d['to_last_ms']['p99']:.1f} ms to its last")
    return (f" The consumer's {b['batches']:,} batches that enqueued began {b['spacing_ms']['p50']:.1f} ms apart at "
            f"the median ({b['spacing_ms']['p99']:.1f} at p99), {co['per_batch_median']:g} deliveries an endpoint "
            f"each" + (f", {commit_mean_ms:.1f} ms from a batch's seal to its commit on average" if commit_mean_ms
                       else "") + f"; from a batch's start (its deliveries' enqueued_at), p50 / p99: in commit order " + part(co) +
            (", in key order " + part(ko) if ko.get("to_first_ms") else "") + ".")


def render_webhooks(res):
    """The webhooks stage at each rate: issue 40's goal, and each delivery's
    way from its commit to the receiver, leg by leg, for all and for the
    slowest."""
    runs = sorted((res[k] for k in res if k.startswith("webhooks")), key=lambda r: r["rate"])
    if not runs:
        return []
    from ..stages.webhooks import LEG_NAMES, TAIL_SHARE
    lines = ["### Webhooks, leg by leg", "",
             "Single-row INSERTs by pgbench at a paced rate (Poisson arrivals) through the change feed and "
             "`millrace-webhooks` to nginx on this host, two endpoints in the same run: one in commit order (the "
             "default), one in key order. Each change is timed at its commit, at its record's Kafka timestamp, at "
             "its arrival at a read_committed consumer beside the service (kcat), at its enqueueing "
             "(`webhook_deliveries.enqueued_at`), at nginx (its access log) and at its recording as delivered. "
             f"The slowest: the medians of each leg among the slowest {TAIL_SHARE:.0%} of deliveries.", ""]
    for wh in runs:
        w, goal, cpu = wh.get("writer") or {}, wh["goal"], wh.get("cpu_seconds") or {}
        lines += [
            f"At {wh['rate']:,} commits/s for {wh['seconds']} s: {wh['changes']:,} changes (pgbench kept "
            f"{w.get('tps') or 0:,.0f}/s, schedule lag avg {w.get('schedule_lag_avg_ms') or 0:,.1f} ms); the "
            f"machine was {cpu.get('machine_busy_share', 0):.0%} busy (CPU seconds: " +
            ", ".join(f"{k} {v}" for k, v in cpu.items() if k != "machine_busy_share") +
            (f"; Kafka's JIT compiler {wh['kafka_jit_cpu_seconds']:.1f} of Kafka's"
             if "kafka_jit_cpu_seconds" in wh else "") +
            f"); CPU steal {wh['cpu_steal_share']:.2%}." + served_sentence(wh.get("service_counters")) +
            sessions_sentence(wh.get("postgres_sessions_cpu_seconds")) +
            # Two endpoints (measure()): two deliveries a change.
            statements_sentence(wh.get("postgres_statements"), 2 * wh["changes"]) +
            (f" PostgreSQL wrote {wh['wal_bytes'] / 1e6:,.1f} MB of WAL over the load, "
             f"{wh['wal_bytes'] / wh['changes']:,.0f} bytes a change." if wh.get("wal_bytes") and wh["changes"] else "") +
            batches_sentence(wh.get("batches"), (wh.get("service_counters") or {}).get("batch_commit_mean_ms")),
            "",
            "| leg | commit order p50 | p99 | the slowest | key order p50 | p99 |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
        co, ko = wh["commit_order"], wh["key_order"]
        for leg in ("feed",) + tuple(LEG_NAMES):
            name = "commit to a read_committed consumer (the feed, the goal's reference)" if leg == "feed" \
                else LEG_NAMES[leg]
            a, b = co["legs_ms"][leg], ko["legs_ms"][leg]
            lines.append(f"| {name} | {a['p50']:.1f} ms | {a['p99']:.1f} ms | {co['slowest'][leg + '_ms']:.1f} ms | "
                         f"{b['p50']:.1f} ms | {b['p99']:.1f} ms |")
        a, b = co["commit_to_webhook_ms"], ko["commit_to_webhook_ms"]
        goal_of_rate = next((g for g in GOALS if g.name == f"webhooks_{wh['rate']}"), None)
        behind = goal_of_rate.behind_in({"webhooks": wh}) if goal_of_rate else None
        lines += [f"| **commit to arrival** | {a['p50']:.1f} ms | {a['p99']:.1f} ms | "
                  f"{co['slowest']['total_ms']:.1f} ms | {b['p50']:.1f} ms | {b['p99']:.1f} ms |", "",
                  f"Issue 40's goal at {wh['rate']:,}/s: commit to arrival at p99 ({goal['webhooks_p99_ms']:,.1f} ms) "
                  f"at most {goal['at_most']} times the feed's own p99 ({goal['feed_p99_ms']:,.1f} ms): "
                  f"{goal['ratio']} times, " + (f"not a measurement of the goal: {behind}." if behind else
                                               "met." if goal["met"] else "not met.") +
                  f" nginx's own round trip for the same body at the same rate: p99 "
                  f"{wh['receiver_round_trip_ms']['p99']:.2f} ms. Deliveries retried: {co['retried']} and "
                  f"{ko['retried']}.", ""]
    return lines
