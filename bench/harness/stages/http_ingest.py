"""HTTP ingest: millrace-producer under wrk, against nginx answering the
same bytes and a bare librdkafka producer flat out.
"""

import os
import shutil
import subprocess

from pysupport import free_port, http_request

from ..common import BIN, log, run, wait_for
from ..nginx import nginx_quote, nginx_server, nginx_version
from ..stack import start_service, stop
from ..wrk import HTTP_THREADS, wrk_with_cpu
from .latency import bare_produce


# As fast as possible: with the default ?ack=all every request waits for
# Kafka's acknowledgement (linger.ms, then the broker's round trip), so a fixed
# number of connections caps the rate at connections / latency (Little's law)
# whatever the server could do: too few connections leave cores idle and
# measure the connection count, not the server. So each maximum is the best of
# a few connection counts, and the report lists every one with its latency.
# (key, events per request, connection counts)
HTTP_MAX_RUNS = (("single_max", 1, (256, 512, 1024)), ("ndjson_100", 100, (32, 64, 128)))
# (key, events per request, target requests/s, connections, query). A paced
# run needs connections >= rate x latency to hold its schedule, with room for
# latency spikes; more connections than these did not lower the latency from
# schedule.
HTTP_PACED_RUNS = (("single_1500", 1, 1500, 32, ""), ("single_15000", 1, 15000, 256, ""),
                   # The server's own share of the latency: answered once queued.
                   ("single_1500_noack", 1, 1500, 32, "?ack=none"))


def reference_responses(url, workdir):
    """Millrace's own answers to a one-event and a 100-event request, for the
    HTTP reference to send back byte for byte. Clean events, so both are 200."""
    with open(os.path.join(workdir, "http-ref-events.ndjson"), "w") as f:
        run([os.path.join(BIN, "millrace"), "generate", "--count", "100", "--seed", "11", "--bad-ratio", "0"],
            stdout=f)
    lines = open(os.path.join(workdir, "http-ref-events.ndjson"), "rb").read().splitlines(keepends=True)
    bodies = {}
    for key, body, ctype in (("single", lines[0].strip(), "application/json"),
                             ("ndjson", b"".join(lines), "application/x-ndjson")):
        answer = http_request(url + "/v1/events", data=body, method="POST", headers={"Content-Type": ctype})
        if answer.status != 200:
            raise SystemExit(f"bench: millrace-producer answered {answer.status} to the reference request")
        bodies[key] = answer.body.decode()
    return bodies


def ingest_locations(bodies):
    """The HTTP ingest reference: every POST to /v1/events answered with
    Millrace's own response for that content type, so both sides move the
    same bytes."""
    pieces = nginx_quote(bodies["ndjson"])
    sets = " ".join(f"set $ndjson{i} {p};" for i, p in enumerate(pieces))
    joined = "".join(f"${{ndjson{i}}}" for i in range(len(pieces)))
    single = nginx_quote(bodies["single"])
    if len(single) != 1:
        raise SystemExit("bench: the one-event reference response is over 3,000 bytes")
    return f"""location = /v1/events {{
      if ($content_type = "application/x-ndjson") {{ {sets} return 200 "{joined}"; }}
      return 200 {single[0]};
    }}"""


def bench_http_reference(stack, bodies, seconds, workdir, best_connections):
    """The same wrk runs against nginx answering with Millrace's responses:
    what HTTP alone costs on this machine, with the same load generator."""
    def ready(url):
        return subprocess.run(["curl", "-sf", "-o", "/dev/null", "-H", "Content-Type: application/json",
                               "--data-binary", "{}", url + "/v1/events"], capture_output=True).returncode == 0

    with nginx_server(os.path.join(workdir, "nginx"), ingest_locations(bodies), ready,
                      "return 200 with Millrace's response") as (url, procs):
        results = {"server": nginx_version()}
        # The maximum runs at the connection count of Millrace's best, and the
        # server's own latency at 1,500 requests/s: the figures nginx bounds.
        runs = [(key, batch, 0, best_connections[key], "") for key, batch, _ in HTTP_MAX_RUNS]
        runs += [r for r in HTTP_PACED_RUNS if r[0] == "single_1500"]
        for key, batch, rate, conns, query in runs:
            results[key] = wrk_with_cpu(stack, "nginx", procs, url + "/v1/events" + query, conns,
                                        seconds, rate, batch)
    return results


def bench_ingest_reference(stack, seconds, workdir):
    """Kafka's ingest alone: a bare librdkafka producer sends events of the
    same shape (the 100 of the reference requests, over and over) flat out,
    with the service's producer settings, on a topic of its own."""
    return bare_produce(stack, "bench_ingest_ref", os.path.join(workdir, "http-ref-events.ndjson"), 0, seconds, 5)


def bench_http(stack, seconds, workdir):
    if not os.path.exists(os.path.join(BIN, "millrace-producer")) or not shutil.which("wrk"):
        return None
    topic = "bench_http"
    stack.create_topic(topic)
    port = free_port()
    threads = HTTP_THREADS
    proc = start_service("millrace-producer", {"MILLRACE_BROKERS": stack.brokers, "MILLRACE_TOPIC": topic,
                                               "MILLRACE_HTTP_ADDR": f"127.0.0.1:{port}",
                                               "MILLRACE_HTTP_THREADS": str(threads)}, f"{workdir}/producer.log")
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: subprocess.run(["curl", "-sf", url + "/readyz"], capture_output=True).returncode == 0, 60,
             "millrace-producer to be ready")
    results = {"http_threads": threads}
    for key, batch, sweep in HTTP_MAX_RUNS:
        tried = [wrk_with_cpu(stack, "millrace-producer", [proc], url + "/v1/events", conns, seconds, 0, batch)
                 for conns in sweep]
        results[key] = max(tried, key=lambda h: h["events_per_s"])
        results[key + "_sweep"] = tried
    for key, batch, rate, conns, query in HTTP_PACED_RUNS:
        results[key] = wrk_with_cpu(stack, "millrace-producer", [proc], url + "/v1/events" + query, conns,
                                    seconds, rate, batch)
    bodies = reference_responses(url, workdir)
    stop([proc])
    if shutil.which("nginx"):
        log("HTTP alone: nginx answering the same requests (reference)")
        results["nginx"] = bench_http_reference(stack, bodies, seconds, workdir,
                                                {key: results[key]["connections"] for key, _, _ in HTTP_MAX_RUNS})
    log("Kafka's ingest alone: a bare librdkafka producer flat out (reference)")
    results["kafka_ingest"] = bench_ingest_reference(stack, seconds, workdir)
    return results
