# shellcheck shell=bash
# deploy/local/lib/postgres.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# PostgreSQL: its binaries, data dir, TLS, config and roles, starting and
# stopping the server.

# Sets PG_STATE and PG_PID. PostgreSQL removes postmaster.pid on a clean
# stop, so a leftover file with a dead pid means it crashed or was killed.
probe_postgres() {
  PG_PID=$(read_pid "$PGDATA/postmaster.pid" || true)
  if [[ -z $PG_PID ]]; then
    PG_STATE=stopped
  elif proc_alive "$PG_PID" && [[ $(cat "/proc/$PG_PID/comm" 2>/dev/null) == postgres ]]; then
    PG_STATE=running
  else
    PG_STATE=crashed
  fi
}

# The cluster must keep using the major version that created it.
find_pg_bindir() {
  local version="" dir
  if [[ -n ${MILLRACE_PG_BINDIR:-} ]]; then
    PG_BIN=$MILLRACE_PG_BINDIR
  else
    [[ -f $PGDATA/PG_VERSION ]] && version=$(<"$PGDATA/PG_VERSION")
    if [[ -n $version && -x /usr/lib/postgresql/$version/bin/pg_ctl ]]; then
      PG_BIN=/usr/lib/postgresql/$version/bin
    elif dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n 1) &&
      [[ -n $dir ]]; then
      PG_BIN=$dir
    elif have pg_ctl; then
      PG_BIN=$(dirname -- "$(command -v pg_ctl)")
    else
      die "PostgreSQL server binaries not found; run scripts/bootstrap or set MILLRACE_PG_BINDIR"
    fi
  fi
  [[ -x $PG_BIN/pg_ctl && -x $PG_BIN/initdb ]] || die "no pg_ctl/initdb in $PG_BIN"
  PG_CLIENT_BIN=$PG_BIN
  [[ -x $PG_BIN/psql ]] || PG_CLIENT_BIN=$(dirname -- "$(command -v psql || echo /usr/bin/psql)")
}

# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# postgres user.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Creates a directory or file owned by whoever runs the server.
pg_owned() {
  local kind=$1 mode=$2 path=$3
  local owner=()
  ((EUID == 0)) && owner=(-o postgres -g "$(id -gn postgres)")
  if [[ $kind == dir ]]; then
    install -d -m "$mode" "${owner[@]}" -- "$path"
  else
    [[ -e $path ]] || : >"$path"
    chmod "$mode" -- "$path"
    ((EUID == 0)) && chown "postgres:$(id -gn postgres)" -- "$path"
    return 0
  fi
}

