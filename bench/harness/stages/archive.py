"""The archive: millrace-archiver writing the data set's topic to Capture
files, in a directory (archive) and in the stack's S3 store (archive_s3),
each against what the machine, Kafka and the store do alone.
"""

import json
import os
import resource
import shutil
import time

from ..awscli import AWSCLI_VERSION, aws_env, ensure_awscli
from ..common import ratio, run, unique_name, wait_for
from ..cpu import CpuMeter, busy_seconds, cpu_seconds, cpu_times, minor_faults
from ..stack import fresh_schema, served_metric, start_service, stop, stored, workers_env
from .throughput import cli_produce_seconds, consumer_perf


# Files above this many MiB go up as multipart uploads (the archiver's default).
ARCHIVE_PART_MB = 16


def archiver_run(stack, data, n, workdir, topic, destination, servers=None, schema=None, binary=None):
    """The data set, produced to `topic` (and its schema and group, of the
    same name), written by millrace-archiver with 1 s windows, so that it
    commits every second, to `destination`: the variables that say where
    its files go (MILLRACE_ARCHIVE_ROOT, or MILLRACE_ARCHIVE_URL and the
    store's). The clock runs from its start until its stored offsets reach
    `n`. Returns the seconds, the files and bytes `archive_files` records,
    the CPU seconds of the archiver, PostgreSQL, Kafka and `servers`
    (name -> processes, e.g. the S3 store) over that time, and those of the
    whole machine (busy, of every core). With `schema` (a group of the
    same name) the topic is already produced: another run over it. With
    `binary`, that millrace-archiver (another build's) runs in place of
    build/bin's."""
    if schema is None:
        schema = topic
        stack.create_topic(topic)
        stack.create_topic(topic + ".dlq")
        cli_produce_seconds(stack, data, topic)
    fresh_schema(stack, schema)
    env = workers_env(stack, topic, schema, schema,
                      {"MILLRACE_ARCHIVER_GROUP": schema, **destination, "MILLRACE_ARCHIVE_WINDOW_S": "1"})
    stack.checkpoint()
    procs = []
    meter = CpuMeter(stack, {"archiver": procs, **(servers or {})})
    machine = cpu_times()
    t0 = time.monotonic()
    procs.append(start_service("millrace-archiver", env, f"{workdir}/{schema}-archiver.log", binary))

    def archived():
        if procs[0].poll() is not None:
            raise SystemExit(f"bench: the archiver exited ({procs[0].returncode}); see {workdir}/{schema}-archiver.log")
        return stored(stack, schema, schema) >= n

    end = wait_for(archived, 3600, f"the archiver to write {topic}")
    cpu = meter.stop()
    machine_busy = busy_seconds(machine, cpu_times())
    cpu.pop("reaped")
    archiver_io = io_bytes(procs[0].pid)
    faults = minor_faults(procs[0].pid)
    # The commit thread's time: each batch's upload (or write and fsync) and
    # its transaction, not the copy into place after it. The loop counts a
    # batch when it next looks at the commit in flight: a moment later.
    time.sleep(2)
    commits = {k: served_metric(procs[0], f"millrace_batch_commit_duration_seconds_{k}") for k in ("sum", "count")}
    stop(procs)
    files, file_bytes = (int(x) for x in stack.psql(
        f"SELECT count(*), coalesce(sum(bytes), 0) FROM {schema}.archive_files", record=False).split("|"))
    return {"seconds": end - t0, "files": files, "file_bytes": file_bytes, "cpu_seconds": cpu,
            "machine_busy_seconds": machine_busy, "archiver_io": archiver_io, "commits": commits,
            "archiver_minor_faults": faults}


