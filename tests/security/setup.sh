# Sourced by the security tests (tests/security/*_test.sh) after
# `set -euo pipefail`:
#
#   . "$(dirname "$0")/setup.sh" PREFIX SOURCE_DIR BUILD_DIR
#
# Reads the stack's environment (deploy/local/stack env; MILLRACE_STATE_DIR
# names the stack) and sets what each test uses: src, build, millrace (the
# CLI), pg_port, superuser (a conninfo of the stack's superuser, over its
# socket), name (PREFIX_<pid>_<random>, for the test's schema, topics,
# groups and roles), work (a directory of its own under the build tree) and
# logs (build/test-logs). fail() ends the test with a message, free_port()
# prints a free local port, and drop_test_state() (for a test's EXIT trap)
# kills the processes in pids and drops the test's schema and work dir.
src=$2
build=$3
. "$src/tests/stack_env.sh" "$src"
name=$1_$$_$RANDOM
work=$build/security-test/$name
logs=$build/test-logs
mkdir -p "$work" "$logs"
millrace=$build/bin/millrace
fail() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }
free_port() { "$src/tests/support/free-port"; }
pids=()
drop_test_state() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
