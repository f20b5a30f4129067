#!/bin/sh
# The SeaweedFS image's start (deploy/docker/images/seaweedfs/Dockerfile):
# `weed ARGS...` as the user seaweed, after giving it /data (a volume made by
# an older image may belong to another user).
set -eu
if [ "$(id -u)" = 0 ]; then
  chown -R seaweed:seaweed /data
  exec setpriv --reuid=seaweed --regid=seaweed --init-groups weed "$@"
fi
exec weed "$@"
