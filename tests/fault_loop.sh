#!/usr/bin/env bash
# tests/fault_loop.sh — runs the fault tests again and again while stress-ng
# keeps both cores busy, to show they do not flake under load. Stops at the
# first failing round and keeps its ctest output.
#
#   tests/fault_loop.sh 20                        # every fault test, 20 rounds
#   tests/fault_loop.sh 20 '^fault\.mock-cluster$'     # one test, 20 rounds
#   tests/fault_loop.sh --lanes 2 20              # two at a time, one on
#                                                 # each fault stack
#
# With --lanes 2, ctest runs two fault tests at a time, one on each of the
# build tree's two fault stacks (the lanes of tests/cmake/stacks.cmake, which
# ctest hands out as resources), as scripts/test does: a round takes about
# half as long and the machine is busier still. The partition tests' network
# namespaces are named per process, so they may run in either lane.
#
# Needs a built tree (scripts/test, or cmake --build build) and stress-ng
# (scripts/bootstrap installs it). Each round's ctest starts and stops its own
# stack. Prints one line per round and a summary; exit 0 only if all passed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build="$repo/build"
lanes=1
if [[ ${1:-} == --lanes ]]; then lanes=${2:?--lanes needs 1 or 2}; shift 2; fi
[[ $lanes == 1 || $lanes == 2 ]] || { echo "fault_loop.sh: --lanes is 1 or 2" >&2; exit 2; }
rounds=${1:?usage: tests/fault_loop.sh [--lanes 2] ROUNDS [CTEST_REGEX]}
regex=${2:-}
command -v stress-ng >/dev/null || { echo "fault_loop.sh: stress-ng is not installed" >&2; exit 2; }
out="$build/test-logs/fault-loop"
mkdir -p "$out"

# The tests to run: the fault label (fixtures aside), or those the regex names.
mapfile -t tests < <(cd "$build" && if [[ -n $regex ]]; then ctest -N -R "$regex"; else ctest -N -L fault; fi |
  sed -n 's/^ *Test *#[0-9]*: *//p' | grep -v -E '^(stack|fault-stack(-[a-z])?|cluster)\.(up|down)$')
((${#tests[@]} > 0)) || { echo "fault_loop.sh: no test matches" >&2; exit 2; }

# An anchored regex of the named tests.
anchored() { local IFS='|'; echo "^($(printf '%s\n' "$@" | sed 's/[.]/\\./g' | paste -sd'|'))\$"; }
tests_regex=$(anchored "${tests[@]}")

stress-ng --cpu "$(nproc)" --timeout 0 >/dev/null 2>&1 &
stress=$!
trap 'kill "$stress" 2>/dev/null || true' EXIT

passed=0
for ((round = 1; round <= rounds; round++)); do
  start=$(date +%s)
  log="$out/round-$round.log"
  if (cd "$build" && ctest --output-on-failure -j "$lanes" -R "$tests_regex") >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "round $round: passed ($(($(date +%s) - start)) s)"
  else
    echo "round $round: FAILED ($(($(date +%s) - start)) s), see $log"
    break
  fi
done
echo "$passed of $rounds rounds passed (${#tests[@]} tests, $lanes lane(s)) under stress-ng --cpu $(nproc)"
[[ $passed -eq $rounds ]]
