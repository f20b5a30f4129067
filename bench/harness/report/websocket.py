"""The report's rows and paragraph of the websocket stage (issue 78):
millrace-websocket against the reference client, the feed's bound, and the
frame-to-acknowledgement latency.
"""


def per_cpu_s(figures):
    v = figures["frames_per_cpu_s"]
    return "n/a" if v is None else f"{v:,.0f}"


def wake(probe):
    """The wake probe's summary: how late it woke, p99 and max."""
    if not probe:
        return "did not run"
    late = probe["late_ms"]
    return f"woke late by p99 {late['p99']:.2f} ms, max {late['max']:.1f} ms"


def render_websocket_rows(res):
    """The websocket stage's rows of the table of stages."""
    ws = res.get("websocket")
    if not ws:
        return []
    mr, ref, lat, ack = ws["millrace"], ws["reference"], ws["latency"], ws["ack_reference"]
    shape = (f"{mr['frames']:,} Finnhub frames of 1 to 5 trades, {mr['records']:,} trades, each a record keyed by "
             "its symbol, idempotent, acks=all, `linger.ms=5`")
    return [
        f"| WebSocket feed to Kafka (`millrace-websocket` reading a feed flat out: {shape}) | "
        f"{mr['frames_per_s']:,.0f} frames/s ({mr['seconds']:.1f} s) | a Python client on the same stream "
        f"(`websockets` + `confluent-kafka`, the same records): {ref['frames_per_s']:,.0f} frames/s "
        f"({ref['seconds']:.1f} s) | {ws['ratio_frames_per_s']} |",
        f"| WebSocket feed to Kafka, frames per CPU-second of the client | {per_cpu_s(mr)} "
        f"({mr['client_cpu_seconds']:.1f} CPU s) | the same client: {per_cpu_s(ref)} "
        f"({ref['client_cpu_seconds']:.1f} CPU s) | {ws['ratio_frames_per_cpu_s']} |",
        f"| WebSocket frame arrival to Kafka's acknowledgement of its last record at {lat['rate']:,} frames/s, p99 "
        f"(`millrace_websocket_frame_ack_seconds`) | {lat['p99_ms']:.1f} ms | a bare librdkafka producer's "
        f"acknowledgement at the same rate of records ({ack['rate']:,}/s), slot to report: "
        f"{ack['from_schedule_ms']['p99']:.1f} ms | {lat['ratio_p99']} |",
    ]


def render_websocket(r):
    """Where the websocket stage's figures come from, and the feed's bound."""
    res = r["results"]
    ws = res.get("websocket")
    if not ws:
        return []
    mr, ref, null, lat, ack = ws["millrace"], ws["reference"], ws["null_client"], ws["latency"], ws["ack_reference"]
    lines = ["### The WebSocket source against a reference client", ""]
    stream = ws.get("stream", {})
    lines.append(
        f"The feed (`bench/websocket/feed_server.py`) serves one connection a stream generated before the run "
        f"({stream.get('frames', mr['frames']):,} frames, {stream.get('bytes', 0) / 1e6:,.1f} MB framed), written "
        f"from memory in large writes once the client has subscribed. To a null client that reads and discards "
        f"(`null_client.py`) it gave {null['frames_per_s']:,.0f} frames/s ({null['seconds']:.2f} s, the server "
        f"{null['server_cpu_seconds']:.1f} CPU s): {ws['server_headroom']}× the faster client's rate, so the server "
        "is not their bound.")
    lib = ws.get("library_server")
    if lib:
        fastest = max(mr["frames_per_s"], ref["frames_per_s"])
        lines[-1] += (
            f" The same stream sent frame by frame through PyPI's `websockets` (`library_server.py`) gave the null "
            f"client {lib['frames_per_s']:,.0f} frames/s ({lib['server_cpu_seconds']:.1f} CPU s), "
            f"{lib['frames_per_s'] / fastest:.1f}× the faster client's rate: "
            + ("too little room to rule such a server out as the bound, on two cores it would share with the client "
               "and Kafka." if lib["frames_per_s"] < 3 * fastest else "it would have had room to spare on this run."))
    lines.append("")
    lines.append(
        f"Each client is timed from the server's first write to its last record's acknowledgement (Millrace: the "
        f"scrape, every 50 ms, that shows every frame produced; the reference: its `flush()` returning). CPU over "
        f"the same span: `millrace-websocket` {mr['client_cpu_seconds']:.1f} s (Kafka {mr['cpu_seconds']['kafka']:.1f}, "
        f"the server {mr['cpu_seconds']['server']:.1f}); the reference {ref['client_cpu_seconds']:.1f} s (Kafka "
        f"{ref['cpu_seconds']['kafka']:.1f}, the server {ref['cpu_seconds']['server']:.1f}). The reference "
        f"({ws.get('reference_client', 'websockets and confluent-kafka')}) builds the same record fields from each "
        "trade without the trade kind's checks, and counts failures in a delivery callback.")
    warm = r.get("websocket_warmup")
    if warm:
        lines[-1] += (
            f" Before the stage both clients read the stream once, not measured, on a broker still loading its "
            f"transaction coordinator and compiling its code ({warm['millrace_frames_per_s']:,.0f} and "
            f"{warm['reference_frames_per_s']:,.0f} frames/s).")
    lines.append("")
    lower, upper = lat["p99_bucket_ms"]
    lines.append(
        f"Latency at {lat['rate']:,} frames/s for {lat['seconds']} s after a {lat['sent_seconds'] - lat['seconds']:.0f} s "
        f"warm-up ({lat['measured_frames']:,} frames measured): from the read that returned a frame to the "
        f"delivery report of its last record, p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, from the "
        f"source's histogram `millrace_websocket_frame_ack_seconds` (interpolated within its bucket, "
        f"{lower:g} to {upper if upper is not None else 'inf':g} ms for the p99). The reference, "
        f"`millrace-bench-paced-produce` at {ack['rate']:,} records/s (the same rate of records, the stream's "
        f"trades as payloads, `linger.ms=5`): p50 {ack['from_schedule_ms']['p50']:.1f} ms, p99 "
        f"{ack['from_schedule_ms']['p99']:.1f} ms from each message's slot to its report. CPU steal during the "
        f"latency run: {100 * (lat.get('cpu_steal_share') or 0):.1f} %; the wake probe beside it "
        f"{wake(lat.get('wake_probe'))}, beside the reference {wake(ack.get('wake_probe'))}.")
    lines.append("")
    return lines
