# shellcheck shell=bash
# deploy/local/lib/process.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# Processes and ports: pid files, liveness, free ports, detached launches,
# the state dir lock and stopping a server.

# Alive and not a zombie: a killed broker can linger as a zombie when nothing
# reaps it, and it must count as dead.
proc_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != [ZX] ]]
}

read_pid() { [[ -f $1 ]] && head -n 1 -- "$1" 2>/dev/null | tr -dc '0-9'; }

# probe_server PID_FILE ARG: sets PROBED_PID (from PID_FILE, empty without
# one) and PROBED_STATE: stopped (no pid), running (the process lives and
# ARG is one of its command-line arguments: it is ours), or crashed.
probe_server() {
  local cmdline=""
  PROBED_PID=$(read_pid "$1" || true)
  if [[ -n $PROBED_PID ]] && proc_alive "$PROBED_PID"; then
    cmdline=$(tr '\0' '\n' <"/proc/$PROBED_PID/cmdline" 2>/dev/null) || true
  fi
  if [[ -z $PROBED_PID ]]; then
    PROBED_STATE=stopped
  elif grep -qxF -- "$2" <<<"$cmdline"; then
    PROBED_STATE=running
  else
    PROBED_STATE=crashed
  fi
}

port_listeners() {
  if have ss; then
    ss -ltnpH "sport = :$1" 2>/dev/null
  elif (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "something accepts connections on 127.0.0.1:$1"
  fi
}

# The optional third argument names the server in the suggested command.
require_free_port() {
  local port=$1 key=$2 server=${3:-} who
  who=$(port_listeners "$port")
  [[ -z $who ]] && return 0
  # ss shows the owner only to root (users:(("java",pid=123,fd=4))).
  who=$(sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' <<<"$who" | sed -n 1p)
  log "error: port $port is already in use${who:+ by $who}"
  log "error: choose another one with $(describe_key "$key"), e.g." \
    "$key=$((port + 10000 > 65535 ? port - 1000 : port + 10000)) deploy/local/stack up${server:+ $server}"
  exit 1
}

show_log_tail() {
  local file=$1 n=${2:-20}
  if [[ -s $file ]]; then
    log "last $n lines of $file:"
    tail -n "$n" -- "$file" | sed 's/^/  | /' >&2
  else
    log "($file is empty or missing)"
  fi
}

# Held on fd 9 until exit. Servers must be started with 9>&- or they would
# inherit the fd and hold the lock for their whole life.
acquire_lock() {
  exec 9>>"$STATE/.lock"
  flock -w 300 9 || die "another 'stack' command is still working on $STATE"
}

# Starts a server in the background and sets LAUNCHED_PID. setsid: the server
# must outlive this script and the terminal or test harness process group that
# ran it. The wrapper records the real server pid (exec keeps it).
# With MILLRACE_STACK_CGROUP (a cgroup v2 directory), the wrapper first
# moves itself into the cgroup <that directory>/<name>, so that the server
# and every socket it opens belong to it from the start: per-server
# accounting, and rules that tell one server's traffic from another's on
# loopback (iptables -m cgroup; the nemesis cuts a Kafka node from its
# peers only this way).
launch_detached() {
  local name=$1 pid_file=$2 log_file=$3 i cgroup=""
  shift 3
  rm -f -- "$pid_file"
  if [[ -n ${MILLRACE_STACK_CGROUP:-} ]]; then
    cgroup=$MILLRACE_STACK_CGROUP/${name,,}
    mkdir -p -- "$cgroup" || die "cannot make the cgroup $cgroup (MILLRACE_STACK_CGROUP)"
  fi
  # shellcheck disable=SC2016 # $$ and $1 belong to the inner bash.
  setsid bash -c 'if [[ -n $2 ]]; then echo "$$" >"$2/cgroup.procs" || exit 1; fi
    echo "$$" >"$1"; shift 2; exec "$@"' "stack-${name,,}" "$pid_file" "$cgroup" "$@" \
    </dev/null >>"$log_file" 2>&1 9>&- &
  for ((i = 0; i < 50; i++)); do
    [[ -s $pid_file ]] && break
    sleep 0.1
  done
  LAUNCHED_PID=$(read_pid "$pid_file" || true)
  [[ -n $LAUNCHED_PID ]] || die "$name did not start; see $log_file"
}

# SIGTERM, then SIGKILL if the process is still there after 30 s.
terminate() {
  local name=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    proc_alive "$pid" || break
    sleep 0.5
  done
  if proc_alive "$pid"; then
    warn "$name did not stop within 30s; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      proc_alive "$pid" || break
      sleep 0.25
    done
    if proc_alive "$pid"; then die "$name pid $pid survived SIGKILL"; fi
  fi
}

report_crash() {
  local name=$1 pid=$2 logfile=$3
  log "$name: CRASHED — recorded pid $pid is gone; restarting it"
  show_log_tail "$logfile" 20
}

# One status line: "<label> running (pid P, WHERE)", "<label> crashed (pid P
# is gone; see LOG)" or "<label> stopped".
show_state() {
  local label=$1 server_state=$2 pid=$3 where=$4 logfile=$5
  case $server_state in
    running) printf '%s running (pid %s, %s)\n' "$label" "$pid" "$where" ;;
    crashed) printf '%s crashed (pid %s is gone; see %s)\n' "$label" "$pid" "$logfile" ;;
    stopped) printf '%s stopped\n' "$label" ;;
  esac
}
