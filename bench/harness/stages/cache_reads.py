"""Cache reads: GET /v1/categories through the cache, from PostgreSQL, and
from nginx.
"""

import os
import shutil
import ssl

from pysupport import http_request, metric_sum, scrape

from ..common import ratio
from ..nginx import nginx_quote, nginx_server, nginx_version
from ..stack import stop
from ..wrk import HTTP_THREADS, WRK_SCRIPT, wrk_with_cpu
from .cache_rig import API_WORKERS


# Connections of every cache_reads run (the three servers alike).
CACHE_READ_CONNECTIONS = 64


# bench/wrk/ingest.lua's counting and summary, with GET requests instead of
# its events: written into the run's directory, since wrk takes one script.
READ_SCRIPT = """-- Written by bench/run: GET the URL's path as fast as the connections allow,
-- counted and summed up by bench/wrk/ingest.lua (its statuses, latency and
-- JSON summary line; its events are never sent).
dofile({ingest!r})
local ingest_init = init
local get
function init(args)
  ingest_init(args)
  get = wrk.format("GET", wrk.path, {{ ["Accept"] = "application/json" }})
end
function request()
  return get
end
"""


def http_get(url):
    """(status, content type, body) of a GET asking for JSON. Over HTTPS the
    certificate is not checked: these are the bench's own servers."""
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    return http_request(url, headers={"Accept": "application/json"}, context=context)


def cache_reads_counts(addr):
    """millrace-api's millrace_cache_reads_total for the category list, by result."""
    metrics = scrape(addr)
    return {result: metric_sum(metrics, "millrace_cache_reads_total", kind="categories", result=result)
            for result in ("held", "hit", "miss", "bypass")}


def checked(name, data):
    """A cache_reads run's wrk summary, once every answer was a 200."""
    statuses = data["statuses"]
    if data["requests"] <= 0 or data["non2xx"] or set(statuses) != {"200"}:
        raise SystemExit(f"bench: cache_reads: {name} answered {statuses} (every answer must be 200) to "
                         f"{data['requests']} requests in {data.get('duration_s', '?')} s over {data['connections']} "
                         f"connections; wrk's socket errors {data['errors']}")
    return data


