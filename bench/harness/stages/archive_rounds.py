"""The archive to S3 against `aws s3 cp`, in interleaved rounds, with the
store near (loopback) and behind a link of a given round trip (a delay
proxy, bench/harness/delay_proxy.py: this kernel has no netem): each round
runs, for each round trip, millrace-archiver over the same topic (a schema,
group and prefix of its own each time) and then `aws s3 cp` of as many
random bytes through the same endpoint. The ratios are taken within a
round, so that what else the machine runs weighs on both sides of each.
With a baseline (another build's millrace-archiver), each round runs it too
over the same topic, before build/bin's in one round and after it in the
next, both against the same `aws s3 cp`: a before/after.
"""

import os
import statistics
import urllib.request
from urllib.parse import urlparse

from .. import delay_proxy
from ..awscli import AWSCLI_VERSION, aws_env, ensure_awscli
from ..common import log, ratio, run, unique_name
from .archive import (ARCHIVE_PART_MB, Server, archiver_run, aws_cp_reference, io_bytes, io_delta,
                      list_objects)
from .throughput import cli_produce_seconds


def one_archive(stack, data, n, workdir, topic, schema, s3, endpoint, aws, store, binary=None):
    """The archiver over `topic` to a new prefix through `endpoint`: MB/s,
    and the store's disk writes per archived byte."""
    prefix = unique_name("bench-rounds")
    spool = os.path.join(workdir, "archive-rounds-spool")
    before = io_bytes(store.pid)
    a = archiver_run(stack, data, n, workdir, topic,
                     {"MILLRACE_ARCHIVE_URL": f"s3://{s3['bucket']}/{prefix}", "MILLRACE_S3_ENDPOINT": endpoint,
                      "MILLRACE_S3_REGION": s3["region"], "AWS_ACCESS_KEY_ID": s3["access_key_id"],
                      "AWS_SECRET_ACCESS_KEY": s3["secret_access_key"], "MILLRACE_ARCHIVE_SPOOL": spool,
                      "MILLRACE_ARCHIVE_PART_MB": str(ARCHIVE_PART_MB)},
                     servers={"seaweedfs": [store]}, schema=schema, binary=binary)
    written = io_delta(before, io_bytes(store.pid))
    objects = list_objects(aws, aws_env(s3, workdir), s3, prefix + "/")
    staged = [k for k in objects if k.startswith(f"{prefix}/.staging/")]
    placed = {k: v for k, v in objects.items() if k not in staged}
    if staged or len(placed) != a["files"] or sum(placed.values()) != a["file_bytes"]:
        raise SystemExit(f"bench: the bucket holds {len(placed)} archived objects ({sum(placed.values())} bytes) "
                         f"and {len(staged)} markers; archive_files records {a['files']} files "
                         f"({a['file_bytes']} bytes)")
    return {"prefix": prefix, "mb_per_s": a["file_bytes"] / 1e6 / a["seconds"], "seconds": a["seconds"],
            "files": a["files"], "minor_faults": a["archiver_minor_faults"],
            "file_bytes": a["file_bytes"], "cpu_seconds": a["cpu_seconds"],
            "store_write_bytes_per_byte": round(written["write_bytes"] / a["file_bytes"], 3) if written else None,
            "machine_busy_share": round(a["machine_busy_seconds"] / a["seconds"] / os.cpu_count(), 3)}


def reclaim(aws, s3, workdir, prefixes):
    """Deletes what a round wrote and has SeaweedFS compact its volumes:
    ten rounds of the data set would not fit on this machine's disk."""
    for prefix in prefixes:
        run([aws, "--endpoint-url", s3["endpoint"], "s3", "rm", "--recursive", "--only-show-errors",
             f"s3://{s3['bucket']}/{prefix}/"], env=aws_env(s3, workdir))
    master = urlparse(s3["endpoint"])
    with urllib.request.urlopen(f"http://{master.hostname}:{master.port + 1}/vol/vacuum?garbageThreshold=0.001",
                                timeout=600) as r:
        r.read()


