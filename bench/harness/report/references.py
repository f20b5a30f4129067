"""The report's sections that set the latency and HTTP figures against
their references and the machine's floor.
"""

from ..common import ratio


def percent(share):
    return "n/a" if share is None else f"{share * 100:.1f} %"


def render_ack_reference(res):
    """The latency figures beside Kafka's acknowledgement alone at the same
    rate: what the machine gives before any Millrace code runs."""
    refs = res.get("kafka_ack_1500") or []
    if not refs:
        return []

    def four(lat):
        return " / ".join(f"{lat[p]:.1f}" for p in ("p50", "p99", "p999", "max")) + " ms"

    lines = [
        "### Latency against Kafka's acknowledgement alone", "",
        f"The reference: a bare librdkafka producer (`millrace-bench-paced-produce`, `bench/paced_produce.cpp`; none "
        f"of Millrace's code, the same threading as `millrace-producer`: one thread produces, one serves delivery "
        f"reports) sends the benchmark's payloads at a fixed {refs[0]['rate']:,} messages/s for {refs[0]['seconds']} s, "
        "after a 2 s warm-up, to a topic of its own with acks=all and idempotence, and times each message from its "
        "slot to its delivery report. p50 / p99 / p99.9 / max: " +
        "; ".join(f"`linger.ms={a['linger_ms']}` {four(a['from_schedule_ms'])} ({a['sent']:,} messages)" for a in refs) +
        ". `linger.ms=5` is the default of `millrace-producer` and the CLI; `linger.ms=0` sends every message as "
        "its own request.", "",
    ]
    ref = next((a for a in refs if a["linger_ms"] == 5), refs[0])
    ref_p99 = ref["from_schedule_ms"]["p99"]
    rows = []
    lat = res["latency_1500"]
    http = res.get("http") or {}
    h = http.get("single_1500")
    if h and h.get("scheduled_latency_ms"):
        rows.append(("HTTP request with `?ack=all`, from its schedule slot to the response (wrk)",
                     h["scheduled_latency_ms"]["p99"]))
    if lat.get("to_append_ms"):
        rows.append(("event creation to the broker's append (the CLI's librdkafka, then the broker)",
                     lat["to_append_ms"]["p99"]))
    rows.append(("event creation to its committed row (CLI, broker, 2 sinks, PostgreSQL)", lat["p99_ms"]))
    lines += [
        f"| at {ref['rate']:,}/s | Millrace p99 | reference p99 (`linger.ms={ref['linger_ms']}`) | Millrace ÷ reference |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {label} | {p99:.1f} ms | {ref_p99:.1f} ms | {ratio(p99, ref_p99)} |" for label, p99 in rows]
    lines += [
        "",
        "A ratio near 1 means the figure is Kafka's acknowledgement on this machine, not Millrace's own time; the "
        "broker's append comes before its acknowledgement reaches the client, so that leg can be below the reference.",
        "",
    ]
    return lines