def dd_reference(directory, nbytes):
    """dd writing `nbytes` (in whole MiB, at least one) sequentially to
    `directory`, fsynced once at the end: MB/s (10^6 bytes)."""
    dd_path = os.path.join(directory, "dd-reference.bin")
    mib = max(1, nbytes // (1 << 20))
    t1 = time.monotonic()
    run(["dd", "if=/dev/zero", f"of={dd_path}", "bs=1M", f"count={mib}", "conv=fsync", "status=none"])
    dd_seconds = time.monotonic() - t1
    os.remove(dd_path)
    return mib * (1 << 20) / 1e6 / dd_seconds


def bench_archive(stack, data, n, workdir, root):
    """millrace-archiver writes the data set, produced to a topic of its own,
    to Capture files under `root` (emptied first). Then Kafka's
    ConsumerPerformance reads the same topic, and dd writes as many bytes as
    the files hold, with fsync, to `root`."""
    topic = "bench_archive"
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    a = archiver_run(stack, data, n, workdir, topic, {"MILLRACE_ARCHIVE_ROOT": root})
    seconds, file_bytes = a["seconds"], a["file_bytes"]
    consumer = consumer_perf(stack, topic, n)
    dd_mb_s = dd_reference(root, file_bytes)
    archive_mb_s = file_bytes / 1e6 / seconds
    return {"records_per_s": n / seconds, "mb_per_s": archive_mb_s, "seconds": seconds, "files": a["files"],
            "file_bytes": file_bytes, "cpu_seconds": a["cpu_seconds"], "root": root,
            "kafka_consumer_perf_per_s": consumer["records_per_s"],
            "kafka_consumer_perf_mb_per_s": consumer["mb_per_s"],
            "dd_mb_per_s": dd_mb_s,
            "ratio_records": ratio(n / seconds, consumer["records_per_s"]),
            "ratio_mb": ratio(archive_mb_s, dd_mb_s)}


def io_bytes(pid):
    """A live process's bytes read and written so far: through read and
    write calls (files and sockets alike: rchar, wchar) and from and to the
    disk (read_bytes, write_bytes, counted when the page is dirtied, so
    before the kernel writes it back)."""
    try:
        with open(f"/proc/{pid}/io") as f:
            fields = dict(line.split(": ") for line in f.read().splitlines())
    except FileNotFoundError:
        return None
    return {k: int(fields[k]) for k in ("rchar", "wchar", "read_bytes", "write_bytes")}


def io_delta(before, after):
    return {k: after[k] - before[k] for k in after} if before and after else None


class Server:
    """A server the stack runs, as CpuMeter counts a service: by pid."""

    def __init__(self, pid):
        self.pid = pid


def list_objects(aws, env, s3, prefix):
    """Every object under `prefix` in the store's bucket: key -> size."""
    out = run([aws, "--endpoint-url", s3["endpoint"], "s3api", "list-objects-v2", "--bucket", s3["bucket"],
               "--prefix", prefix, "--output", "json"], env=env).stdout
    return {o["Key"]: o["Size"] for o in (json.loads(out) if out.strip() else {}).get("Contents", [])}


def aws_cp_reference(aws, env, s3, prefix, nbytes, workdir, store):
    """`aws s3 cp` of one file of `nbytes` random bytes (neither the store
    nor the transport can compress them; written first, outside the clock)
    to `prefix` in the store's bucket, timed from the CLI's start to its
    exit, with the store's CPU and disk writes over that time. Also the
    time it takes for a 1-byte file: the CLI's own start (Python, botocore)
    and one small request, part of each run of it as the archiver's start
    is part of its clock."""
    reference = os.path.join(workdir, "archive-s3-reference.bin")
    with open(reference, "wb") as f:
        left = nbytes
        while left:
            chunk = min(left, 1 << 20)
            f.write(os.urandom(chunk))
            left -= chunk
    tiny = os.path.join(workdir, "archive-s3-tiny.bin")
    with open(tiny, "wb") as f:
        f.write(b"x")
    # As before the archiver's run (Stack.checkpoint()): nothing left to
    # write back from before.
    run(["sync"])
    cp = [aws, "--endpoint-url", s3["endpoint"], "s3", "cp", "--only-show-errors"]
    t = time.monotonic()
    run(cp + [tiny, f"s3://{s3['bucket']}/{prefix}/tiny.bin"], env=env)
    start_seconds = time.monotonic() - t
    os.remove(tiny)
    store_cpu, store_io, machine, children = (cpu_seconds(store.pid), io_bytes(store.pid), cpu_times(),
                                              resource.getrusage(resource.RUSAGE_CHILDREN))
    t = time.monotonic()
    run(cp + [reference, f"s3://{s3['bucket']}/{prefix}/upload.bin"], env=env)
    seconds = time.monotonic() - t
    store_cpu = cpu_seconds(store.pid) - store_cpu
    store_io = io_delta(store_io, io_bytes(store.pid))
    machine = busy_seconds(machine, cpu_times())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    aws_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    os.remove(reference)
    uploaded = list_objects(aws, env, s3, f"{prefix}/upload.bin")
    if uploaded.get(f"{prefix}/upload.bin") != nbytes:
        raise SystemExit(f"bench: aws s3 cp left {uploaded!r}, not {nbytes} bytes")
    return {"aws_s3_cp_mb_per_s": nbytes / 1e6 / seconds, "aws_s3_cp_seconds": seconds,
            "aws_start_seconds": start_seconds,
            "aws_store_cpu_s_per_mb": round(store_cpu / (nbytes / 1e6), 4),
            "aws_cpu_seconds": {"aws": round(aws_cpu, 1), "seaweedfs": round(store_cpu, 1),
                                "other": round(machine - aws_cpu - store_cpu, 1)},
            "aws_machine_busy_share": round(machine / seconds / os.cpu_count(), 3),
            "aws_store_write_bytes_per_byte": round(store_io["write_bytes"] / nbytes, 2) if store_io else None}


def bench_archive_s3(stack, data, n, workdir):
    """millrace-archiver writes the data set, produced to a topic of its own,
    to the stack's S3 store (SeaweedFS, `deploy/local/stack up s3`) as
    s3://millrace-archive/bench-archive...: each file is written to a local
    spool, uploaded under the prefix's .staging/ (Content-MD5, multipart
    above MILLRACE_ARCHIVE_PART_MB), recorded with the offsets, then copied
    into place inside the store and the staged object deleted. The clock is
    the archive stage's. Afterwards the bucket must hold every recorded file,
    at its size, and nothing staged. Then the references, each of the same
    bytes: Kafka's ConsumerPerformance on the same topic; dd with fsync to
    the directory the store keeps its data in; and the AWS CLI's `aws s3 cp`
    of a file of as many random bytes (written first, outside the clock) to
    the same bucket and endpoint, timed from its start to its exit. The
    store's CPU and disk writes are measured during the archiver's run and
    during `aws s3 cp`."""
    s3 = stack.up_s3()
    aws = ensure_awscli()
    env = aws_env(s3, workdir)
    store = Server(s3["pid"])
    topic = "bench_archive_s3"
    prefix = unique_name("bench-archive")
    spool = os.path.join(workdir, "archive-s3-spool")
    shutil.rmtree(spool, ignore_errors=True)
    store_io = io_bytes(store.pid)
    a = archiver_run(stack, data, n, workdir, topic,
                     {"MILLRACE_ARCHIVE_URL": f"s3://{s3['bucket']}/{prefix}", "MILLRACE_S3_ENDPOINT": s3["endpoint"],
                      "MILLRACE_S3_REGION": s3["region"], "AWS_ACCESS_KEY_ID": s3["access_key_id"],
                      "AWS_SECRET_ACCESS_KEY": s3["secret_access_key"], "MILLRACE_ARCHIVE_SPOOL": spool,
                      "MILLRACE_ARCHIVE_PART_MB": str(ARCHIVE_PART_MB)},
                     servers={"seaweedfs": [store]})
    # Up to the archiver's exit: its last window's copy into place included.
    store_io = io_delta(store_io, io_bytes(store.pid))
    seconds, files, file_bytes = a["seconds"], a["files"], a["file_bytes"]

    objects = list_objects(aws, env, s3, prefix + "/")
    staged = [k for k in objects if k.startswith(f"{prefix}/.staging/")]
    placed = {k: v for k, v in objects.items() if k not in staged}
    if staged or len(placed) != files or sum(placed.values()) != file_bytes:
        raise SystemExit(f"bench: the bucket holds {len(placed)} archived objects ({sum(placed.values())} bytes) "
                         f"and {len(staged)} staged ones; archive_files records {files} files ({file_bytes} bytes)")

    consumer = consumer_perf(stack, topic, n)
    # The store does not fsync: without this, dd's fsync would also wait for
    # the gigabyte or so the store left for the kernel to write back.
    run(["sync"])
    dd_mb_s = dd_reference(os.path.join(stack.state, "s3"), file_bytes)

    cp = aws_cp_reference(aws, env, s3, f"{prefix}-reference", file_bytes, workdir, store)

    archive_mb_s = file_bytes / 1e6 / seconds
    return {"records_per_s": n / seconds, "mb_per_s": archive_mb_s, "seconds": seconds, "files": files,
            "file_bytes": file_bytes, "url": f"s3://{s3['bucket']}/{prefix}", "part_mb": ARCHIVE_PART_MB,
            "cpu_seconds": a["cpu_seconds"],
            # The machine's CPU over the archiver's run that none of the
            # above took: the harness's polling, and whatever else ran.
            "other_cpu_seconds": round(a["machine_busy_seconds"] - sum(a["cpu_seconds"].values()), 1),
            "machine_busy_share": round(a["machine_busy_seconds"] / seconds / os.cpu_count(), 3),
            "batches": int(a["commits"]["count"] or 0),
            "commit_seconds": round(a["commits"]["sum"] or 0, 1),
            "store_cpu_s_per_mb": round(a["cpu_seconds"]["seaweedfs"] / (file_bytes / 1e6), 4),
            "store_write_bytes_per_byte": round(store_io["write_bytes"] / file_bytes, 2) if store_io else None,
            "archiver_write_bytes_per_byte": round(a["archiver_io"]["write_bytes"] / file_bytes, 2)
            if a["archiver_io"] else None,
            "kafka_consumer_perf_per_s": consumer["records_per_s"],
            "kafka_consumer_perf_mb_per_s": consumer["mb_per_s"],
            "dd_mb_per_s": dd_mb_s,
            "aws_cli": f"awscli {AWSCLI_VERSION}", **cp,
            "ratio_records": ratio(n / seconds, consumer["records_per_s"]),
            "ratio_mb_dd": ratio(archive_mb_s, dd_mb_s),
            "ratio_mb_aws": ratio(archive_mb_s, cp["aws_s3_cp_mb_per_s"])}
