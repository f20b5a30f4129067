#!/usr/bin/env python3
"""Reads an archive with fastavro (not Avro C, which wrote it) and compares
it with the topic as kcat dumped it: every offset of every partition in
exactly one file, with its key, headers and body byte-identical, and the
files in Event Hubs Capture's layout and schema.

  check_archive.py ARCHIVE NAMESPACE TOPIC DUMP

ARCHIVE is a directory, or an object store read with its own vendor's SDK
(not Millrace's client): s3://bucket/prefix with boto3 (endpoint, region
and credentials from MILLRACE_S3_ENDPOINT, MILLRACE_S3_REGION and the AWS
variables), or an Azure Blob URL http(s)://host/account/container/prefix
with azure-storage-blob (the key from MILLRACE_AZURE_KEY_FILE).

DUMP is `kcat -C -e -f '%p %o %K %S %h\\n%k%s\\n'` of the topic. Exits 1 and
says what differs."""
import collections
import io
import os
import re
import sys

import fastavro

root, namespace, topic, dump_path = sys.argv[1:5]


def archive_objects(archive, start):
    """(key relative to the archive, bytes) of every object under `start`,
    in key order."""
    if archive.startswith("s3://"):
        import boto3
        bucket, _, prefix = archive[5:].partition("/")
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        s3 = boto3.client("s3", endpoint_url=os.environ.get("MILLRACE_S3_ENDPOINT") or None,
                          region_name=os.environ.get("MILLRACE_S3_REGION", "us-east-1"))
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + start):
            keys += [o["Key"] for o in page.get("Contents", [])]
        for key in sorted(keys):
            yield key[len(prefix):], s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    elif archive.startswith(("http://", "https://")):
        from azure.storage.blob import ContainerClient
        scheme, _, rest = archive.partition("://")
        host, _, path = rest.partition("/")
        parts = path.strip("/").split("/", 2)
        account, container = parts[0], parts[1]
        prefix = parts[2].strip("/") + "/" if len(parts) > 2 and parts[2].strip("/") else ""
        with open(os.environ["MILLRACE_AZURE_KEY_FILE"]) as f:
            key = f.read().strip()
        client = ContainerClient(f"{scheme}://{host}/{account}", container,
                                 credential={"account_name": account, "account_key": key})
        for blob in sorted(b.name for b in client.list_blobs(name_starts_with=prefix + start)):
            yield blob[len(prefix):], client.download_blob(blob).readall()
    else:
        base = os.path.join(archive, start)
        found = []
        for dirpath, _, names in os.walk(base):
            found += [os.path.join(dirpath, n) for n in names]
        for path in sorted(found):
            with open(path, "rb") as f:
                yield os.path.relpath(path, archive), f.read()


problems = []

# The topic, as kcat saw it.
expected = {}
with open(dump_path, "rb") as dump:
    while True:
        head = dump.readline()
        if not head:
            break
        fields = head.rstrip(b"\n").split(b" ", 4)
        p, o, klen, vlen = (int(x) for x in fields[:4])
        headers = fields[4] if len(fields) > 4 else b""
        key = dump.read(klen) if klen >= 0 else None
        value = dump.read(vlen) if vlen >= 0 else None
        if dump.read(1) != b"\n":
            sys.exit("check_archive: the kcat dump is not in the expected format")
        expected[(p, o)] = (key, value, headers)

layout = re.compile(
    r"^%s/%s/(\d+)/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{2})/(\d{2})\.avro$"
    % (re.escape(namespace), re.escape(topic)))
seen = collections.Counter()
files = 0
for rel, data in archive_objects(root, f"{namespace}/{topic}/"):
    m = layout.match(rel)
    if not m:
        problems.append(f"{rel}: not in Capture's layout")
        continue
    files += 1
    partition = int(m.group(1))
    with io.BytesIO(data) as f:
        reader = fastavro.reader(f)
        schema = reader.writer_schema
        if schema.get("name") != "Microsoft.ServiceBus.Messaging.EventData":
            problems.append(f"{rel}: schema {schema.get('name')}, not Capture's EventData")
        for r in reader:
            o = r["SequenceNumber"]
            seen[(partition, o)] += 1
            if r["Offset"] != str(o):
                problems.append(f"{rel}: Offset {r['Offset']!r} for SequenceNumber {o}")
            sp = r["SystemProperties"]
            if sp.get("x-opt-partition") != partition or sp.get("x-opt-topic") != topic:
                problems.append(f"{rel}@{o}: SystemProperties {sp!r} name another partition or topic")
            if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$", r["EnqueuedTimeUtc"]):
                problems.append(f"{rel}@{o}: EnqueuedTimeUtc {r['EnqueuedTimeUtc']!r}")
            want = expected.get((partition, o))
            if want is None:
                problems.append(f"{rel}: offset {o} of partition {partition} is not in the topic")
                continue
            key, value, headers = want
            if sp.get("x-opt-kafka-key") != key:
                problems.append(f"{rel}@{o}: key {sp.get('x-opt-kafka-key')!r}, produced {key!r}")
            if r["Body"] != value:
                problems.append(f"{rel}@{o}: body differs from what was produced")
            # kcat prints headers as name=value,... (no escaping): compare
            # the same way.
            archived = b",".join(k.encode() + b"=" + v for k, v in r["Properties"].items())
            if archived != headers:
                problems.append(f"{rel}@{o}: headers {archived!r}, produced {headers!r}")

twice = [k for k, n in seen.items() if n > 1]
missing = [k for k in expected if k not in seen]
for p, o in sorted(twice)[:20]:
    problems.append(f"partition {p} offset {o} is archived {seen[(p, o)]} times")
for p, o in sorted(missing)[:20]:
    problems.append(f"partition {p} offset {o} is in no file")
if len(twice) > 20 or len(missing) > 20:
    problems.append(f"({len(twice)} offsets archived more than once, {len(missing)} missing)")

print(f"check_archive: {files} files, {sum(seen.values())} records read with fastavro "
      f"{fastavro.__version__}; the topic holds {len(expected)}")
for line in problems[:50]:
    print("  " + line)
sys.exit(1 if problems else 0)