prepare_postgres_dirs() {
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user (install postgresql)"
    # Without it the reachability check below would blame the directories.
    command -v runuser >/dev/null ||
      die "running as root needs runuser (util-linux, in /usr/sbin or /sbin): add it to PATH"
    chmod a+rx -- "$STATE"
  elif [[ -d $PGDATA && ! -O $PGDATA ]]; then
    die "$PGDATA belongs to $(stat -c %U -- "$PGDATA"), not to you; run as root or use another MILLRACE_STATE_DIR"
  fi
  pg_owned dir 0700 "$PGDATA"
  pg_owned dir 0755 "$PGRUN"
  pg_owned file 0644 "$PG_LOG"
  if ((EUID == 0)) && ! runuser -u postgres -- test -w "$PGRUN" -a -w "$PG_LOG" 2>/dev/null; then
    die "the postgres user cannot reach $STATE (a parent directory is not" \
      "world-searchable); use e.g. MILLRACE_STATE_DIR=/var/tmp/millrace"
  fi
  # Unix socket paths are limited to 107 bytes.
  local sock="$PGRUN/.s.PGSQL.$PG_PORT"
  ((${#sock} <= 100)) || die "state dir path too long for a PostgreSQL socket ($sock); use a shorter MILLRACE_STATE_DIR"
}

init_postgres_once() {
  [[ -f $PGDATA/PG_VERSION ]] && return 0
  log "postgres: initializing a cluster in $PGDATA"
  if ! as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-instructions >>"$PG_LOG" 2>&1; then
    show_log_tail "$PG_LOG"
    die "initdb failed"
  fi
  printf "\n# Added by deploy/local/stack: listen address, port and socket.\ninclude 'millrace.conf'\n" \
    >>"$PGDATA/postgresql.conf"
}

# The stack's own certificate authority and a server certificate it signed
# for localhost and 127.0.0.1, made once with openssl: PostgreSQL serves TLS
# with them, and a client checks the server with sslmode=verify-full and
# sslrootcert=$STATE/tls/ca.crt (`stack env` prints it as
# MILLRACE_STACK_CA). Plaintext connections are still accepted.
ensure_tls() {
  local dir=$STATE/tls
  [[ -f $dir/ca.crt && -f $dir/server.crt && -f $dir/server.key ]] && return 0
  command -v openssl >/dev/null || die "openssl is not installed (scripts/bootstrap installs it)"
  mkdir -p "$dir"
  local tmp
  tmp=$(mktemp -d "$dir/.new.XXXXXX")
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Millrace local stack CA" \
      -keyout "$tmp/ca.key" -out "$tmp/ca.crt" &&
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$tmp/server.key" -out "$tmp/server.csr" &&
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/san.ext" &&
      openssl x509 -req -days 3650 -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
        -CAcreateserial -extfile "$tmp/san.ext" -out "$tmp/server.crt"
  } >>"$STATE/tls.log" 2>&1 || { rm -rf "$tmp"; die "could not make the stack's certificates; see $STATE/tls.log"; }
  chmod 0600 "$tmp/ca.key" "$tmp/server.key"
  mv -f "$tmp"/ca.key "$tmp"/ca.crt "$tmp"/server.key "$tmp"/server.crt "$dir/"
  rm -rf "$tmp"
}

# Rewritten on every start so a changed port takes effect.
write_postgres_conf() {
  local tmp=$STATE/millrace.conf.tmp
  cat >"$tmp" <<EOF
# Generated by deploy/local/stack on every start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
# Not /var/run/postgresql, so a system PostgreSQL is never in the way.
unix_socket_directories = '$PGRUN'
# Each row's commit time, pg_xact_commit_timestamp(xmin): bench/run measures
# event-to-row latency up to the commit with it. About 10 bytes per commit.
track_commit_timestamp = on
# The change feed (millrace-changefeed) reads logical replication with the
# built-in pgoutput plugin. A slot keeps WAL until the feed confirms it; the
# cap stops a feed that is down for long from filling this machine's disk
# (past it the slot is invalidated and the feed must start again from a
# snapshot).
wal_level = logical
max_slot_wal_keep_size = 1GB
# Room for many feeds at once, each a slot and a WAL sender: the tests run
# several beside each other (peers.outbox alone holds six), and the
# default of 10 refused one ("all replication slots are in use").
max_replication_slots = 40
max_wal_senders = 40
# TLS with the stack's certificate (ensure_tls); clients choose (sslmode).
ssl = on
ssl_cert_file = 'millrace-server.crt'
ssl_key_file = 'millrace-server.key'
EOF
  # Statistics of every statement's executions (the pg_stat_statements
  # view, once a superuser creates the extension in a database): asked for
  # by bench/run, which reads where the services' PostgreSQL time goes.
  # on or off (validate_settings).
  if [[ ${MILLRACE_PG_STATEMENT_STATS:-off} == on ]]; then
    printf "shared_preload_libraries = 'pg_stat_statements'\n" >>"$tmp"
  fi
  pg_owned file 0600 "$tmp"
  # The server reads its key only if the key is its own and private.
  cp -f "$STATE/tls/server.crt" "$PGDATA/millrace-server.crt"
  cp -f "$STATE/tls/server.key" "$PGDATA/millrace-server.key"
  pg_owned file 0644 "$PGDATA/millrace-server.crt"
  pg_owned file 0600 "$PGDATA/millrace-server.key"
  mv -f -- "$tmp" "$PGDATA/millrace.conf"
}

psql_super() {
  "$PG_CLIENT_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGRUN" -p "$PG_PORT" -U postgres -d postgres
}

# The password of service role $1 (millrace_<kind>), made once per state dir.
service_role_password_file() { printf '%s/%s' "$PG_PASSWORDS_DIR" "$1"; }

ensure_service_role_passwords() {
  local kind file
  (umask 077 && mkdir -p -- "$PG_PASSWORDS_DIR")
  for kind in "${PG_SERVICE_KINDS[@]}"; do
    file=$(service_role_password_file "millrace_$kind")
    [[ -s $file ]] || (umask 077 && openssl rand -hex 24 >"$file") ||
      die "could not make a password for millrace_$kind (is openssl installed?)"
  done
}

# The services' roles: made when missing, and their passwords set to the
# state dir's on every `up`, so the files stay the truth. Plain statements,
# not a DO block, and no statement logged, even one that fails: the server's
# log never holds a password (a DO block's error context would quote it).
service_roles_sql() {
  local kind role
  printf "SET log_min_error_statement = panic;\nSET log_statement = 'none';\n"
  for kind in "${PG_SERVICE_KINDS[@]}"; do
    role=millrace_$kind
    printf "SELECT 'CREATE ROLE %s LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') \\gexec\n" \
      "$role" "$role"
    printf "ALTER ROLE %s PASSWORD '%s';\n" "$role" "$(<"$(service_role_password_file "$role")")"
  done
}

provision_postgres() {
  ensure_service_role_passwords
  psql_super >/dev/null <<SQL || die "could not create the roles or the database; see $PG_LOG"
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') THEN
    CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_CHANGEFEED_ROLE') THEN
    CREATE ROLE $PG_CHANGEFEED_ROLE LOGIN REPLICATION PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
$(service_roles_sql)
SELECT 'CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE') \gexec
SQL
}

wait_for_postgres() {
  local i
  for ((i = 0; i < 60; i++)); do
    "$PG_CLIENT_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 && break
    sleep 0.5
  done
  ((i < 60)) || {
    show_log_tail "$PG_LOG"
    die "PostgreSQL does not accept connections on 127.0.0.1:$PG_PORT"
  }
  provision_postgres
  PGCONNECT_TIMEOUT=5 "$PG_CLIENT_BIN/psql" -X -q -At "$PG_URL" -c 'select 1' >/dev/null ||
    die "cannot log in as $PG_ROLE to $PG_URL; see $PG_LOG"
}

# After a kill -9 the old postmaster can linger a moment as a zombie and its
# children take a moment to notice; PostgreSQL refuses to start until both
# are gone, so a crashed server gets a few attempts.
start_postgres() {
  local attempts=1 i
  prepare_postgres_dirs
  init_postgres_once
  ensure_tls
  write_postgres_conf
  if [[ $PG_STATE == crashed ]]; then
    attempts=4
    for ((i = 0; i < 40 && ${#PG_PID} > 0; i++)); do
      [[ -e /proc/$PG_PID ]] || break
      sleep 0.25
    done
  fi
  for ((i = 1; ; i++)); do
    printf '\n===== %s: deploy/local/stack starting PostgreSQL =====\n' "$(date -Is)" >>"$PG_LOG"
    # shellcheck disable=SC2094 # pg_ctl and the server both only append.
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_LOG" -w -t 60 -s start >/dev/null 2>>"$PG_LOG" 9>&- && break
    if ((i >= attempts)); then
      show_log_tail "$PG_LOG"
      die "PostgreSQL failed to start"
    fi
    sleep 1
  done
  probe_postgres
  log "postgres: started (pid ${PG_PID:-?}, 127.0.0.1:$PG_PORT)"
}

stop_postgres() {
  probe_postgres
  case $PG_STATE in
    stopped) log "postgres: already stopped" ;;
    crashed)
      # Only PostgreSQL may judge whether its stale lock file is safe to drop.
      log "postgres: was not running (pid $PG_PID is gone); the next 'up' recovers it"
      ;;
    running)
      log "postgres: stopping (pid $PG_PID)"
      find_pg_bindir
      as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 -s stop >&2 ||
        die "pg_ctl stop failed; see $PG_LOG"
      log "postgres: stopped"
      ;;
  esac
}