def bench_cache_reads(stack, rig, seconds, workdir):
    """GET /v1/categories as fast as CACHE_READ_CONNECTIONS connections allow,
    against millrace-api reading through the live cache, the same service
    reading PostgreSQL (no MILLRACE_REDIS_URL), and nginx answering the
    cached answer's bytes: the same wrk runs, one after the other."""
    script = os.path.join(workdir, "wrk-read.lua")
    with open(script, "w") as f:
        f.write(READ_SCRIPT.format(ingest=WRK_SCRIPT))
    path = "/v1/categories"
    conns = CACHE_READ_CONNECTIONS
    redis = {"redis": [rig.redis_proc]}
    results = {"path": path, "connections": conns, "seconds": seconds, "http_threads": HTTP_THREADS,
               "api_workers": API_WORKERS, "generation": rig.wait_live()}
    rebuilds = rig.rebuilds()

    body = ctype = None
    # The service as deployed (its near cache on), then asking Redis for
    # every read: what the near cache buys.
    for key, near in (("cached", True), ("cached_redis", False)):
        api = rig.start_api("api-" + key.replace("_", "-"), cached=True, near=near)
        try:
            status, ctype, body = http_get(api.url + path)
            if status != 200:
                raise SystemExit(f"bench: cache_reads: the cached API answered {status}")
            before = cache_reads_counts(api.metrics_addr)
            data = checked("millrace-api with the cache" + ("" if near else ", every read asking Redis"),
                           wrk_with_cpu(stack, "millrace-api", [api], api.url + path, conns, seconds, 0, 1, script,
                                        redis))
            after = cache_reads_counts(api.metrics_addr)
        finally:
            stop([api])
        reads = {k: after[k] - before[k] for k in after}
        data["cache_reads"] = reads
        # Every request wrk counted was answered by the cache (from memory or
        # from Redis); a few more were answered after wrk stopped counting (at
        # most one in flight per connection).
        served = reads["held"] + reads["hit"]
        if (not data["requests"] <= served <= data["requests"] + conns or reads["miss"] or reads["bypass"]
                or (not near and reads["held"])):
            raise SystemExit(f"bench: cache_reads: {data['requests']} requests but cache reads {reads}: "
                             "the cache did not answer them")
        results[key] = data
    results["body_bytes"] = len(body)
    results["content_type"] = ctype

    api = rig.start_api("api-uncached", cached=False)
    try:
        status, _, db_body = http_get(api.url + path)
        if status != 200 or db_body != body:
            raise SystemExit(f"bench: cache_reads: PostgreSQL answers {status} {db_body[:200]!r}, the cache "
                             f"answered {body[:200]!r}")
        results["uncached"] = checked("millrace-api without the cache",
                                      wrk_with_cpu(stack, "millrace-api", [api], api.url + path, conns, seconds,
                                                   0, 1, script, redis))
    finally:
        stop([api])

    # HTTPS: the cached service again with the stack's certificate (wrk
    # keeps its connections, so this is the encryption of each request and
    # response, the handshakes counting once per connection).
    api = rig.start_api("api-cached-tls", cached=True, tls=True)
    try:
        status, _, tls_body = http_get(api.url + path)
        if status != 200 or tls_body != body:
            raise SystemExit(f"bench: cache_reads: the API over HTTPS answers {status} {tls_body[:200]!r}")
        results["cached_tls"] = checked("millrace-api with the cache, over HTTPS",
                                        wrk_with_cpu(stack, "millrace-api", [api], api.url + path, conns, seconds,
                                                     0, 1, script, redis))
    finally:
        stop([api])

    if shutil.which("nginx"):
        results.update(nginx_reads(stack, rig, path, ctype, body, seconds, workdir, script, redis))
    # Only the cached run needs the cache; a rebuild during the others is
    # reported, not fatal (the invalidation stage waits for the cache again).
    results["cache_rebuilds"] = rig.rebuilds_since(rebuilds)
    cached = results["cached"]["rate"]
    results["ratio_cached_uncached"] = ratio(cached, results["uncached"]["rate"])
    results["ratio_cached_nginx"] = ratio(cached, results["nginx"]["rate"]) if results.get("nginx") else None
    results["ratio_redis_nginx"] = (ratio(results["cached_redis"]["rate"], results["nginx"]["rate"])
                                    if results.get("nginx") else None)
    results["ratio_cached_redis"] = ratio(cached, results["cached_redis"]["rate"])
    tls = results["cached_tls"]["rate"]
    results["ratio_tls_nginx_tls"] = ratio(tls, results["nginx_tls"]["rate"]) if results.get("nginx_tls") else None
    results["ratio_tls_plain"] = ratio(tls, cached)
    return results


def nginx_reads(stack, rig, path, ctype, body, seconds, workdir, script, redis):
    """The same wrk runs against nginx answering `path` with the cached
    answer's status, content type and bytes, over HTTP and over HTTPS with
    the stack's certificate."""
    conns = CACHE_READ_CONNECTIONS
    results = {}
    text = body.decode()
    pieces = nginx_quote(text)
    sets = " ".join(f"set $b{i} {p};" for i, p in enumerate(pieces))
    joined = "".join(f"${{b{i}}}" for i in range(len(pieces)))
    locations = f"location = {path} {{ default_type {nginx_quote(ctype)[0]}; {sets} return 200 \"{joined}\"; }}"

    def ready(url):
        try:
            return http_get(url + path)[2] == body
        except OSError:
            return False

    for key, tls in (("nginx", None), ("nginx_tls", rig.tls_files())):
        with nginx_server(os.path.join(workdir, key.replace("_", "-") + "-cache"), locations, ready,
                          f"return 200 with millrace-api's cached {path}" + (" over HTTPS" if tls else ""),
                          tls) as (url, procs):
            status, ngx_ctype, ngx_body = http_get(url + path)
            if (status, ngx_ctype, ngx_body) != (200, ctype, body):
                raise SystemExit(f"bench: cache_reads: {key} answers {status} {ngx_ctype}, not the API's 200 {ctype}")
            results[key] = checked(key, wrk_with_cpu(stack, "nginx", procs, url + path, conns, seconds, 0, 1,
                                                     script, redis))
            results[key]["server"] = nginx_version()
    return results
