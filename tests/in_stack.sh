#!/usr/bin/env bash
# Runs a test against a fixture's stack: MILLRACE_STATE_DIR is the state
# directory the build tree gives it. A fault test gets one of the fault
# stacks from ctest (RESOURCE_GROUPS, tests/cmake/stacks.cmake): lane `a` is
# STATE_DIR itself, lane `x` is STATE_DIR-x.
#
#   in_stack.sh STATE_DIR COMMAND [ARGS...]
set -euo pipefail
dir=$1
shift
# ctest's allocation reads "id:b,slots:1".
lane=${CTEST_RESOURCE_GROUP_0_FAULT_STACK:-}
lane=${lane#id:}
lane=${lane%%,*}
if [[ -n $lane && $lane != a ]]; then dir=$dir-$lane; fi
export MILLRACE_STATE_DIR=$dir
exec "$@"
