"""The report's rows and paragraph of the archive stages: to a directory
(archive) and to the stack's S3 store (archive_s3).
"""

from ..common import ratio


def render_archive_rows(res):
    """The archive's rows of the table of stages."""
    lines = []
    ar = res.get("archive")
    if ar:
        lines += [
            f"| archive, records (`millrace-archiver`: every record into Capture files, fsynced and recorded with "
            f"the offsets, 1 s windows; {ar['files']} files) | {ar['records_per_s']:,.0f} records/s "
            f"({ar['seconds']:.1f} s) | Kafka ConsumerPerformance on the same topic: "
            f"{ar['kafka_consumer_perf_per_s']:,.0f} records/s | {ar['ratio_records']} |",
            f"| archive, bytes written (Avro files, {ar['file_bytes'] / 1e6:,.0f} MB) | {ar['mb_per_s']:,.1f} MB/s | "
            f"dd of as many bytes with fsync to the same directory: {ar['dd_mb_per_s']:,.1f} MB/s "
            f"(ConsumerPerformance read {ar['kafka_consumer_perf_mb_per_s']:,.1f} MB/s of payload) | {ar['ratio_mb']} |",
        ]
    s3 = res.get("archive_s3")
    if s3:
        lines += [
            f"| archive to S3, bytes (`millrace-archiver` to the stack's S3 store, SeaweedFS on this host: each file "
            f"uploaded from a local spool under `.staging/` with Content-MD5, recorded with the offsets, then copied "
            f"into place inside the store and the staged object deleted; 1 s windows, {s3['files']} files, "
            f"{s3['file_bytes'] / 1e6:,.0f} MB) | {s3['mb_per_s']:,.1f} MB/s ({s3['seconds']:.1f} s) | "
            f"`aws s3 cp` ({s3['aws_cli']}) of one file of as many random bytes to the same bucket and endpoint: "
            f"{s3['aws_s3_cp_mb_per_s']:,.1f} MB/s ({s3['aws_s3_cp_seconds']:.1f} s) | {s3['ratio_mb_aws']} |",
            f"| archive to S3, bytes, against the disk | {s3['mb_per_s']:,.1f} MB/s | dd of as many bytes with fsync "
            f"to the S3 store's directory: {s3['dd_mb_per_s']:,.1f} MB/s | {s3['ratio_mb_dd']} |",
            f"| archive to S3, records | {s3['records_per_s']:,.0f} records/s | Kafka ConsumerPerformance on the "
            f"same topic: {s3['kafka_consumer_perf_per_s']:,.0f} records/s | {s3['ratio_records']} |",
        ]
        if ar:
            lines.append(
                f"| archive to S3 against the archive to a directory, bytes (the rows above) | "
                f"{s3['mb_per_s']:,.1f} MB/s | {ar['mb_per_s']:,.1f} MB/s | {ratio(s3['mb_per_s'], ar['mb_per_s'])} |")
    return lines


def render_archive_s3(res):
    """Where the archive to S3 spends its time: the store's CPU and disk
    writes per byte archived, against `aws s3 cp`'s."""
    s3 = res.get("archive_s3")
    if not s3:
        return []
    cpu = s3["cpu_seconds"]
    writes = ""
    if s3.get("store_write_bytes_per_byte") is not None and s3.get("aws_store_write_bytes_per_byte") is not None:
        writes = (f" The store wrote {s3['store_write_bytes_per_byte']:.2f} bytes to its disk per byte archived "
                  f"(the staged upload, then the copy into place), {s3['aws_store_write_bytes_per_byte']:.2f} per "
                  f"byte `aws s3 cp` uploaded; the archiver itself wrote "
                  f"{s3['archiver_write_bytes_per_byte']:.2f} per byte to its spool.")
    aws = s3["aws_cpu_seconds"]
    return [
        "### The archive in an S3 store", "",
        f"`millrace-archiver` wrote the data set, produced to a topic of its own, to `{s3['url']}` on the stack's "
        f"S3 store (SeaweedFS, `deploy/local/stack up s3`, keeping its data on the same disk as the archiver's "
        f"spool), with 1 s windows and multipart uploads above {s3['part_mb']} MiB; the clock runs from its start "
        "until its stored offsets reach the end (the last window's copy into place comes after). The bucket then "
        "held every recorded file at its size, and nothing staged. Its commit thread, which uploads each "
        f"batch's files and records them, then has the store copy them into place while the next batch is "
        f"read, spent {s3['commit_seconds']:.1f} s of the {s3['seconds']:.1f} in uploads and transactions "
        f"({s3['batches']} batch{'es' if s3['batches'] != 1 else ''}; the copies come on top). CPU seconds during that time: " +
        ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) +
        f", anything else on the machine {s3['other_cpu_seconds']:.1f} (the machine "
        f"{s3['machine_busy_share'] * 100:.0f} % busy); during `aws s3 cp`: the CLI {aws['aws']:.1f}, seaweedfs "
        f"{aws['seaweedfs']:.1f}, anything else {aws['other']:.1f} ({s3['aws_machine_busy_share'] * 100:.0f} % "
        f"busy). The store took {s3['store_cpu_s_per_mb'] * 1000:.1f} CPU ms per MB archived, "
        f"{s3['aws_store_cpu_s_per_mb'] * 1000:.1f} per MB `aws s3 cp` uploaded." + writes +
        f" `aws s3 cp` of a 1-byte file took {s3['aws_start_seconds']:.2f} s (the CLI's start and one request), "
        "part of its time above as the archiver's start is part of its own; it uploads a large file in parts of "
        "8 MiB, 10 at a time (its defaults).",
        "",
    ]
