#!/bin/sh
# docker-compose.yml's S3 store, SeaweedFS (image chrislusf/seaweedfs), with
# the archive's bucket and authentication on. Two uses:
#
#   seaweedfs.sh server ARGS...  the seaweedfs service: writes weed's
#       identities file (-s3.config) from the one-shot secrets' keys, then
#       runs the image's entrypoint with `server -s3.config=FILE ARGS...`
#       (it drops to the image's own user)
#   seaweedfs.sh bucket  the one-shot s3-bucket: makes the bucket through
#       `weed shell`, unless it exists
#
# Its one identity, millrace-archiver, may read, write, list and tag in the
# bucket and nothing else: what a Capture writer needs (docs/archive.md).
# Read from the environment:
#   MILLRACE_SECRETS_DIR      the secrets volume: MILLRACE_S3_ACCESS_KEY_ID and
#                             MILLRACE_S3_SECRET_ACCESS_KEY (deploy/docker/secrets.sh)
#   MILLRACE_S3_BUCKET        the bucket
#   MILLRACE_S3_IDENTITIES    server: the identities file it writes
#   MILLRACE_WEED_ENTRYPOINT  server: what runs weed (default: the image's /entrypoint.sh)
#   MILLRACE_WEED_MASTER      bucket: weed's master, host:port (gRPC on port + 10000)
#                             or host:port.grpcport
set -eu

bucket=${MILLRACE_S3_BUCKET:?the bucket}

case ${1:-} in
  server)
    shift
    identities=${MILLRACE_S3_IDENTITIES:?the identities file to write}
    secrets=${MILLRACE_SECRETS_DIR:?the secrets directory}
    # JSON strings: a key set in .env could hold '"' or '\'.
    key_id=$(sed 's/[\\"]/\\&/g' "$secrets/MILLRACE_S3_ACCESS_KEY_ID")
    secret=$(sed 's/[\\"]/\\&/g' "$secrets/MILLRACE_S3_SECRET_ACCESS_KEY")
    umask 077
    cat >"$identities.tmp" <<EOF
{
  "identities": [
    {
      "name": "millrace-archiver",
      "credentials": [{"accessKey": "$key_id", "secretKey": "$secret"}],
      "actions": ["Read:$bucket", "Write:$bucket", "List:$bucket", "Tagging:$bucket"]
    }
  ]
}
EOF
    # The image's entrypoint runs weed as its user seaweed.
    if [ "$(id -u)" = 0 ] && id seaweed >/dev/null 2>&1; then chown seaweed:seaweed "$identities.tmp"; fi
    mv -f "$identities.tmp" "$identities"
    exec "${MILLRACE_WEED_ENTRYPOINT:-/entrypoint.sh}" server -s3.config="$identities" "$@"
    ;;
  bucket)
    master=${MILLRACE_WEED_MASTER:?the master}
    if out=$(echo "s3.bucket.create -name $bucket" | weed -logtostderr shell -master="$master" 2>&1); then
      echo "seaweedfs: made the bucket $bucket"
    elif echo "$out" | grep -q "bucket $bucket already exists"; then
      echo "seaweedfs: the bucket $bucket exists"
    else
      echo "$out" >&2
      echo "seaweedfs: could not make the bucket $bucket" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: seaweedfs.sh server ARGS... | seaweedfs.sh bucket" >&2
    exit 2
    ;;
esac