def render_http_references(http):
    """The HTTP figures beside what HTTP alone and Kafka's ingest alone give
    on this machine, measured right after them."""
    ngx, ingest = http.get("nginx"), http.get("kafka_ingest")
    lines = ["### HTTP ingest against HTTP alone and Kafka alone", ""]
    if ngx:
        lines += [
            f"HTTP alone: {ngx['server'].replace('nginx version: ', '')} with {http['http_threads']} workers "
            "(as many as the service's event loops), answering every `POST /v1/events` with 200 and the very "
            "bytes `millrace-producer` answered to a one-event and to a 100-event request, under the same wrk "
            "runs. It reads each request and parses its headers; it does not parse the events or produce them.", ""]
    lines += [
        f"Kafka's ingest alone: a bare librdkafka producer (`millrace-bench-paced-produce --rate 0`) sends "
        f"events of the same shape flat out for {ingest['seconds']} s after a {ingest['warmup_seconds']} s "
        "warm-up, with the service's producer settings (acks=all, idempotence, `linger.ms=5`), and counts "
        "acknowledged messages from its first send to its last delivery report.", "",
        "| figure | Millrace | reference | Millrace ÷ reference |",
        "| --- | ---: | --- | ---: |",
    ]
    single, ndjson = http["single_max"], http["ndjson_100"]
    if ngx:
        lines.append(f"| single-event requests/s, as fast as possible | {single['rate']:,.0f} | "
                     f"HTTP alone: {ngx['single_max']['rate']:,.0f} | {ratio(single['rate'], ngx['single_max']['rate'])} |")
    lines.append(f"| events/s in 100-event NDJSON requests, as fast as possible | {ndjson['events_per_s']:,.0f} | "
                 f"Kafka's ingest alone: {ingest['messages_per_s']:,.0f} messages/s | "
                 f"{ratio(ndjson['events_per_s'], ingest['messages_per_s'])} |")
    if ngx:
        lines.append(f"| events/s in 100-event NDJSON requests, as fast as possible | {ndjson['events_per_s']:,.0f} | "
                     f"HTTP alone: {ngx['ndjson_100']['rate'] * 100:,.0f} (100 per request) | "
                     f"{ratio(ndjson['events_per_s'], ngx['ndjson_100']['rate'] * 100)} |")
        noack, ref = http.get("single_1500_noack"), ngx["single_1500"]
        if noack:
            lines.append(f"| p99 from send at a fixed 1,500 req/s, `?ack=none` | {noack['latency_ms']['p99']:.2f} ms | "
                         f"HTTP alone: {ref['latency_ms']['p99']:.2f} ms | {ratio(noack['latency_ms']['p99'], ref['latency_ms']['p99'])} |")
    lines += ["", "A ratio near 1 means the figure is what the machine gives for that part alone, with the "
              "load generator and everything else on the same two cores.", ""]
    lines += ["CPU per request during each run, in microseconds (*other* is the rest of the machine's busy "
              "time: the kernel's own threads and any other process):", "",
              "| server | load | server | Kafka | PostgreSQL | wrk | other | total |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    labels = {"single_max": "single events, as fast as possible", "ndjson_100": "100-event NDJSON, as fast as possible",
              "single_1500": "single events at 1,500 req/s", "single_15000": "single events at 15,000 req/s",
              "single_1500_noack": "single events at 1,500 req/s, `?ack=none`"}
    for server, runs in (("millrace-producer", http), ("nginx", ngx or {})):
        for key, label in labels.items():
            cpu = (runs.get(key) or {}).get("cpu_us_per_request")
            if not cpu:
                continue
            parts = [cpu[server], cpu["kafka"], cpu["postgres"], cpu["wrk"], cpu["other"]]
            lines.append(f"| {server} | {label} | " + " | ".join(f"{v:,.1f}" for v in parts) +
                         f" | {sum(parts):,.1f} |")
    lines.append("")
    return lines


