#!/usr/bin/env python3
"""What the archive's fault tests ask an object store, with the vendor's
own SDK (boto3 for S3, azure-storage-blob for Azure Blob), not Millrace's
client.

  store_tool.py pending URL            objects under the prefix's .staging/ (the
                                       uploads' markers) and unfinished uploads
                                       anywhere under it: "<staged> <unfinished>"
  store_tool.py wait-upload URL SECS   waits until an upload under the prefix is
                                       unfinished (a multipart upload, or a blob
                                       with uncommitted blocks); exit 1 if none
  store_tool.py put URL KEY TEXT       writes an object (a stray, or a corruption)
  store_tool.py count URL PREFIX       objects under the prefix

URL is s3://bucket/prefix (MILLRACE_S3_ENDPOINT, MILLRACE_S3_REGION and the
AWS variables) or http(s)://host/account/container/prefix (the key in
MILLRACE_AZURE_KEY_FILE)."""
import os
import sys
import time


class S3:
    def __init__(self, url):
        import boto3
        self.bucket, _, prefix = url[5:].partition("/")
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.s3 = boto3.client("s3", endpoint_url=os.environ.get("MILLRACE_S3_ENDPOINT") or None,
                               region_name=os.environ.get("MILLRACE_S3_REGION", "us-east-1"))

    def keys(self, start):
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + start):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def unfinished(self, start):
        r = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix + start)
        return [u["Key"] for u in r.get("Uploads", [])]

    def put(self, key, data):
        self.s3.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)


class Azure:
    def __init__(self, url):
        from azure.storage.blob import ContainerClient
        scheme, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        parts = path.strip("/").split("/", 2)
        account, container = parts[0], parts[1]
        self.prefix = parts[2].strip("/") + "/" if len(parts) > 2 and parts[2].strip("/") else ""
        with open(os.environ["MILLRACE_AZURE_KEY_FILE"]) as f:
            key = f.read().strip()
        self.client = ContainerClient(f"{scheme}://{host}/{account}", container,
                                      credential={"account_name": account, "account_key": key})

    def keys(self, start):
        return [b.name for b in self.client.list_blobs(name_starts_with=self.prefix + start)]

    def unfinished(self, start):
        committed = set(self.keys(start))
        every = [b.name for b in self.client.list_blobs(name_starts_with=self.prefix + start,
                                                        include=["uncommittedblobs"])]
        return [k for k in every if k not in committed]

    def put(self, key, data):
        self.client.upload_blob(self.prefix + key, data, overwrite=True)


def store(url):
    return S3(url) if url.startswith("s3://") else Azure(url)


def main():
    command, url = sys.argv[1], sys.argv[2]
    s = store(url)
    if command == "pending":
        print(len(s.keys(".staging/")), len(s.unfinished("")))
    elif command == "wait-upload":
        deadline = time.monotonic() + float(sys.argv[3])
        while time.monotonic() < deadline:
            if s.unfinished(""):
                return 0
            time.sleep(0.05)
        return 1
    elif command == "put":
        s.put(sys.argv[3], sys.argv[4].encode())
    elif command == "count":
        print(len(s.keys(sys.argv[3])))
    else:
        sys.exit(f"store_tool: unknown command {command}")
    return 0


sys.exit(main())
