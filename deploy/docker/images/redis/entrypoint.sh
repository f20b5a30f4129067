#!/bin/sh
# The Redis image's start (deploy/docker/images/redis/Dockerfile): with no
# configuration file, `redis-server ARGS...` listens on every address with
# protected mode off, as the redis image's does (Redis' own default refuses
# every client but loopback when no password is set). Arguments may set them
# again; the last one given wins. Any other command runs as given.
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
