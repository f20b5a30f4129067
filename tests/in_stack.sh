#!/usr/bin/env bash
# Runs a test against a fixture's stack: MILLRACE_STATE_DIR is the state
# directory the build tree gives it, or MILLRACE_TEST_STACK when that is set,
# so tests/fault_loop.sh can run two lanes of tests, each on its own stack,
# from one build tree.
#
#   in_stack.sh STATE_DIR COMMAND [ARGS...]
set -euo pipefail
export MILLRACE_STATE_DIR=${MILLRACE_TEST_STACK:-$1}
shift
exec "$@"