def render_wake_floor(res):
    """Every latency stage beside how late a real-time thread woke while it
    ran: the part of a tail no code on this machine could have avoided."""
    http = res.get("http") or {}
    rows = []
    if "latency_1500" in res:
        rows.append(("event creation to committed row, 1,500 events/s (CLI, broker, 2 sinks, PostgreSQL)",
                     res["latency_1500"], res["latency_1500"]["p99_ms"]))
    for key, label in (("single_1500", "HTTP `?ack=all` at 1,500 req/s, from schedule"),
                       ("single_15000", "HTTP `?ack=all` at 15,000 req/s, from schedule"),
                       ("single_1500_noack", "HTTP `?ack=none` at 1,500 req/s, from schedule")):
        h = http.get(key)
        if h and h.get("scheduled_latency_ms"):
            rows.append((label, h, h["scheduled_latency_ms"]["p99"]))
    ngx = (http.get("nginx") or {}).get("single_1500")
    if ngx:
        # wrk's pacer finds a response's slot by the event id in it, and
        # nginx answers every request with the same fixed body.
        rows.append(("HTTP alone (nginx) at 1,500 req/s, from send", ngx, ngx["latency_ms"]["p99"]))
    for a in res.get("kafka_ack_1500") or []:
        rows.append((f"Kafka's acknowledgement alone, `linger.ms={a['linger_ms']}`, 1,500 messages/s", a,
                     a["from_schedule_ms"]["p99"]))
    rows = [(label, stage["wake_probe"], p99) for label, stage, p99 in rows if stage.get("wake_probe")]
    if not rows:
        return []
    realtime = all(w["realtime"] for _, w, _ in rows)
    lines = [
        "### Latency against the machine's own stalls", "",
        "While each latency stage ran, `millrace-bench-wake-probe` (`bench/wake_probe.cpp`) ran beside it: a thread "
        + ("at real-time priority (`SCHED_FIFO`, above every other thread on the machine) "
           if realtime else "at ordinary priority (real-time was refused, so the queue of other threads counts too) ")
        + "that asks to wake every millisecond and records how late it runs. At real-time priority it is late only "
        "when no core runs at all for it: the hypervisor has taken the core (steal) or the kernel holds it. A thread "
        "of the pipeline that became runnable then waited too, whatever its code. *Stalled over t* is the share of "
        "the stage's time in which a thread woken at that moment would have waited more than t (a stall of s ms "
        "counts s - t ms). A thread waiting on the disk is not runnable, so the probe does not see that: "
        "*I/O stalled* is the share of the stage's time in which every task with work waited on I/O at once "
        "(`/proc/pressure/io`, `full`).", "",
        "| stage | its p99 | CPU steal | I/O stalled | probe late p50 / p99 / p99.9 / max | stalled over 1 / 2 / 5 ms |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for label, w, p99 in rows:
        late, st = w["late_ms"], w["stalled_share"]
        lines.append(f"| {label} | {p99:.1f} ms | {percent(w.get('cpu_steal_share'))} | "
                     f"{percent(w.get('io_full_share'))} | "
                     + " / ".join(f"{late[p]:.2f}" for p in ("p50", "p99", "p999", "max")) + " ms | "
                     + " / ".join(f"{st[k] * 100:.2f}" for k in ("over_1ms", "over_2ms", "over_5ms")) + " % |")
    lines += [
        "",
        "The probe measures one thread. A request waits on every thread it is handed to in turn, and each "
        "hand-off can meet a stall: an acknowledged HTTP request goes from wrk to the service's event loop, "
        "librdkafka's broker thread, the broker's network thread, one of its request threads, its network "
        "thread again, librdkafka's broker thread again, the delivery-report thread, the event loop again and "
        "back to wrk, nine hand-offs.",
        "",
    ]
    chains = res.get("handoff_1500") or []
    if chains:
        lines += [
            f"Hand-offs alone: `millrace-bench-wake-probe --chain N` wakes on a fixed schedule, "
            f"{chains[0]['rate']:,} times a second for {chains[0]['seconds']} s, and hands a token through N "
            "ordinary threads in turn, each blocked reading a pipe as a thread waiting on a socket is, to a last "
            "one that times it from its slot. The threads do nothing else, and the stack is idle meanwhile.", "",
            "| chain | wake-ups per token | as many as | p50 / p99 / p99.9 / max |",
            "| --- | ---: | --- | --- |",
        ]
        for c in chains:
            lat = c["from_schedule_ms"]
            lines.append(f"| {c['chain']} thread{'s' if c['chain'] > 1 else ''} | {c['wakeups_per_token']} | "
                         f"{c.get('stands_for', '')} | "
                         + " / ".join(f"{lat[p]:.2f}" for p in ("p50", "p99", "p999", "max")) + " ms |")
        ten = next((c for c in chains if c["wakeups_per_token"] == 10), None)
        h = (res.get("http") or {}).get("single_1500")
        if ten and h and h.get("scheduled_latency_ms"):
            floor, p99 = ten["from_schedule_ms"]["p99"], h["scheduled_latency_ms"]["p99"]
            lines += [
                "",
                f"An acknowledged HTTP request timed from its slot needs ten wake-ups: wrk's timer, then the nine "
                f"hand-offs. Ten wake-ups with no work in any of them had a p99 of {floor:.2f} ms here; the "
                f"requests at 1,500 req/s had {p99:.1f} ms, {ratio(p99, floor)} times that." +
                "".join(f" With {c['wakeups_per_token']} wake-ups, {c['stands_for']}, the p99 was "
                        f"{c['from_schedule_ms']['p99']:.2f} ms." for c in chains if c["wakeups_per_token"] == 7),
            ]
        lines.append("")
    return lines
