# shellcheck shell=bash
# deploy/local/lib/s3.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# The S3-compatible object store (only 'up s3' and 'up objstore' start it):
# SeaweedFS' `weed server -s3`, master, volume server, filer and S3 gateway
# in one process, built by scripts/bootstrap into .cache/bin. Its data lives
# in $STATE/s3/data and outlives a restart. Every port is on 127.0.0.1: the
# S3 API on MILLRACE_S3_PORT (default 8333) and weed's own servers on the
# seven ports after it: master and its gRPC, volume server and its gRPC,
# filer and its gRPC, the S3 gateway's gRPC. Authentication is on: the
# identities in $STATE/s3/identities.json (rewritten on every start) are
# 'millrace', which may read, write, list and tag in the bucket
# millrace-archive and nothing else (what `stack env` exports as
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), and 'millrace-admin', which
# may do anything and makes the bucket. Their keys are made once per state
# dir, in $STATE/s3-keys/<identity>.{id,secret}.

# Sets S3_STATE and S3_PID, like probe_redis: weed's command line keeps the
# -dir it was started with, which names this state dir.
probe_s3() {
  probe_server "$S3_PID_FILE" "-dir=$S3_DATA"
  S3_PID=$PROBED_PID S3_STATE=$PROBED_STATE
}

find_weed() {
  WEED_BIN=${MILLRACE_WEED_BIN:-$REPO_ROOT/.cache/bin/weed}
  [[ -x $WEED_BIN ]] ||
    die "weed (SeaweedFS) not found at $WEED_BIN; run scripts/bootstrap or set MILLRACE_WEED_BIN"
  have curl || die "curl not found; run scripts/bootstrap"
  have openssl || die "openssl not found; run scripts/bootstrap"
}

s3_key_file() { printf '%s/%s.%s' "$S3_KEYS_DIR" "$1" "$2"; }

# An access key id like AWS' (20 capitals and digits) and a 40-character
# secret per identity, made once.
ensure_s3_keys() {
  local who file
  (umask 077 && mkdir -p -- "$S3_KEYS_DIR")
  for who in millrace millrace-admin; do
    file=$(s3_key_file "$who" id)
    [[ -s $file ]] || (umask 077 && printf 'MR%s\n' "$(openssl rand -hex 9 | tr 'a-f' 'A-F')" >"$file") ||
      die "could not make an S3 access key id for $who (is openssl installed?)"
    file=$(s3_key_file "$who" secret)
    [[ -s $file ]] || (umask 077 && openssl rand -hex 20 >"$file") ||
      die "could not make an S3 secret key for $who (is openssl installed?)"
  done
}