def bench_archive_s3_rounds(stack, data, n, workdir, repeats, rtts_ms, baseline=None):
    s3 = stack.up_s3()
    aws = ensure_awscli()
    store = Server(s3["pid"])
    target = urlparse(s3["endpoint"])
    proxies = {rtt: delay_proxy.start(target.hostname, target.port, rtt,
                                      os.path.join(workdir, f"delay-proxy-{rtt}.log"))
               for rtt in rtts_ms if rtt > 0}
    builds = [("", None)] + ([("_baseline", baseline)] if baseline else [])
    try:
        topic = "bench_archive_rounds"
        stack.create_topic(topic)
        stack.create_topic(topic + ".dlq")
        cli_produce_seconds(stack, data, topic)
        # One run not measured first: on a fresh stack the first consumer
        # group makes Kafka create __consumer_offsets, and librdkafka asks
        # again for the group's coordinator a second later (a second of the
        # first run's clock, always the same build's); the broker's JIT and
        # the store warm up with it.
        log("  a run not measured, to warm up the broker and the store")
        warm = one_archive(stack, data, n, workdir, topic, "bench_rounds_warm", s3, s3["endpoint"], aws, store)
        reclaim(aws, s3, workdir, [warm["prefix"]])
        rounds = []
        for i in range(repeats):
            # Each round trip goes first in every other round, and so does
            # each build.
            for rtt in (rtts_ms if i % 2 == 0 else list(reversed(rtts_ms))):
                endpoint = s3["endpoint"] if rtt == 0 else f"http://127.0.0.1:{proxies[rtt][1]}"
                via = dict(s3, endpoint=endpoint)
                log(f"  round {i + 1} of {repeats}, {rtt} ms round trips: the archiver, then aws s3 cp")
                runs = {}
                for suffix, binary in (builds if i % 2 == 0 else list(reversed(builds))):
                    runs[suffix] = one_archive(stack, data, n, workdir, topic, f"bench_rounds_{i}_{rtt}{suffix}", s3,
                                               endpoint, aws, store, binary)
                a = runs[""]
                reference = unique_name("bench-rounds-reference")
                cp = aws_cp_reference(aws, aws_env(via, workdir), via, reference, a["file_bytes"], workdir, store)
                r = {"round": i + 1, "rtt_ms": rtt, "archive": a, "aws": cp,
                     "ratio_mb_aws": ratio(a["mb_per_s"], cp["aws_s3_cp_mb_per_s"])}
                if baseline:
                    b = runs["_baseline"]
                    r.update({"baseline": b, "baseline_ratio_mb_aws": ratio(b["mb_per_s"], cp["aws_s3_cp_mb_per_s"])})
                rounds.append(r)
                reclaim(aws, s3, workdir, [x["prefix"] for x in runs.values()] + [reference])
    finally:
        for proc, _ in proxies.values():
            proc.kill()
            proc.wait()
    summary = {}
    for rtt in rtts_ms:
        mine = [r for r in rounds if r["rtt_ms"] == rtt]
        ratios = [r["ratio_mb_aws"] for r in mine]
        writes = [r["archive"]["store_write_bytes_per_byte"] for r in mine
                  if r["archive"]["store_write_bytes_per_byte"] is not None]
        summary[str(rtt)] = {
            "ratios": ratios, "median_ratio": round(statistics.median(ratios), 3),
            "archive_mb_per_s": [round(r["archive"]["mb_per_s"], 1) for r in mine],
            "aws_mb_per_s": [round(r["aws"]["aws_s3_cp_mb_per_s"], 1) for r in mine],
            "store_write_bytes_per_byte": writes,
            "median_store_write_bytes_per_byte": round(statistics.median(writes), 3) if writes else None,
            "aws_store_write_bytes_per_byte": [r["aws"]["aws_store_write_bytes_per_byte"] for r in mine],
            "machine_busy_share": [r["archive"]["machine_busy_share"] for r in mine],
            "archiver_minor_faults": [r["archive"]["minor_faults"] for r in mine]}
        if baseline:
            before = [r["baseline_ratio_mb_aws"] for r in mine]
            summary[str(rtt)].update({
                "baseline_ratios": before, "baseline_median_ratio": round(statistics.median(before), 3),
                "archive_cpu_seconds": [round(sum(r["archive"]["cpu_seconds"].values()), 1) for r in mine],
                "baseline_cpu_seconds": [round(sum(r["baseline"]["cpu_seconds"].values()), 1) for r in mine],
                "baseline_minor_faults": [r["baseline"]["minor_faults"] for r in mine]})
    return {"rounds": rounds, "summary": summary, "events": n, "part_mb": ARCHIVE_PART_MB,
            "aws_cli": f"awscli {AWSCLI_VERSION}", "round_trip": "bench/harness/delay_proxy.py (no netem here)",
            "baseline": baseline}
