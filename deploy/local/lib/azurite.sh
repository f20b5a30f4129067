# shellcheck shell=bash
# deploy/local/lib/azurite.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# Azure Blob Storage (only 'up azurite' and 'up objstore' start it): the Blob
# service of Azurite, Microsoft's emulator (scripts/bootstrap installs it
# into .cache/azurite), on 127.0.0.1:MILLRACE_AZURITE_PORT (default 10000),
# its data in $STATE/azurite/data (kept across restarts). Strict, as Azure
# is: no --loose (unsupported headers are refused, not ignored) and no
# --skipApiVersionCheck. It has one account, devstoreaccount1, whose key is
# the well-known one Microsoft documents; `up` writes it to
# $STATE/azurite/key, makes the container millrace-archive and, once per
# state dir, a SAS for that container (read, add, create, write, delete,
# list; ten years) in $STATE/azurite/sas. Both are made with the Azure
# Storage SDK for Python in .cache/venv (scripts/bootstrap).

# Azurite's account devstoreaccount1 and its key, the same in every Azurite
# (Azurite's documentation: "Well-known storage account and key"): public,
# so it is no secret.
readonly AZURITE_WELL_KNOWN_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# Sets AZURITE_STATE and AZURITE_PID, like probe_redis: its command line
# keeps the --location it was started with, which names this state dir.
probe_azurite() {
  probe_server "$AZURITE_PID_FILE" "$AZURITE_DATA"
  AZURITE_PID=$PROBED_PID AZURITE_STATE=$PROBED_STATE
}

find_azurite() {
  AZURITE_BIN=${MILLRACE_AZURITE_BIN:-$REPO_ROOT/.cache/azurite/node_modules/.bin/azurite-blob}
  [[ -x $AZURITE_BIN ]] ||
    die "azurite-blob not found at $AZURITE_BIN; run scripts/bootstrap or set MILLRACE_AZURITE_BIN"
  have node || die "node (Node.js, which runs Azurite) not found"
  STACK_PYTHON=${MILLRACE_STACK_PYTHON:-$REPO_ROOT/.cache/venv/bin/python}
  "$STACK_PYTHON" -c 'import azure.storage.blob' 2>/dev/null ||
    die "no Azure Storage SDK for Python in $STACK_PYTHON (it makes Azurite's container and SAS); run scripts/bootstrap or set MILLRACE_STACK_PYTHON"
}

# --disableTelemetry: Azurite reports to Microsoft by default.
launch_azurite() {
  mkdir -p -- "$AZURITE_DATA"
  printf '\n===== %s: deploy/local/stack starting Azurite =====\n' "$(date -Is)" >>"$AZURITE_LOG"
  launch_detached Azurite "$AZURITE_PID_FILE" "$AZURITE_LOG" "$AZURITE_BIN" \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$AZURITE_DATA" --disableTelemetry
  AZURITE_PID=$LAUNCHED_PID
  log "azurite: started (pid $AZURITE_PID, $AZURITE_ACCOUNT_URL), waiting for it to answer"
}

# Ready once it answers a request signed with the account's key: the
# container is made then (if missing), and the SAS (if missing).
wait_for_azurite() {
  local timeout=${MILLRACE_AZURITE_START_TIMEOUT:-60}
  mkdir -p -- "$AZURITE_DIR"
  [[ -s $AZURITE_KEY_FILE ]] || (umask 077 && printf '%s\n' "$AZURITE_WELL_KNOWN_KEY" >"$AZURITE_KEY_FILE")
  local rc=0
  "$STACK_PYTHON" - "$AZURITE_ACCOUNT_URL" "$AZURITE_ACCOUNT" "$AZURITE_CONTAINER" \
    "$AZURITE_KEY_FILE" "$AZURITE_SAS_FILE" "$timeout" "${AZURITE_PID:-}" <<'PY' || rc=$?
import datetime, os, sys, time
from azure.core.exceptions import ResourceExistsError, ServiceRequestError, ServiceResponseError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

url, account, container, key_file, sas_file, timeout, pid = sys.argv[1:]
key = open(key_file).read().strip()
service = BlobServiceClient(url, credential={"account_name": account, "account_key": key},
                            retry_total=0, connection_timeout=2, read_timeout=5)
deadline = time.monotonic() + float(timeout)
while True:
    try:
        service.create_container(container)
        break
    except ResourceExistsError:
        break
    # Not listening yet, or listening but not serving yet: a connection it
    # resets while it starts (seen under load), retried as the rest.
    except (ServiceRequestError, ServiceResponseError):
        if pid and not os.path.exists(f"/proc/{pid}"):
            sys.exit(3)
        if time.monotonic() > deadline:
            sys.exit(4)
        time.sleep(0.25)
service.get_container_client(container).get_container_properties()
if not os.path.exists(sas_file) or os.path.getsize(sas_file) == 0:
    now = datetime.datetime.now(datetime.timezone.utc)
    sas = generate_container_sas(
        account, container, account_key=key,
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True,
                                           delete=True, list=True),
        start=now - datetime.timedelta(days=1), expiry=now + datetime.timedelta(days=3650))
    os.umask(0o077)
    with open(sas_file + ".tmp", "w") as f:
        f.write(sas + "\n")
    os.replace(sas_file + ".tmp", sas_file)
PY
  case $rc in
    0) ;;
    3)
      show_log_tail "$AZURITE_LOG" 30
      die "Azurite (pid $AZURITE_PID) exited during startup"
      ;;
    4)
      show_log_tail "$AZURITE_LOG" 30
      die "Azurite did not answer on $AZURITE_ACCOUNT_URL within ${timeout}s"
      ;;
    *)
      show_log_tail "$AZURITE_LOG" 30
      die "could not make the container $AZURITE_CONTAINER or its SAS in Azurite (see above)"
      ;;
  esac
}

stop_azurite() {
  local mode=${1:-}
  probe_azurite
  case $AZURITE_STATE in
    stopped) [[ $mode == if-started ]] || log "azurite: already stopped" ;;
    crashed)
      log "azurite: was not running (pid $AZURITE_PID is gone); clearing its pid file"
      rm -f -- "$AZURITE_PID_FILE"
      ;;
    running)
      log "azurite: stopping (pid $AZURITE_PID)"
      terminate azurite "$AZURITE_PID"
      rm -f -- "$AZURITE_PID_FILE"
      log "azurite: stopped"
      ;;
  esac
}

# What `stack env` prints for it, when it runs.
azurite_env() {
  printf 'export MILLRACE_AZURE_BLOB_URL=%s\n' "$AZURITE_URL"
  printf 'export MILLRACE_AZURE_KEY_FILE=%s\n' "$AZURITE_KEY_FILE"
  printf 'export MILLRACE_AZURE_SAS_FILE=%s\n' "$AZURITE_SAS_FILE"
}
