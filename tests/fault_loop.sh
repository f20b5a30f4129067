#!/usr/bin/env bash
# tests/fault_loop.sh — runs the fault tests again and again while stress-ng
# keeps both cores busy, to show they do not flake under load. Stops at the
# first failing round and keeps its ctest output.
#
#   tests/fault_loop.sh 20                      # every fault test, 20 rounds
#   tests/fault_loop.sh 20 '^fault\.mock-cluster$'   # one test, 20 rounds
#
# Needs a built tree (scripts/test, or cmake --build build) and stress-ng
# (scripts/bootstrap installs it). Each round's ctest starts and stops its own
# stack. Prints one line per round and a summary; exit 0 only if all passed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:?usage: tests/fault_loop.sh ROUNDS [CTEST_REGEX]}
regex=${2:-}
command -v stress-ng >/dev/null || { echo "fault_loop.sh: stress-ng is not installed" >&2; exit 2; }
out="$repo/build/test-logs/fault-loop"
mkdir -p "$out"

stress-ng --cpu "$(nproc)" --timeout 0 >/dev/null 2>&1 &
stress=$!
trap 'kill "$stress" 2>/dev/null || true' EXIT

passed=0
for ((round = 1; round <= rounds; round++)); do
  start=$(date +%s)
  args=(--output-on-failure)
  if [[ -n $regex ]]; then args+=(-R "$regex"); else args+=(-L fault); fi
  if (cd "$repo/build" && ctest "${args[@]}") >"$out/round-$round.log" 2>&1; then
    passed=$((passed + 1))
    echo "round $round: passed ($(($(date +%s) - start)) s)"
  else
    echo "round $round: FAILED ($(($(date +%s) - start)) s), see $out/round-$round.log"
    break
  fi
done
echo "$passed of $rounds rounds passed under stress-ng --cpu $(nproc)"
[[ $passed -eq $rounds ]]