# weed's -s3.config: its identities and what each may do. Rewritten on every
# start, so the key files stay the truth.
write_s3_config() {
  mkdir -p -- "$S3_DIR" "$S3_DATA"
  (
    umask 077
    cat >"$S3_CONFIG.tmp" <<EOF
{
  "identities": [
    {
      "name": "millrace",
      "credentials": [{"accessKey": "$(<"$(s3_key_file millrace id)")", "secretKey": "$(<"$(s3_key_file millrace secret)")"}],
      "actions": ["Read:$S3_BUCKET", "Write:$S3_BUCKET", "List:$S3_BUCKET", "Tagging:$S3_BUCKET"]
    },
    {
      "name": "millrace-admin",
      "credentials": [{"accessKey": "$(<"$(s3_key_file millrace-admin id)")", "secretKey": "$(<"$(s3_key_file millrace-admin secret)")"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
  )
  mv -f -- "$S3_CONFIG.tmp" "$S3_CONFIG"
}

# -logtostderr: glog would otherwise also write weed.* files into /tmp.
# -master.telemetry=false: it reports to seaweedfs.com by default.
# -s3.port.iceberg=0 -s3.port.lance=0: two more servers it would start, on
# fixed ports. -volume.preStopSeconds=0: it would wait 10 s on SIGTERM.
# -master.electionTimeout=1s: a master restarted on its raft state (its
# data) is leader again after it, not after the default 10 s, and nothing
# that needs the master (a new bucket, the first write) works before.
# -s3.autoCreateBucket=false: a PUT into a missing bucket fails, as on AWS.
# The master grows one volume per new collection (bucket), not seven
# (WEED_MASTER_VOLUME_GROWTH_COPY_1), so 64 slots of 1 GiB serve many
# buckets. Run in $S3_DIR, where weed looks for its optional *.toml first.
launch_s3() {
  local p=$S3_PORT
  printf '\n===== %s: deploy/local/stack starting SeaweedFS =====\n' "$(date -Is)" >>"$S3_LOG"
  launch_detached SeaweedFS "$S3_PID_FILE" "$S3_LOG" \
    env -C "$S3_DIR" WEED_MASTER_VOLUME_GROWTH_COPY_1=1 \
    "$WEED_BIN" -logtostderr server \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 "-dir=$S3_DATA" \
    -master.port=$((p + 1)) -master.port.grpc=$((p + 2)) -master.telemetry=false \
    -master.electionTimeout=1s -master.volumeSizeLimitMB=1024 -volume.max=64 \
    -volume.port=$((p + 3)) -volume.port.grpc=$((p + 4)) -volume.preStopSeconds=0 \
    -filer -filer.port=$((p + 5)) -filer.port.grpc=$((p + 6)) \
    -s3 -s3.port="$p" -s3.port.grpc=$((p + 7)) -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$S3_CONFIG" -s3.autoCreateBucket=false
  S3_PID=$LAUNCHED_PID
  log "s3: started (pid $S3_PID, $S3_ENDPOINT), waiting for it to answer"
}

# s3_request IDENTITY CURL_ARGS...: an S3 request signed (SigV4) with the
# identity's keys, which reach curl on stdin (-K -), never on a command
# line. Prints the HTTP status; curl's failures print 000.
s3_request() {
  local who=$1
  shift
  printf 'user = "%s:%s"\n' "$(<"$(s3_key_file "$who" id)")" "$(<"$(s3_key_file "$who" secret)")" |
    curl -sS -m 5 -o /dev/null -w '%{http_code}' -K - --aws-sigv4 "aws:amz:$S3_REGION:s3" "$@" \
      2>/dev/null || true
}

# Ready once its master is the raft leader (what assigns a new object's
# volume), the admin identity is answered (weed's S3 gateway comes up after
# its master, volume server and filer), the bucket exists, and the millrace
# identity may read it.
wait_for_s3() {
  local timeout=${MILLRACE_S3_START_TIMEOUT:-90}
  local deadline=$((SECONDS + timeout)) status
  until curl -fsS -m 2 "http://127.0.0.1:$((S3_PORT + 1))/cluster/status" 2>/dev/null |
    grep -q '"IsLeader":true' && [[ $(s3_request millrace-admin "$S3_ENDPOINT/") == 200 ]]; do
    if [[ -n ${S3_PID:-} ]] && ! proc_alive "$S3_PID"; then
      show_log_tail "$S3_LOG" 30
      die "SeaweedFS (pid $S3_PID) exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$S3_LOG" 30
      die "SeaweedFS did not answer an authenticated request on $S3_ENDPOINT within ${timeout}s"
    fi
    sleep 0.25
  done
  # 409: BucketAlreadyOwnedByYou.
  status=$(s3_request millrace-admin -X PUT "$S3_ENDPOINT/$S3_BUCKET")
  [[ $status == 200 || $status == 409 ]] ||
    die "SeaweedFS refused to create the bucket $S3_BUCKET (HTTP $status); see $S3_LOG"
  until [[ $(s3_request millrace -I "$S3_ENDPOINT/$S3_BUCKET") == 200 ]]; do
    if ((SECONDS >= deadline)); then
      show_log_tail "$S3_LOG" 30
      die "SeaweedFS did not let the millrace identity read the bucket $S3_BUCKET within ${timeout}s"
    fi
    sleep 0.25
  done
}

stop_s3() {
  local mode=${1:-}
  probe_s3
  case $S3_STATE in
    stopped) [[ $mode == if-started ]] || log "s3: already stopped" ;;
    crashed)
      log "s3: was not running (pid $S3_PID is gone); clearing its pid file"
      rm -f -- "$S3_PID_FILE"
      remove_s3_sockets
      ;;
    running)
      log "s3: stopping (pid $S3_PID)"
      terminate s3 "$S3_PID"
      rm -f -- "$S3_PID_FILE"
      remove_s3_sockets
      log "s3: stopped"
      ;;
  esac
}

# weed's servers also listen on unix sockets named by their ports, which it
# puts in /tmp whatever it is told (the S3 gateway's gRPC one has no flag)
# and leaves there when it exits: those of this store's ports go with it.
remove_s3_sockets() {
  local p sock
  for ((p = S3_PORT; p <= S3_PORT + 7; p++)); do
    for sock in /tmp/seaweedfs-*-"$p".sock; do
      [[ -S $sock ]] && rm -f -- "$sock"
    done
  done
  return 0
}

# What `stack env` prints for it, when it runs.
s3_env() {
  printf 'export MILLRACE_S3_ENDPOINT=%s\n' "$S3_ENDPOINT"
  printf 'export MILLRACE_S3_REGION=%s\n' "$S3_REGION"
  printf 'export MILLRACE_S3_BUCKET=%s\n' "$S3_BUCKET"
  printf 'export AWS_ACCESS_KEY_ID=%s\n' "$(<"$(s3_key_file millrace id)")"
  printf 'export AWS_SECRET_ACCESS_KEY=%s\n' "$(<"$(s3_key_file millrace secret)")"
}
