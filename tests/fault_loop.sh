#!/usr/bin/env bash
# tests/fault_loop.sh — runs the fault tests again and again while stress-ng
# keeps both cores busy, to show they do not flake under load. Stops at the
# first failing round and keeps its ctest output.
#
#   tests/fault_loop.sh 20                        # every fault test, 20 rounds
#   tests/fault_loop.sh 20 '^fault\.mock-cluster$'     # one test, 20 rounds
#   tests/fault_loop.sh --lanes 2 20              # two lanes at once, each
#                                                 # with half the tests
#
# With --lanes 2 the tests are split in two halves of about equal time (from
# ctest's cost data of earlier runs), and each half runs at the same time as
# the other on a stack of its own (tests/in_stack.sh, MILLRACE_TEST_STACK):
# a round takes about half as long and the machine is busier still. The
# partition tests' network namespaces are named per process, so they may run
# in either lane.
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
  sed -n 's/^ *Test *#[0-9]*: *//p' | grep -v -E '^(stack|fault-stack|cluster)\.(up|down)$')
((${#tests[@]} > 0)) || { echo "fault_loop.sh: no test matches" >&2; exit 2; }

# Splits the tests into two lanes of about equal cost: the costliest test
# goes to the lane with less so far. Costs are ctest's own, in thousandths:
# only their ratios matter, and ctest's figures are often below 1 (cut to
# whole numbers they were all 0, and one lane got every test but one).
split_lanes() {
  declare -A cost=()
  local costs="$build/Testing/Temporary/CTestCostData.txt" name reps c
  if [[ -f $costs ]]; then
    while read -r name reps c; do
      [[ $c =~ ^[0-9.]+$ ]] && cost[$name]=$(awk -v c="$c" 'BEGIN { printf "%d", c * 1000 }')
    done <"$costs"
  fi
  # Better: the wall times earlier rounds of this loop measured. ctest's
  # figures for tests that drive the stack from a script and from Catch are
  # not comparable (a 46 s script test weighed 80 times a 60 s Catch one, and
  # got a lane of its own).
  local log
  for log in "$out"/round-*-lane-*.log; do
    [[ -f $log ]] || continue
    while read -r name c; do
      cost[$name]=$(awk -v c="$c" 'BEGIN { printf "%d", c * 1000 }')
    done < <(sed -nE 's/.*Test +#[0-9]+: ([^ ]+) \.+ +Passed +([0-9.]+) sec.*/\1 \2/p' "$log")
  done
  # A test without a figure counts as much as the costliest one.
  local t a=0 b=0 lane_a=() lane_b=() max=1
  for c in "${cost[@]}"; do ((c > max)) && max=$c; done
  while read -r c t; do
    if ((a <= b)); then lane_a+=("$t"); a=$((a + c)); else lane_b+=("$t"); b=$((b + c)); fi
  done < <(for t in "${tests[@]}"; do echo "${cost[$t]:-$max} $t"; done | sort -rn)
  lane_regex=("$(anchored "${lane_a[@]}")" "$(anchored "${lane_b[@]}")")
}
# An anchored regex of the named tests.
anchored() { local IFS='|'; echo "^($(printf '%s\n' "$@" | sed 's/[.]/\\./g' | paste -sd'|'))\$"; }
if ((lanes == 2)); then split_lanes; else lane_regex=("$(anchored "${tests[@]}")"); fi
for ((k = 0; k < lanes; k++)); do echo "lane $((k + 1)): ${lane_regex[$k]}"; done

stress-ng --cpu "$(nproc)" --timeout 0 >/dev/null 2>&1 &
stress=$!
trap 'kill "$stress" 2>/dev/null || true' EXIT

# One lane's ctest: lane 1 on the build tree's stack, lane 2 on its own.
run_lane() {
  local k=$1 log=$2
  if ((k == 0)); then
    (cd "$build" && ctest --output-on-failure -R "${lane_regex[0]}") >"$log" 2>&1
  else
    (cd "$build" && MILLRACE_TEST_STACK="$build/test-stack-lane2" \
      ctest --output-on-failure -R "${lane_regex[1]}") >"$log" 2>&1
  fi
}

passed=0
for ((round = 1; round <= rounds; round++)); do
  start=$(date +%s)
  pids=()
  for ((k = 0; k < lanes; k++)); do
    run_lane "$k" "$out/round-$round-lane-$((k + 1)).log" &
    pids+=($!)
  done
  failed=()
  for ((k = 0; k < lanes; k++)); do
    wait "${pids[$k]}" || failed+=("$out/round-$round-lane-$((k + 1)).log")
  done
  if ((${#failed[@]} == 0)); then
    passed=$((passed + 1))
    echo "round $round: passed ($(($(date +%s) - start)) s)"
  else
    echo "round $round: FAILED ($(($(date +%s) - start)) s), see ${failed[*]}"
    break
  fi
done
echo "$passed of $rounds rounds passed (${#tests[@]} tests, $lanes lane(s)) under stress-ng --cpu $(nproc)"
[[ $passed -eq $rounds ]]
