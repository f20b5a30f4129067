#!/bin/bash
# The PostgreSQL image's start (deploy/docker/images/postgres/Dockerfile), on
# the postgres image's contract, for `postgres [-c name=value ...]`:
# - started as root, it gives PGDATA to postgres and runs itself again as
#   postgres;
# - on an empty PGDATA: initdb with POSTGRES_USER (default postgres) as the
#   superuser and the password from POSTGRES_PASSWORD_FILE or
#   POSTGRES_PASSWORD (one is required), scram-sha-256 for every TCP client
#   and trust on the container's own socket; POSTGRES_DB (default the user's
#   name) is made; then each file of /docker-entrypoint-initdb.d in name
#   order (*.sh run, or sourced when not executable; *.sql through psql),
#   against a server listening on the socket only; should any of it fail,
#   PGDATA is emptied again, and the next start begins anew;
# - then the server, on every address, as the container's main process.
# Any other command runs as given.
set -euo pipefail

if [[ ${1:-} != postgres ]]; then exec "$@"; fi

if [[ $(id -u) == 0 ]]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

export POSTGRES_USER=${POSTGRES_USER:-postgres}
export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

initialise() {
  local pwfile
  pwfile=$(mktemp)
  trap 'rm -f "$pwfile"' RETURN
  if [[ -n ${POSTGRES_PASSWORD_FILE:-} ]]; then
    cat -- "$POSTGRES_PASSWORD_FILE" >"$pwfile"
  elif [[ -n ${POSTGRES_PASSWORD:-} ]]; then
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  else
    echo "postgres: set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD for a new database" >&2
    exit 1
  fi
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA"
  printf '\n# Written by the image: every TCP client with a password.\nhost all all all scram-sha-256\n' \
    >>"$PGDATA/pg_hba.conf"

  # The init scripts' server: the socket only, so no client connects to a
  # half-made database.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
  if [[ $POSTGRES_DB != postgres ]]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
      -v db="$POSTGRES_DB" >/dev/null <<<'CREATE DATABASE :"db"'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e $f ]] || continue
    case $f in
      *.sh)
        echo "postgres: running $f"
        if [[ -x $f ]]; then "$f"; else . "$f"; fi
        ;;
      *.sql)
        echo "postgres: running $f"
        psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$f"
        ;;
      *) echo "postgres: ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
}

# PG_VERSION is initdb's last file: a cluster without it was never finished,
# and is made again.
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -n $(ls -A "$PGDATA") ]]; then
    echo "postgres: $PGDATA holds files but no cluster; refusing to overwrite them" >&2
    exit 1
  fi
  # A failed initialisation leaves nothing behind, so the next start (the
  # restart policy's) makes the cluster again rather than serving half of it.
  if ! (initialise); then
    pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    find "$PGDATA" -mindepth 1 -delete
    echo "postgres: making the database failed (above); $PGDATA is empty again" >&2
    exit 1
  fi
fi

shift
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
